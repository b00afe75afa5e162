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
public final class PlaybackControls: Sendable {
    let state: SessionState
    private let clock: SessionClock
    /// Wakes the display when it waits for a tick that a stop makes moot.
    private let wakeDisplay: @Sendable () -> Void

    init(state: SessionState, clock: SessionClock, wakeDisplay: @escaping @Sendable () -> Void) {
        self.state = state
        self.clock = clock
        self.wakeDisplay = wakeDisplay
    }

    /// Stops playback: `run` returns soon after, the sound still queued dropped.
    public func stop() {
        state.stop()
        wakeDisplay()
    }

    /// Pauses a playing playback or resumes a paused one.
    public func togglePause() { state.togglePause(at: clock.now()) }

    /// Pauses or resumes; nothing happens when it already is as asked.
    public func setPaused(_ paused: Bool) {
        let now = clock.now()
        state.update { fields in
            if fields.paused != paused { fields.togglePause(at: now) }
        }
    }

    public var isPaused: Bool { state.read { $0.paused } }

    /// Seeks `delta` µs from the frame on screen; repeated requests before the first
    /// is served add up. Exact: shows the frame at the time itself, not a keyframe.
    public func seek(by delta: Int64, exact: Bool) {
        state.update { fields in
            if case .relative(let pending, _) = fields.pendingSeek {
                fields.pendingSeek = .relative(pending + delta, exact: exact)
            } else {
                fields.pendingSeek = .relative(delta, exact: exact)
            }
        }
    }

    /// Seeks to media time `time` (µs).
    public func seek(to time: Int64, exact: Bool) {
        state.update { $0.pendingSeek = .absolute(time, exact: exact) }
    }

    /// The volume in percent (0–100) applied to the sound, on a cubic curve as mpv's
    /// software volume: 50 % is 1/8 of the amplitude, about −18 dB.
    public var volume: Int {
        get { state.read { $0.volume } }
        set { state.update { $0.volume = min(100, max(0, newValue)) } }
    }

    public var isMuted: Bool {
        get { state.read { $0.muted } }
        set { state.update { $0.muted = newValue } }
    }

    /// Asks for the next picture rendered to be kept as a screenshot; `run` writes it
    /// as a PNG named after `PlaybackParameters.screenshotTemplate`.
    public func takeScreenshot() { state.update { $0.screenshotsWanted += 1 } }
}

extension SessionState {
    /// Everyone stops: playback is over, or something failed.
    func stop() { update { $0.stopping = true } }

    /// Pauses or resumes both clocks at host time `now`.
    func togglePause(at now: Int64) { update { $0.togglePause(at: now) } }

    /// Records the first failure and stops.
    func fail(_ error: ReelError) {
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
