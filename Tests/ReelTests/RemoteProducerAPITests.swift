import Foundation
import Reel
import ReelTestSupport
import Synchronization
import Testing

/// The producer's side through the embedding API: `RemoteProducer` leases, writes and
/// submits exactly as into a session, and a listening session renders what it submits.
@Suite(.serialized) struct RemoteProducerAPITests {
    static let gray = FrameDescription(
        format: .gray8, size: PixelSize(width: 64, height: 48),
        color: ColorDescription(matrix: .bt601, range: .full, chromaLocation: .left))

    /// Fills every row of a gray lease with `value`.
    static func fill(_ lease: inout FrameLease, with value: UInt8) {
        let (stride, rows) = (lease.stride(ofPlane: 0), lease.rows(ofPlane: 0))
        lease.withPlane(0) { plane in
            plane.withUnsafeMutableBytes {
                $0.baseAddress!.initializeMemory(as: UInt8.self, repeating: value, count: stride * rows)
            }
        }
    }

    static func time(_ index: Int) -> MediaTime { MediaTime(ticks: Int64(index), timeBase: Rational(1, 100)) }

    /// 20 frames written through the API's leases come out rendered, in order, with
    /// their grey levels, nothing copied; with `once`, the session ends when the
    /// producer finishes, every slot lent back in the pool.
    @Test func aRemoteProducerFeedsAListeningSession() async throws {
        let path = RemoteProducerTests.socketPath()
        let session = try Session(
            SessionParameters(source: .listening(path, once: true), pacing: .everyFrame, validation: true))
        let producer = try RemoteProducer(connectingTo: path, for: Self.gray, slots: 3)
        #expect(producer.slotCount == 3 && producer.freeSlots == 3)
        let producing = Task {
            for index in 0..<20 {
                var lease = try await producer.lease(for: Self.gray)
                Self.fill(&lease, with: UInt8(20 + index * 10))
                try lease.submit(at: Self.time(index))
            }
            producer.finish()
        }
        var levels: [UInt8] = []
        for try await frame in session.frames {
            levels.append(frame.withPixels { $0.unsafeLoad(as: UInt8.self) })
            frame.release()
        }
        try await producing.value
        let statistics = try await session.finished()
        let expected: [UInt8] = (0..<20).map { UInt8(20 + $0 * 10) }
        #expect(levels == expected)
        #expect(statistics.framesIn == 20 && statistics.framesRendered == 20 && statistics.bytesCopied == 0)
        #expect(statistics.producerSlots == 3 && statistics.producerSlotsFreeAtEnd == 3, "\(statistics)")
        #expect(statistics.validationErrors == [])
        // Finished: no more leases.
        #expect(throws: ReelError.self) { _ = try producer.tryLease(for: Self.gray) }
    }

    /// A renderer that does not take its frames (the application holds none back and
    /// reads none): the producer runs out of slots and its lease suspends — what is in
    /// flight is bounded by the slots and the output buffers — and it resumes as the
    /// frames are taken; all 30 arrive in order.
    @Test func aSlowRendererSuspendsTheProducer() async throws {
        let path = RemoteProducerTests.socketPath()
        let session = try Session(
            SessionParameters(
                source: .listening(path, once: true), output: .frames(FrameOutput(buffers: 2)), pacing: .everyFrame))
        let producer = try RemoteProducer(connectingTo: path, for: Self.gray, slots: 3)
        let submitted = Atomic(0)
        let full = AsyncStream<Int>.makeStream()
        let producing = Task {
            var reported = false
            for index in 0..<30 {
                if !reported && producer.freeSlots == 0 {
                    // Every slot is with the renderer: this lease will wait.
                    full.continuation.yield(submitted.load(ordering: .relaxed))
                    reported = true
                }
                var lease = try await producer.lease(for: Self.gray)
                Self.fill(&lease, with: UInt8(index))
                try lease.submit(at: Self.time(index))
                submitted.add(1, ordering: .relaxed)
            }
            producer.finish()
        }
        // Nothing is read until the producer found the pool full.
        var fullAt: Int?
        for await count in full.stream {
            fullAt = count
            break
        }
        let inFlight = try #require(fullAt)
        #expect(inFlight >= 3 && inFlight <= 3 + 2 + 1, "slots + output buffers + the frame being handed out")
        var levels: [UInt8] = []
        for try await frame in session.frames {
            levels.append(frame.withPixels { $0.unsafeLoad(as: UInt8.self) })
            frame.release()
        }
        try await producing.value
        _ = try await session.finished()
        let expected: [UInt8] = (0..<30).map { UInt8($0) }
        #expect(levels == expected)
    }

