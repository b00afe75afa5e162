import Foundation
import ReelCore
import ReelMedia
import ReelTiming

/// Everything the threads of one playback share, behind one lock, with one condition
/// that every blocking wait of the session waits on.
///
/// A change that someone may be waiting for (a packet queued, a frame taken, a
/// command, the end) is made with `update`, which wakes the waiters; each re-checks
/// what it waits for. Since every wait also checks `stopping`, the pending seek and
/// the generation, a command never waits behind a full or empty queue. The lock is
/// only held to read or change these fields, never across decoding, rendering or
/// I/O, and a frame's pool slot is never released under it (see `release(_:)`).
///
/// Thread-safety: Safe.
final class SessionState: @unchecked Sendable {
    private let condition = NSCondition()
    private var fields: SessionFields
    /// Threads in `wait` now.
    private var waiters = 0
    /// With virtual time, which threads are busy (see `waitUntilIdle`); nil otherwise.
    private let idle: IdleTracker?

    /// `tracksIdle`: count the session's threads and their waits, so that a test on
    /// virtual time can wait until every thread is blocked (`waitUntilIdle`).
    init(_ fields: SessionFields, tracksIdle: Bool = false) {
        self.fields = fields
        idle = tracksIdle ? IdleTracker() : nil
    }

    /// Reads the fields under the lock.
    func read<Result>(_ body: (SessionFields) throws -> Result) rethrows -> Result {
        condition.lock()
        defer { condition.unlock() }
        return try body(fields)
    }

    /// Changes the fields under the lock and wakes every waiting thread.
    @discardableResult
    func update<Result>(_ body: (inout SessionFields) throws -> Result) rethrows -> Result {
        condition.lock()
        defer {
            idle?.changed()
            if waiters > 0 { condition.broadcast() }
            condition.unlock()
        }
        return try body(&fields)
    }

    /// Waits until `body` returns a value (it is called under the lock, first at once,
    /// then after each change), and returns it; the others are woken afterwards, since
    /// `body` may have changed the fields.
    func wait<Result>(for body: (inout SessionFields) -> Result?) -> Result {
        waitOrGiveUp(for: body, at: nil)!
    }

    /// As `wait(for:)`, giving up at the wall-clock `deadline` (then `body` is asked
    /// one last time and may return nil): for observers that also work on a period.
    /// Such a wait does not count as blocked for `waitUntilIdle`.
    func wait<Result>(for body: (inout SessionFields) -> Result?, until deadline: Date) -> Result? {
        waitOrGiveUp(for: body, at: deadline)
    }

    private func waitOrGiveUp<Result>(for body: (inout SessionFields) -> Result?, at deadline: Date?) -> Result? {
        condition.lock()
        defer {
            idle?.changed()
            if waiters > 0 { condition.broadcast() }
            condition.unlock()
        }
        while true {
            if let result = body(&fields) { return result }
            waiters += 1
            if let deadline {
                let signalled = condition.wait(until: deadline)
                waiters -= 1
                if !signalled { return body(&fields) }
            } else {
                let mark = idle?.block()
                condition.wait()
                if let mark { idle?.unblock(mark) }
                waiters -= 1
            }
        }
    }

    /// With virtual time: counts the calling thread (or one about to start) among the
    /// session's until it calls `leave()`.
    func enter() { condition.withLock { idle?.enter() } }

    /// The calling thread is done with the session.
    func leave() { condition.withLock { idle?.leave() } }

    /// With virtual time: waits until every thread counted by `enter()` is blocked in
    /// an untimed `wait` (or gone) since the last change; at once without tracking.
    func waitUntilIdle() { idle?.waitUntilIdle() }

    /// Wakes the waiters after a change outside the fields they may be waiting for
    /// (a pool slot freed).
    func signal() { update { _ in } }

    /// Releases a frame's pool slot, outside the lock, and wakes a decoder that may be
    /// waiting for a free slot.
    func release(_ frame: ReadyFrame) {
        frame.frame.release()
        signal()
    }

    /// Releases frames taken out of a queue under the lock.
    func release(_ frames: [ReadyFrame]) {
        guard !frames.isEmpty else { return }
        for frame in frames { frame.frame.release() }
        signal()
    }
}

/// Which of a session's threads are blocked, for tests on virtual time: idle is every
/// counted thread in an untimed `SessionState.wait` since the last change of the fields
/// (a change may let any of them go on). Its numbers change under the session's lock;
/// the test's thread waits on a condition of its own, so that blocking threads never
/// wake one another to tell it.
///
/// Thread-safety: `enter`, `leave`, `block`, `unblock` and `changed` under the session's
/// lock; `waitUntilIdle` from any thread without it.
private final class IdleTracker: @unchecked Sendable {
    private var threads = 0
    private var blocked = 0
    private var changes = 0
    private let reached = NSCondition()
    /// Whether every counted thread is blocked (under `reached`'s lock).
    private var isIdle = false

