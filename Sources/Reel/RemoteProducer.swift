import Foundation
import Logging
import ReelCore
import ReelFramePool
import ReelShare
import Synchronization

/// What lends pool slots for frames and takes them back written: a `Session` of pushed
/// frames, or a `RemoteProducer` feeding a renderer in another process. Code written
/// against it (a camera's thread) runs unchanged in process or across processes.
///
/// Thread-safety: Safe; every method may be called from any thread or task.
public protocol FrameProducer: Sendable {
    /// Lends a free slot for a frame of `description`, suspending while every slot is
    /// taken (the renderer is behind): back-pressure.
    func lease(for description: FrameDescription) async throws(ReelError) -> FrameLease
    /// Lends a free slot at once, or returns nil when every slot is taken.
    func tryLease(for description: FrameDescription) throws(ReelError) -> FrameLease?
}

extension Session: FrameProducer {}

/// A producer in this process feeding a renderer in another: a session listening at a
/// Unix socket (`SessionParameters.Source.listening(_:once:)`, `reel play unix:PATH`).
///
/// Connecting asks the renderer for a pool of `slots` slots for frames of one format and
/// size; the renderer makes it (it owns the memory), seals it against shrinking and
/// growing, and sends it; this side checks it and maps it. Frames are then written in
/// place, exactly as into a session's own pool: `lease(for:)`, write the planes,
/// `FrameLease.submit(at:captured:)` — no copy on either side. A slot comes back once the
/// renderer has shown the frame (or dropped it at its time).
///
/// When the renderer goes away (it quits, is killed, or refuses a message), the calls
/// fail with `ReelError.Kind.connection` at once — a lease waiting for a slot included —
/// and never hang; the mapping stays valid until the producer and its leases are gone.
///
/// ```swift
/// let producer = try RemoteProducer(connectingTo: "/tmp/reel.sock", for: description)
/// var lease = try await producer.lease(for: description)
/// lease.withPlane(0) { luma in /* write rows */ }
/// try lease.submit(at: MediaTime(ticks: 0, timeBase: Rational(1, 60)))
/// producer.finish()
/// ```
///
/// Thread-safety: Safe; every method may be called from any thread or task.
public final class RemoteProducer: FrameProducer {
    private let connection: ProducerConnection

    /// Connects to the renderer listening at `path` and receives a pool of `slots`
    /// slots (2…64) for frames of `description`'s format and size. Throws when nothing
    /// listens there, when the renderer refuses, or when it does not answer in 5 s.
    public init(connectingTo path: String, for description: FrameDescription, slots: Int = 4, logger: Logger? = nil)
        throws(ReelError)
    {
        connection = try ProducerConnection(path: path, description: description, slots: slots, logger: logger)
    }

    deinit { connection.close() }

    /// The format and size the pool was made for (every lease's); colour and sample
    /// aspect may differ from frame to frame.
    public var description: FrameDescription { connection.description }

    /// Slots in the pool.
    public var slotCount: Int { connection.mapping.slotCount }

    /// Slots this producer holds unleased now (the rest are leased, or with the renderer).
    public var freeSlots: Int { connection.freeSlots }

    public func lease(for description: FrameDescription) async throws(ReelError) -> FrameLease {
        try await connection.lease(for: description)
    }

    public func tryLease(for description: FrameDescription) throws(ReelError) -> FrameLease? {
        try connection.tryLease(for: description)
    }

    /// No more frames: the renderer shows those submitted, and leases throw from now
    /// on. Idempotent.
    public func finish() { connection.finish() }
}

/// The producer's end of a pool connection: the mapped pool, which slots it holds, the
/// leases waiting, and a thread that receives the renderer's releases.
///
/// Thread-safety: Safe.
final class ProducerConnection: SlotLender, @unchecked Sendable {
    let description: FrameDescription
    let mapping: SharedPoolMapping
    /// Every frame's planes in its slot (the pool's layout): made once, not per frame.
    private let framePlanes: [(offset: UInt64, stride: UInt32)]
    private let socket: PoolSocket
    private let logger: Logger?
    private let state: Locked<State>
    /// Messages go out one at a time (frames from any thread, the bye).
    private let sending = Locked(())
    private let receiver = Locked<Worker?>(nil)

