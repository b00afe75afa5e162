/// The master clock as the display reads it: it runs at rate 1 from where it last
/// agreed with the master, and is moved only when the master has really moved.
///
/// An audio clock is re-anchored at every chunk from the output's latency report, and
/// wobbles by a few milliseconds from one report to the next. Read directly, that
/// wobble moves a frame whose time is near a tick boundary back and forth across it:
/// a repeat, then a drop, on a film that should play evenly. So the follower averages
/// the difference over about 32 readings (half a second at 60 Hz) and corrects only when the average is
/// past `tolerance` (drift built up); a difference past `stepThreshold` (a seek, a
/// stall, the first reading after a pause) is taken at once.
///
/// Pure logic: the caller passes the times. Thread-safety: Unsafe (a value type).
package struct ClockFollower: Sendable {
    /// The largest average difference (µs) left alone.
    package let tolerance: Int64
    /// A difference (µs) followed at once, without averaging.
    package let stepThreshold: Int64
    private var anchor: (media: Int64, host: Int64)?
    /// The running average of master minus follower, µs.
    private var averageError: Int64 = 0
    /// Times the follower moved to the master.
    package private(set) var corrections = 0

    package init(tolerance: Int64 = 2_000, stepThreshold: Int64 = 15_000) {
        self.tolerance = tolerance
        self.stepThreshold = stepThreshold
    }

    /// The display's media time (µs) at host time `host` (ns), given the master's
    /// media time `master` (µs) there.
    package mutating func follow(_ master: Int64, at host: Int64) -> Int64 {
        guard let anchor else { return moved(to: master, at: host) }
        let predicted = anchor.media + MasterClock.microseconds(fromNanoseconds: host - anchor.host)
        let error = master - predicted
        if abs(error) > stepThreshold {
            corrections += 1
            return moved(to: master, at: host)
        }
        averageError += (error - averageError) / 32
        guard abs(averageError) > tolerance else { return predicted }
        corrections += 1
        return moved(to: predicted + averageError, at: host)
    }

    private mutating func moved(to media: Int64, at host: Int64) -> Int64 {
        anchor = (media, host)
        averageError = 0
        return media
    }

    /// Forgets the anchor (a seek, a pause): the next reading is taken as it is.
    package mutating func reset() {
        anchor = nil
        averageError = 0
    }
}