    func enter() {
        threads += 1
        publish()
    }

    func leave() {
        threads -= 1
        publish()
    }

    /// The calling thread blocks; returns the change it blocked at.
    func block() -> Int {
        blocked += 1
        publish()
        return changes
    }

    /// The thread woke: still counted as blocked unless the fields changed meanwhile
    /// (then `changed` has already uncounted it).
    func unblock(_ mark: Int) {
        if changes == mark { blocked -= 1 }
    }

    /// The fields changed: every blocked thread may go on, so none counts as blocked
    /// until it has looked again.
    func changed() {
        changes += 1
        blocked = 0
        publish()
    }

    private func publish() {
        let idle = blocked >= threads
        reached.withLock {
            isIdle = idle
            if idle { reached.broadcast() }
        }
    }

    func waitUntilIdle() {
        reached.withLock { while !isIdle { reached.wait() } }
    }
}

/// The session's state: what it is doing, the generation, the clocks, the commands not
/// yet served, and the queues between the threads.
///
/// A seek or a loop starts a new generation (ffplay's `serial`): packets, frames and
/// clock readings carry the generation they were made in, and whoever reads one from an
/// older generation drops it. The generation lives here and nowhere else.
struct SessionFields {
    /// A live stream on the video clock: keeps the clock near what has arrived (nil
    /// otherwise), and the moves it made.
    var liveEdge: LiveEdge?
    var liveEdgeMoves = 0

    /// A live stream: a frame or a sound became ready `slack` µs ahead of the master
    /// clock (the sound: heard ahead of it); moves the clock, and the sound with it,
    /// when the live edge asks (see `LiveEdge`).
    mutating func followLiveEdge(slack: Int64, ofSound: Bool, at now: Int64) {
        guard liveEdge != nil, !paused, !clocks.master.isPaused, let master = clocks.master.media(at: now),
            let move = liveEdge!.observe(slack: slack, ofSound: ofSound)
        else { return }
        clocks.master.set(media: master + move.by, at: now)
        // The sound follows at once (a cut forward, silence back) unless the clock goes
        // back because the sound came late: then it is already there.
        if !(move.by < 0 && move.forSound) { soundShift = (soundShift.request + 1, -move.by) }
        liveEdgeMoves += 1
    }

    /// What the session is doing, as a user sees it.
    enum Phase: String, Sendable {
        case playing, paused, seeking, ending, stopped
    }

    /// Everyone stops: the end, a quit, or a failure.
    var stopping = false
    /// The stop came from a user (a key, a signal, a remote command, the embedding app).
    var stoppedByUser = false
    var paused = false
    var generation = 0
    /// A seek asked for and not yet served by the demux thread.
    var pendingSeek: SeekRequest?
    /// Whether the demux thread has taken a seek and not yet started its generation
    /// (the input is moving), so that the phase reads "seeking" throughout.
    var servingSeek = false
    /// Whether playback starts again at the end (`--loop`); cleared when it cannot.
    var looping = false
    var clocks = Clocks()
    /// The last generation the video decoder drained to its end, and the audio side
    /// decoded and played to its end (-1: none yet).
    var videoEnded = -1
    var audioEnded = -1
    /// The generation of the frame on screen (-1: none yet).
    var shownGeneration = -1
    /// Whether the session ended by playing to the end (not a stop or a frame limit).
    var playedToEnd = false
    /// The last generation shown to its end: every frame displayed, every sample heard.
    var playedThrough = -1
    /// The first failure; the session stops on it.
    var failure: PipelineError?
    /// How reading the input ended, when it ended on an error (truncated or corrupt):
    /// what was read plays, then the session reports it.
    var inputError: MediaError?
    /// Volume in percent (0–100) and mute; the audio thread applies them.
    var volume = 100
    var muted = false
    /// Screenshots asked for and not yet taken, oldest first.
    var screenshotsWanted: [ScreenshotRequest] = []
    /// Pictures kept for screenshots, written by the caller's thread.
    var screenshots: [Screenshot] = []
    /// The window lost its picture or changed size: the frame on screen is drawn again.
    var redraw = false
    /// Packets for the decoders; nil for a stream the input does not have (or that is
    /// not played). Bounded: the demux thread waits for room.
    var videoPackets: FIFO<PacketItem>?
    var audioPackets: FIFO<PacketItem>?
    /// Whether the demux thread is done pushing: the decoders take what is left, then end.
    var packetsClosed = false
    /// Decoded frames waiting for the display; bounded: the decoder waits for room.
    var ready: FIFO<ReadyFrame>
    /// Set by each thread as it leaves.
    var videoDone = false
    var audioDone = false
    var displayDone = false
    var audioFramesWritten: Int64 = 0
    /// How long (µs) after its tick a picture is presented in a window (the display's
    /// estimate; 0 offscreen): the sound of a new generation starts that much later, so
    /// that its first picture and its first sound come out together.
    var pictureLatency: Int64 = 0
    /// A shift of the sound asked for by the display (µs; positive: later), numbered so
    /// that the audio thread applies each once (see `DisplayWorker.alignPhase`).
    var soundShift: (request: Int, microseconds: Int64) = (0, 0)
    /// Media time (µs) at which the furthest sound written ends.
    var soundEnd: Int64?
    /// Whether the video decoder is waiting for a free pool slot.
    var waitingForSlot = false
    /// The display's ticks when the session runs on `VirtualTime`.
    var ticks = VirtualTicks()

