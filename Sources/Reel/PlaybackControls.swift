import Foundation
import ReelCore
import ReelTiming

/// What a user (a key, a signal, a remote-control line, an embedding app) can ask of a
/// running playback.
///
/// Requests are taken by the threads that own the stage they concern: the demux
/// thread seeks, the audio thread applies the volume, the display thread takes
/// screenshots. Each wakes whatever thread waits for it. Asking before `run` starts is
/// fine (`--pause`, `--start`).
///
/// Thread-safety: Safe; call from any thread.
package final class PlaybackControls: Sendable {
    let state: SessionState
    private let clock: SessionClock
    /// Wakes the display when it waits for a tick that a stop makes moot.
    private let wakeDisplay: @Sendable () -> Void
    let events: SessionEvents
    /// Whether pictures are rendered, so that a screenshot can be taken.
    let hasPicture: Bool

    init(
        state: SessionState, clock: SessionClock, events: SessionEvents, hasPicture: Bool,
        wakeDisplay: @escaping @Sendable () -> Void
    ) {
        self.state = state
        self.clock = clock
        self.events = events
        self.hasPicture = hasPicture
        self.wakeDisplay = wakeDisplay
    }

    /// Stops playback: `run` returns soon after, the sound still queued dropped.
    package func stop() {
        state.update { fields in
            if !fields.stopping { fields.stoppedByUser = true }
            fields.stopping = true
        }
        wakeDisplay()
    }

    /// Pauses a playing playback or resumes a paused one.
    package func togglePause() {
        let now = clock.now()
        let paused = state.update { fields in
            fields.togglePause(at: now)
            return fields.paused
        }
        events.post(.pause(paused))
    }

    /// Pauses or resumes; nothing happens when it already is as asked.
    package func setPaused(_ paused: Bool) {
        let now = clock.now()
        let changed = state.update { fields in
            guard fields.paused != paused else { return false }
            fields.togglePause(at: now)
            return true
        }
        if changed { events.post(.pause(paused)) }
    }

    package var isPaused: Bool { state.read { $0.paused } }

    /// Seeks `delta` µs from the frame on screen; repeated requests before the first
    /// is served add up. Exact: shows the frame at the time itself, not a keyframe.
    package func seek(by delta: Int64, exact: Bool) {
        state.update { fields in
            if case .relative(let pending, _) = fields.pendingSeek {
                fields.pendingSeek = .relative(pending + delta, exact: exact)
            } else {
                fields.pendingSeek = .relative(delta, exact: exact)
            }
        }
    }

    /// Seeks to media time `time` (µs).
    package func seek(to time: Int64, exact: Bool) {
        state.update { $0.pendingSeek = .absolute(time, exact: exact) }
    }

    /// The volume in percent (0–100) applied to the sound, on a cubic curve as mpv's
    /// software volume: 50 % is 1/8 of the amplitude, about −18 dB.
    package var volume: Int {
        get { state.read { $0.volume } }
        set { state.update { $0.volume = min(100, max(0, newValue)) } }
    }

    package var isMuted: Bool {
        get { state.read { $0.muted } }
        set { state.update { $0.muted = newValue } }
    }

    /// Asks for the next picture rendered to be kept as a screenshot; `run` writes it
    /// as a PNG named after `PlaybackParameters.screenshotTemplate`.
    package func takeScreenshot() { state.update { $0.screenshotsWanted.append(ScreenshotRequest()) } }

    /// Asks for the next picture rendered to be written as a PNG at `path`; `done` is
    /// called (on the caller's thread of `run`, or at once when there is no picture to
    /// take) with the path written or why not.
    func takeScreenshot(to path: String, done: @escaping @Sendable (Result<String, ScreenshotFailure>) -> Void) {
        guard hasPicture else {
            done(
                .failure(ScreenshotFailure(message: "no picture to take: nothing is rendered (--vo none, or no video)"))
            )
            return
        }
        state.update { $0.screenshotsWanted.append(ScreenshotRequest(path: path, done: done)) }
    }
}

extension SessionState {
    /// Everyone stops: playback is over, or something failed.
    func stop() { update { $0.stopping = true } }

    /// Pauses or resumes both clocks at host time `now`.
    func togglePause(at now: Int64) { update { $0.togglePause(at: now) } }

    /// Records the first failure and stops.
    func fail(_ error: PipelineError) {
        update { fields in
            if fields.failure == nil { fields.failure = error }
            fields.stopping = true
        }
    }
}

extension SessionFields {
    /// Pauses or resumes both clocks at host time `now`: the picture holds (no frame is
    /// due), the audio thread stops writing, and the paused time does not count.
    mutating func togglePause(at now: Int64) {
        paused.toggle()
        if paused {
            clocks.master.pause(at: now)
            clocks.audio.pause(at: now)
        } else {
            clocks.master.resume(at: now)
            clocks.audio.resume(at: now)
        }
    }
}
