import CNet
import Foundation
import Reel
import ReelFramePool
import ReelMedia
import ReelShare
import ReelTestSupport
import Testing

/// The cross-process pool with two real processes: `reel` listening at `unix:PATH`, and
/// a producer — the capture demo, this test binary run as a child, this process through
/// `RemoteProducer`, or a hostile client written here — each side killed at the worst
/// moments.
@Suite(.serialized) struct SharedPoolCLITests {
    static let build = ReelCLI.executable.deletingLastPathComponent().path

    static func socketPath() -> String { "/tmp/reel-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock" }

    static let gray = FrameDescription(
        format: .gray8, size: PixelSize(width: 64, height: 48),
        color: ColorDescription(matrix: .bt601, range: .full, chromaLocation: .left))

    /// Starts `reel arguments…` (validation on) and waits until it listens.
    static func renderer(_ arguments: [String]) throws -> LineProcess {
        let process = try LineProcess(
            ReelCLI.executable.path, arguments, environment: ["REEL_VULKAN_VALIDATION": "1"])
        try process.waitForLine(containing: "listening at")
        return process
    }

    /// Starts this test binary as a producer child (`SharedPoolChild`) in `mode`.
    static func producerChild(_ mode: String, path: String) throws -> LineProcess {
        let me = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        return try LineProcess(
            me, ["--testing-library", "swift-testing", "--filter", "SharedPoolChild"],
            environment: ["REEL_SHARED_POOL_CHILD": mode, "REEL_SHARED_POOL_PATH": path])
    }

