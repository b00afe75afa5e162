import Foundation
import Logging
import ReelCore
import ReelFramePool
import ReelMedia
import ReelShare
import Synchronization

/// The renderer's end of the cross-process pool: it listens at a path, lends each
/// producer that connects a sealed pool of its own (the renderer owns the memory), and
/// hands the frames a producer publishes to the session's display, as pushed frames.
///
/// Every message is checked (`PoolMessage.decode`, `PeerSlots.accept`); a bad one
/// disconnects that producer only, with the reason sent, logged and counted. The
/// renderer alone keeps slot state: a producer that hangs up or dies gets back every
/// slot it held (frames it published are still shown). Each producer has a thread that
/// receives and one that sends releases, so no socket I/O happens on the display
/// thread, which frees the slots.
///
/// Thread-safety: Safe.
final class PoolServer: @unchecked Sendable {
    /// Producers served, frames they published, those cut off for a bad message (why),
    /// and slots taken back from producers that left holding them.
    struct Counts: Sendable {
        var producers = 0
        var frames = 0
        var refusals: [String] = []
        var slotsReclaimed = 0
        /// Slots of all producers' pools, and those free once the server stopped (all of
        /// them, when every frame was shown or dropped and every slot came back).
        var slots = 0
        var slotsFreeAtEnd = 0
    }

    private let listener: PoolListener
    private let deliver: @Sendable (ReadyFrame) -> Bool
    private let peerEnded: @Sendable () -> Void
    private let logger: Logger?
    /// Producers connected (by number), those that have left and wait to be joined,
    /// and whether the server stopped.
    private let peers = Locked<(next: Int, all: [Int: Peer], ended: [Int], stopped: Bool)>((0, [:], [], false))
    /// Every pool lent, weakly: one still alive may hold slots not yet returned.
    private let pools = Locked<[WeakPool]>([])
    private let acceptor = Locked<Worker?>(nil)
    /// Joins producers that left, so that their sockets and pools go at once.
    private let reaper = Locked<Worker?>(nil)
    private let peerLeft = NSCondition()
    private let stopping = NSLock()
    let counts = Locked(Counts())
    /// Most slots a producer may ask for.
    static let maximumSlots = 64

    /// Listens at `path`; `deliver` queues a published frame for the display (false:
    /// the session takes no more, and the frame's slot goes back); `peerEnded` is called
    /// on a producer's thread when it has left (after its last frame was delivered).
    init(
        path: String, logger: Logger?, deliver: @escaping @Sendable (ReadyFrame) -> Bool,
        peerEnded: @escaping @Sendable () -> Void = {}
    ) throws(ReelError) {
        do { listener = try PoolListener(path: path) } catch { throw ReelError(.unsuitable, error.description) }
        self.logger = logger
        self.deliver = deliver
        self.peerEnded = peerEnded
        acceptor.withLock { $0 = Worker(name: "reel.listen") { [self] in acceptLoop() } }
        reaper.withLock { $0 = Worker(name: "reel.reap") { [self] in reapLoop() } }
    }

    private func acceptLoop() {
        while true {
            let socket: PoolSocket
            do throws(PoolProtocolError) {
                guard let accepted = try listener.accept() else { return }
                socket = accepted
            } catch {
                // No descriptor to spare, or worse: no more producers are taken.
                logger?.error("the renderer stops taking producers: \(error)")
                return
            }
            let accepted = peers.withLock { peers -> Peer? in
                guard !peers.stopped else { return nil }
                let peer = Peer(id: peers.next, socket: socket, server: self)
                peers.all[peers.next] = peer
                peers.next += 1
                return peer
            }
            guard let peer = accepted else {
                socket.shutDown()
                break
            }
            counts.withLock { $0.producers += 1 }
            peer.start()
        }
    }

    /// Joins each producer once it has left, until the server stops (then `stop` joins
    /// the rest).
    private func reapLoop() {
        while true {
            let (left, stopped) = peerLeft.withLock { () -> ([Peer], Bool) in
                while true {
                    let (left, stopped) = peers.withLock { peers in
                        let left = peers.ended.compactMap { peers.all.removeValue(forKey: $0) }
                        peers.ended.removeAll()
                        return (left, peers.stopped)
                    }
                    if !left.isEmpty || stopped { return (left, stopped) }
                    peerLeft.wait()
                }
            }
            for peer in left { peer.join() }
            if stopped { return }
        }
    }

