import Foundation

/// One line of `--timeline`: a frame shown, an audio chunk written, or a seek served.
package struct TimelineEntry: Decodable, Sendable {
    package var type: String
    package var pts: Int64?
    package var shown: Int64?
    package var played: Int64?
    package var from: Int64?
    package var target: Int64?
    package var exact: Bool?
    enum CodingKeys: String, CodingKey {
        case type
        case pts = "pts_us"
        case shown = "shown_us"
        case played = "played_us"
        case from = "from_us"
        case target = "target_us"
        case exact
    }

    /// The lines of the timeline file at `path`.
    package static func read(_ path: String) throws -> [TimelineEntry] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(TimelineEntry.self, from: Data($0.utf8)) }
    }
}

/// Waits (at most `timeout` s) until the timeline at `path` satisfies `done`; the
/// entries then. A line still being written is left for the next look.
package func waitForTimeline(
    _ path: String, timeout: Double = 60, until done: ([TimelineEntry]) -> Bool
) throws -> [TimelineEntry] {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let entries = text.split(separator: "\n", omittingEmptySubsequences: true).compactMap {
            try? JSONDecoder().decode(TimelineEntry.self, from: Data($0.utf8))
        }
        if done(entries) { return entries }
        guard Date() < deadline else { throw SupportError("the timeline never got there: \(entries.count) lines") }
        usleep(50_000)
    }
}
