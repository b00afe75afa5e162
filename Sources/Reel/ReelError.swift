/// A failure of a Reel session, with one line that says what went wrong.
///
/// `kind` says which part failed, for code that reacts to it; `description` is the
/// message, fit for a log line or a CLI's error.
///
/// Thread-safety: Safe (a value type).
public struct ReelError: Error, CustomStringConvertible, Sendable {
    /// Which part of the pipeline failed.
    public enum Kind: String, Sendable {
        /// The input: opening, demuxing or decoding it, or it ended damaged.
        case media
        /// The Vulkan device or the render pass.
        case render
        /// The sound output.
        case audio
        /// The request does not fit the session or its input: a frame description the
        /// pass cannot render, a push to a session that does not take pushed frames, a
        /// call after the input was finished.
        case unsuitable
        /// The connection to another process: a renderer that hung up, was killed, refused
        /// this producer, or never answered (`RemoteProducer`).
        case connection
    }

    public let kind: Kind
    public let description: String

    init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    init(_ error: PipelineError) {
        switch error {
        case .media: kind = .media
        case .render: kind = .render
        case .audio: kind = .audio
        case .unsuitable: kind = .unsuitable
        }
        description = error.description
    }
}