    /// Takes no more producers; those connected go on.
    func stopListening() { listener.shutDown() }

    /// Stops listening, disconnects every producer and joins every thread. Idempotent;
    /// callers on two threads take turns.
    func stop() {
        stopping.lock()
        defer { stopping.unlock() }
        let all = peers.withLock { peers in
            peers.stopped = true
            return Array(peers.all.values)
        }
        listener.shutDown()
        for peer in all { peer.socket.shutDown() }
        acceptor.withLock { worker in
            worker?.join()
            worker = nil
        }
        peerLeft.withLock { peerLeft.signal() }
        reaper.withLock { worker in
            worker?.join()
            worker = nil
        }
        // Those the reaper did not take.
        let rest = peers.withLock { peers in
            defer { peers.all.removeAll() }
            return Array(peers.all.values)
        }
        for peer in rest { peer.join() }
        let lent = pools.withLock { pools in pools.compactMap(\.pool).map { ($0.slotCount, $0.freeCount) } }
        counts.withLock { counts in
            counts.slotsFreeAtEnd = counts.slots - lent.reduce(0) { $0 + $1.0 - $1.1 }
        }
    }

    /// A pool was lent to a producer.
    fileprivate func lent(_ pool: FramePool) {
        pools.withLock { pools in
            pools.removeAll { $0.pool == nil }
            pools.append(WeakPool(pool: pool))
        }
        counts.withLock { $0.slots += pool.slotCount }
    }

    fileprivate func handOut(_ frame: ReadyFrame) -> Bool { deliver(frame) }

    fileprivate func refused(_ reason: String) {
        logger?.warning("a producer was disconnected: \(reason)")
        counts.withLock { $0.refusals.append(reason) }
    }

    fileprivate func reclaimed(_ count: Int) { counts.withLock { $0.slotsReclaimed += count } }

    fileprivate func published() { counts.withLock { $0.frames += 1 } }

    /// Producer `id` has left: the reaper joins its threads; the session hears of it.
    fileprivate func left(_ id: Int) {
        peers.withLock { $0.ended.append(id) }
        peerLeft.withLock { peerLeft.signal() }
        peerEnded()
    }
}

private struct WeakPool {
    weak var pool: FramePool?
}

/// One producer's connection.
private final class Peer: @unchecked Sendable {
    let id: Int
    let socket: PoolSocket
    private unowned let server: PoolServer
    /// The producer's pool and slot table (from its hello on), whether it is still
    /// connected, and the releases waiting to be sent.
    private let state = Locked<(pool: FramePool?, slots: PeerSlots?, connected: Bool, outbox: [PoolMessage])>(
        (nil, nil, true, []))
    private let outboxReady = NSCondition()
    /// Its threads: set by the accepting thread, joined by the reaping one — which can
    /// come first, as the receiving thread may end (and say so) before `start` returns.
    private let workers = Locked<[Worker]>([])
    private var lastTime: Int64?

    init(id: Int, socket: PoolSocket, server: PoolServer) {
        self.id = id
        self.socket = socket
        self.server = server
    }

    func start() {
        workers.withLock { workers in
            workers = [
                Worker(name: "reel.peer") { [self] in receiveLoop() },
                Worker(name: "reel.peer.send") { [self] in sendLoop() },
            ]
        }
    }

    func join() {
        let started = workers.withLock { workers in
            defer { workers.removeAll() }
            return workers
        }
        for worker in started { worker.join() }
    }

    private func receiveLoop() {
        do throws(PoolProtocolError) {
            guard let first = try socket.receive() else { return end(nil) }
            guard case .hello(let hello) = first.message else {
                throw PoolProtocolError("the first message must be hello")
            }
            try lend(hello)
            while let received = try socket.receive() {
                switch received.message {
                case .frame(let frame): try publish(frame)
                case .bye: return end(nil)
                default: throw PoolProtocolError("a producer may send frame or bye here, not \(received.message)")
                }
            }
            end(nil)
        } catch {
            end(error.description)
        }
    }

