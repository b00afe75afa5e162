import Foundation

/// One line of `--timeline`: a frame shown, an audio chunk written, or a seek served.
public struct TimelineEntry: Decodable, Sendable {
    public var type: String
    public var pts: Int64?
    public var shown: Int64?
    public var played: Int64?
    public var from: Int64?
    public var target: Int64?
    public var exact: Bool?
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
    public static func read(_ path: String) throws -> [TimelineEntry] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(TimelineEntry.self, from: Data($0.utf8)) }
    }
}
