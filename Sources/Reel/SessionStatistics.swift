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
    /// Submitted (or, for a decoded input, first packet received) → rendered.
    public var pushToRender: Latency?
    /// The Vulkan device that rendered.
    public var device: String?
    /// What the Vulkan validation layer reported (with `SessionParameters.validation`).
    public var validationErrors: [String] = []
    /// Process CPU time and wall time the session ran (from creation to its end).
    public var cpuTime: Duration = .zero
    public var wallTime: Duration = .zero
}

extension SessionStatistics.Latency {
    /// From latencies in ns.
    init?(nanoseconds latencies: [Int64]) {
        guard !latencies.isEmpty else { return nil }
        let sorted = latencies.sorted()
        func at(_ percent: Int) -> Duration {
            .nanoseconds(sorted[Swift.min(sorted.count - 1, sorted.count * percent / 100)])
        }
        count = sorted.count
        p50 = at(50)
        p95 = at(95)
        p99 = at(99)
        max = .nanoseconds(sorted.last!)
    }
}