    private struct State {
        var generations: [UInt32]
        /// Held by this side and not leased.
        var free: [Int]
        /// With the renderer (published, not yet released).
        var published: [Bool]
        var waiters: [Waiter] = []
        var nextWaiter = 0
        /// Why the connection is over; nil while it serves.
        var failure: String?
        var finished = false
        var lastTime: Int64?
    }

    private struct Waiter {
        var id: Int
        var continuation: CheckedContinuation<Int?, Never>
    }

    init(path: String, description: FrameDescription, slots: Int, logger: Logger?) throws(ReelError) {
        guard (2...64).contains(slots) else {
            throw ReelError(.unsuitable, "a pool of \(slots) slots is out of range (2…64)")
        }
        let size = description.size
        guard (1...16384).contains(size.width), (1...16384).contains(size.height) else {
            throw ReelError(.unsuitable, "a frame of \(size) is out of range (1…16384 a side)")
        }
        self.description = description
        self.logger = logger
        do throws(PoolProtocolError) {
            socket = try PoolSocket.connect(to: path)
            // A renderer that accepted but never answers cannot hold this call up.
            socket.setReceiveTimeout(milliseconds: 5000)
            try socket.send(
                .hello(
                    PoolMessage.Hello(
                        format: description.format, width: UInt32(size.width), height: UInt32(size.height),
                        slots: UInt16(slots))))
            guard let answer = try socket.receive() else { throw PoolProtocolError("the renderer hung up") }
            let pool: PoolMessage.Pool
            switch (answer.message, answer.descriptor) {
            case (.pool(let received), let descriptor?):
                pool = received
                let layout = received.layout
                guard layout.format == description.format, layout.width == size.width, layout.height == size.height,
                    received.generations.count == Int(received.slotCount)
                else {
                    Glibc.close(descriptor)
                    throw PoolProtocolError("the renderer sent a pool for other frames than those asked for")
                }
                do {
                    mapping = try SharedPoolMapping(
                        adopting: descriptor, layout: layout, slotCount: Int(received.slotCount), writable: true)
                } catch { throw PoolProtocolError("the renderer's pool was refused: \(error)") }
            case (.refused(let reason), _): throw PoolProtocolError("the renderer refused: \(reason)")
            default: throw PoolProtocolError("the renderer answered \(answer.message), not a pool")
            }
            socket.setReceiveTimeout(milliseconds: nil)
            framePlanes = mapping.layout.planes.map { (UInt64($0.offset), UInt32($0.stride)) }
            state = Locked(
                State(
                    generations: pool.generations, free: Array(0..<Int(pool.slotCount)),
                    published: Array(repeating: false, count: Int(pool.slotCount))))
        } catch {
            throw ReelError(.connection, "cannot feed the renderer at \(path): \(error)")
        }
        receiver.withLock { $0 = Worker(name: "reel.producer") { [self] in receiveLoop() } }
    }

    var freeSlots: Int { state.withLock { $0.free.count } }

