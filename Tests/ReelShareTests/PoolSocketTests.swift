import CNet
import Foundation
import Glibc
import ReelCore
import ReelFramePool
import ReelShare
import Testing

/// The pool's connection: messages and the memfd across a real `SOCK_SEQPACKET` socket,
/// and what a hostile peer can put on it.
@Suite(.serialized) struct PoolSocketTests {
    static func path() -> String { "/tmp/reel-pool-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock" }

    /// How many of this process's descriptors refer to the same file as `fd` (other
    /// suites open and close descriptors meanwhile: only these are counted).
    static func descriptors(like fd: Int32) -> Int {
        let fm = FileManager.default
        guard let target = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)") else { return -1 }
        let all = (try? fm.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return all.count { (try? fm.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == target }
    }

    /// A producer says hello; the renderer answers with the pool and its memfd; the
    /// producer maps it (checked, writable) and what it writes, the renderer reads.
    /// The descriptor arrives close-on-exec.
    @Test func poolCrossesTheSocket() throws {
        let listener = try PoolListener(path: Self.path())
        let producer = try PoolSocket.connect(to: listener.path)
        let renderer = try #require(try listener.accept())
        let layout = SlotLayout(format: .nv12, width: 64, height: 48)
        try producer.send(.hello(PoolMessage.Hello(format: .nv12, width: 64, height: 48, slots: 2)))
        let hello = try #require(try renderer.receive())
        #expect(hello.message == .hello(PoolMessage.Hello(format: .nv12, width: 64, height: 48, slots: 2)))
        #expect(hello.descriptor == nil)

        let pool = try FramePool(layout: layout, slotCount: 2)
        let slots = PeerSlots(layout: layout, slotCount: 2)
        try renderer.send(slots.poolMessage, attaching: pool.fileDescriptor)
        let answer = try #require(try producer.receive())
        guard case .pool(let offered) = answer.message, let descriptor = answer.descriptor else {
            Issue.record("no pool: \(answer)")
            return
        }
        #expect(fcntl(descriptor, F_GETFD) & FD_CLOEXEC != 0)
        let mapping = try SharedPoolMapping(
            adopting: descriptor, layout: offered.layout, slotCount: Int(offered.slotCount), writable: true)
        mapping.mutableBytes(of: 1)[5] = 77
        #expect(pool.bytes(of: 1)[5] == 77)

        producer.shutDown()
        #expect(try renderer.receive() == nil, "the producer hung up")
    }

    /// A peer that attaches descriptors where none belong, more descriptors than fit, a
    /// packet longer than any message, or garbage is refused, and every descriptor it
    /// sent is closed on the receiving side: the open-descriptor count is unchanged.
    @Test func hostilePacketsAreRefusedAndTheirDescriptorsClosed() throws {
        let listener = try PoolListener(path: Self.path())
        let hostile = try PoolSocket.connect(to: listener.path)
        let renderer = try #require(try listener.accept())
        // The descriptor the peer attaches: one end of a pipe of this test's own.
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { for end in ends { close(end) } }
        let attached = ends[0]
        let before = Self.descriptors(like: attached)  // the pipe's two ends
        func refusal() -> String {
            do {
                let received = try renderer.receive()
                return "accepted: \(String(describing: received))"
            } catch { return error.description }
        }
        // A frame-less bye with a descriptor attached.
        try hostile.send(.bye, attaching: attached)
        #expect(refusal().contains("should not carry"))
        // 20 descriptors on one message: more than the receiver takes.
        let bye = PoolMessage.bye.encoded()
        var many = [Int32](repeating: attached, count: 20)
        #expect(sendDescriptors(hostile.fileDescriptor, bye, &many) > 0)
        #expect(refusal().contains("more descriptors"))
        // A packet longer than any message.
        let long = [UInt8](repeating: 4, count: PoolMessage.maximumLength + 100)
        _ = long.withUnsafeBufferPointer {
            reel_seqpacket_send(hostile.fileDescriptor, $0.baseAddress, Int32($0.count), -1)
        }
        #expect(refusal().contains("longer than any"))
        // Garbage.
        let garbage: [UInt8] = [3, 1, 2, 3]
        _ = garbage.withUnsafeBufferPointer { reel_seqpacket_send(hostile.fileDescriptor, $0.baseAddress, 4, -1) }
        #expect(refusal().contains("truncated frame"))
        // A pool message whose memfd is a pipe gets past the socket (one descriptor, as
        // it should): the mapping's checks refuse it next, and close it.
        let pool = PeerSlots(layout: SlotLayout(format: .gray8, width: 16, height: 16), slotCount: 1)
        try hostile.send(pool.poolMessage, attaching: attached)
        let offered = try #require(try renderer.receive())
        #expect(throws: SharedPoolError.self) {
            _ = try SharedPoolMapping(
                adopting: offered.descriptor!, layout: pool.layout, slotCount: 1, writable: false)
        }
        #expect(Self.descriptors(like: attached) == before, "every descriptor the peer sent was closed")
    }
}

/// Sends `bytes` with every descriptor in `fds` attached (more than the protocol allows).
func sendDescriptors(_ socket: Int32, _ bytes: [UInt8], _ fds: inout [Int32]) -> Int {
    // One message per descriptor would not do: they must all ride on the same packet.
    var result = 0
    bytes.withUnsafeBufferPointer { payload in
        fds.withUnsafeMutableBufferPointer { descriptors in
            result = Int(
                reel_test_send_descriptors(
                    socket, payload.baseAddress, Int32(payload.count), descriptors.baseAddress, Int32(descriptors.count)
                ))
        }
    }
    return result
}