    static func statistics(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func int(_ value: Any?) -> Int { (value as? NSNumber)?.intValue ?? -1 }

    static func pngs(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".png") }.sorted()
    }

    /// The demo's camera as its own process sends 300 frames of its pattern to `reel
    /// render unix:PATH`; every PNG matches the same frames rendered in one process
    /// (the demo with `--out`), and the renderer's statistics say 0 bytes copied and
    /// every slot returned.
    @Test func twoProcessesRenderWhatOneProcessRenders() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = Self.socketPath()
        let renderer = try Self.renderer([
            "render", "unix:\(path)", "--out", "\(folder)/remote", "--once", "--stats", "\(folder)/stats.json",
        ])
        let size = ["--width", "320", "--height", "180", "--frames", "300", "--unpaced"]
        let (producerStatus, producerText) = try runToEnd(
            "\(Self.build)/CaptureDemo", ["--connect", "unix:\(path)"] + size)
        #expect(producerStatus == 0, "\(producerText)")
        #expect(producerText.contains("300 submitted"), "\(producerText)")
        #expect(renderer.waitForExit() == 0, "\(renderer.output)")
        let (localStatus, localText) = try runToEnd(
            "\(Self.build)/CaptureDemo", ["--every-frame", "--out", "\(folder)/local", "--validation"] + size)
        #expect(localStatus == 0, "\(localText)")

        let remote = try Self.pngs(in: "\(folder)/remote")
        let local = try Self.pngs(in: "\(folder)/local")
        #expect(remote.count == 300 && remote == local, "\(remote.count) and \(local.count) frames")
        var worst = Double.infinity
        for name in remote where local.contains(name) {
            let a = try ImageReader.readRGBA("\(folder)/remote/\(name)")
            let b = try ImageReader.readRGBA("\(folder)/local/\(name)")
            worst = min(worst, a.size == b.size ? psnr(a.pixels, b.pixels) : 0)
        }
        #expect(worst == .infinity, "the worst frame's PSNR: \(worst) dB")
        let stats = try Self.statistics("\(folder)/stats.json")
        #expect(Self.int(stats["framesRendered"]) == 300 && Self.int(stats["bytesCopied"]) == 0, "\(stats)")
        #expect(Self.int(stats["slotsLent"]) == 8 && Self.int(stats["slotsFreeAtEnd"]) == 8, "\(stats)")
        #expect(renderer.output.contains("copies       0 B/frame"), "\(renderer.output)")
        print(
            "two processes: 300 frames, worst PSNR \(worst) dB against one process; \(stats["slotsFreeAtEnd"]!) of \(stats["slotsLent"]!) slots returned"
        )
    }

    /// Producers killed with SIGKILL (a) holding a slot they had not submitted and (b)
    /// just after submitting three frames: the renderer shows the three, takes every
    /// slot back, and keeps listening — a producer connecting next is answered within a
    /// second of the kill and streams; at the end every slot lent is free.
    @Test func killedProducersLeaveTheRendererServing() async throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = Self.socketPath()
        let renderer = try Self.renderer([
            "render", "unix:\(path)", "--out", "\(folder)/frames", "--stats", "\(folder)/stats.json",
        ])
        let holding = try Self.producerChild("hold", path: path)
        try holding.waitForLine(containing: "child: holding a slot")
        holding.signal(SIGKILL)
        #expect(holding.waitForExit() == 128 + SIGKILL)
        let submitting = try Self.producerChild("submit", path: path)
        try submitting.waitForLine(containing: "child: submitted 3")
        submitting.signal(SIGKILL)
        let killed = ContinuousClock.now
        #expect(submitting.waitForExit() == 128 + SIGKILL)

        // The renderer still listens: the next producer gets its pool at once.
        let next = try RemoteProducer(connectingTo: path, for: Self.gray, slots: 2)
        let connectedAfter = ContinuousClock.now - killed
        var servedAfter: Duration?
        for index in 0..<5 {
            var lease = try await next.lease(for: Self.gray)
            // The third lease needs a slot the renderer gave back.
            if index == 2 { servedAfter = ContinuousClock.now - killed }
            SharedPoolChild.fill(&lease, with: UInt8(200 + 10 * index))
            try lease.submit(at: MediaTime(ticks: Int64(100 + index), timeBase: Rational(1, 100)))
        }
        next.finish()
        renderer.signal(SIGINT)
        #expect(renderer.waitForExit() == 0, "\(renderer.output)")
        #expect(connectedAfter < .seconds(1), "the next producer was answered \(connectedAfter) after the kill")
        let served = try #require(servedAfter)

        let names = try Self.pngs(in: "\(folder)/frames")
        var levels: [UInt8] = []
        for name in names { levels.append(try ImageReader.readRGBA("\(folder)/frames/\(name)")[0, 0].x) }
        #expect(levels == [30, 40, 50, 200, 210, 220, 230, 240], "the killed producer's frames, then the next's")
        let stats = try Self.statistics("\(folder)/stats.json")
        #expect(Self.int(stats["producers"]) == 3, "\(stats)")
        #expect(Self.int(stats["slotsLent"]) == 10 && Self.int(stats["slotsFreeAtEnd"]) == 10, "\(stats)")
        #expect(Self.int(stats["slotsReclaimed"]) >= 5, "4 held by the first, at least 1 by the second: \(stats)")
        print(
            "killed producers: the next answered \(connectedAfter) after the kill (its first frames back \(served) after it, as this runner's executor saw it); \(stats["slotsFreeAtEnd"]!) of \(stats["slotsLent"]!) slots free at the end"
        )
    }

    /// The renderer killed with SIGKILL while the demo's camera, another process,
    /// streams into it: the camera's next call fails, and the demo exits with the
    /// reason within a second of the kill (timed by the thread reading its output, which
    /// a busy test runner does not hold up).
    @Test func aKilledRendererFailsTheProducerWithinASecond() throws {
        let path = Self.socketPath()
        let renderer = try Self.renderer(["play", "unix:\(path)", "--vo", "none"])
        let producer = try LineProcess(
            "\(Self.build)/CaptureDemo",
            ["--connect", "unix:\(path)", "--width", "160", "--height", "90", "--seconds", "120"])
        try producer.waitForLine(containing: "capture-demo: 160x90")
        let killed = ContinuousClock.now
        renderer.signal(SIGKILL)
        #expect(producer.waitForExit() == 1, "\(producer.output)")
        #expect(renderer.waitForExit() == 128 + SIGKILL)
        let heard = try #require(producer.outputEnded) - killed
        #expect(heard < .seconds(sanitizerSlowdown), "the producer ended \(heard) after the kill")
        #expect(producer.output.contains("the camera stopped: the renderer"), "\(producer.output)")
        print(
            "killed renderer: the producer process ended \(heard) after the kill: \(producer.output.split(separator: "\n").last ?? "")"
        )
    }

    /// The same through the API in this process: a lease waiting for a slot fails with
    /// a connection error, the held slot's memory can still be written, and its submit
    /// fails too.
    @Test func aKilledRendererFailsALeaseAndASubmit() async throws {
        let path = Self.socketPath()
        let renderer = try Self.renderer(["play", "unix:\(path)", "--vo", "none"])
        let producer = try RemoteProducer(connectingTo: path, for: Self.gray, slots: 2)
        guard var held = try producer.tryLease(for: Self.gray), let other = try producer.tryLease(for: Self.gray) else {
            Issue.record("two slots were lent")
            return
        }
        let waiting = Task { () -> ReelError? in
            do throws(ReelError) {
                _ = try await producer.lease(for: Self.gray)
                return nil
            } catch { return error }
        }
        renderer.signal(SIGKILL)
        let error = await waiting.value
        #expect(error?.kind == .connection, "\(String(describing: error))")
        #expect(renderer.waitForExit() == 128 + SIGKILL)
        SharedPoolChild.fill(&held, with: 77)
        do {
            try held.submit(at: MediaTime(ticks: 0, timeBase: Rational(1, 100)))
            Issue.record("a submit to a dead renderer")
        } catch { #expect(error.kind == .connection, "\(error)") }
        other.release()
    }
}

