import Foundation

/// A client of a Unix stream socket that speaks in lines: for the remote-control tests.
package final class LineClient {
    private let socket: Int32
    private var buffer: [UInt8] = []

    /// Connects to `path`, trying again while the server is not listening yet, for at
    /// most `timeout` seconds.
    package init(path: String, timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { bytes in
                bytes.copyBytes(from: path.utf8)
                bytes[path.utf8.count] = 0
            }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if connected == 0 {
                self.socket = socket
                return
            }
            close(socket)
            guard Date() < deadline else { throw SupportError("cannot connect to \(path)") }
            // The server is not there yet: its start is the event waited for.
            usleep(20_000)
        }
    }

    deinit { close(socket) }

    /// Sends `line` and a newline.
    package func send(_ line: String) throws {
        var bytes = Array(line.utf8) + [UInt8(ascii: "\n")]
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes {
                Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { throw SupportError("send failed: \(String(cString: strerror(errno)))") }
            sent += count
        }
        bytes.removeAll()
    }

    /// The next line (without its newline), waiting at most `timeout` seconds; nil at the
    /// end of the stream.
    package func readLine(timeout: Double = 30) throws -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw SupportError("no line within \(timeout) s") }
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, Int32(left * 1000) + 1) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = read(socket, &chunk, chunk.count)
            guard count > 0 else { return nil }
            buffer.append(contentsOf: chunk[..<count])
        }
    }
}
