import Foundation

/// The session's observer thread: writes the timeline's lines to its file and reports
/// progress, about ten times a second and once more at the end, so that the display
/// thread never does I/O.
final class SessionObserver: @unchecked Sendable {
    private let state: SessionState
    private let monitor: PlaybackMonitor
    private let timeline: TimelineWriter?
    private let onProgress: (@Sendable (PlaybackProgress, Bool) -> Void)?
    /// How often it wakes, seconds.
    static let period = 0.1

    init(
        state: SessionState, monitor: PlaybackMonitor, timeline: TimelineWriter?,
        onProgress: (@Sendable (PlaybackProgress, Bool) -> Void)?
    ) {
        self.state = state
        self.monitor = monitor
        self.timeline = timeline
        self.onProgress = onProgress
    }

    func run() {
        var next = Date()
        while true {
            next = max(next.addingTimeInterval(Self.period), Date())
            let over = state.wait(for: { $0.displayDone ? true : nil }, until: next) ?? false
            timeline?.flush()
            onProgress?(monitor.progress, over)
            if over { return }
        }
    }
}
