/// The format of the PCM a player hands its audio output: interleaved signed 16-bit
/// samples at `sampleRate`, `channels` per frame (a frame is one sample per channel).
///
/// Thread-safety: Safe (a value type).
package struct AudioFormat: Hashable, Sendable, CustomStringConvertible {
    package var sampleRate: Int
    package var channels: Int

    package init(sampleRate: Int, channels: Int) {
        precondition(sampleRate > 0 && channels > 0, "audio format must have a rate and channels")
        self.sampleRate = sampleRate
        self.channels = channels
    }

    /// Bytes per frame.
    package var frameBytes: Int { channels * 2 }

    /// Microseconds that `frames` frames last, rounded to nearest.
    package func microseconds(ofFrames frames: Int64) -> Int64 {
        (frames * 1_000_000 + Int64(sampleRate) / 2) / Int64(sampleRate)
    }

    package var description: String { "\(sampleRate) Hz, \(channels) ch, s16" }
}
