/// When video (or the wall clock) is master, keeps sound on it by stretching or
/// squeezing the audio slightly — libswresample's compensation — instead of cutting or
/// inserting samples, which clicks.
///
/// The method is ffplay's: the difference between the audio clock and the master is
/// averaged over about 20 chunks (older ones weigh less), and once the average is past
/// `threshold` a chunk of `n` frames is played as `n + difference × rate` frames,
/// capped at `maxStretchPercent` either way. Differences beyond 10 s mean the streams
/// do not belong together there (a jump, broken timestamps): no correction, and the
/// average starts again.
///
/// Pure logic. Thread-safety: Unsafe (a value type); the audio thread owns it.
package struct AudioDriftCorrector: Sendable {
    package let sampleRate: Int
    /// The smallest average difference (µs) corrected.
    package let threshold: Int64
    /// The most a chunk is stretched or squeezed, in percent.
    package let maxStretchPercent: Int
    private var cumulative = 0.0
    private var count = 0
    /// Weight of the previous average: 0.01 after 20 chunks.
    private static let coefficient = 0.794_328_234_724_281_5  // exp(log(0.01) / 20)
    private static let measurementsBeforeCorrecting = 20

    package init(sampleRate: Int, threshold: Int64 = 5_000, maxStretchPercent: Int = 4) {
        self.sampleRate = sampleRate
        self.threshold = threshold
        self.maxStretchPercent = maxStretchPercent
    }

    /// Given the audio clock minus the master (µs) now, and a chunk of `frames` about
    /// to be resampled, the frames to add to it (positive: audio is ahead and must
    /// slow down) or remove (negative).
    package mutating func correction(difference: Int64, frames: Int) -> Int {
        guard abs(difference) < FrameScheduler.resyncThreshold else {
            cumulative = 0
            count = 0
            return 0
        }
        cumulative = Double(difference) + Self.coefficient * cumulative
        guard count >= Self.measurementsBeforeCorrecting else {
            count += 1
            return 0
        }
        let average = cumulative * (1 - Self.coefficient)
        guard abs(average) >= Double(threshold) else { return 0 }
        let wanted = Int((Double(difference) * Double(sampleRate) / 1_000_000).rounded())
        let most = frames * maxStretchPercent / 100
        return min(max(wanted, -most), most)
    }

    /// Starts over (a seek, a pause).
    package mutating func reset() {
        cumulative = 0
        count = 0
    }
}
