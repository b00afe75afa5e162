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
    }

    private let listener: PoolListener
    private let deliver: @Sendable (ReadyFrame) -> Bool
    private let logger: Logger?
    private let peers = Mutex<(next: Int, all: [Int: Peer], stopped: Bool)>((0, [:], false))
    private let acceptor = Mutex<Worker?>(nil)
    private let stopping = NSLock()
    let counts = Mutex(Counts())
    /// Most slots a producer may ask for.
    static let maximumSlots = 64

    /// Listens at `path`; `deliver` queues a published frame for the display (false:
    /// the session takes no more, and the frame's slot goes back).
    init(path: String, logger: Logger?, deliver: @escaping @Sendable (ReadyFrame) -> Bool) throws(ReelError) {
        do { listener = try PoolListener(path: path) } catch { throw ReelError(.unsuitable, error.description) }
        self.logger = logger
        self.deliver = deliver
        acceptor.withLock { $0 = Worker(name: "reel.listen") { [self] in acceptLoop() } }
    }

    private func acceptLoop() {
        while let socket = try? listener.accept() {
            let peer = Peer(socket: socket, server: self)
            let accepted = peers.withLock { peers -> Bool in
                guard !peers.stopped else { return false }
                peers.all[peers.next] = peer
                peers.next += 1
                return true
            }
            guard accepted else {
                socket.shutDown()
                break
            }
            counts.withLock { $0.producers += 1 }
            peer.start()
        }
    }

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
        for peer in all { peer.join() }
        peers.withLock { $0.all.removeAll() }
    }

    fileprivate func handOut(_ frame: ReadyFrame) -> Bool { deliver(frame) }

    fileprivate func refused(_ reason: String) {
        logger?.warning("a producer was disconnected: \(reason)")
        counts.withLock { $0.refusals.append(reason) }
    }

    fileprivate func reclaimed(_ count: Int) { counts.withLock { $0.slotsReclaimed += count } }

    fileprivate func published() { counts.withLock { $0.frames += 1 } }
}

/// One producer's connection.
private final class Peer: @unchecked Sendable {
    let socket: PoolSocket
    private unowned let server: PoolServer
    /// The producer's pool and slot table (from its hello on), whether it is still
    /// connected, and the releases waiting to be sent.
    private let state = Mutex<(pool: FramePool?, slots: PeerSlots?, connected: Bool, outbox: [PoolMessage])>(
        (nil, nil, true, []))
    private let outboxReady = NSCondition()
    private var workers: [Worker] = []
    private var lastTime: Int64?

    init(socket: PoolSocket, server: PoolServer) {
        self.socket = socket
        self.server = server
    }

    func start() {
        workers = [
            Worker(name: "reel.peer") { [self] in receiveLoop() },
            Worker(name: "reel.peer.send") { [self] in sendLoop() },
        ]
    }

    func join() {
        for worker in workers { worker.join() }
        workers.removeAll()
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
    }
}
