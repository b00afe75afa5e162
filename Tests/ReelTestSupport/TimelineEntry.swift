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