    init(readyFrames: Int, packets: Int, hasVideo: Bool, hasAudio: Bool) {
        ready = FIFO(capacity: readyFrames)
        videoPackets = hasVideo ? FIFO(capacity: packets) : nil
        audioPackets = hasAudio ? FIFO(capacity: packets) : nil
    }

    var phase: Phase {
        if stopping { return .stopped }
        // Until the start or a seek has its first picture.
        if pendingSeek != nil || servingSeek || shownGeneration != generation { return .seeking }
        if paused { return .paused }
        if videoEnded == generation && (audioPackets == nil || audioEnded == generation) { return .ending }
        return .playing
    }

    /// Whether a wait of a thread that follows `generation` should give up: a stop, a
    /// seek to serve, or a newer generation.
    func interrupts(_ generation: Int) -> Bool {
        stopping || pendingSeek != nil || self.generation != generation
    }
}

/// The clocks of the current generation, changed together under the session's lock.
struct Clocks {
    /// The audio clock, set by the audio thread from what the output holds.
    var audio = MasterClock()
    /// The master clock when it is not the audio clock: the display starts it at the
    /// first frame (video, external, or audio that has ended), and it runs on the host clock.
    var master = MasterClock()
    /// The seek that started this generation (nil: the start, or a loop).
    var seek: ServedSeek?

    /// Starts afresh at host time `now`; paused clocks stay paused.
    mutating func restart(at now: Int64, paused: Bool, seek: ServedSeek?) {
        audio.reset()
        master.reset()
        if paused {
            audio.pause(at: now)
            master.pause(at: now)
        }
        self.seek = seek
    }
}

/// A seek not yet served by the demux thread.
enum SeekRequest: Sendable {
    /// By this many µs from the frame on screen.
    case relative(Int64, exact: Bool)
    /// To this media time (µs).
    case absolute(Int64, exact: Bool)
}

/// A seek as the demux thread served it.
struct ServedSeek: Sendable {
    /// Media time (µs) of the frame on screen when it was served.
    var from: Int64
    var target: SeekTarget
}

/// A screenshot asked for: where to write it (nil: the next free name of the
/// parameters' template), and who to tell once it is written or has failed.
struct ScreenshotRequest: Sendable {
    var path: String?
    var done: (@Sendable (Result<String, ScreenshotFailure>) -> Void)?
}

/// Why a screenshot was not written, in one line.
struct ScreenshotFailure: Error, Sendable {
    var message: String
}

/// A picture kept for a screenshot: rows packed, 4 bytes a pixel.
struct Screenshot: Sendable {
    var request: ScreenshotRequest
    var pixels: [UInt8]
    var width: Int
    var height: Int
    /// Blue first (a window's swapchain format) rather than red.
    var bgra: Bool
}

/// A first-in, first-out queue of at most `capacity` elements; no lock of its own
/// (the session's guards it).
struct FIFO<Element> {
    private var elements: [Element] = []
    private var head = 0
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0, "a queue needs room for one element")
        self.capacity = capacity
        elements.reserveCapacity(capacity)
    }

    var count: Int { elements.count - head }
    var isEmpty: Bool { count == 0 }
    var isFull: Bool { count >= capacity }
    var first: Element? { isEmpty ? nil : elements[head] }
    /// The queued elements, oldest first.
    var all: ArraySlice<Element> { elements[head...] }

    /// Appends, past the capacity too (a marker must not be lost; callers wait for room
    /// before pushing packets and frames).
    mutating func append(_ element: Element) { elements.append(element) }

    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = elements[head]
        head += 1
        if head == elements.count {
            elements.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 64 && head * 2 > elements.count {
            elements.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Takes out the elements `shouldRemove` picks, keeping the order of the others;
    /// returns them.
    mutating func removeAll(where shouldRemove: (Element) -> Bool) -> [Element] {
        var removed: [Element] = []
        var kept: [Element] = []
        kept.reserveCapacity(Swift.max(capacity, count))
        for element in elements[head...] {
            if shouldRemove(element) { removed.append(element) } else { kept.append(element) }
        }
        elements = kept
        head = 0
        return removed
    }
}
