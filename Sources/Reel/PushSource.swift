import ReelCore
import ReelFramePool
import ReelMedia
import Synchronization

/// The source of a session whose frames the application pushes: it lends pool slots
/// (one pool per frame layout, made at the first lease for it) and queues submitted
/// frames for the display.
///
/// A lease waits for a free slot without polling: each pool calls `slotFreed` when a
/// slot comes back (the display released a frame, a lease was dropped), which hands
/// the slot to the oldest waiter for that pool.
///
/// Thread-safety: Safe.
final class PushSource: SlotLender, @unchecked Sendable {
    private let state: SessionState
    private let slotsPerPool: Int
    private let inner = Locked(Inner())
    /// Pushed frames, frames copied in by `push(planes:)` and the bytes copied.
    let counters = Locked(PushCounters())

    private struct Inner {
        var pools: [PoolKey: FramePool] = [:]
        var waiters: [Waiter] = []
        var nextWaiter = 0
        var finished = false
        var stopped = false
        var lastTime: Int64?
    }

    private struct PoolKey: Hashable {
        var format: PixelFormat
        var size: PixelSize
    }

    private struct Waiter {
        var id: Int
        var pool: FramePool
        var continuation: CheckedContinuation<Int?, Never>
    }

    init(state: SessionState, slotsPerPool: Int) {
        self.state = state
        self.slotsPerPool = max(2, slotsPerPool)
    }

    /// The pool for `description`'s layout, made if need be.
    func pool(for description: FrameDescription) throws(ReelError) -> FramePool {
        guard description.size.width > 0, description.size.height > 0, description.size.width <= 16384,
            description.size.height <= 16384
        else { throw ReelError(.unsuitable, "a pushed frame of \(description.size) is out of range (1…16384 a side)") }
        let key = PoolKey(format: description.format, size: description.size)
        return try inner.withLock { inner throws(ReelError) -> FramePool in
            if inner.finished || inner.stopped {
                throw ReelError(.unsuitable, "the session takes no more frames: its input was finished or it stopped")
            }
            if let pool = inner.pools[key] { return pool }
            // A new layout: pools of others that nobody holds a slot of go.
            inner.pools = inner.pools.filter { $0.value.freeCount < $0.value.slotCount }
            let layout = SlotLayout(format: key.format, width: key.size.width, height: key.size.height)
            do {
                let pool = try FramePool(layout: layout, slotCount: slotsPerPool) { [weak self] _ in self?.slotFreed() }
                inner.pools[key] = pool
                return pool
            } catch { throw ReelError(.media, "cannot make a frame pool: \(error)") }
        }
    }

