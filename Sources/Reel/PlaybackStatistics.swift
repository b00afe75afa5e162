import Foundation
import ReelCore
import ReelMedia
import ReelNet
import ReelTiming
import Synchronization

/// A summary of A−V offsets (video shown minus audio heard, µs) at presentation.
package struct OffsetSummary: Sendable, Codable, Equatable {
    package var count: Int
    package var mean: Double
    package var p50: Int64
    package var p95: Int64
    package var maxMagnitude: Int64

    /// From the offsets of a run (each within its histogram bucket's width, 1.6 %).
    init?(_ offsets: SignedHistogram) {
        guard offsets.count > 0 else { return nil }
        count = offsets.count
        mean = Double(offsets.sum) / Double(offsets.count)
        p50 = offsets.percentile(50)
        p95 = offsets.percentile(95)
        maxMagnitude = offsets.largestMagnitude
    }
}

/// Percentiles of a latency, in µs.
package struct LatencySummary: Sendable, Codable, Equatable {
    package var count: Int
    package var p50: Int64
    package var p95: Int64
    package var p99: Int64
    package var max: Int64

    /// From latencies in ns.
    package init?(_ latencies: [Int64]) {
        guard !latencies.isEmpty else { return nil }
        let sorted = latencies.sorted()
        func at(_ percent: Int) -> Int64 { sorted[Swift.min(sorted.count - 1, sorted.count * percent / 100)] / 1000 }
        count = sorted.count
        p50 = at(50)
        p95 = at(95)
        p99 = at(99)
        max = sorted.last! / 1000
    }

    /// From a histogram of latencies in ns (each within its bucket's width, 1.6 %).
    package init?(_ latencies: LatencyHistogram) {
        guard latencies.count > 0 else { return nil }
        count = latencies.count
        p50 = latencies.percentile(50) / 1000
        p95 = latencies.percentile(95) / 1000
        p99 = latencies.percentile(99) / 1000
        max = latencies.maximum / 1000
    }

    /// "p50 12.3, p95 …, p99 …, max … ms".
    package var summary: String {
        [("p50", p50), ("p95", p95), ("p99", p99), ("max", max)]
            .map { "\($0.0) \(String(format: "%.1f", Double($0.1) / 1000))" }.joined(separator: ", ") + " ms"
    }
}

/// Counters of one timed playback.
package struct PlaybackStatistics: Sendable, Codable {
    package var presentation = PresentationStatistics()
    /// Display ticks the scheduler thread woke too late for.
    package var missedTicks = 0
    /// Renders not made because the window had no swapchain image free (or was being
    /// resized or minimized).
    package var imagesUnavailable = 0
    /// Video frames shown minus the audio clock at the tick that showed them (minus the
    /// master clock when there is no audio).
    package var avOffset: OffsetSummary?
    /// Frames added to (positive) or removed from the sound to keep it on a video or
    /// external master: silence or a cut at the start, then libswresample's stretch.
    package var audioFramesAligned: Int64 = 0
    package var audioFramesStretched: Int64 = 0
    /// Wall time of `run` and the process's CPU time (all threads) during it, seconds.
    package var wallSeconds = 0.0
    package var cpuSeconds = 0.0
    package var framesDecoded = 0
    /// Damaged pictures the decoder returned, by what became of them.
    package var damagedPictures = DamageCounts()
    /// Packets the decoders rejected as invalid (their pictures or sound are missing).
    package var rejectedPackets = 0
    package var rejectedAudioPackets = 0
    package var audioFramesWritten: Int64 = 0
    /// The master clock used: "audio", "video", "external", or "none" (untimed).
    package var sync: String = ""
    /// Why sound went to the null output instead of the device, if it did.
    package var audioWarning: String?
    /// The screenshots written, in order.
    package var screenshots: [String] = []
    /// Per stream of an RTP session: what the network did (empty for a file).
    package var rtp: [RTPStatistics] = []
    /// Why a live input ended by itself (a BYE, silence).
    package var inputEnd: String?
    /// A live input's frames: from the arrival of a frame's first packet to the frame
    /// on screen (its tick, or its presentation in a window).
    package var receiveToPresent: LatencySummary?
    /// A live input: from its first packet to its first picture on screen (µs).
    package var firstPictureAfter: Int64?
    /// When (host ns) the first frame was shown.
    var firstShown: Int64?
}

/// What a playback is doing now: for a status line.
package struct PlaybackProgress: Sendable {
    /// Media time (µs) of the frame on screen.
    package var position: Int64?
    /// The input's duration (µs), when its container states one.
    package var duration: Int64?
    package var presentation = PresentationStatistics()
    /// A−V (µs) of the latest frame shown.
    package var avOffset: Int64?
    /// Renders finished so far (shown, repeated and untimed ones).
    package var rendered = 0
    /// An RTP session's counts per stream so far (empty for a file).
    package var rtp: [RTPStatistics] = []
    /// The generation of the frame on screen (a seek starts a new one).
    var generation = -1
}

/// Where another thread reads a running playback's progress.
///
/// Thread-safety: Safe; the display thread writes it once a tick, the caller's thread
/// posts messages.
package final class PlaybackMonitor: Sendable {
    private let state = Locked(PlaybackProgress())
    private let messages = Locked<[String]>([])
    package var progress: PlaybackProgress { state.withLock { $0 } }
    func update(_ body: (inout PlaybackProgress) -> Void) { state.withLock { body(&$0) } }

    /// Takes the notes posted since the last call (a screenshot written, one that
    /// failed), oldest first: for the user, one line each.
    package func takeMessages() -> [String] {
        messages.withLock { posted in
            defer { posted.removeAll() }
            return posted
        }
    }

    func post(_ message: String) { messages.withLock { $0.append(message) } }
}
