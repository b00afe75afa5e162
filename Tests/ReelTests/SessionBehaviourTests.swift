import Foundation
import Logging
import Reel
import ReelCore
import ReelTestSupport
import Synchronization
import Testing

/// How a pushed session behaves at its limits: slots dropped, the pool exhausted, late
/// frames, a slow consumer.
@Suite(.serialized) struct SessionBehaviourTests {
    static let small = FrameDescription(format: .gray8, size: PixelSize(width: 64, height: 48))
    static let timeBase = Rational(1, 1000)

    /// Leases a slot for a small grey frame, fills it with `value` and submits it at
    /// `milliseconds`.
    static func push(_ session: Session, value: UInt8, at milliseconds: Int64) async throws {
        var lease = try await session.lease(for: small)
        fill(&lease, value)
        try lease.submit(at: MediaTime(ticks: milliseconds, timeBase: timeBase))
    }

    static func fill(_ lease: inout FrameLease, _ value: UInt8) {
        let (stride, rows) = (lease.stride(ofPlane: 0), lease.rows(ofPlane: 0))
        lease.withPlane(0) { bytes in
            for offset in 0..<(stride * rows) { bytes.storeBytes(of: value, toByteOffset: offset, as: UInt8.self) }
        }
    }

    /// Whether `tryLease` says the pool is full (a slot it lends is given back).
    static func isFull(_ session: Session) throws -> Bool {
        guard let lease = try session.tryLease(for: small) else { return true }
        lease.release()
        return false
    }

    /// Latency percentiles from the session's histogram are within 1.6 % of the exact
    /// ones, from nanoseconds to seconds.
    @Test func latencyHistogramPercentiles() {
        var histogram = LatencyHistogram()
        // 1 µs … 10 s, spread over seven decades, and a few tiny values.
        var values: [Int64] = [0, 3, 127, 128]
        for step in 0..<7000 { values.append(Int64(1000 * pow(10, Double(step) / 1000))) }
        for value in values.shuffled() { histogram.record(value) }
        let sorted = values.sorted()
        for percent in [50, 95, 99] {
            let exact = Double(sorted[(sorted.count * percent + 99) / 100 - 1])
            let estimate = Double(histogram.percentile(percent))
            #expect(abs(estimate - exact) / exact <= 1.0 / 64, "p\(percent): \(estimate) for \(exact)")
        }
        #expect(histogram.maximum == sorted.last && histogram.count == values.count)
    }

