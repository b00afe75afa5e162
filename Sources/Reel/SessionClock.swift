import Foundation
import ReelAudio
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
    /// Set before the first tick only (`startTicks`), by the thread that ticks.
    package private(set) var timeline: VsyncTimeline
    private var index: Int64?
    private let missed = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)

    package init(timeline: VsyncTimeline) { self.timeline = timeline }

    package var missedTicks: Int { missed.load(ordering: .relaxed) }

    /// Puts tick 0 at host time `start` (ns): a display with no screen of its own
    /// ticks in phase with its input. Before the first `nextTick` only.
    package func startTicks(at start: Int64) {
        precondition(index == nil, "the ticks have started")
        timeline = VsyncTimeline(start: start, rate: timeline.rate)
    }

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

/// Time that moves only when a test says so, as swift-nio's `EmbeddedEventLoop.advanceTime`:
/// the session's clock, the display's ticks, the audio output's pacing and the debug
/// delays all run on it. `advance()` moves it one display interval on and waits until
/// every thread of the session is blocked again (see `SessionState.waitUntilIdle`),
/// so each step has done all it can do at that time, whatever the machine is doing:
/// real FFmpeg demux and decode, in their own threads, at their own real speed.
///
/// Thread-safety: Safe. `nextTick` is the display thread's; `advance` and `settle`
/// are the test's.
package final class VirtualTime: VsyncSource, SessionClock, OutputClock, @unchecked Sendable {
    private let state: SessionState
    private let time: Atomic<Int64>
    /// The tick interval (ns).
    package let interval: Int64

    /// Starts at host time `start` (ns), ticking at `rate` per second.
    init(state: SessionState, start: Int64 = 1_000_000_000, rate: Rational = Rational(60, 1)) {
        self.state = state
        time = Atomic(start)
        interval = VsyncTimeline(start: 0, rate: rate).intervalMicroseconds * 1000
    }

    /// Ticks the display slept through (a slow render on virtual time).
    package var missedTicks: Int { state.read { $0.ticks.missed } }

    package func now() -> Int64 { time.load(ordering: .acquiring) }

    /// Blocks until the time reaches `deadline`, or the session stops.
    package func sleep(until deadline: Int64) {
        state.wait { fields in self.now() >= deadline || fields.stopping || fields.ticks.stopped ? true : nil }
    }

    /// Moves the time one tick on and waits until the session has done what it can;
    /// false once the display has stopped. In two steps, as on a real display: the time
    /// moves and everything due by then happens (a decoder's delay ends, the sound is
    /// paced); then the display handles the tick, with what is ready at that moment.
    @discardableResult
    package func advance() -> Bool {
        let interval = interval
        // What the session can do at the current time first (at the start: every thread started).
        state.waitUntilIdle()
        state.update { _ in time.add(interval, ordering: .releasing) }
        state.waitUntilIdle()
        state.update { $0.ticks.posted += 1 }
        state.waitUntilIdle()
        return !state.read { $0.displayDone }
    }

    /// Waits, without moving the time, until the session has done what it can.
    package func settle() { state.waitUntilIdle() }

    package func nextTick() -> Int64? {
        state.wait { fields -> Int64?? in
            if fields.ticks.stopped || fields.stopping { return .some(nil) }
            guard fields.ticks.posted > fields.ticks.taken else { return nil }
            // Ticks posted while the display was busy (a slow render) are missed.
            fields.ticks.missed += fields.ticks.posted - fields.ticks.taken - 1
            fields.ticks.taken = fields.ticks.posted
            return .some(self.now())
        }
    }

    package func stop() { state.update { $0.ticks.stopped = true } }
}

/// The ticks of `VirtualTime`, under the session's lock.
struct VirtualTicks {
    var posted = 0
    var taken = 0
    var missed = 0
    var stopped = false
}