    /// The renderer goes away (its session stops) while the producer holds both slots
    /// and waits for a third: the waiting lease fails at once with a connection error,
    /// as do later leases and the submits of the slots held — whose memory can still be
    /// written (the mapping lives until the producer lets go of it).
    @Test func aRendererThatGoesAwayFailsTheProducer() async throws {
        let path = RemoteProducerTests.socketPath()
        let session = try Session(SessionParameters(source: .listening(path), output: .none, pacing: .everyFrame))
        let producer = try RemoteProducer(connectingTo: path, for: Self.gray, slots: 2)
        guard var first = try producer.tryLease(for: Self.gray), let second = try producer.tryLease(for: Self.gray)
        else {
            Issue.record("two slots were lent")
            return
        }
        let waiting = Task { () -> ReelError? in
            do throws(ReelError) {
                _ = try await producer.lease(for: Self.gray)
                return nil
            } catch { return error }
        }
        session.stop()
        _ = try await session.finished()
        let error = await waiting.value
        #expect(error?.kind == .connection, "\(String(describing: error))")
        Self.fill(&first, with: 99)
        do {
            try first.submit(at: Self.time(0))
            Issue.record("a submit after the renderer left")
        } catch { #expect(error.kind == .connection, "\(error)") }
        second.release()
        do {
            _ = try producer.tryLease(for: Self.gray)
            Issue.record("a lease after the renderer left")
        } catch { #expect(error.kind == .connection && error.description.contains("renderer"), "\(error)") }
    }

    /// Two producers streaming at once, their frames alternating between two pools (of
    /// two sizes, both kept imported by the renderer): every frame of each comes out, in
    /// its order, with its own size and levels, and the validation layer stays quiet.
    @Test func twoProducersAtOnce() async throws {
        let path = RemoteProducerTests.socketPath()
        let session = try Session(
            SessionParameters(source: .listening(path), pacing: .everyFrame, validation: true))
        let small = FrameDescription(
            format: .gray8, size: PixelSize(width: 32, height: 24), color: Self.gray.color)
        let first = try RemoteProducer(connectingTo: path, for: Self.gray, slots: 2)
        let second = try RemoteProducer(connectingTo: path, for: small, slots: 2)
        let producing = Task {
            for index in 0..<24 {
                let (producer, description) = index % 2 == 0 ? (first, Self.gray) : (second, small)
                var lease = try await producer.lease(for: description)
                Self.fill(&lease, with: UInt8(10 + index))
                try lease.submit(at: Self.time(index))
            }
            first.finish()
            second.finish()
        }
        var seen: [(width: Int, level: UInt8)] = []
        for try await frame in session.frames {
            seen.append((frame.size.width, frame.withPixels { $0.unsafeLoad(as: UInt8.self) }))
            frame.release()
            if seen.count == 24 {
                try await producing.value
                session.finishInput()
            }
        }
        let statistics = try await session.finished()
        let wide = seen.filter { $0.width == 64 }.map(\.level)
        let narrow = seen.filter { $0.width == 32 }.map(\.level)
        let expectedWide: [UInt8] = stride(from: 0, to: 24, by: 2).map { UInt8(10 + $0) }
        let expectedNarrow: [UInt8] = stride(from: 1, to: 24, by: 2).map { UInt8(10 + $0) }
        #expect(wide == expectedWide && narrow == expectedNarrow, "\(seen)")
        #expect(statistics.bytesCopied == 0 && statistics.validationErrors == [], "\(statistics)")
    }

    /// What the producer is refused before anything is sent: nobody listening, a size
    /// out of range, a frame other than the pool's.
    @Test func aProducerIsRefusedClearly() async throws {
        do {
            _ = try RemoteProducer(connectingTo: "/tmp/reel-nobody-\(getpid()).sock", for: Self.gray)
            Issue.record("connected to nobody")
        } catch { #expect(error.kind == .connection && error.description.contains("cannot connect"), "\(error)") }
        let path = RemoteProducerTests.socketPath()
        let session = try Session(SessionParameters(source: .listening(path), output: .none, pacing: .everyFrame))
        defer { session.stop() }
        #expect(throws: ReelError.self) {
            _ = try RemoteProducer(
                connectingTo: path, for: FrameDescription(format: .nv12, size: PixelSize(width: 0, height: 2)))
        }
        #expect(throws: ReelError.self) { _ = try RemoteProducer(connectingTo: path, for: Self.gray, slots: 1) }
        let producer = try RemoteProducer(connectingTo: path, for: Self.gray)
        do {
            _ = try producer.tryLease(for: FrameDescription(format: .gray8, size: PixelSize(width: 32, height: 48)))
            Issue.record("a lease of another size")
        } catch { #expect(error.kind == .unsuitable && error.description.contains("64x48"), "\(error)") }
    }
}