    /// A−V offsets (µs, either sign) kept as a histogram — constant memory over an hour's
    /// frames, where an array of every offset grew the soak's resident size — give the
    /// percentiles, mean and largest magnitude of the exact values (percentiles within a
    /// bucket's width, 1/64).
    @Test func signedHistogramPercentiles() {
        var histogram = SignedHistogram()
        var values: [Int64] = []
        // A spread of offsets, more late than early, from a fixed linear congruence.
        var state: UInt64 = 3
        for _ in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values.append(Int64((state >> 33) % 40_000) - 25_000)
        }
        values += [0, -1, 1, -90_000]
        for value in values { histogram.record(value) }
        let sorted = values.sorted()
        for percent in [1, 5, 50, 95, 99] {
            let exact = Double(sorted[(sorted.count * percent + 99) / 100 - 1])
            let estimate = Double(histogram.percentile(percent))
            #expect(abs(estimate - exact) <= abs(exact) / 64 + 1, "p\(percent): \(estimate) for \(exact)")
        }
        #expect(histogram.largestMagnitude == 90_000 && histogram.count == values.count)
        #expect(histogram.sum == values.reduce(0, +))
    }

    /// A lease dropped without a submit — released, or forgotten at the end of its scope —
    /// gives its slot back to the pool.
    @Test func droppedLeaseReturnsItsSlot() async throws {
        let session = try Session(SessionParameters(output: .none, pushedSlots: 2))
        guard var first = try session.tryLease(for: Self.small), let second = try session.tryLease(for: Self.small)
        else { throw SupportError("two slots, none lent: two leases") }
        #expect(try Self.isFull(session), "two slots, both lent: the pool is full")
        second.release()
        // The released slot is lent again, and its lease is then forgotten.
        do {
            guard let again = try session.tryLease(for: Self.small) else { throw SupportError("a released slot") }
            #expect(again.planeCount == 1)
            #expect(try Self.isFull(session))
        }
        guard let third = try session.tryLease(for: Self.small) else {
            throw SupportError("a forgotten lease did not give its slot back")
        }
        Self.fill(&first, 200)
        try first.submit(at: MediaTime(ticks: 0, timeBase: Self.timeBase))
        third.release()
        session.finishInput()
        let statistics = try await session.finished()
        #expect(statistics.framesIn == 1 && statistics.framesRendered == 1)
    }

    /// With every slot taken (two slots: one shown, one queued behind two output buffers
    /// the consumer holds), `tryLease` says full and `lease` suspends until the
    /// consumer releases a frame; then the producer goes on and every frame renders.
    @Test func exhaustedPoolSuspendsTheProducer() async throws {
        let session = try Session(
            SessionParameters(output: .frames(FrameOutput(buffers: 2)), pacing: .everyFrame, pushedSlots: 2))
        let events = Locked<[String]>([])
        let (progress, report) = AsyncStream<Int>.makeStream()
        let producer = Task {
            for index in 0..<6 {
                if index == 3 { report.yield(index) }
                try await Self.push(session, value: UInt8(40 + index * 30), at: Int64(index) * 10)
                events.withLock { $0.append("pushed \(index)") }
            }
            session.finishInput()
        }
        var frames = session.frames.makeAsyncIterator()
        let first = try #require(try await frames.next())
        let second = try #require(try await frames.next())
        // The producer has pushed frame 2 and asks for a slot for frame 3: the display
        // shows frame 1 (its slot) and frame 2 waits for an output buffer (its slot).
        var progressIterator = progress.makeAsyncIterator()
        #expect(await progressIterator.next() == 3)
        #expect(try Self.isFull(session), "the pool is exhausted")
        events.withLock { $0.append("released 0") }
        first.release()
        var shown = [first.presentationTime, second.presentationTime]
        second.release()
        while let frame = try await frames.next() {
            shown.append(frame.presentationTime)
            frame.release()
        }
        try await producer.value
        let order = events.withLock { $0 }
        let released = try #require(order.firstIndex(of: "released 0"))
        let pushed3 = try #require(order.firstIndex(of: "pushed 3"))
        #expect(released < pushed3, "frame 3 was pushed only after a frame was released: \(order)")
        #expect(shown == (0..<6).map { MediaTime(ticks: Int64($0) * 10, timeBase: Self.timeBase) })
        let statistics = try await session.finished()
        #expect(statistics.framesRendered == 6 && statistics.framesDropped == 0)
    }

    /// Timed at 60 Hz, frames 2 ms apart: the display shows about one in eight, in order,
    /// and counts the rest as dropped.
    @Test func timedModeDropsLateFramesAndCountsThem() async throws {
        let session = try Session(
            SessionParameters(output: .frames(FrameOutput()), pacing: .timed(rate: Rational(60, 1)), pushedSlots: 32))
        let producer = Task {
            for index in 0..<30 { try await Self.push(session, value: UInt8(20 + index * 7), at: Int64(index) * 2) }
            session.finishInput()
        }
        var shown: [MediaTime] = []
        for try await frame in session.frames {
            shown.append(try #require(frame.presentationTime))
            frame.release()
        }
        try await producer.value
        let statistics = try await session.finished()
        #expect(statistics.framesIn == 30)
        #expect(statistics.framesRendered == shown.count)
        #expect(statistics.framesDropped == 30 - shown.count)
        #expect(statistics.framesDropped > 0, "30 frames in 60 ms cannot all be shown at 60 Hz")
        #expect(shown.count >= 2, "a frame per tick over 60 ms: \(shown.count)")
        #expect(zip(shown, shown.dropFirst()).allSatisfy { $0.microseconds < $1.microseconds })
        #expect(shown.last == MediaTime(ticks: 58, timeBase: Self.timeBase), "the last frame is shown")
        print("timed 60 Hz, 30 frames 2 ms apart: \(shown.count) shown, \(statistics.framesDropped) dropped")
    }

    /// Every frame, with a consumer that keeps the last frame while it takes the next:
    /// the display waits for it and renders all 60 frames, none dropped.
    @Test func everyFrameModeWaitsForASlowConsumer() async throws {
        let session = try Session(
            SessionParameters(output: .frames(FrameOutput(buffers: 2)), pacing: .everyFrame, pushedSlots: 3))
        let producer = Task {
            for index in 0..<60 { try await Self.push(session, value: UInt8(16 + index * 3), at: Int64(index) * 5) }
            session.finishInput()
        }
        var held: RenderedFrame?
        var shown: [Int64] = []
        for try await frame in session.frames {
            // The consumer looks at the pixels (a grey level from the frame's number).
            let level = frame.withPixels { $0.unsafeLoad(as: UInt8.self) }
            let ticks = try #require(frame.presentationTime).ticks
            shown.append(ticks)
            // Limited range: Y 16…235 → 0…255.
            let expected = (Double(16 + ticks / 5 * 3) - 16) * 255 / 219
            #expect(abs(Double(level) - expected) <= 2, "frame at \(ticks) ms: \(level), not \(expected)")
            held?.release()
            held = frame
            await Task.yield()
        }
        held?.release()
        try await producer.value
        let statistics = try await session.finished()
        #expect(shown == (0..<60).map { Int64($0) * 5 })
        #expect(statistics.framesRendered == 60 && statistics.framesDropped == 0)
        #expect(statistics.bytesCopied == 0)
    }
}

