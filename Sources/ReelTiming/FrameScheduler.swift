/// Counts of what the scheduler did with frames and ticks.
package struct PresentationStatistics: Sendable, Equatable, Codable {
    /// Frames shown for the first time.
    package var presented = 0
    /// Frames whose time had passed when a newer one was also due: never shown.
    package var droppedLate = 0
    /// Ticks that showed the previous frame again (no new frame was due).
    package var repeated = 0
    /// Ticks with no free submission: nothing was rendered.
    package var skipped = 0
    /// Times video and the master clock were more than `FrameScheduler.resyncThreshold`
    /// apart, so that video gave up following it and started again from the frame due.
    package var resyncs = 0

    package init() {}
}

/// Decides, at each display tick, which frame to show.
///
/// The rule: of the ready frames, show the newest whose time has come — media time at
/// most the master clock plus half a refresh interval — and drop the older ones; if
/// none has come, show the previous frame again. It never waits: a tick with no free
/// submission slot is skipped (counted), and the frames that were due stay for the
/// next tick, which drops all but the newest.
///
/// Sync thresholds, in the spirit of ffplay's: a frame is held while it is more than
/// half a refresh early and dropped once a newer one is due (so video never runs more
/// than about one frame from the master); errors smaller than a tick are not chased
/// (the display reads the master through a `ClockFollower`); and when the next frame
/// is more than `resyncThreshold` from the master either way — broken timestamps, a
/// stream that jumped alone — video stops chasing that clock and resyncs: the gap is
/// remembered as `offset`, the frame is shown now, and the next ones follow at their
/// pace.
///
/// Pure logic: the caller passes the master clock's media time for the tick.
/// Thread-safety: Unsafe; the scheduler thread owns it.
package struct FrameScheduler: Sendable {
    package private(set) var statistics = PresentationStatistics()
    /// The media time (µs) of the frame on screen.
    package private(set) var showing: Int64?
    /// Video time minus master time since the last resync (0 until one happens).
    package private(set) var offset: Int64 = 0
    /// The last step (µs) from one shown frame to the next: a resync places the jumped
    /// frame this far after the one on screen.
    private var lastStep: Int64 = 0

    /// How far (µs) video and the master may be apart before video resyncs: 10 s.
    package static let resyncThreshold: Int64 = 10_000_000

    package init() {}

    /// What a tick does.
    package enum Decision: Equatable, Sendable {
        /// Show the ready frame at this index; the `dropping` frames before it are dropped.
        case show(index: Int, dropping: Int)
        /// Show the current frame again.
        case repeatCurrent
        /// Nothing on screen yet and nothing due.
        case wait
        /// No submission slot free: render nothing this tick.
        case skip
    }

    /// Decides one tick. `ready` holds the media times (µs) of the frames ready to be
    /// shown, in presentation order; `master` is the master clock's media time at the
    /// tick; `interval` the display's refresh interval (µs). The caller removes
    /// `index + 1` frames from the front of its queue after `.show`: the shown one and
    /// the dropped ones.
    package mutating func tick(
        ready: some Collection<Int64>, master: Int64, interval: Int64, canSubmit: Bool
    ) -> Decision {
        if let next = ready.first, abs(next - offset - master) > Self.resyncThreshold {
            // The jumped frame comes one frame after the one on screen, or now if that is later.
            let expected = showing.map { $0 - offset + lastStep } ?? master
            offset = next - max(master, expected)
            statistics.resyncs += 1
        }
        let deadline = master + offset + interval / 2
        var due = 0
        for time in ready {
            guard time <= deadline else { break }
            due += 1
        }
        guard canSubmit else {
            statistics.skipped += 1
            return .skip
        }
        guard due > 0 else {
            if showing == nil { return .wait }
            statistics.repeated += 1
            return .repeatCurrent
        }
        // The first frame after a start or a seek is shown even when the next is due
        // too (the picture asked for comes first); from then on, late ones are dropped.
        let index = showing == nil ? 0 : due - 1
        statistics.presented += 1
        statistics.droppedLate += index
        let shown = ready[ready.index(ready.startIndex, offsetBy: index)]
        if let showing, shown > showing, shown - showing < 1_000_000 { lastStep = shown - showing }
        showing = shown
        return .show(index: index, dropping: index)
    }

    /// Forgets the frame on screen and any resync (a seek): the next due frame is shown
    /// as new.
    package mutating func reset() {
        showing = nil
        offset = 0
        lastStep = 0
    }
}