    func lease(for description: FrameDescription) async throws(ReelError) -> FrameLease {
        let pool = try pool(for: description)
        if case .slot(let slot) = pool.acquire() {
            return claim(pool, slot, description)
        }
        let id = inner.withLock { inner in
            defer { inner.nextWaiter += 1 }
            return inner.nextWaiter
        }
        let slot = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int?, Never>) in
                let now: Int?? = inner.withLock { inner in
                    if inner.stopped || Task.isCancelled { return .some(nil) }
                    // A slot freed since the first try.
                    if case .slot(let slot) = pool.acquire() { return slot }
                    inner.waiters.append(Waiter(id: id, pool: pool, continuation: continuation))
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            let waiter = inner.withLock { inner -> Waiter? in
                guard let index = inner.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return inner.waiters.remove(at: index)
            }
            waiter?.continuation.resume(returning: nil)
        }
        guard let slot else {
            if Task.isCancelled { throw ReelError(.unsuitable, "the lease was cancelled") }
            throw ReelError(.unsuitable, "the session takes no more frames: it stopped")
        }
        return claim(pool, slot, description)
    }

    func tryLease(for description: FrameDescription) throws(ReelError) -> FrameLease? {
        let pool = try pool(for: description)
        // Waiters came first.
        let queued = inner.withLock { $0.waiters.contains { $0.pool === pool } }
        guard !queued, case .slot(let slot) = pool.acquire() else { return nil }
        return claim(pool, slot, description)
    }

    private func claim(_ pool: FramePool, _ slot: Int, _ description: FrameDescription) -> FrameLease {
        FrameLease(
            SlotClaim(
                lender: self, memory: pool, slot: slot, bytes: pool.bytes(of: slot), planes: pool.layout.planes,
                description: description))
    }

    func giveBack(_ claim: SlotClaim) { (claim.memory as? FramePool)?.release(claim.slot) }

    /// A slot came back to one of the pools: the oldest waiter for a pool with a free
    /// slot gets it.
    private func slotFreed() {
        var served: [(CheckedContinuation<Int?, Never>, Int)] = []
        inner.withLock { inner in
            var index = 0
            while index < inner.waiters.count {
                if case .slot(let slot) = inner.waiters[index].pool.acquire() {
                    served.append((inner.waiters.remove(at: index).continuation, slot))
                } else {
                    index += 1
                }
            }
        }
        for (continuation, slot) in served { continuation.resume(returning: slot) }
    }

    /// Queues a written slot for the display.
    func submit(_ claim: SlotClaim, at presentationTime: MediaTime, captured: SuspendingClock.Instant?)
        throws(ReelError)
    {
        let received = captured.map(HostTime.from) ?? HostTime.now()
        let time = presentationTime.microseconds
        guard presentationTime.timeBase.isValid else {
            claim.giveBack()
            throw ReelError(
                .unsuitable, "a presentation time needs a positive time base, not \(presentationTime.timeBase)")
        }
        let refused = inner.withLock { inner -> String? in
            if inner.finished || inner.stopped {
                return "the session takes no more frames: its input was finished or it stopped"
            }
            if let last = inner.lastTime, time <= last {
                return
                    "presentation times must increase: \(presentationTime) is not after the last frame's (\(last) µs)"
            }
            inner.lastTime = time
            return nil
        }
        if let refused {
            claim.giveBack()
            throw ReelError(.unsuitable, refused)
        }
        let description = claim.description
        guard let pool = claim.memory as? FramePool else { preconditionFailure("a pushed slot lives in a FramePool") }
        let descriptor = VideoFrameDescriptor(
            format: description.format, width: description.size.width, height: description.size.height,
            sampleAspectRatio: description.sampleAspectRatio, planes: pool.layout.planes,
            color: description.color,
            presentationTime: presentationTime)
        let frame = ReadyFrame(
            time: time, generation: 0, frame: DecodedFrame(pool: pool, slot: claim.slot, descriptor: descriptor),
            received: received)
        counters.withLock { $0.pushed += 1 }
        let queued = state.update { fields -> Bool in
            if fields.stopping { return false }
            fields.ready.append(frame)
            return true
        }
        if !queued { state.release(frame) }
    }

    /// Queues a frame another process published (`PoolServer`): false when the session
    /// takes no more (its slot is then the caller's to give back).
    func enqueue(_ frame: ReadyFrame) -> Bool {
        guard inner.withLock({ !$0.finished && !$0.stopped }) else { return false }
        counters.withLock { $0.pushed += 1 }
        return state.update { fields -> Bool in
            if fields.stopping { return false }
            fields.ready.append(frame)
            return true
        }
    }

    /// No more frames: the display ends once it has shown (or dropped) those queued.
    func finish() {
        inner.withLock { $0.finished = true }
        state.update { $0.videoEnded = 0 }
    }

    /// The session stopped: waiting leases end, and no more are lent.
    func stop() {
        let waiters = inner.withLock { inner in
            inner.stopped = true
            defer { inner.waiters.removeAll() }
            return inner.waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: nil) }
    }
}

/// What the application pushed.
struct PushCounters {
    var pushed = 0
    var copied = 0
    var bytesCopied = 0
}

extension HostTime {
    /// The host time (ns, `CLOCK_MONOTONIC`) of an instant of Swift's suspending clock.
    static func from(_ instant: SuspendingClock.Instant) -> Int64 {
        let offset = instant - SuspendingClock.now
        return HostTime.now() + offset.components.seconds * 1_000_000_000 + offset.components.attoseconds
            / 1_000_000_000
    }
}
