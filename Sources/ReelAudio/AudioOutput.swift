import ReelCore

/// Why an audio output failed: one line, for the user.
package struct AudioError: Error, CustomStringConvertible, Sendable {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// Where decoded audio goes: the sound device, nowhere at the real rate, or a file.
///
/// The audio thread writes interleaved 16-bit samples in `format`; `write` blocks while
/// the output's buffer is full, so the thread is paced by the output. The audio clock
/// is the media time of the last frame written minus `queuedFrames(at:)`.
/// Thread-safety: Confined to the audio thread.
package protocol AudioOutput: AnyObject {
    var format: AudioFormat { get }
    /// Hands `samples` (whole frames) to the output, waiting for room as needed.
    func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioError)
    /// Frames written but not yet heard at host time `now` (ns).
    func queuedFrames(at now: Int64) -> Int64
    /// Waits until everything written has been heard; the output stays open.
    func drain() throws(AudioError)
    /// Drops what is queued and not yet heard (a pause, a seek, a quit); returns how
    /// many frames that was. The next `write` is heard at once.
    func flush() -> Int64
    /// Plays out what is queued, then closes the output.
    func finish() throws(AudioError)
}

/// The time source a paced output runs on: the monotonic clock, or a simulated one in tests.
package protocol OutputClock: AnyObject {
    func now() -> Int64
    func sleep(until deadline: Int64)
}

/// The host's monotonic clock.
package final class MonotonicClock: OutputClock {
    package init() {}
    package func now() -> Int64 { HostTime.now() }
    package func sleep(until deadline: Int64) { HostTime.sleep(until: deadline) }
}

/// An output that consumes samples at the real rate on a clock, like a sound card
/// with a buffer of `bufferDuration`: `--ao null`, and the pacing of `--ao wav:PATH`.
/// Samples are heard the moment they leave the buffer (no extra device latency).
///
/// Thread-safety: Confined to the audio thread.
package class PacedOutput: AudioOutput {
    package let format: AudioFormat
    private let clock: OutputClock
    private let bufferFrames: Int64
    /// Host time (ns) at which playback started, and frames written since.
    private var start: Int64?
    private var written: Int64 = 0

    package init(format: AudioFormat, bufferDuration: Int64 = 100_000, clock: OutputClock = MonotonicClock()) {
        self.format = format
        self.clock = clock
        bufferFrames = max(1, bufferDuration * Int64(format.sampleRate) / 1_000_000)
    }

    /// Frames heard by host time `now`: all of them once the buffer has drained.
    private func played(at now: Int64) -> Int64 {
        guard let start else { return 0 }
        let heard = Int64(1_000_000_000).dividingFullWidth(
            max(0, now - start).multipliedFullWidth(by: Int64(format.sampleRate))
        ).quotient
        return min(written, heard)
    }

    package func queuedFrames(at now: Int64) -> Int64 { written - played(at: now) }

    package func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioError) {
        let frames = Int64(samples.count / format.channels)
        let now = clock.now()
        if start == nil || queuedFrames(at: now) == 0 {
            // Starting, or the buffer ran dry (an underrun): playback restarts now.
            start = now - Self.nanoseconds(ofFrames: written, rate: format.sampleRate)
        }
        // Wait until the buffer has room for these frames.
        let roomAt = written + frames - bufferFrames
        if roomAt > 0 { clock.sleep(until: time(ofFrame: roomAt)) }
        try consume(samples)
        written += frames
    }

    package func drain() throws(AudioError) {
        if start != nil { clock.sleep(until: time(ofFrame: written)) }
    }

    package func flush() -> Int64 {
        let dropped = queuedFrames(at: clock.now())
        written -= dropped
        discard(frames: dropped)
        return dropped
    }

    package func finish() throws(AudioError) {
        try drain()
        try close()
    }

    /// Host time at which frame `index` is heard.
    private func time(ofFrame index: Int64) -> Int64 {
        (start ?? clock.now()) + Self.nanoseconds(ofFrames: index, rate: format.sampleRate)
    }

    static func nanoseconds(ofFrames frames: Int64, rate: Int) -> Int64 {
        Int64(rate).dividingFullWidth(frames.multipliedFullWidth(by: 1_000_000_000)).quotient
    }

    /// Where the samples go once paced; nowhere by default.
    func consume(_ samples: UnsafeBufferPointer<Int16>) throws(AudioError) {}
    func close() throws(AudioError) {}
    /// The last `frames` frames consumed will not be heard after all.
    func discard(frames: Int64) {}
}

/// `--ao null`: samples consumed at the real rate, and dropped.
package final class NullOutput: PacedOutput {}