    /// Reads releases until the renderer hangs up; then every waiting lease fails.
    private func receiveLoop() {
        var failure = "the renderer hung up"
        do throws(PoolProtocolError) {
            while let received = try socket.receive() {
                switch received.message {
                case .release(let slot, let generation): try released(Int(slot), generation)
                case .refused(let reason):
                    failure = "the renderer refused this producer: \(reason)"
                default: throw PoolProtocolError("the renderer sent \(received.message), which a producer never gets")
                }
            }
        } catch {
            failure = "the connection to the renderer failed: \(error)"
        }
        socket.shutDown()
        let waiters = state.withLock { state in
            if state.failure == nil { state.failure = state.finished ? "the producer finished" : failure }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        if !state.withLock({ $0.finished }) { logger?.warning("remote producer: \(failure)") }
        for waiter in waiters { waiter.continuation.resume(returning: nil) }
    }

    /// A slot came back from the renderer: to the oldest waiting lease, or free.
    private func released(_ slot: Int, _ generation: UInt32) throws(PoolProtocolError) {
        let waiter = try state.withLock { state throws(PoolProtocolError) -> (Waiter, Int)? in
            guard slot < state.published.count, state.published[slot] else {
                throw PoolProtocolError("the renderer released slot \(slot), which it does not hold")
            }
            state.published[slot] = false
            state.generations[slot] = generation
            guard !state.waiters.isEmpty else {
                state.free.append(slot)
                return nil
            }
            return (state.waiters.removeFirst(), slot)
        }
        if let (waiter, slot) = waiter { waiter.continuation.resume(returning: slot) }
    }

    private func check(_ requested: FrameDescription) throws(ReelError) {
        guard requested.format == description.format, requested.size == description.size else {
            throw ReelError(
                .unsuitable,
                "this producer's pool holds \(description.size) \(description.format) frames, not \(requested.size) \(requested.format)"
            )
        }
    }

    private func ended(_ state: State) -> ReelError? {
        if state.finished { return ReelError(.unsuitable, "the producer finished: it takes no more frames") }
        return state.failure.map { ReelError(.connection, $0) }
    }

    private func claim(_ slot: Int, _ requested: FrameDescription) -> FrameLease {
        FrameLease(
            SlotClaim(
                lender: self, memory: mapping, slot: slot, bytes: mapping.mutableBytes(of: slot),
                planes: mapping.layout.planes, description: requested))
    }

    func tryLease(for requested: FrameDescription) throws(ReelError) -> FrameLease? {
        try check(requested)
        let slot = try state.withLock { state throws(ReelError) -> Int? in
            if let error = ended(state) { throw error }
            // Waiting leases came first.
            guard state.waiters.isEmpty, !state.free.isEmpty else { return nil }
            return state.free.removeFirst()
        }
        return slot.map { claim($0, requested) }
    }

    func lease(for requested: FrameDescription) async throws(ReelError) -> FrameLease {
        if let lease = try tryLease(for: requested) { return lease }
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        let slot = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int?, Never>) in
                let now: Int?? = state.withLock { state in
                    if ended(state) != nil || Task.isCancelled { return .some(nil) }
                    if state.waiters.isEmpty, !state.free.isEmpty { return state.free.removeFirst() }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(returning: nil)
        }
        guard let slot else {
            if let error = state.withLock({ ended($0) }) { throw error }
            throw ReelError(.unsuitable, "the lease was cancelled")
        }
        return claim(slot, requested)
    }

    func giveBack(_ claim: SlotClaim) {
        let waiter = state.withLock { state -> Waiter? in
            guard !state.waiters.isEmpty else {
                state.free.append(claim.slot)
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.continuation.resume(returning: claim.slot)
    }

    func submit(_ claim: SlotClaim, at presentationTime: MediaTime, captured: SuspendingClock.Instant?)
        throws(ReelError)
    {
        let slot = claim.slot
        guard presentationTime.timeBase.isValid else {
            giveBack(claim)
            throw ReelError(
                .unsuitable, "a presentation time needs a positive time base, not \(presentationTime.timeBase)")
        }
        let time = presentationTime.microseconds
        let generation = state.withLock { state -> Result<UInt32, ReelError> in
            if let error = ended(state) { return .failure(error) }
            if let last = state.lastTime, time <= last {
                return .failure(
                    ReelError(
                        .unsuitable,
                        "presentation times must increase: \(presentationTime) is not after the last frame's (\(last) µs)"
                    ))
            }
            state.lastTime = time
            // Published before it is sent: the renderer's release may come at once.
            state.published[slot] = true
            return .success(state.generations[slot])
        }
        guard case .success(let generation) = generation else {
            giveBack(claim)
            if case .failure(let error) = generation { throw error }
            return
        }
        let layout = mapping.layout
        let requested = claim.description
        let message = PoolMessage.Frame(
            slot: UInt32(slot), generation: generation, format: layout.format, width: UInt32(layout.width),
            height: UInt32(layout.height), planes: framePlanes,
            color: requested.color, presentationTime: presentationTime,
            captured: captured.map(HostTime.from) ?? HostTime.now(), sampleAspectRatio: requested.sampleAspectRatio)
        do throws(PoolProtocolError) {
            try sending.withLock { _ throws(PoolProtocolError) in try socket.send(.frame(message)) }
        } catch {
            let reason = state.withLock { state in
                if state.failure == nil { state.failure = "the renderer is gone: \(error)" }
                return state.failure!
            }
            throw ReelError(.connection, reason)
        }
    }

    func finish() {
        let first = state.withLock { state in
            defer { state.finished = true }
            return !state.finished
        }
        guard first else { return }
        sending.withLock { _ in try? socket.send(.bye) }
        let waiters = state.withLock { state in
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: nil) }
    }

    /// Hangs up and joins the receiving thread.
    func close() {
        socket.shutDown()
        receiver.withLock { worker in
            worker?.join()
            worker = nil
        }
    }
}
