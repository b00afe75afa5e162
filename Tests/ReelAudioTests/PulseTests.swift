import Foundation
import ReelAudio
import ReelCore
import ReelMedia
import ReelTestSupport
import Testing

/// A child process started with posix_spawn and reaped with waitpid: plain and
/// predictable in a test runner (no run loop involved).
final class Child {
    let pid: pid_t

    init(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer {
            for argument in argv { free(argument) }
            for variable in envp ?? [] { free(variable) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        var environmentArray = envp ?? []
        let result = argv.withUnsafeBufferPointer { arguments in
            environmentArray.withUnsafeMutableBufferPointer { variables in
                posix_spawn(
                    &pid, path, &actions, nil, UnsafeMutablePointer(mutating: arguments.baseAddress!),
                    envp == nil ? environ : variables.baseAddress)
            }
        }
        guard result == 0 else { throw AudioError("cannot start \(path): \(String(cString: strerror(result)))") }
        self.pid = pid
    }

    var isRunning: Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// SIGINT, then SIGKILL if it has not exited within 2 s; reaps it.
    func stop() {
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
final class PulseServer {
    let directory: URL
    let process: Child
    var address: String { "unix:\(directory.path)/pulse/native" }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("reel-pulse-\(UUID().uuidString)")
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
            throw AudioError("the PulseAudio server did not start (is the pulseaudio package installed?)")
        }
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }
}

@Suite(.serialized) struct PulseTests {
    /// The 1 kHz fixture played through a real server arrives at its null sink: a
    /// recording of the sink's monitor holds the tone, and playback took real time.
    @Test func playsThroughARealServer() throws {
        let server = try PulseServer()
        defer { server.stop() }
        let recording = server.directory.appendingPathComponent("monitor.raw")
        let recorder = try Child(
            "/usr/bin/parec",
            [
                "--server=\(server.address)", "--device=reel_null.monitor", "--raw", "--format=s16le",
                "--rate=48000", "--channels=1", recording.path,
            ])
        defer { recorder.stop() }
        usleep(300_000)  // let the recorder connect

        let demuxer = try Demuxer(url: "\(fixtures)/audio-only.m4a")
        let decoder = try AudioDecoder(demuxer: demuxer, streamIndex: try #require(demuxer.bestAudioStream))
        let output = try PulseOutput(format: decoder.output, server: server.address)
        let start = HostTime.now()
        var mostQueued: Int64 = 0
        decoding: while true {
            switch try decoder.receive() {
            case .chunk(let chunk):
                try output.write(chunk.samples)
                mostQueued = max(mostQueued, output.queuedFrames(at: HostTime.now()))
            case .needsInput:
                switch demuxer.readPacket() {
                case .packet(let packet): try decoder.send(packet)
                case .endOfInput: try decoder.sendEndOfInput()
                }
            case .endOfStream: break decoding
            }
        }
        try output.finish()
        let elapsed = Double(HostTime.now() - start) / 1e9
        usleep(300_000)
        recorder.stop()

        #expect(elapsed > 0.4, "0.5 s of audio played in \(elapsed) s")
        #expect(mostQueued > 0, "the server reported what it holds")
        let data = try Data(contentsOf: recording)
        let samples = data.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        let loud = samples.indices.filter { abs(Int(samples[$0])) > 2000 }
        let first = try #require(loud.first, "the monitor recorded the tone")
        let window = samples[first..<min(samples.count, first + 9600)]  // 0.2 s
        let crossings = zip(window, window.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
        #expect(abs(crossings - 400) <= 6, "\(crossings) zero crossings in 0.2 s of the monitor")
    }

    @Test func noServerIsAClearError() {
        #expect(throws: AudioError.self) {
            try PulseOutput(format: AudioFormat(sampleRate: 48000, channels: 2), server: "unix:/nonexistent/native")
        }
    }
}