extension SharedPoolCLITests {
    /// `reel bench unix:PATH --once --json` measures what a producer sends: 30 frames
    /// from the demo, rendered as they come, 0 bytes copied, every slot back.
    @Test func benchTakesProducers() throws {
        let path = Self.socketPath()
        let renderer = try Self.renderer(["bench", "unix:\(path)", "--once", "--json"])
        let (status, text) = try runToEnd(
            "\(Self.build)/CaptureDemo",
            ["--connect", "unix:\(path)", "--width", "160", "--height", "90", "--frames", "30", "--unpaced"])
        #expect(status == 0, "\(text)")
        #expect(renderer.waitForExit() == 0, "\(renderer.output)")
        let json = try #require(renderer.output.range(of: "{").map { String(renderer.output[$0.lowerBound...]) })
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(Self.int(report["framesRendered"]) == 30 && Self.int(report["bytesCopied"]) == 0, "\(report)")
        #expect(Self.int(report["slotsFreeAtEnd"]) == Self.int(report["slotsLent"]), "\(report)")
        #expect((report["framesPerSecond"] as? Double ?? 0) > 0, "\(report)")
    }

    /// Options that do not fit the input are usage errors, each in one line.
    @Test func optionsThatDoNotFitAreRefused() throws {
        let cases: [([String], String)] = [
            (["play", "clip.mp4", "--once"], "--once applies to a unix:PATH input only"),
            (["play", "unix:/tmp/x.sock", "--loop"], "--loop does not apply to a unix:PATH input"),
            (["bench", "unix:/tmp/x.sock", "--render-only"], "do not apply"),
            (["bench", "clip.mp4", "--stats", "/tmp/s.json"], "--stats applies to a unix:PATH input"),
            (["play", "unix:/tmp/x.sock", "--vo", "window", "--untimed"], "--untimed needs --vo offscreen or none"),
        ]
        for (arguments, message) in cases {
            let result = try ReelCLI.run(arguments)
            #expect(result.status == 2 && result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        // A renderer already listening there keeps its socket.
        let path = Self.socketPath()
        let first = try Self.renderer(["play", "unix:\(path)", "--vo", "none"])
        let second = try ReelCLI.run(["play", "unix:\(path)", "--vo", "none"])
        #expect(second.status == 1 && second.stderr.contains("another renderer listens there"), "\(second.stderr)")
        // Not a socket, no path at all, a folder that is not there: one line each, exit 1.
        let plainFile = "\(path).txt"
        FileManager.default.createFile(atPath: plainFile, contents: Data("not a socket".utf8))
        defer { try? FileManager.default.removeItem(atPath: plainFile) }
        for (input, reason) in [
            ("unix:\(plainFile)", "not a socket"), ("unix:", "a socket needs a path"),
            ("unix:/nonexistent-folder/x.sock", "No such file or directory"),
        ] {
            let refused = try ReelCLI.run(["bench", input, "--once"])
            #expect(refused.status == 1 && refused.stderr.contains(reason), "\(input): \(refused.stderr)")
        }
        first.signal(SIGINT)
        #expect(first.waitForExit() == 0, "\(first.output)")
        #expect(!FileManager.default.fileExists(atPath: path), "the renderer removed its socket")
    }
}

extension SharedPoolCLITests {
    /// One hostile peer's try: what it sends after its hello and pool (nil: it sends
    /// nothing more and goes, having tried to resize the pool instead).
    struct Attack: Sendable {
        var name: String
        var send: @Sendable (PoolSocket, PoolMessage.Pool) throws -> Void
    }

    /// A frame message for `slot` of a pool lent for 64×48 gray, as a good producer sends it.
    static func frame(_ pool: PoolMessage.Pool, slot: UInt32 = 0) -> PoolMessage.Frame {
        PoolMessage.Frame(
            slot: slot, generation: pool.generations.indices.contains(Int(slot)) ? pool.generations[Int(slot)] : 1,
            format: .gray8, width: 64, height: 48,
            planes: pool.layout.planes.map { (UInt64($0.offset), UInt32($0.stride)) }, color: gray.color,
            presentationTime: MediaTime(ticks: 1, timeBase: Rational(1, 100)), captured: 0)
    }

