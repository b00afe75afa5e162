import Foundation
import Reel
import ReelFramePool
import ReelShare
import ReelTestSupport
import Synchronization
import Testing

/// A session listening for producers in other processes: here the producers are
/// written by hand in the test (blocking socket calls on threads of their own), so what
/// each sends, well-formed or hostile, is exactly what the test says.
@Suite(.serialized) struct RemoteProducerTests {
    /// A producer speaking the pool protocol by hand.
    final class Producer: @unchecked Sendable {
        let socket: PoolSocket
        let mapping: SharedPoolMapping
        var generations: [UInt32]
        var free: [Int]

        init(path: String, width: UInt32 = 64, height: UInt32 = 48, slots: UInt16 = 3) throws {
            socket = try PoolSocket.connect(to: path)
            try socket.send(.hello(PoolMessage.Hello(format: .gray8, width: width, height: height, slots: slots)))
            guard let answer = try socket.receive(), case .pool(let pool) = answer.message,
                let descriptor = answer.descriptor
            else { throw SupportError("no pool from the renderer") }
            mapping = try SharedPoolMapping(
                adopting: descriptor, layout: pool.layout, slotCount: Int(pool.slotCount), writable: true)
            generations = pool.generations
            free = Array(0..<Int(pool.slotCount))
        }

        /// Fills a slot it holds with `value` and publishes it at `milliseconds`, first
        /// waiting for a release when it holds none.
        func publish(value: UInt8, at milliseconds: Int64) throws {
            while free.isEmpty {
                guard let received = try socket.receive() else { throw SupportError("the renderer hung up") }
                if case .release(let slot, let generation) = received.message {
                    generations[Int(slot)] = generation
                    free.append(Int(slot))
                }
            }
            let slot = free.removeFirst()
            let plane = mapping.layout.planes[0]
            let bytes = mapping.mutableBytes(of: slot)
            for offset in plane.offset..<(plane.offset + plane.stride * plane.height) { bytes[offset] = value }
            try socket.send(.frame(frame(slot: UInt32(slot), at: milliseconds)))
        }

        func frame(slot: UInt32, at milliseconds: Int64) -> PoolMessage.Frame {
            PoolMessage.Frame(
                slot: slot, generation: generations.indices.contains(Int(slot)) ? generations[Int(slot)] : 1,
                format: .gray8,
                width: UInt32(mapping.layout.width), height: UInt32(mapping.layout.height),
                planes: mapping.layout.planes.map { (UInt64($0.offset), UInt32($0.stride)) },
                color: ColorDescription(matrix: .bt601, range: .full, chromaLocation: .left),
                presentationTime: MediaTime(ticks: milliseconds, timeBase: Rational(1, 1000)),
                captured: Int64(DispatchTime.now().uptimeNanoseconds))
        }
    }

    /// Runs `body` on a thread of its own; the result when it returns.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    static func socketPath() -> String { "/tmp/reel-remote-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock" }

    /// 20 frames written by another producer into the renderer's pool come out
    /// rendered, in order, with their grey levels, nothing copied; the producer gets
    /// its slots back (3 slots carry the 20 frames), and at its bye the slots it held
    /// are reclaimed.
    @Test func framesFromAnotherProducerAreShown() async throws {
        let path = Self.socketPath()
        let session = try Session(SessionParameters(source: .listening(path), pacing: .everyFrame, validation: true))
        let producing = Task {
            try await Self.onThread {
                let producer = try Producer(path: path)
                for index in 0..<20 { try producer.publish(value: UInt8(20 + index * 10), at: Int64(index) * 10) }
                try producer.socket.send(.bye)
                return producer.free.count
            }
        }
        var levels: [UInt8] = []
        for try await frame in session.frames {
            levels.append(frame.withPixels { $0.unsafeLoad(as: UInt8.self) })
            frame.release()
            // The producer has said bye (or will): then no more producers.
            if levels.count == 20 {
                _ = try await producing.value
                session.finishInput()
            }
        }
        let statistics = try await session.finished()
        let expected: [UInt8] = (0..<20).map { index -> UInt8 in UInt8(20 + index * 10) }
        #expect(levels == expected, "full range: the grey level is the sample")
        #expect(statistics.framesIn == 20 && statistics.framesRendered == 20 && statistics.bytesCopied == 0)
        #expect(statistics.validationErrors == [])
    }

