import Foundation

/// A failure of the test scaffolding itself (a helper process that would not start).
package struct SupportError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// A child process started with posix_spawn and reaped with waitpid: plain and
/// predictable in a test runner (no run loop involved).
package final class Child {
    package let pid: pid_t

    /// `output`: a file for its stdout and stderr (else /dev/null).
    package init(_ path: String, _ arguments: [String], environment: [String: String]? = nil, output: String? = nil)
        throws
    {
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer {
            for argument in argv { free(argument) }
            for variable in envp ?? [] { free(variable) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var pid: pid_t = 0
        var environmentArray = envp ?? []
        let result = argv.withUnsafeBufferPointer { arguments in
            environmentArray.withUnsafeMutableBufferPointer { variables in
                posix_spawn(
                    &pid, path, &actions, nil, UnsafeMutablePointer(mutating: arguments.baseAddress!),
                    envp == nil ? environ : variables.baseAddress)
            }
        }
        guard result == 0 else { throw SupportError("cannot start \(path): \(String(cString: strerror(result)))") }
        self.pid = pid
    }

    package var isRunning: Bool {
        if exited { return false }
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// Waits up to `timeout` seconds for it to exit; its exit status (128 + signal when
    /// a signal ended it), or nil if it is still running.
    package func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                exited = true
                return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            }
            usleep(20_000)
        } while Date() < deadline
        return nil
    }

    private var exited = false

    /// SIGKILL at once (a crash); reaps it.
    package func crash() {
        guard isRunning else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        exited = true
    }

    /// SIGINT, then SIGKILL if it has not exited within 2 s; reaps it.
    package func stop() {
        guard isRunning else { return }
        kill(pid, SIGINT)
        for _ in 0..<20 where isRunning { usleep(100_000) }
        if isRunning {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    deinit { stop() }
}

/// A real PulseAudio server on a null sink, with its own runtime directory, started
/// for a test and stopped after it.
package final class PulseServer {
    package let directory: URL
    let process: Child
    package var address: String { "unix:\(directory.path)/pulse/native" }

    /// A server in `directory` (a new one when nil): the same directory is the same
    /// address, for a server started again after one was killed.
    package init(directory reused: URL? = nil) throws {
        directory =
            reused ?? FileManager.default.temporaryDirectory.appendingPathComponent("reel-pulse-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        process = try Child(
            "/usr/bin/pulseaudio",
            [
                "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=false",
                "--load=module-native-protocol-unix auth-anonymous=1",
                "--load=module-null-sink sink_name=reel_null rate=48000 channels=1", "--load=module-always-sink",
            ],
            environment: [
                "HOME": directory.path, "XDG_RUNTIME_DIR": directory.path,
                "PULSE_RUNTIME_PATH": directory.appendingPathComponent("pulse").path, "PATH": "/usr/bin:/bin",
            ])
        // Wait (at most 10 s) for the socket.
        let socket = directory.appendingPathComponent("pulse/native").path
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) { usleep(100_000) }
        guard FileManager.default.fileExists(atPath: socket) else {
            stop()
            throw SupportError("the PulseAudio server did not start (is the pulseaudio package installed?)")
        }
    }

    package func stop() {
        process.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Kills the server (SIGKILL, as a crash) and leaves its directory and stale socket.
    package func crash() { process.crash() }

    deinit { stop() }
}

/// A real X server (Xvfb) on a free display number, started for a test and stopped after it.
package final class XServer {
    package let display: String
    let process: Child

    package init(width: Int = 1280, height: Int = 720) throws {
        // A display number no one uses: no socket, no lock file.
        var number = 90 + Int(getpid() % 500)
        while FileManager.default.fileExists(atPath: "/tmp/.X11-unix/X\(number)")
            || FileManager.default.fileExists(atPath: "/tmp/.X\(number)-lock")
        {
            number += 1
        }
        display = ":\(number)"
        process = try Child("/usr/bin/Xvfb", [display, "-screen", "0", "\(width)x\(height)x24", "-nolisten", "tcp"])
        let socket = "/tmp/.X11-unix/X\(number)"
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) { usleep(100_000) }
        guard FileManager.default.fileExists(atPath: socket) else {
            stop()
            throw SupportError("Xvfb did not start (is the xvfb package installed?)")
        }
    }

    /// Kills the server (SIGKILL, as a crash).
    package func crash() { process.crash() }

    package func stop() { process.stop() }

    deinit { stop() }
}

/// Runs the ffmpeg CLI (`-v error -y` first) to make a test clip; throws when it fails.
package func ffmpeg(_ arguments: [String]) throws {
    let child = try Child("/usr/bin/ffmpeg", ["-nostdin", "-v", "error", "-y"] + arguments)
    guard let status = child.waitForExit(timeout: 120), status == 0 else {
        throw SupportError("ffmpeg \(arguments.joined(separator: " ")) failed")
    }
}

/// A fresh temporary directory, removed by the caller.
package func makeTemporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("reel-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The number of threads and of open file descriptors of this process now.
package func threadAndDescriptorCounts() -> (threads: Int, descriptors: Int) {
    // Dispatch's worker threads (Swift concurrency's pool: "com.apple.root.default-qos"
    // and the like) come and go on their own as tasks run and idle; they are not counted.
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    let threads = tasks.filter { task in
        let name = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
        return !name.contains("qos")
    }.count
    let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    return (threads, descriptors)
}

/// Runs `executable` to its end with stdout and stderr merged; its exit status and
/// everything it printed.
package func runToEnd(_ executable: String, _ arguments: [String], environment extra: [String: String] = [:])
    throws -> (status: Int32, output: String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
}

/// A child process whose output (stdout and stderr, merged) is read line by line as it
/// comes, so a test can wait for a line it prints (an event), kill it, and reap it.
package final class LineProcess: @unchecked Sendable {
    private let process = Process()
    private let lines = NSCondition()
    private var received: [String] = []
    private var ended = false
    private var endedAt: ContinuousClock.Instant?

    package init(_ path: String, _ arguments: [String], environment extra: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let handle = pipe.fileHandleForReading
        let lines = lines
        let reader = Thread { [weak self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                pending += chunk
                var complete: [String] = []
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    complete.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                    pending = Data(pending[(newline + 1)...])
                }
                lines.withLock {
                    self?.received += complete
                    if chunk.isEmpty {
                        self?.ended = true
                        self?.endedAt = .now
                    }
                    lines.broadcast()
                }
                if chunk.isEmpty { return }
            }
        }
        try process.run()
        reader.start()
    }

    package var pid: pid_t { process.processIdentifier }

    /// Everything it printed so far.
    package var output: String { lines.withLock { received.joined(separator: "\n") } }

    /// Waits for a line containing `text` (for at most `timeout` s) and returns it.
    @discardableResult
    package func waitForLine(containing text: String, timeout: Double = 60) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        return try lines.withLock {
            while true {
                if let line = received.first(where: { $0.contains(text) }) { return line }
                guard !ended, lines.wait(until: deadline) else {
                    throw SupportError(
                        "no line with '\(text)' from \(process.executableURL?.lastPathComponent ?? "")"
                            + (ended ? " (it ended)" : " in \(timeout) s") + ":\n" + received.joined(separator: "\n"))
                }
            }
        }
    }

    /// Waits for it to exit (for at most `timeout` s) and for its last output; its exit
    /// status (128 + signal when a signal ended it), or nil when it is still running.
    package func waitForExit(timeout: Double = 60) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        let done = lines.withLock {
            while !ended { if !lines.wait(until: deadline) { break } }
            return ended
        }
        guard done else { return nil }
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal
            ? 128 + process.terminationStatus : process.terminationStatus
    }

    package func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// When its output ended (it exited, or closed it), as its reading thread saw it:
    /// a time a busy test runner does not delay.
    package var outputEnded: ContinuousClock.Instant? { lines.withLock { endedAt } }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
