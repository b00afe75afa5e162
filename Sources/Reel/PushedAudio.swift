import Foundation
import ReelAudio
import ReelCore

/// Sound the application pushes (interleaved 16-bit chunks with their presentation
/// times), played on the session's audio thread to the output it chose, and the
/// session's master clock: pushed pictures are shown when their time is heard.
///
/// At most half a second of sound waits to be played: `push` suspends beyond that
/// (back-pressure, as leases do). The output is opened at the first chunk, in its
/// format; every later chunk must have the same.
///
/// Thread-safety: Safe. `run` is the audio thread's; the rest may be called from any
/// thread.
final class PushedAudio: @unchecked Sendable {
    private let state: SessionState
    private let host: SessionClock
    private let open: @Sendable (AudioFormat) throws(AudioError) -> (output: AudioOutput, warning: String?)
    /// Guards everything below and wakes the audio thread.
    private let condition = NSCondition()
    private var chunks: [(samples: [Int16], start: Int64)] = []
    private var queuedFrames = 0
    private var format: AudioFormat?
    private var lastStart: Int64?
    private var finished = false
    private var stopped = false
    /// Producers waiting for room, by id.
    private var waiters: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var nextWaiter = 0
    /// Why the chosen output could not be opened (then the sound plays on nowhere).
    private(set) var warning: String?
    private(set) var framesPushed = 0

    init(
        state: SessionState, clock: SessionClock,
        open: @escaping @Sendable (AudioFormat) throws(AudioError) -> (output: AudioOutput, warning: String?)
    ) {
        self.state = state
        host = clock
        self.open = open
    }

    func push(_ samples: [Int16], format sampleFormat: AudioSampleFormat, at time: MediaTime) async throws(ReelError) {
        guard (1...8).contains(sampleFormat.channels), (8000...192_000).contains(sampleFormat.sampleRate) else {
            throw ReelError(
                .unsuitable,
                "pushed sound must have 1…8 channels at 8000…192000 Hz, not \(sampleFormat.channels) at \(sampleFormat.sampleRate)"
            )
        }
        guard samples.count % sampleFormat.channels == 0, !samples.isEmpty else {
            throw ReelError(
                .unsuitable,
                "a chunk of \(samples.count) samples is not whole frames of \(sampleFormat.channels) channels")
        }
        guard time.timeBase.isValid else {
            throw ReelError(.unsuitable, "a presentation time needs a positive time base, not \(time.timeBase)")
        }
        let format = AudioFormat(sampleRate: sampleFormat.sampleRate, channels: sampleFormat.channels)
        let id = condition.withLock {
            defer { nextWaiter += 1 }
            return nextWaiter
        }
        // Room for it: wait while half a second is queued.
        while true {
            let refusal: String?? = condition.withLock {
                if finished || stopped {
                    return "the session takes no more sound: its input was finished or it stopped"
                }
                if let known = self.format, known != format {
                    return "pushed sound changed format from \(known) to \(format); a session's sound keeps one"
                }
                if let lastStart, time.microseconds <= lastStart {
                    return "sound presentation times must increase: \(time) is not after the last chunk's"
                }
                return queuedFrames < format.sampleRate / 2 ? .some(nil) : nil
            }
            if let refusal {
                if let refusal { throw ReelError(.unsuitable, refusal) }
                break
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = condition.withLock {
                    if finished || stopped || queuedFrames < format.sampleRate / 2 { return true }
                    waiters.append((id, continuation))
                    return false
                }
                if now { continuation.resume() }
            }
        }
        condition.withLock {
            self.format = format
            lastStart = time.microseconds
            chunks.append((samples, time.microseconds))
            queuedFrames += samples.count / format.channels
            framesPushed += samples.count / format.channels
            condition.broadcast()
        }
    }

    /// No more sound: what is queued plays out, then the sound ends.
    func finish() { end { $0.finished = true } }

    /// Stops at once: what is queued is dropped, waiting producers throw.
    func stop() { end { $0.stopped = true } }

    private func end(_ change: (PushedAudio) -> Void) {
        let waiting = condition.withLock {
            change(self)
            condition.broadcast()
            defer { waiters.removeAll() }
            return waiters
        }
        for waiter in waiting { waiter.continuation.resume() }
    }

    /// The audio thread: plays the chunks as they come, sets the audio clock, and at
    /// the end lets the sound be heard and marks it ended.
    func run() {
        var output: AudioOutput?
        var clock: AudioClock?
        defer {
            _ = output?.flush()
            try? output?.finish()
            state.update { $0.audioDone = true }
        }
        do throws(AudioError) {
            while true {
                let (next, room) = condition.withLock {
                    () -> ((samples: [Int16], start: Int64)?, [CheckedContinuation<Void, Never>]) in
                    while chunks.isEmpty && !finished && !stopped { condition.wait() }
                    guard !stopped, !chunks.isEmpty else { return (nil, []) }
                    let chunk = chunks.removeFirst()
                    queuedFrames -= chunk.samples.count / (format?.channels ?? 1)
                    defer { waiters.removeAll() }
                    return (chunk, waiters.map(\.continuation))
                }
                for waiter in room { waiter.resume() }
                guard let next else { break }
                if output == nil, let format = condition.withLock({ self.format }) {
                    let opened = try open(format)
                    output = opened.output
                    warning = opened.warning
                    clock = AudioClock(format: format)
                }
                guard let sink = output, var audioClock = clock else { break }
                let written = next.samples.withUnsafeBufferPointer { samples in
                    Result { () throws(AudioError) in try sink.write(samples) }
                }
                try written.get()
                let frames = next.samples.count / sink.format.channels
                audioClock.wrote(frames: frames, startingAt: next.start)
                clock = audioClock
                let now = host.now()
                let heard = audioClock.media(queuedFrames: sink.queuedFrames(at: now))
                let writtenEnd = audioClock.writtenEnd
                state.update { fields in
                    fields.audioFramesWritten += Int64(frames)
                    if let heard { fields.clocks.audio.set(media: heard, at: now, limit: writtenEnd) }
                }
            }
            if !condition.withLock({ stopped }) {
                // The end of the sound: heard out, then the clock runs on from its end.
                try output?.drain()
                let end = clock?.writtenEnd
                let now = host.now()
                state.update { fields in
                    if let end { fields.clocks.audio.set(media: end, at: now) }
                    fields.audioEnded = max(fields.audioEnded, 0)
                }
            }
        } catch {
            state.fail(.audio(error))
        }
    }
}