    static func raw(_ socket: PoolSocket, _ bytes: [UInt8]) throws {
        let sent = bytes.withUnsafeBytes { send(socket.fileDescriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else { throw SupportError("a raw send failed") }
    }

    static let attacks: [Attack] = [
        Attack(name: "a slot out of range") { socket, pool in try socket.send(.frame(frame(pool, slot: 99))) },
        Attack(name: "a negative slot") { socket, pool in
            var message = frame(pool)
            message.slot = UInt32(bitPattern: -1)
            try socket.send(.frame(message))
        },
        Attack(name: "a stale generation") { socket, pool in
            var message = frame(pool)
            message.generation &-= 1
            try socket.send(.frame(message))
        },
        Attack(name: "an offset + size that wraps around") { socket, pool in
            var message = frame(pool)
            message.planes[0].offset = UInt64.max - 15
            try socket.send(.frame(message))
        },
        Attack(name: "a stride shorter than a row") { socket, pool in
            var message = frame(pool)
            message.planes[0].stride = 32
            try socket.send(.frame(message))
        },
        Attack(name: "an unknown format") { socket, pool in
            var bytes = PoolMessage.frame(frame(pool)).encoded()
            bytes[9] = 200
            try raw(socket, bytes)
        },
        Attack(name: "a 0×0 frame") { socket, pool in
            var message = frame(pool)
            (message.width, message.height) = (0, 0)
            try socket.send(.frame(message))
        },
        Attack(name: "a 100000×100000 frame") { socket, pool in
            var message = frame(pool)
            (message.width, message.height) = (100_000, 100_000)
            try socket.send(.frame(message))
        },
        // Releases are the renderer's to send: a producer's is refused, whatever it names.
        Attack(name: "a release of a slot it does not hold") { socket, pool in
            try socket.send(.release(slot: 0, generation: pool.generations[0] &+ 1))
        },
        Attack(name: "a double release") { socket, pool in
            try socket.send(.release(slot: 1, generation: pool.generations[1]))
            try socket.send(.release(slot: 1, generation: pool.generations[1]))
        },
        Attack(name: "a truncated message") { socket, pool in
            try raw(socket, Array(PoolMessage.frame(frame(pool)).encoded().dropLast(5)))
        },
        Attack(name: "a message with extra descriptors") { socket, pool in
            let bytes = PoolMessage.frame(frame(pool)).encoded()
            let extra = [open("/dev/null", O_RDONLY), open("/dev/null", O_RDONLY)]
            defer { for fd in extra { close(fd) } }
            let sent = bytes.withUnsafeBufferPointer { bytes in
                extra.withUnsafeBufferPointer {
                    reel_test_send_descriptors(
                        socket.fileDescriptor, bytes.baseAddress, Int32(bytes.count), $0.baseAddress, 2)
                }
            }
            guard sent == bytes.count else { throw SupportError("sending descriptors failed") }
        },
        Attack(name: "random bytes") { socket, _ in
            var generator = SystemRandomNumberGenerator()
            try raw(socket, (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) })
        },
    ]

    /// Hostile peers, one after another, while a well-behaved producer stays connected
    /// to the same renderer (another process): each bad message cuts its sender off with
    /// the reason; a peer cannot shrink or grow the pool it was lent (its seals); the
    /// good producer's frames all come out; and the renderer's open descriptors are as
    /// many afterwards as before.
    @Test func hostilePeersAreCutOffWhileAGoodOneStreams() async throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = Self.socketPath()
        let renderer = try Self.renderer([
            "render", "unix:\(path)", "--out", "\(folder)/frames", "--stats", "\(folder)/stats.json",
        ])
        // What the renderer said, should this fail before it is asked to exit.
        var finished = false
        defer {
            if !finished {
                let status = renderer.waitForExit(timeout: 2).map { "exited \($0)" } ?? "still running"
                print("the renderer (hostile peers), \(status), said:\n\(renderer.output)")
            }
        }
        let good = try RemoteProducer(connectingTo: path, for: Self.gray, slots: 2)
        var index = 0
        func publish() async throws {
            var lease = try await good.lease(for: Self.gray)
            SharedPoolChild.fill(&lease, with: UInt8(100 + index))
            try lease.submit(at: MediaTime(ticks: Int64(index), timeBase: Rational(1, 100)))
            index += 1
        }
        // Three frames through two slots: the renderer has served this producer.
        for _ in 0..<3 { try await publish() }
        // Its open descriptors, but for the PNG it may be writing at that moment.
        func descriptors() -> Int {
            let fds = "/proc/\(renderer.pid)/fd"
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: fds) else { return -1 }
            return names.count {
                !((try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fds)/\($0)"))?.hasPrefix(folder)
                    ?? false)
            }
        }
        let before = descriptors()

