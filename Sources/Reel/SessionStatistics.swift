/// What a session did, counted.
///
/// Thread-safety: Safe (a value type).
public struct SessionStatistics: Sendable, Equatable {
    /// Latency percentiles (nil when nothing was measured).
    public struct Latency: Sendable, Equatable {
        public var count: Int
        public var p50: Duration
        public var p95: Duration
        public var p99: Duration
        public var max: Duration
    }

    /// Frames the application submitted (pushed sources) or the decoder produced.
    public var framesIn = 0
    /// Frames rendered and handed out (or shown in a window).
    public var framesRendered = 0
    /// Frames never rendered: late at their tick (timed), or queued when the session
    /// stopped.
    public var framesDropped = 0
    /// Of those, frames dropped because the application held every output buffer.
    public var framesDroppedForBuffers = 0
    /// Frames the application's `push(_:planes:at:captured:)` copied into the pool,
    /// and their bytes: the only CPU copies on a pushed frame's way to the GPU.
    public var framesCopied = 0
    public var bytesCopied = 0
    /// Sound frames (one sample per channel) played: pushed, or decoded from the input.
    public var soundFramesPlayed = 0
    /// Submitted (or, for a decoded input, first packet received) → rendered.
    public var pushToRender: Latency?
    /// A `.listening` session: producer processes served, why each one that was cut off
    /// was (a bad message), and slots taken back from producers that left holding them.
    public var producers = 0
    public var producersRefused: [String] = []
    public var slotsReclaimed = 0
    /// Slots of the pools lent to producers, all together, and how many were free when
    /// the session ended: all of them when every slot came back (from the display, from
    /// producers that left, from those cut off).
    public var producerSlots = 0
    public var producerSlotsFreeAtEnd = 0
    /// The Vulkan device that rendered.
    public var device: String?
    /// What the Vulkan validation layer reported (with `SessionParameters.validation`).
    public var validationErrors: [String] = []
    /// Process CPU time and wall time while the session ran: from the end of its
    /// setup to its end (the whole process's CPU time, the application's included).
    public var cpuTime: Duration = .zero
    public var wallTime: Duration = .zero
    /// CPU time the setup took: opening the Vulkan device (and the input) and compiling
    /// the passes, before the first frame could be taken (not in `cpuTime`).
    public var setupCPUTime: Duration = .zero
}

extension SessionStatistics.Latency {
    /// From a histogram of latencies (nil when it is empty).
    init?(_ histogram: LatencyHistogram) {
        guard histogram.count > 0 else { return nil }
        count = histogram.count
        p50 = .nanoseconds(histogram.percentile(50))
        p95 = .nanoseconds(histogram.percentile(95))
        p99 = .nanoseconds(histogram.percentile(99))
        max = .nanoseconds(histogram.maximum)
    }
}

/// Latencies (ns) counted in buckets of at most 1/64 of their value (1.6 %), so that
/// a session running for days keeps 30 KB of them, not a number per frame.
///
/// Thread-safety: Not safe (a value type, mutated by one thread).
package struct LatencyHistogram {
    /// Values below 128 ns each have a bucket; above, each power of two has 64.
    private var counts = [Int](repeating: 0, count: 128 + 57 * 64)
    package private(set) var count = 0
    package private(set) var maximum: Int64 = 0

    package init() {}

    package mutating func record(_ nanoseconds: Int64) {
        let value = UInt64(Swift.max(0, nanoseconds))
        counts[Self.bucket(of: value)] += 1
        count += 1
        maximum = Swift.max(maximum, Int64(value))
    }

    private static func bucket(of value: UInt64) -> Int {
        guard value >= 128 else { return Int(value) }
        let shift = (64 - value.leadingZeroBitCount) - 7
        return 128 + (shift - 1) * 64 + Int(value >> UInt64(shift)) - 64
    }

    /// The middle of a bucket's values.
    private static func value(ofBucket index: Int) -> Int64 {
        guard index >= 128 else { return Int64(index) }
        let shift = (index - 128) / 64 + 1
        let top = Int64((index - 128) % 64 + 64)
        return (top << Int64(shift)) + (Int64(1) << Int64(shift)) / 2
    }

    /// The value below which `percent` % of those recorded fall (within a bucket's width).
    package func percentile(_ percent: Int) -> Int64 {
        value(atRank: Swift.max(1, (count * percent + 99) / 100))
    }

    /// The `rank`-th smallest value recorded (from 1; within a bucket's width).
    package func value(atRank rank: Int) -> Int64 {
        var seen = 0
        for (index, inBucket) in counts.enumerated() where inBucket > 0 {
            seen += inBucket
            if seen >= rank { return Swift.min(Self.value(ofBucket: index), maximum) }
        }
        return maximum
    }
}

/// Signed values (A−V offsets) recorded in constant memory, however long the run: a
/// histogram of each sign's magnitudes, their sum and the largest magnitude.
package struct SignedHistogram {
    /// Magnitudes of the negative values, and the values zero and above.
    private var below = LatencyHistogram()
    private var above = LatencyHistogram()
    package private(set) var sum: Int64 = 0

    package init() {}

    package var count: Int { below.count + above.count }
    package var largestMagnitude: Int64 { Swift.max(below.maximum, above.maximum) }

    package mutating func record(_ value: Int64) {
        if value < 0 { below.record(-value) } else { above.record(value) }
        sum &+= value
    }

    /// The value below which `percent` % of those recorded fall (within a bucket's width).
    package func percentile(_ percent: Int) -> Int64 {
        let rank = Swift.max(1, (count * percent + 99) / 100)
        // The negatives in order are their magnitudes from the largest down.
        return rank <= below.count
            ? -below.value(atRank: below.count - rank + 1) : above.value(atRank: rank - below.count)
    }
}
