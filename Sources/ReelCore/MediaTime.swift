/// A media timestamp: integer ticks of a time base, exactly as the container wrote it.
///
/// Conversions round to the nearest microsecond once, at the edge; nothing
/// accumulates floating-point seconds.
/// Thread-safety: Safe (a value type).
public struct MediaTime: Hashable, Sendable, CustomStringConvertible {
    /// Ticks of `timeBase`.
    public var ticks: Int64
    /// Seconds per tick.
    public var timeBase: Rational

    public init(ticks: Int64, timeBase: Rational) {
        self.ticks = ticks
        self.timeBase = timeBase
    }

    /// The time in whole microseconds, rounded to nearest (ties away from zero).
    public var microseconds: Int64 {
        let scaled = ticks.multipliedFullWidth(by: 1_000_000 * timeBase.numerator)
        let (quotient, remainder) = timeBase.denominator.dividingFullWidth(scaled)
        // Round half away from zero.
        if remainder.magnitude * 2 >= timeBase.denominator.magnitude {
            return quotient + (ticks >= 0 ? 1 : -1)
        }
        return quotient
    }

    public var description: String { "\(ticks)×\(timeBase)" }
}
