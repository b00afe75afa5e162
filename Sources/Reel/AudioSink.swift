import ReelAudio
import ReelCore

/// Sound handed to the application instead of a sound device: a capture tool that
/// encodes or analyses it in step with the pictures.
///
/// The session's audio thread calls `play` with each chunk of interleaved signed
/// 16-bit samples, in order, at the pace a sound card with a 100 ms buffer would take
/// them, and the pictures follow that sound (it is the session's master clock):
/// `heard` is the instant its first sample plays, on the same clock as
/// `RenderedFrame.due`.
///
/// Thread-safety: `play` is called on the session's audio thread, one call at a time;
/// the sink must be `Sendable` (it is handed to that thread). Keep `play` short: a slow
/// sink delays the sound, and the pictures with it.
public protocol AudioSink: AnyObject, Sendable {
    func play(_ samples: Span<Int16>, format: AudioSampleFormat, heard: SuspendingClock.Instant)
}

/// Interleaved signed 16-bit samples: how many per second, and of how many channels.
///
/// Thread-safety: Safe (a value type).
public struct AudioSampleFormat: Hashable, Sendable {
    public var sampleRate: Int
    public var channels: Int

    public init(sampleRate: Int, channels: Int) {
        self.sampleRate = sampleRate
        self.channels = channels
    }
}

/// An `AudioSink` as a sound output: paced like a sound card (`PacedOutput`), each
/// chunk handed to the application as it goes in.
///
/// Thread-safety: Confined to the audio thread.
final class ApplicationAudioOutput: AudioOutput {
    private let sink: any AudioSink
    private let paced: NullOutput
    private let clock: OutputClock
    var format: AudioFormat { paced.format }

    init(sink: any AudioSink, format: AudioFormat, clock: OutputClock) {
        self.sink = sink
        self.clock = clock
        paced = NullOutput(format: format, clock: clock)
    }

    func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioError) {
        let now = clock.now()
        let queued = paced.queuedFrames(at: now)
        let heard = now + queued * 1_000_000_000 / Int64(format.sampleRate)
        let instant = SuspendingClock.now.advanced(by: .nanoseconds(heard - HostTime.now()))
        sink.play(
            samples.span, format: AudioSampleFormat(sampleRate: format.sampleRate, channels: format.channels),
            heard: instant)
        try paced.write(samples)
    }

    func queuedFrames(at now: Int64) -> Int64 { paced.queuedFrames(at: now) }
    func drain() throws(AudioError) { try paced.drain() }
    func flush() -> Int64 { paced.flush() }
    func finish() throws(AudioError) { try paced.finish() }
}
