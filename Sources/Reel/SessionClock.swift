import Foundation
import ReelCore
import ReelTiming
import Synchronization

/// The time a session runs on: the host's monotonic clock, or a manual one in tests.
///
/// Thread-safety: Safe; every session thread reads it.
package protocol SessionClock: AnyObject, Sendable {
    /// Now, in host nanoseconds.
    func now() -> Int64
    /// Waits until `deadline` (host ns): the debug delays (`--render-delay`, `--decode-delay`).
    func sleep(until deadline: Int64)
}

/// Where the display's ticks come from: the vsync-aligned deadlines of a virtual
/// display, or a test's hand.
///
/// Thread-safety: Safe; `nextTick` is called by the display thread only.
package protocol VsyncSource: AnyObject, Sendable {
    /// Waits for the next tick and returns its deadline (host ns); nil once stopped.
    func nextTick() -> Int64?
    /// Wakes a display waiting in `nextTick` and ends the ticks (a stop, or the display leaving).
    func stop()
    /// Ticks the display woke too late for.
    var missedTicks: Int { get }
}

/// The host's monotonic clock.
package final class HostClock: SessionClock {
    package init() {}
    package func now() -> Int64 { HostTime.now() }
    package func sleep(until deadline: Int64) { HostTime.sleep(until: deadline) }
}

/// Ticks on absolute deadlines of a `VsyncTimeline` on the monotonic clock.
///
/// Deadlines are computed from the tick index, never by adding sleeps, so the ticks do
/// not drift. When the display comes back more than a tick late (the machine was busy),
/// the ticks it slept through are counted in `missedTicks` and it carries on at the
/// current one. The sleep here is the session's only one: the display wakes at its
/// deadline, and sees a stop then (at most one tick later).
///
/// Thread-safety: Safe; `nextTick` from one thread.
package final class DeadlineVsync: VsyncSource, @unchecked Sendable {
    package let timeline: VsyncTimeline
    private var index: Int64?
    private let missed = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)

    package init(timeline: VsyncTimeline) { self.timeline = timeline }

    package var missedTicks: Int { missed.load(ordering: .relaxed) }

    package func nextTick() -> Int64? {
        guard !stopped.load(ordering: .acquiring) else { return nil }
        let now = HostTime.now()
        let next = index.map { max($0 + 1, timeline.tick(atOrAfter: now)) } ?? timeline.tick(atOrAfter: now)
        if let index { missed.add(Int(next - index - 1), ordering: .relaxed) }
        index = next
        let deadline = timeline.time(ofTick: next)
        HostTime.sleep(until: deadline)
        return stopped.load(ordering: .acquiring) ? nil : deadline
    }

    package func stop() { stopped.store(true, ordering: .releasing) }
}

/// A clock and a display that move only when a test says so, as swift-nio's
/// `EmbeddedEventLoop.advanceTime`: `advance()` moves the time one display interval
/// on and waits until the display has handled that tick. Everything else in the session
/// still runs on its own threads; the display, the clocks and the debug delays run on
/// this virtual time.
///
/// Thread-safety: Safe.
package final class ManualVsync: VsyncSource, SessionClock, @unchecked Sendable {
    private let condition = NSCondition()
    private var time: Int64
    /// Ticks posted by `advance`, and those the display has finished.
    private var posted = 0
    private var handled = 0
    private var taken = 0
    private var stopped = false
    /// The tick interval (ns).
    package let interval: Int64

    /// Starts at host time `start` (ns), ticking at `rate` per second.
    package init(start: Int64 = 1_000_000_000, rate: Rational = Rational(60, 1)) {
        time = start
        interval = VsyncTimeline(start: 0, rate: rate).intervalMicroseconds * 1000
    }

    package var missedTicks: Int { 0 }

    package func now() -> Int64 { condition.withLock { time } }

    package func sleep(until deadline: Int64) {
        condition.withLock { while time < deadline && !stopped { condition.wait() } }
    }

    /// Moves the time one tick on and waits until the display has handled it; false
    /// when the display has stopped.
    @discardableResult
    package func advance() -> Bool {
        condition.withLock {
            guard !stopped else { return false }
            time += interval
            posted += 1
            condition.broadcast()
            while handled < posted && !stopped { condition.wait() }
            return !stopped
        }
    }

    package func nextTick() -> Int64? {
        condition.withLock {
            // Called again: the tick taken before is handled.
            handled = taken
            condition.broadcast()
            while taken == posted && !stopped { condition.wait() }
            guard !stopped else { return nil }
            taken += 1
            return time
        }
    }

    package func stop() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }
}
