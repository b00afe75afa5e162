import Foundation

/// The session's observer thread: writes the timeline's lines to its file and reports
/// progress, about ten times a second and once more at the end, and tells the remote
/// control when a start or a seek has its first picture (`playback-restart`), so that
/// the display thread never does I/O.
final class SessionObserver: @unchecked Sendable {
    private let state: SessionState
    private let monitor: PlaybackMonitor
    private let timeline: TimelineWriter?
    private let onProgress: (@Sendable (PlaybackProgress, Bool) -> Void)?
    private let events: SessionEvents
    /// How often it wakes, seconds.
    static let period = 0.1

    init(
        state: SessionState, monitor: PlaybackMonitor, timeline: TimelineWriter?,
        events: SessionEvents, onProgress: (@Sendable (PlaybackProgress, Bool) -> Void)?
    ) {
        self.events = events
        self.state = state
        self.monitor = monitor
        self.timeline = timeline
        self.onProgress = onProgress
    }

    func run() {
        var next = Date()
        var restarted = -1
        while true {
            next = max(next.addingTimeInterval(Self.period), Date())
            // Wakes at the period, at the end, and when a generation shows its first picture.
            let (over, shown) =
                state.wait(
                    for: { fields in
                        fields.displayDone || fields.shownGeneration != restarted
                            ? (fields.displayDone, fields.shownGeneration) : nil
                    }, until: next) ?? (false, restarted)
            if shown != restarted {
                restarted = shown
                events.post(.playbackRestart)
            }
            if Date() < next && !over { continue }
            timeline?.flush()
            onProgress?(monitor.progress, over)
            if over { return }
        }
    }
}
