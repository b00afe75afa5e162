import Foundation
import ReelCore
public import ReelTiming
import Synchronization

/// A dedicated thread that wakes at every tick of a `VsyncTimeline`, on absolute
/// deadlines of the monotonic clock, and calls `onTick` there: the scheduler's
/// heartbeat for a virtual display (`--display-fps`).
///
/// Deadlines are computed from the tick index, never by adding sleeps, so the thread
/// does not drift. When it wakes more than a tick late (the machine was busy), the
/// ticks it slept through are counted in `missedTicks` and it carries on at the
/// current one. `onTick` returns false to stop the thread.
///
/// Thread-safety: Safe to `stop()` from any thread; `onTick` runs on the vsync thread.
public final class VsyncThread: Sendable {
    /// What the vsync thread and its owner share.
    private final class State: Sendable {
        let running = Atomic<Bool>(true)
        let missed = Atomic<Int>(0)
        let finished = Atomic<Bool>(false)
    }

    public let timeline: VsyncTimeline
    private let state = State()

    /// Ticks skipped because the thread woke too late for them.
    public var missedTicks: Int { state.missed.load(ordering: .relaxed) }

    /// Starts the thread; the first tick is the first at or after now.
    /// `onTick(index, deadline)` gets the tick's index and its deadline (host ns).
    public init(timeline: VsyncTimeline, onTick: @escaping @Sendable (Int64, Int64) -> Bool) {
        self.timeline = timeline
        let state = state
        let thread = Thread {
            var index = timeline.tick(atOrAfter: HostTime.now())
            while state.running.load(ordering: .acquiring) {
                let deadline = timeline.time(ofTick: index)
                HostTime.sleep(until: deadline)
                guard state.running.load(ordering: .acquiring), onTick(index, deadline) else { break }
                // The next tick still ahead of now; the ones already past are missed.
                let next = max(index + 1, timeline.tick(atOrAfter: HostTime.now()))
                state.missed.add(Int(next - index - 1), ordering: .relaxed)
                index = next
            }
            state.finished.store(true, ordering: .releasing)
        }
        thread.name = "reel-vsync"
        thread.start()
    }

    /// Asks the thread to stop after the current tick and waits for it (at most one
    /// tick and the callback).
    public func stop() {
        state.running.store(false, ordering: .releasing)
        while !state.finished.load(ordering: .acquiring) { usleep(1000) }
    }

    deinit { state.running.store(false, ordering: .releasing) }
}