    /// A producer that hangs up without a bye, holding slots: the frames it published
    /// are shown, its slots come back, and the next producer to connect streams on.
    @Test func aVanishedProducersFramesAreShownAndTheNextStreams() async throws {
        let path = Self.socketPath()
        let session = try Session(SessionParameters(source: .listening(path), pacing: .everyFrame))
        let producing = Task {
            try await Self.onThread {
                do {
                    let first = try Producer(path: path, slots: 4)
                    try first.publish(value: 50, at: 0)
                    try first.publish(value: 60, at: 10)
                }  // dropped here: its socket closes with two slots still held
                let second = try Producer(path: path, slots: 4)
                for index in 0..<3 { try second.publish(value: UInt8(70 + 10 * index), at: Int64(20 + 10 * index)) }
                try second.socket.send(.bye)
            }
        }
        var levels: [UInt8] = []
        for try await frame in session.frames {
            levels.append(frame.withPixels { $0.unsafeLoad(as: UInt8.self) })
            frame.release()
            if levels.count == 5 {
                try await producing.value
                session.finishInput()
            }
        }
        let statistics = try await session.finished()
        // Each producer's frames in its order; between producers, arrival decides.
        #expect(levels.filter { $0 < 70 } == [50, 60] && levels.filter { $0 >= 70 } == [70, 80, 90], "\(levels)")
        #expect(statistics.framesRendered == 5)
        // The first left holding 2 of its 4 slots; the second held 4 at its bye (or
        // fewer, if a release was still on its way).
        #expect(statistics.producers == 2 && statistics.slotsReclaimed >= 2, "\(statistics)")
    }

    /// A hostile producer (a slot out of range, then one that never says hello and
    /// sends garbage) is cut off with the reason, while a well-behaved producer
    /// connected at the same time streams on; the renderer's counts say what happened.
    @Test func aHostileProducerIsCutOffAndTheOtherStreamsOn() async throws {
        let path = Self.socketPath()
        let session = try Session(SessionParameters(source: .listening(path), pacing: .everyFrame))
        let good = try await Self.onThread { try Producer(path: path) }
        let reasons = try await Self.onThread { () -> [String] in
            var reasons: [String] = []
            let hostile = try Producer(path: path)
            try hostile.socket.send(.frame(hostile.frame(slot: 99, at: 0)))
            while let received = try hostile.socket.receive() {
                if case .refused(let reason) = received.message { reasons.append(reason) }
            }
            let rude = try PoolSocket.connect(to: path)
            try rude.send(.bye)  // not a hello
            while let received = try rude.receive() {
                if case .refused(let reason) = received.message { reasons.append(reason) }
            }
            return reasons
        }
        #expect(reasons.count == 2 && reasons[0].contains("out of range") && reasons[1].contains("hello"), "\(reasons)")
        let streaming = Task {
            try await Self.onThread {
                for index in 0..<10 { try good.publish(value: UInt8(100 + index), at: Int64(index)) }
                try good.socket.send(.bye)
            }
        }
        var shown = 0
        for try await frame in session.frames {
            frame.release()
            shown += 1
            if shown == 10 {
                try await streaming.value
                session.finishInput()
            }
        }
        let statistics = try await session.finished()
        #expect(shown == 10 && statistics.framesRendered == 10)
        #expect(statistics.producers == 3 && statistics.producersRefused == reasons, "\(statistics)")
    }
}

extension RemoteProducerTests {
    /// A producer in another process (this test binary, run as a child on
    /// `RemoteProducerChild`) publishes three frames and is killed with SIGKILL while it
    /// holds the pool's other slots: the renderer shows the three, reclaims the rest,
    /// and keeps listening — a producer that connects next streams on.
    @Test func aKilledProducerProcessLeavesTheRendererServing() async throws {
        let path = Self.socketPath()
        let session = try Session(SessionParameters(source: .listening(path), pacing: .everyFrame))
        let child = Process()
        child.executableURL = URL(
            fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        child.arguments = ["--testing-library", "swift-testing", "--filter", "RemoteProducerChild"]
        child.environment = ProcessInfo.processInfo.environment.merging(["REEL_PRODUCER_PATH": path]) { $1 }
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        var levels: [UInt8] = []
        var second: Task<Void, any Error>?
        for try await frame in session.frames {
            levels.append(frame.withPixels { $0.unsafeLoad(as: UInt8.self) })
            frame.release()
            if levels.count == 3 {
                kill(child.processIdentifier, SIGKILL)
                child.waitUntilExit()
                second = Task {
                    try await Self.onThread {
                        let next = try Producer(path: path, slots: 4)
                        try next.publish(value: 200, at: 1000)
                        try next.publish(value: 210, at: 1010)
                        try next.socket.send(.bye)
                    }
                }
            }
            if levels.count == 5 {
                try await second?.value
                session.finishInput()
            }
        }
        _ = try await session.finished()
        #expect(child.terminationReason == .uncaughtSignal)
        #expect(levels == [30, 40, 50, 200, 210], "the killed producer's frames, then the next one's")
    }
}

/// Run only as the child of `aKilledProducerProcessLeavesTheRendererServing`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["REEL_PRODUCER_PATH"] != nil))
struct RemoteProducerChild {
    /// Publishes three frames into the renderer at `REEL_PRODUCER_PATH`, then waits
    /// (holding the pool's other slot) until it is killed.
    @Test func produceUntilKilled() throws {
        let path = try #require(ProcessInfo.processInfo.environment["REEL_PRODUCER_PATH"])
        let producer = try RemoteProducerTests.Producer(path: path, slots: 4)
        for index in 0..<3 { try producer.publish(value: UInt8(30 + 10 * index), at: Int64(index) * 10) }
        // Blocks on the socket (releases arrive and are ignored) until the end.
        while try producer.socket.receive() != nil {}
    }
}
