import ReelCore
import Synchronization

/// What happened in a session that a remote-control client hears of.
enum SessionEvent: Sendable, Equatable {
    /// The demux thread started serving a seek (`playbackRestart` follows at its first picture).
    case seek
    /// The first picture of a start or a seek was shown.
    case playbackRestart
    /// Paused (true) or resumed (false).
    case pause(Bool)
    /// Playback ended: "eof" (played to the end), "quit" (stopped), or "error".
    case endFile(reason: String)
}

/// Hands a session's events to whoever listens (the remote control), on the thread
/// that made them; a listener must not block.
///
/// Thread-safety: Safe.
final class SessionEvents: Sendable {
    private let listeners = Locked<[@Sendable (SessionEvent) -> Void]>([])

    func listen(_ listener: @escaping @Sendable (SessionEvent) -> Void) { listeners.withLock { $0.append(listener) } }

    func post(_ event: SessionEvent) {
        for listener in listeners.withLock({ $0 }) { listener(event) }
    }
}
