import Foundation
import ReelCore
import ReelTiming
import Synchronization

/// What a user (a key, a signal, an embedding app) can ask of a running playback.
///
/// Requests are taken by the threads that own the stage they concern: the demux
/// thread seeks, the audio thread applies the volume, the display thread takes
/// screenshots. Asking before `run` starts is fine (`--pause`, `--start`).
///
/// Thread-safety: Safe; call from any thread.
public final class PlaybackControls: Sendable {
    let shared: SharedState

    init(shared: SharedState) { self.shared = shared }

    /// Stops playback: `run` returns soon after, the sound still queued dropped.
    public func stop() { shared.stop() }

    /// Pauses a playing playback or resumes a paused one.
    public func togglePause() { shared.togglePause(at: HostTime.now()) }

    public var isPaused: Bool { shared.paused.load(ordering: .acquiring) }

    /// Seeks `delta` µs from the frame on screen; repeated requests before the first
    /// is served add up. Exact: shows the frame at the time itself, not a keyframe.
    public func seek(by delta: Int64, exact: Bool) {
        shared.seekRequest.withLock { request in
            if case .relative(let pending, _) = request {
                request = .relative(pending + delta, exact: exact)
            } else {
                request = .relative(delta, exact: exact)
            }
        }
    }

    /// Seeks to media time `time` (µs).
    public func seek(to time: Int64, exact: Bool) {
        shared.seekRequest.withLock { $0 = .absolute(time, exact: exact) }
    }

    /// The volume in percent (0–100) applied to the sound, on a cubic curve as mpv's
    /// software volume: 50 % is 1/8 of the amplitude, about −18 dB.
    public var volume: Int {
        get { shared.volume.load(ordering: .acquiring) }
        set { shared.volume.store(min(100, max(0, newValue)), ordering: .releasing) }
    }

    public var isMuted: Bool {
        get { shared.muted.load(ordering: .acquiring) }
        set { shared.muted.store(newValue, ordering: .releasing) }
    }

    /// Asks for the next picture rendered to be kept as a screenshot; `run` writes it
    /// as a PNG named after `PlaybackParameters.screenshotTemplate`.
    public func takeScreenshot() { shared.screenshotsWanted.add(1, ordering: .releasing) }
}

/// A seek not yet served by the demux thread.
enum SeekRequest: Sendable {
    /// By this many µs from the frame on screen.
    case relative(Int64, exact: Bool)
    /// To this media time (µs).
    case absolute(Int64, exact: Bool)
}

/// The clocks and the generation they belong to, changed together under one lock.
///
/// A seek or a loop starts a new generation (ffplay's `serial`): packets, frames and
/// clock readings carry the generation they were made in, and whoever reads one from
/// an older generation drops it.
struct Clocks {
    var generation = 0
    /// The audio clock, set by the audio thread from what the output holds.
    var audio = MasterClock()
    /// The master clock when it is not the audio clock: the display starts it at the
    /// first frame (video, external), and it runs on the monotonic clock.
    var master = MasterClock()
    /// The seek that started this generation (nil: the start, or a loop).
    var seek: ServedSeek?

    /// Starts a new generation at host time `now`; paused clocks stay paused.
    mutating func restart(at now: Int64, paused: Bool, seek: ServedSeek?) {
        generation += 1
        audio.reset()
        master.reset()
        if paused {
            audio.pause(at: now)
            master.pause(at: now)
        }
        self.seek = seek
    }
}

/// A seek as the demux thread served it.
struct ServedSeek: Sendable {
    /// Media time (µs) of the frame on screen when it was served.
    var from: Int64
    var target: SeekTarget
}

/// What the threads share, each field with its own synchronization.
final class SharedState: Sendable {
    /// Closes the packet queues, so a demuxer waiting to push gives up.
    private let closeQueues = Mutex<[@Sendable () -> Void]>([])
    let stopping = Atomic<Bool>(false)
    let videoDone = Atomic<Bool>(false)
    let audioDone = Atomic<Bool>(false)
    let displayDone = Atomic<Bool>(false)
    let audioFramesWritten = Atomic<Int64>(0)
    let clocks = Mutex(Clocks())
    /// The clocks' generation, readable without the lock.
    let generation = Atomic<Int>(0)
    /// The last generation the video decoder drained to its end, and the audio side
    /// decoded and played to its end (-1: none yet).
    let videoEnded = Atomic<Int>(-1)
    let audioEnded = Atomic<Int>(-1)
    /// The last generation shown to its end: every frame of it displayed.
    let playedThrough = Atomic<Int>(-1)
    let failure = Mutex<ReelError?>(nil)
    let paused = Atomic<Bool>(false)
    /// Whether playback starts again at the end (`--loop`); cleared when it cannot.
    let looping = Atomic<Bool>(false)
    let seekRequest = Mutex<SeekRequest?>(nil)
    let volume = Atomic<Int>(100)
    let muted = Atomic<Bool>(false)
    let screenshotsWanted = Atomic<Int>(0)
    /// The window lost its picture or changed size: the frame on screen is drawn again.
    let redraw = Atomic<Bool>(false)
    let screenshots = Mutex<[Screenshot]>([])

    /// The queues `stop` closes.
    func register(queues: [@Sendable () -> Void]) {
        closeQueues.withLock { $0 = queues }
        if stopping.load(ordering: .acquiring) { for close in queues { close() } }
    }

    /// Everyone stops: playback is over, or something failed.
    func stop() {
        stopping.store(true, ordering: .releasing)
        for close in closeQueues.withLock({ $0 }) { close() }
    }

    /// Pauses or resumes both clocks at host time `now`: the picture holds (no frame is
    /// due), the audio thread stops writing, and the paused time does not count.
    func togglePause(at now: Int64) {
        clocks.withLock { clocks in
            let pausing = !paused.load(ordering: .acquiring)
            if pausing {
                clocks.master.pause(at: now)
                clocks.audio.pause(at: now)
            } else {
                clocks.master.resume(at: now)
                clocks.audio.resume(at: now)
            }
            paused.store(pausing, ordering: .releasing)
        }
    }

    /// Sets the audio clock, unless a seek has made `generation` stale.
    func setAudioClock(media: Int64, at now: Int64, limit: Int64?, generation: Int) {
        clocks.withLock { if $0.generation == generation { $0.audio.set(media: media, at: now, limit: limit) } }
    }

    /// The master clock's media time at `now`, if set in `generation`.
    func masterTime(at now: Int64, generation: Int) -> Int64? {
        clocks.withLock { $0.generation == generation ? $0.master.media(at: now) : nil }
    }

    func fail(_ error: ReelError) {
        failure.withLock { if $0 == nil { $0 = error } }
        stop()
    }
}

/// A picture kept for a screenshot: rows packed, 4 bytes a pixel.
struct Screenshot: Sendable {
    var pixels: [UInt8]
    var width: Int
    var height: Int
    /// Blue first (a window's swapchain format) rather than red.
    var bgra: Bool
}

/// A value handed to another thread that from then on is its only user.
struct Handoff<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
