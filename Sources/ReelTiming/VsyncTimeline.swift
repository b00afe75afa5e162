import ReelCore

/// The instants a display refreshes: a window's vsync, or a virtual display at a
/// fixed rate (`--display-fps`).
///
/// Tick `n` is computed from the start and the rate each time — start + n / rate,
/// in integer nanoseconds — never by adding periods up, so a virtual display keeps
/// exact time however long it runs (59.94 Hz is 60000/1001, not 16.683 ms).
/// Thread-safety: Safe (a value type).
package struct VsyncTimeline: Sendable, Equatable {
    /// Host time (ns) of tick 0.
    package let start: Int64
    /// Refreshes per second.
    package let rate: Rational

    package init(start: Int64, rate: Rational) {
        precondition(rate.isValid, "display rate must be positive")
        self.start = start
        self.rate = rate
    }

    /// Host time (ns) of tick `index`, rounded to the nearest nanosecond.
    package func time(ofTick index: Int64) -> Int64 {
        let scaled = index.multipliedFullWidth(by: 1_000_000_000 * rate.denominator)
        let (quotient, remainder) = rate.numerator.dividingFullWidth(scaled)
        return start + quotient + (remainder * 2 >= rate.numerator ? 1 : 0)
    }

    /// The first tick at or after host time `host` (ns).
    package func tick(atOrAfter host: Int64) -> Int64 {
        guard host > start else { return 0 }
        // Estimate in floating point, then step to the exact tick in integers.
        let estimate = Double(host - start) * Double(rate.numerator) / (1e9 * Double(rate.denominator))
        var index = max(0, Int64(estimate.rounded(.down)))
        while index > 0 && time(ofTick: index - 1) >= host { index -= 1 }
        while time(ofTick: index) < host { index += 1 }
        return index
    }

    /// The refresh interval in microseconds, rounded: the tolerance for "due now".
    package var intervalMicroseconds: Int64 {
        (1_000_000 * rate.denominator + rate.numerator / 2) / rate.numerator
    }
}