extension IsolatedSessionTests {
    /// A consumer's task cancelled while it reads `frames` (a producer still pushing)
    /// stops the session: the producer's next lease throws, `finished()` returns, and
    /// the process has the threads it had before.
    @Test func cancellingTheConsumerJoinsEveryThread() async throws {
        try await Self.consumeThenCancel()  // first use: the libraries' one-time set-up
        let before = threadAndDescriptorCounts()
        try await Self.consumeThenCancel()
        let after = threadAndDescriptorCounts()
        #expect(after.threads == before.threads, "threads: \(before.threads) before, \(after.threads) after")
        #expect(after.descriptors == before.descriptors)
        print("consumer cancelled: session stopped, every thread joined (\(after.threads) threads, as before)")
    }

    static func consumeThenCancel() async throws {
        let session = try Session(SessionParameters(pacing: .everyFrame))
        let producer = Task {
            var time: Int64 = 0
            do {
                while true {
                    try await SessionBehaviourTests.push(session, value: 100, at: time)
                    time += 10
                }
            } catch {
                return error
            }
        }
        let (read, reading) = AsyncStream<Int>.makeStream()
        let consumer = Task {
            var count = 0
            for try await frame in session.frames {
                frame.release()
                count += 1
                if count == 5 { reading.yield(count) }
            }
            return count
        }
        var events = read.makeAsyncIterator()
        #expect(await events.next() == 5)
        consumer.cancel()
        _ = try? await consumer.value
        let error = await producer.value
        #expect("\(error)".contains("stopped"), "the producer's lease ends: \(error)")
        let statistics = try await session.finished()
        #expect(statistics.framesRendered >= 5)
    }