        var reasons: [String] = []
        for attack in Self.attacks + [Attack(name: "resizing the pool") { _, _ in }] {
            let socket = try PoolSocket.connect(to: path)
            try socket.send(.hello(PoolMessage.Hello(format: .gray8, width: 64, height: 48, slots: 2)))
            let answer = try socket.receive()
            guard let answer, case .pool(let pool) = answer.message, let memory = answer.descriptor else {
                throw SupportError("no pool for the hostile peer before \(attack.name): \(String(describing: answer))")
            }
            if attack.name == "resizing the pool" {
                let size = pool.layout.slotSize * Int(pool.slotCount)
                #expect(ftruncate(memory, 4096) == -1 && errno == EPERM, "shrinking is sealed")
                #expect(ftruncate(memory, off_t(size * 2)) == -1 && errno == EPERM, "growing is sealed")
                close(memory)
                try socket.send(.bye)
                continue
            }
            close(memory)
            // The renderer may hang up before a second message goes out.
            try? attack.send(socket, pool)
            var reason: String?
            while let received = try? socket.receive() {
                if case .refused(let text) = received.message { reason = text }
            }
            #expect(reason != nil, "\(attack.name): cut off with a reason")
            reasons.append("\(attack.name): \(reason ?? "none")")
            // The good producer streams on between attacks.
            try await publish()
        }
        // The renderer lets go of every hostile peer's socket and pool.
        var after = descriptors()
        let deadline = ContinuousClock.now + .seconds(20)
        while after != before && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            after = descriptors()
        }
        #expect(after == before, "the renderer's descriptors: \(before) before, \(after) after")
        good.finish()
        renderer.signal(SIGINT)
        #expect(renderer.waitForExit() == 0, "\(renderer.output)")
        finished = true
        let stats = try Self.statistics("\(folder)/stats.json")
        let refused = try #require(stats["producersRefused"] as? [String])
        #expect(refused.count == Self.attacks.count, "\(refused)")
        #expect(Self.int(stats["framesRendered"]) == index, "\(stats)")
        #expect(Self.int(stats["slotsFreeAtEnd"]) == Self.int(stats["slotsLent"]), "\(stats)")
        let names = try Self.pngs(in: "\(folder)/frames")
        var levels: [UInt8] = []
        for name in names { levels.append(try ImageReader.readRGBA("\(folder)/frames/\(name)")[0, 0].x) }
        #expect(levels == (0..<index).map { UInt8(100 + $0) }, "the good producer's frames, all of them, in order")
        print(
            "hostile peers: \(reasons.count) cut off; descriptors \(before) → \(after):\n  "
                + reasons.joined(separator: "\n  "))
    }
}

/// Run only as a child of `SharedPoolCLITests`: a producer at `REEL_SHARED_POOL_PATH`
/// that does what `REEL_SHARED_POOL_CHILD` says, prints that it did, and waits to be
/// killed.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["REEL_SHARED_POOL_CHILD"] != nil))
struct SharedPoolChild {
    static func fill(_ lease: inout FrameLease, with value: UInt8) {
        let (stride, rows) = (lease.stride(ofPlane: 0), lease.rows(ofPlane: 0))
        lease.withPlane(0) { plane in
            plane.withUnsafeMutableBytes {
                $0.baseAddress!.initializeMemory(as: UInt8.self, repeating: value, count: stride * rows)
            }
        }
    }

    @Test func produceUntilKilled() async throws {
        let environment = ProcessInfo.processInfo.environment
        let path = try #require(environment["REEL_SHARED_POOL_PATH"])
        let producer = try RemoteProducer(connectingTo: path, for: SharedPoolCLITests.gray, slots: 4)
        if environment["REEL_SHARED_POOL_CHILD"] == "submit" {
            for index in 0..<3 {
                var lease = try await producer.lease(for: SharedPoolCLITests.gray)
                Self.fill(&lease, with: UInt8(30 + 10 * index))
                try lease.submit(at: MediaTime(ticks: Int64(index), timeBase: Rational(1, 100)))
            }
            print("child: submitted 3")
            fflush(nil)
            // Killed here (a bound, should the test that started it fail first).
            try await Task.sleep(for: .seconds(120))
        } else {
            var lease = try await producer.lease(for: SharedPoolCLITests.gray)
            Self.fill(&lease, with: 1)
            print("child: holding a slot")
            fflush(nil)
            try await Task.sleep(for: .seconds(120))
            lease.release()
        }
    }
}
