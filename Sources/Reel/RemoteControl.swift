import Foundation
import Glibc
import ReelCore
import Synchronization

/// The remote control of a playback (`reel play --ipc PATH`): a Unix socket that takes
/// JSON lines (`RemoteCommand`), answers each with one line
/// `{"request_id":N,"error":"success","data":…}` (or the error's text in `error`), and
/// sends event lines to every client: `{"event":"seek"}`, `{"event":"playback-restart"}`
/// (the first picture after the start or a seek), `{"event":"pause"}`,
/// `{"event":"unpause"}`, `{"event":"end-file","reason":"eof"|"quit"|"error"}`.
///
/// Its thread (`reel.ipc`, started and joined by the session) waits in `poll` on the
/// listening socket, the clients and a wake-up pipe, never on a timer. A client that
/// sends garbage gets an error reply and playback goes on; a line over `maximumLine`
/// bytes is answered with an error and skipped. Clients are non-blocking; one that does
/// not read its replies (over `maximumBacklog` bytes queued) is dropped.
///
/// Thread-safety: Safe; `post` and `stop` from any thread, the rest on its thread.
final class RemoteControl: @unchecked Sendable {
    let path: String
    private let listener: Int32
    /// Written to wake the thread: events to send, or the stop.
    private let wake: (read: Int32, write: Int32)
    private let outbox = Locked<(lines: [String], stopping: Bool)>(([], false))
    private var clients: [Client] = []
    static let maximumLine = 64 * 1024
    static let maximumBacklog = 4 * 1024 * 1024

    private final class Client {
        let socket: Int32
        var input: [UInt8] = []
        var output: [UInt8] = []
        /// Inside a line that was too long: skip to its end.
        var skipping = false
        init(socket: Int32) { self.socket = socket }
    }

