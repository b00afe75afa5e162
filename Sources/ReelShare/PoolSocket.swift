internal import CNet
import Glibc
import Synchronization

/// One end of a pool connection: a Unix-domain `SOCK_SEQPACKET` socket carrying
/// `PoolMessage`s, one per packet, and the pool's memfd with the `pool` message.
///
/// What arrives is refused, not trusted: a packet longer than any message, descriptors
/// that did not all fit (`MSG_CTRUNC`), or descriptors on a message that carries none
/// all throw, and every descriptor received with a refused message is closed. Received
/// descriptors are close-on-exec (`MSG_CMSG_CLOEXEC`).
///
/// Thread-safety: One thread receives and one sends at a time; `shutDown` may be called
/// from any thread (it wakes a blocked `receive`, which then reports the end).
package final class PoolSocket: @unchecked Sendable {
    package let fileDescriptor: Int32
    /// The receiving thread's buffer, kept: a message per frame allocates nothing.
    private var buffer = [UInt8](repeating: 0, count: PoolMessage.maximumLength + 1)

    package init(adopting fileDescriptor: Int32) { self.fileDescriptor = fileDescriptor }

    deinit { Glibc.close(fileDescriptor) }

    /// Connects to a renderer listening at `path`.
    package static func connect(to path: String) throws(PoolProtocolError) -> PoolSocket {
        let fd = reel_seqpacket_connect(path)
        guard fd >= 0 else {
            throw PoolProtocolError("cannot connect to \(path): \(String(cString: strerror(-fd)))")
        }
        return PoolSocket(adopting: fd)
    }

    /// Sends one message, with `descriptor` attached (the `pool` message's memfd).
    package func send(_ message: PoolMessage, attaching descriptor: Int32? = nil) throws(PoolProtocolError) {
        let bytes = message.encoded()
        let sent = bytes.withUnsafeBufferPointer {
            reel_seqpacket_send(fileDescriptor, $0.baseAddress, Int32($0.count), descriptor ?? -1)
        }
        guard sent == bytes.count else {
            throw PoolProtocolError(
                sent < 0 ? "the peer is gone: \(String(cString: strerror(-sent)))" : "a message was cut short")
        }
    }

    /// The next message and the descriptor that came with it (only a `pool` message
    /// may carry one, and must); nil when the peer hung up (or `shutDown` was called).
    package func receive() throws(PoolProtocolError) -> (message: PoolMessage, descriptor: Int32?)? {
        var fds: (Int32, Int32) = (-1, -1)
        var received = reel_received()
        var result: Int32 = 0
        // A peer that closes with messages of ours unread makes the kernel report
        // ECONNRESET once, ahead of what that peer sent before closing: the error is
        // cleared by reporting it, so the next read gets those messages, then the end.
        for _ in 0..<2 {
            result = buffer.withUnsafeMutableBufferPointer { bytes in
                withUnsafeMutableBytes(of: &fds) { descriptors in
                    reel_seqpacket_receive(
                        fileDescriptor, bytes.baseAddress, Int32(bytes.count),
                        descriptors.baseAddress!.assumingMemoryBound(to: Int32.self), 2, &received)
                }
            }
            if result != -ECONNRESET { break }
        }
        guard result == 0 else {
            if result == -ECONNRESET { return nil }
            if result == -EAGAIN { throw PoolProtocolError("the peer did not answer in time") }
            throw PoolProtocolError("receiving failed: \(String(cString: strerror(-result)))")
        }
        let descriptors = Array([fds.0, fds.1].prefix(Int(received.fd_count)))
        func refuse(_ reason: String) -> PoolProtocolError {
            for fd in descriptors { Glibc.close(fd) }
            return PoolProtocolError(reason)
        }
        if received.closed != 0 && descriptors.isEmpty { return nil }
        guard received.control_truncated == 0, received.fds_dropped == 0 else {
            throw refuse("a message with more descriptors than any message carries")
        }
        guard received.truncated == 0, Int(received.length) <= PoolMessage.maximumLength else {
            throw refuse("a message longer than any the protocol has")
        }
        let message: PoolMessage
        do { message = try PoolMessage.decode(buffer[..<Int(received.length)]) } catch {
            throw refuse(error.description)
        }
        if case .pool = message {
            guard descriptors.count == 1 else { throw refuse("a pool message without exactly one memfd") }
            return (message, descriptors[0])
        }
        guard descriptors.isEmpty else { throw refuse("a message with a descriptor it should not carry") }
        return (message, nil)
    }

    /// Bounds each blocking `receive` to `milliseconds` (nil: waits for ever); one that
    /// times out throws.
    package func setReceiveTimeout(milliseconds: Int?) {
        _ = reel_socket_receive_timeout(fileDescriptor, Int32(clamping: milliseconds ?? 0))
    }

    /// Ends the connection both ways: a `receive` blocked on it returns nil.
    package func shutDown() { Glibc.shutdown(fileDescriptor, Int32(SHUT_RDWR)) }
}

/// A renderer's listening socket at a path (removed when it stops accepting).
///
/// Thread-safety: `accept` on one thread; `shutDown` from any.
package final class PoolListener: @unchecked Sendable {
    package let path: String
    private let fileDescriptor: Int32

    package init(path: String) throws(PoolProtocolError) {
        let fd = reel_seqpacket_listen(path)
        guard fd >= 0 else {
            let reason =
                switch -fd {
                case EINVAL: "a socket needs a path"
                case EEXIST: "a file that is not a socket is there"
                case EADDRINUSE: "another renderer listens there"
                default: String(cString: strerror(-fd))
                }
            throw PoolProtocolError("cannot listen at '\(path)': \(reason)")
        }
        self.path = path
        fileDescriptor = fd
    }

    deinit {
        removePath()
        Glibc.close(fileDescriptor)
    }

    private let linked = Atomic(true)

    /// Removes the socket's name, once: no producer can connect any more.
    private func removePath() {
        if linked.exchange(false, ordering: .relaxed) { unlink(path) }
    }

    /// The next producer's connection; nil once `shutDown` was called.
    package func accept() throws(PoolProtocolError) -> PoolSocket? {
        var fd = reel_seqpacket_accept(fileDescriptor)
        // A connection that went before it was taken, or a signal: the next one.
        while fd == -ECONNABORTED || fd == -EINTR || fd == -EPROTO { fd = reel_seqpacket_accept(fileDescriptor) }
        if fd == -EINVAL || fd == -EBADF { return nil }
        guard fd >= 0 else { throw PoolProtocolError("accepting failed: \(String(cString: strerror(-fd)))") }
        return PoolSocket(adopting: fd)
    }

    /// Stops accepting: the path is removed, and a blocked `accept` returns nil.
    package func shutDown() {
        removePath()
        Glibc.shutdown(fileDescriptor, Int32(SHUT_RDWR))
    }
}