    /// Makes the producer's pool, lends it every slot, and sends it the pool.
    private func lend(_ hello: PoolMessage.Hello) throws(PoolProtocolError) {
        guard (1...16384).contains(hello.width), (1...16384).contains(hello.height) else {
            throw PoolProtocolError("a \(hello.width)×\(hello.height) pool is out of range (1…16384 a side)")
        }
        guard (2...PoolServer.maximumSlots).contains(Int(hello.slots)) else {
            throw PoolProtocolError("a pool of \(hello.slots) slots is out of range (2…\(PoolServer.maximumSlots))")
        }
        let layout = SlotLayout(format: hello.format, width: Int(hello.width), height: Int(hello.height))
        let pool: FramePool
        do {
            pool = try FramePool(layout: layout, slotCount: Int(hello.slots)) { [weak self] slot in
                self?.slotFreed(slot)
            }
        } catch { throw PoolProtocolError("the renderer cannot make a pool: \(error)") }
        for slot in 0..<pool.slotCount { _ = pool.acquire(slot: slot) }
        let slots = PeerSlots(layout: layout, slotCount: pool.slotCount)
        state.withLock {
            $0.pool = pool
            $0.slots = slots
        }
        server.lent(pool)
        try socket.send(slots.poolMessage, attaching: pool.fileDescriptor)
    }

    /// Checks a published frame and queues it for the display.
    private func publish(_ message: PoolMessage.Frame) throws(PoolProtocolError) {
        let time = message.presentationTime.microseconds
        if let lastTime, time <= lastTime {
            throw PoolProtocolError(
                "presentation times must increase: \(message.presentationTime) is not after the last")
        }
        let accepted = try state.withLock { state throws(PoolProtocolError) -> (FramePool, VideoFrameDescriptor) in
            guard let pool = state.pool, var slots = state.slots else { throw PoolProtocolError("no pool yet") }
            let descriptor = try slots.accept(message)
            state.slots = slots
            return (pool, descriptor)
        }
        lastTime = time
        server.published()
        let frame = ReadyFrame(
            time: time, generation: 0,
            frame: DecodedFrame(pool: accepted.0, slot: Int(message.slot), descriptor: accepted.1),
            received: message.captured)
        if !server.handOut(frame) { accepted.0.release(Int(message.slot)) }
    }

    /// A slot of this producer's came free (the display is done with it): it is the
    /// producer's again, under its next generation, unless the producer is gone.
    private func slotFreed(_ slot: Int) {
        let queued = state.withLock { state -> Bool in
            guard state.connected, let pool = state.pool, var slots = state.slots, pool.acquire(slot: slot) else {
                return false
            }
            state.outbox.append(slots.release(slot))
            state.slots = slots
            return true
        }
        if queued { outboxReady.withLock { outboxReady.signal() } }
    }

    private func sendLoop() {
        while true {
            let (messages, connected) = outboxReady.withLock { () -> ([PoolMessage], Bool) in
                while true {
                    let (messages, connected) = state.withLock { state in
                        defer { state.outbox.removeAll() }
                        return (state.outbox, state.connected)
                    }
                    if !messages.isEmpty || !connected { return (messages, connected) }
                    outboxReady.wait()
                }
            }
            for message in messages { try? socket.send(message) }
            if !connected { return }
        }
    }

    /// The connection ends (`refusal`: why it was cut): the slots the producer held come
    /// back; frames it published stay queued and are shown.
    private func end(_ refusal: String?) {
        if let refusal {
            try? socket.send(.refused(refusal))
            server.refused(refusal)
        }
        let held = state.withLock { state -> (FramePool, [Int])? in
            state.connected = false
            guard let pool = state.pool, let slots = state.slots else { return nil }
            return (pool, (0..<slots.slotCount).filter { slots.heldByPeer[$0] })
        }
        if let (pool, slots) = held {
            for slot in slots { pool.release(slot) }
            server.reclaimed(slots.count)
        }
        socket.shutDown()
        outboxReady.withLock { outboxReady.signal() }
        server.left(id)
    }
}