    /// A consumer slower than the display, every frame: 10 000 frames through two
    /// output buffers; the process's resident memory after the first 1000 frames and
    /// after the last differs by less than 4 MiB.
    @Test func slowConsumerKeepsMemoryBounded() async throws {
        let session = try Session(
            SessionParameters(output: .frames(FrameOutput(buffers: 2)), pacing: .everyFrame, pushedSlots: 4))
        let description = FrameDescription(format: .yuv420p, size: PixelSize(width: 96, height: 64))
        let count = 10_000
        let producer = Task {
            for index in 0..<count {
                var lease = try await session.lease(for: description)
                for plane in 0..<lease.planeCount {
                    let (stride, rows) = (lease.stride(ofPlane: plane), lease.rows(ofPlane: plane))
                    lease.withPlane(plane) { bytes in
                        for offset in 0..<(stride * rows) {
                            bytes.storeBytes(
                                of: UInt8(truncatingIfNeeded: index + offset), toByteOffset: offset, as: UInt8.self)
                        }
                    }
                }
                try lease.submit(at: MediaTime(ticks: Int64(index), timeBase: Rational(1, 60)))
            }
            session.finishInput()
        }
        var held: RenderedFrame?
        var received = 0
        var warm = 0
        for try await frame in session.frames {
            held?.release()
            held = frame
            received += 1
            if received == 1000 { warm = memoryInUse() }
            await Task.yield()
        }
        held?.release()
        try await producer.value
        let end = memoryInUse()
        let statistics = try await session.finished()
        #expect(received == count && statistics.framesRendered == count)
        let growth = Double(end - warm) / 1_048_576
        #expect(growth < 4, "memory in use grew \(growth) MiB over 9000 frames")
        print(
            "slow consumer, memory in use: \(warm / 1_048_576) MiB after 1000 frames, \(end / 1_048_576) MiB after \(count) (\(String(format: "%+.2f", growth)) MiB)"
        )
    }
}

/// The memory the process holds: its resident size; under AddressSanitizer, whose
/// allocator keeps freed memory resident (a quarantine, to catch a use after free, and
/// pages it never gives back), the heap bytes allocated and not freed, as ASan counts them
/// (`__sanitizer_get_current_allocated_bytes`, present only in such a process).
func memoryInUse() -> Int {
    if let counter = dlsym(nil, "__sanitizer_get_current_allocated_bytes") {
        return unsafeBitCast(counter, to: (@convention(c) () -> Int).self)()
    }
    return residentBytes()
}