    /// Listens on `path` (a stale socket file there is replaced).
    init(path: String) throws(PipelineError) {
        self.path = path
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw .unsuitable("the --ipc path '\(path)' is longer than a socket path can be (\(capacity - 1) bytes)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            bytes.copyBytes(from: path.utf8)
            bytes[path.utf8.count] = 0
        }
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else {
            throw .unsuitable("cannot make the --ipc socket: \(String(cString: strerror(errno)))")
        }
        var status = stat()
        if lstat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFSOCK { unlink(path) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(listener, 8) == 0 else {
            let reason = String(cString: strerror(errno))
            close(listener)
            throw .unsuitable("cannot listen on the --ipc socket '\(path)': \(reason)")
        }
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0, Self.closeOnExec(pipeEnds[0]), Self.closeOnExec(pipeEnds[1]),
            fcntl(pipeEnds[0], F_SETFL, O_NONBLOCK) == 0, fcntl(pipeEnds[1], F_SETFL, O_NONBLOCK) == 0
        else {
            close(listener)
            throw .unsuitable("cannot make a pipe for the --ipc socket: \(String(cString: strerror(errno)))")
        }
        self.listener = listener
        wake = (pipeEnds[0], pipeEnds[1])
    }

    deinit {
        for client in clients { close(client.socket) }
        close(listener)
        close(wake.read)
        close(wake.write)
        unlink(path)
    }

    /// Sends an event line to every client.
    func post(_ event: SessionEvent) {
        let line: String
        switch event {
        case .seek: line = #"{"event":"seek"}"#
        case .playbackRestart: line = #"{"event":"playback-restart"}"#
        case .pause(let paused): line = paused ? #"{"event":"pause"}"# : #"{"event":"unpause"}"#
        case .endFile(let reason): line = #"{"event":"end-file","reason":"\#(reason)"}"#
        }
        outbox.withLock { $0.lines.append(line) }
        poke()
    }

    /// Ends the thread after it has sent what is queued.
    func stop() {
        outbox.withLock { $0.stopping = true }
        poke()
    }

    private func poke() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    /// The thread's loop: accept, read and answer, send events, until `stop`.
    func run(answer: (RemoteCommand.Request, _ reply: @escaping @Sendable (String) -> Void) -> Void) {
        while true {
            var descriptors = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            descriptors.append(pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0))
            for client in clients {
                let events = Int16(POLLIN) | (client.output.isEmpty ? 0 : Int16(POLLOUT))
                descriptors.append(pollfd(fd: client.socket, events: events, revents: 0))
            }
            guard poll(&descriptors, nfds_t(descriptors.count), -1) >= 0 || errno == EINTR else { return }
            if descriptors[1].revents != 0 {
                var drained = [UInt8](repeating: 0, count: 256)
                while read(wake.read, &drained, drained.count) > 0 {}
            }
            let (lines, stopping) = outbox.withLock { box in
                defer { box.lines.removeAll() }
                return box
            }
            for line in lines { for client in clients { queue(line, to: client) } }
            let replies = pendingReplies.withLock { replies in
                defer { replies.removeAll() }
                return replies
            }
            for (box, line) in replies { if let client = box.client { queue(line, to: client) } }
            for (index, client) in clients.enumerated() where descriptors[index + 2].revents != 0 {
                if descriptors[index + 2].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                    receive(from: client, answer: answer)
                }
            }
            if descriptors[0].revents & Int16(POLLIN) != 0 { acceptClient() }
            for client in clients { send(client) }
            drop { $0.output.count > Self.maximumBacklog }
            if stopping {
                // What is queued goes out as far as the clients take it at once.
                for client in clients { send(client) }
                return
            }
        }
    }

    private func acceptClient() {
        let socket = accept(listener, nil, nil)
        guard socket >= 0 else { return }
        guard Self.closeOnExec(socket), fcntl(socket, F_SETFL, O_NONBLOCK) == 0 else {
            close(socket)
            return
        }
        clients.append(Client(socket: socket))
    }

    /// Marks `descriptor` close-on-exec (a player the app launches must not inherit it).
    private static func closeOnExec(_ descriptor: Int32) -> Bool {
        fcntl(descriptor, F_SETFD, FD_CLOEXEC) == 0
    }

    /// Reads what the client sent and answers its complete lines.
    private func receive(
        from client: Client, answer: (RemoteCommand.Request, _ reply: @escaping @Sendable (String) -> Void) -> Void
    ) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = read(client.socket, &buffer, buffer.count)
        guard count > 0 else {
            if count == 0 || (errno != EAGAIN && errno != EINTR) { drop { $0 === client } }
            return
        }
        client.input.append(contentsOf: buffer[..<count])
        while let newline = client.input.firstIndex(of: UInt8(ascii: "\n")) {
            let line = client.input[..<newline]
            client.input.removeSubrange(...newline)
            if client.skipping {
                client.skipping = false
                continue
            }
            handle(String(decoding: line, as: UTF8.self), from: client, answer: answer)
        }
        if client.input.count > Self.maximumLine {
            client.input.removeAll()
            if !client.skipping {
                client.skipping = true
                queue(Self.reply(id: 0, error: "line longer than \(Self.maximumLine) bytes"), to: client)
            }
        }
    }

    private func handle(
        _ line: String, from client: Client,
        answer: (RemoteCommand.Request, _ reply: @escaping @Sendable (String) -> Void) -> Void
    ) {
        guard !line.allSatisfy(\.isWhitespace) else { return }
        switch RemoteCommand.parse(Substring(line)) {
        case .failure(let rejection):
            queue(Self.reply(id: rejection.id, error: rejection.message), to: client)
        case .success(let request):
            // A reply may come later, from another thread (a screenshot written).
            let box = ClientBox(client: client)
            answer(request) { [weak self] line in self?.deliver(line, to: box) }
        }
    }

    private final class ClientBox: @unchecked Sendable {
        weak var client: Client?
        init(client: Client) { self.client = client }
    }

    /// Queues a reply made on any thread for its client; the thread sends it.
    private func deliver(_ line: String, to box: ClientBox) {
        pendingReplies.withLock { $0.append((box, line)) }
        poke()
    }

    private let pendingReplies = Locked<[(ClientBox, String)]>([])

    private func queue(_ line: String, to client: Client) {
        client.output.append(contentsOf: line.utf8)
        client.output.append(UInt8(ascii: "\n"))
    }

    private func send(_ client: Client) {
        guard !client.output.isEmpty else { return }
        let sent = client.output.withUnsafeBytes {
            Glibc.send(client.socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
        }
        if sent > 0 {
            client.output.removeFirst(sent)
        } else if sent < 0 && errno != EAGAIN && errno != EINTR {
            drop { $0 === client }
        }
    }

    private func drop(where shouldDrop: (Client) -> Bool) {
        clients.removeAll { client in
            guard shouldDrop(client) else { return false }
            close(client.socket)
            return true
        }
    }

    /// A reply line: `data` is JSON text already (nil: none).
    static func reply(id: Int, error: String = "success", data: String? = nil) -> String {
        var line = #"{"request_id":\#(id),"error":\#(jsonString(error))"#
        if let data { line += #","data":\#(data)"# }
        return line + "}"
    }

    /// `text` as a JSON string literal.
    static func jsonString(_ text: String) -> String {
        var escaped = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where scalar.value < 0x20: escaped += String(format: "\\u%04x", scalar.value)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped + "\""
    }
}