/// The process's resident memory, from /proc/self/statm.
func residentBytes() -> Int {
    let text = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
    let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// A log handler that keeps what it is given, for the tests.
struct CollectingLogHandler: LogHandler {
    let entries: Entries
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    final class Entries: Sendable {
        let lines = Locked<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>([])
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        entries.lines.withLock { $0.append((event.level, "\(event.message)", event.metadata ?? [:])) }
    }
}

extension SessionBehaviourTests {
    /// The logger an application passes in hears the session's start (with its device)
    /// and its end (with what it did).
    @Test func loggerHearsStartAndEnd() async throws {
        let entries = CollectingLogHandler.Entries()
        let logger = Logger(label: "capture") { _ in CollectingLogHandler(entries: entries) }
        let session = try Session(SessionParameters(output: .none, validation: true, logger: logger))
        try await Self.push(session, value: 90, at: 0)
        try await Self.push(session, value: 91, at: 10)
        session.finishInput()
        _ = try await session.finished()
        let lines = entries.lines.withLock { $0 }
        let started = try #require(lines.first { $0.message == "session started" })
        #expect(started.level == .info)
        #expect("\(started.metadata["device"] ?? "")" == session.deviceName)
        let ended = try #require(lines.first { $0.message == "session ended" })
        #expect("\(ended.metadata["framesRendered"] ?? "")" == "2")
        #expect(!lines.contains { $0.level >= .warning }, "\(lines)")
    }
}

extension IsolatedSessionTests {
    /// A pushed session previewed in a window (under Xvfb): the frames are presented at
    /// their times, `runWindow` returns when the input is finished and shown, and the
    /// validation layer stays quiet. (In the child process: the window system is set up
    /// once per process, for this display.)
    @Test func pushedFramesInAWindow() async throws {
        let server = try XServer()
        defer { server.stop() }
        setenv("DISPLAY", server.display, 1)
        // The window is made and served on this thread; frames come from a task.
        let session = try Session(
            SessionParameters(output: .window, pacing: .timed(rate: Rational(60, 1)), validation: true))
        let producer = Task {
            for index in 0..<30 {
                try await SessionBehaviourTests.push(
                    session, value: UInt8(30 + 6 * index), at: Int64(index) * 1000 / 60)
            }
            session.finishInput()
        }
        try session.runWindow()
        try await producer.value
        let statistics = try await session.finished()
        #expect(statistics.framesIn == 30)
        #expect(statistics.framesRendered + statistics.framesDropped == 30)
        #expect(statistics.framesRendered >= 10, "\(statistics)")
        #expect(statistics.validationErrors == [])
        print("window joined: \(statistics.framesRendered) of 30 pushed frames presented")
    }
}

extension SessionBehaviourTests {
    /// A file session routes FFmpeg's own messages to the application's logger at their
    /// levels: a clip with a damaged run of bytes makes the H.264 decoder complain, and
    /// the complaints arrive as errors or warnings naming the decoder.
    @Test func ffmpegMessagesGoToTheLogger() async throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/testsrc2-320x240.mp4")))
        for index in (bytes.count * 2 / 5)..<(bytes.count * 2 / 5 + 3000) { bytes[index] = 0x5A }
        let damaged = "\(folder)/damaged.mp4"
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))
        let entries = CollectingLogHandler.Entries()
        var logger = Logger(label: "capture") { _ in CollectingLogHandler(entries: entries) }
        logger.logLevel = .warning
        let session = try Session(
            SessionParameters(source: .file(damaged), output: .none, pacing: .everyFrame, logger: logger))
        _ = try? await session.finished()
        let lines = entries.lines.withLock { $0 }
        let ffmpeg = lines.filter { $0.message.hasPrefix("FFmpeg: ") }
        #expect(
            ffmpeg.contains { $0.message.contains("[h264 @") && $0.message.contains("NAL") && $0.level == .error },
            "\(lines)")
        #expect(!ffmpeg.contains { $0.level < .warning }, "below the logger's level: \(ffmpeg)")
        print("FFmpeg to the logger: \(ffmpeg.map(\.message))")
    }
}

extension SessionBehaviourTests {
    /// Sound pushed where none is taken, in a second format, or out of order, is refused
    /// with a clear error.
    @Test func badPushedSoundIsRefused() async throws {
        let format = AudioSampleFormat(sampleRate: 48000, channels: 2)
        let silent = try Session(SessionParameters(output: .none))
        await #expect(throws: ReelError.self) {
            try await silent.push(audio: [0, 0], format: format, at: MediaTime(ticks: 0, timeBase: Self.timeBase))
        }
        silent.stop()
        let listener = BeepListener()
        let session = try Session(
            SessionParameters(output: .none, pacing: .timed(rate: Rational(60, 1)), audio: .application(listener)))
        try await session.push(audio: [0, 0, 0, 0], format: format, at: MediaTime(ticks: 0, timeBase: Self.timeBase))
        for (samples, chunkFormat, ticks, expected) in [
            ([Int16](repeating: 0, count: 3), format, Int64(10), "whole frames"),
            ([0, 0], AudioSampleFormat(sampleRate: 44100, channels: 2), 10, "changed format"),
            ([0, 0], format, 0, "must increase"),
        ] {
            do {
                try await session.push(
                    audio: samples, format: chunkFormat, at: MediaTime(ticks: ticks, timeBase: Self.timeBase))
                Issue.record("accepted: \(expected)")
            } catch {
                #expect(error.description.contains(expected), "\(error)")
            }
        }
        session.finishInput()
        let statistics = try await session.finished()
        #expect(statistics.soundFramesPlayed == 2)
    }
}
