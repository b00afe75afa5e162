import Foundation
import Reel
import ReelCore
import ReelFramePool
import ReelMedia
import ReelTestSupport
import Synchronization
import Testing

/// The embedding API, as an application uses it: frames pushed into leased pool slots,
/// rendered frames taken out of `Session.frames`.
@Suite(.serialized) struct EmbeddingTests {
    /// A decoded picture kept for pushing: its description, planes (packed rows) and time.
    struct Picture {
        var descriptor: VideoFrameDescriptor
        var planes: [[UInt8]]
        var rowBytes: [Int]
    }

    /// The first frames of a fixture, planes copied out of the decoder's pool (p010 is
    /// built from the 10-bit 4:2:0 fixture's samples: no decoder writes it).
    static func pictures(_ fixture: String, limit: Int = 3) throws -> [Picture] {
        var pictures: [Picture] = []
        let p010 = fixture == "p010"
        try decodeFixture(p010 ? "format-yuv420p10le.mkv" : fixture, limit: limit) { frame, pool in
            let bytes = pool.bytes(of: frame.slot)
            var descriptor = frame.descriptor
            var planes: [[UInt8]] = []
            var rowBytes: [Int] = []
            for (index, plane) in descriptor.planes.enumerated() {
                let row =
                    plane.width * descriptor.format.samplesPerPixel(plane: index) * descriptor.format.bytesPerSample
                var packed = [UInt8]()
                for y in 0..<plane.height {
                    packed += bytes[(plane.offset + y * plane.stride)..<(plane.offset + y * plane.stride + row)]
                }
                planes.append(packed)
                rowBytes.append(row)
            }
            if p010 {
                // Y, then Cb and Cr interleaved, each sample shifted into the high bits.
                func shifted(_ plane: [UInt8]) -> [UInt16] {
                    plane.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)).map { $0 << 6 } }
                }
                let luma = shifted(planes[0])
                let (cb, cr) = (shifted(planes[1]), shifted(planes[2]))
                var chroma = [UInt16]()
                for index in cb.indices { chroma += [cb[index], cr[index]] }
                planes = [luma, chroma].map { samples in samples.withUnsafeBytes { Array($0) } }
                rowBytes = [rowBytes[0], rowBytes[1] * 2]
                descriptor.format = .p010
            }
            pictures.append(Picture(descriptor: descriptor, planes: planes, rowBytes: rowBytes))
        }
        return pictures
    }

    static let formatFixtures = [
        "testsrc2-320x240.mp4", "format-nv12.mkv", "format-gray.mkv", "format-yuv422p.mkv", "format-yuv444p.mkv",
        "format-yuv420p10le.mkv", "format-yuv422p10le.mkv", "format-yuv444p10le.mkv", "p010",
    ]

    /// Every format the pass renders, pushed through leases (written in place), comes
    /// out as libswscale converts the same samples, at the times it was pushed with, in
    /// order, every frame.
    @Test(arguments: formatFixtures)
    func pushedFramesMatchLibswscale(fixture: String) async throws {
        let pictures = try Self.pictures(fixture)
        let format = pictures[0].descriptor.format
        #expect(
            fixture == "p010"
                ? format == .p010 : fixture.contains("format-") ? fixture.contains(format.rawValue.prefix(4)) : true)
        let session = try Session(SessionParameters(validation: true))
        let timeBase = Rational(1, 90_000)
        let producer = Task {
            for (index, picture) in pictures.enumerated() {
                let size = PixelSize(width: picture.descriptor.width, height: picture.descriptor.height)
                var lease = try await session.lease(
                    for: FrameDescription(
                        format: picture.descriptor.format, size: size, color: picture.descriptor.color))
                for plane in 0..<lease.planeCount {
                    let (stride, rows, row) = (
                        lease.stride(ofPlane: plane), lease.rows(ofPlane: plane), lease.rowBytes(ofPlane: plane)
                    )
                    #expect(row == picture.rowBytes[plane])
                    lease.withPlane(plane) { bytes in
                        for y in 0..<rows {
                            for x in 0..<row {
                                bytes.storeBytes(
                                    of: picture.planes[plane][y * row + x], toByteOffset: y * stride + x, as: UInt8.self
                                )
                            }
                        }
                    }
                }
                try lease.submit(at: MediaTime(ticks: Int64(index) * 3003 + 17, timeBase: timeBase))
            }
            session.finishInput()
        }
        var index = 0
        for try await frame in session.frames {
            let picture = pictures[index]
            #expect(frame.presentationTime == MediaTime(ticks: Int64(index) * 3003 + 17, timeBase: timeBase))
            #expect(frame.size == PixelSize(width: picture.descriptor.width, height: picture.descriptor.height))
            let pixels = frame.withPixels { span in
                var packed = [UInt8]()
                let row = frame.size.width * 4
                for y in 0..<frame.size.height {
                    for x in 0..<row {
                        packed.append(span.unsafeLoad(fromByteOffset: y * frame.rowBytes + x, as: UInt8.self))
                    }
                }
                return packed
            }
            frame.release()
            let reference = try Self.reference(picture)
            let quality = psnr(pixels, reference)
            #expect(quality >= 40, "\(fixture) frame \(index): PSNR \(quality) dB")
            if index == 0 {
                print("pushed \(fixture) (\(picture.descriptor.format)): PSNR \(String(format: "%.1f", quality)) dB")
            }
            index += 1
        }
        try await producer.value
        let statistics = try await session.finished()
        #expect(index == pictures.count)
        #expect(statistics.framesIn == pictures.count && statistics.framesRendered == pictures.count)
        #expect(statistics.framesDropped == 0)
        #expect(statistics.bytesCopied == 0, "written in place: nothing copied on the way to the GPU")
        #expect(statistics.validationErrors == [])
    }

    /// libswscale's RGBA for a picture's packed planes.
    static func reference(_ picture: Picture) throws -> [UInt8] {
        let layout = SlotLayout(
            format: picture.descriptor.format, width: picture.descriptor.width, height: picture.descriptor.height)
        let pool = try FramePool(layout: layout, slotCount: 1)
        guard case .slot(let slot) = pool.acquire() else { throw SupportError("no slot") }
        defer { pool.release(slot) }
        let bytes = pool.bytes(of: slot)
        for (index, plane) in layout.planes.enumerated() {
            let row = picture.rowBytes[index]
            for y in 0..<plane.height {
                picture.planes[index].withUnsafeBytes { source in
                    (bytes.baseAddress! + plane.offset + y * plane.stride).copyMemory(
                        from: source.baseAddress! + y * row, byteCount: row)
                }
            }
        }
        let descriptor = pool.descriptor(
            color: picture.descriptor.color, sampleAspectRatio: Rational(1, 1), presentationTime: nil)
        return try ReferenceConverter.rgba(of: descriptor, bytes: UnsafeRawBufferPointer(bytes)).pixels
    }
}

extension EmbeddingTests {
    /// A session reading a file renders every frame, every format, as the decoder path and
    /// libswscale do, at the file's presentation times; no byte is copied on the way.
    @Test(arguments: ["testsrc2-320x240.mp4", "format-yuv444p10le.mkv", "odd-317x237.mkv"])
    func fileSessionRendersEveryFrame(fixture: String) async throws {
        let pictures = try Self.pictures(fixture, limit: 3)
        let session = try Session(
            SessionParameters(source: .file("\(fixtures)/\(fixture)"), pacing: .everyFrame, validation: true))
        var index = 0
        var last: Int64 = .min
        for try await frame in session.frames {
            let time = try #require(frame.presentationTime).microseconds
            #expect(time > last, "frame \(index) at \(time) µs after \(last)")
            last = time
            if index < pictures.count {
                let picture = pictures[index]
                #expect(frame.presentationTime?.microseconds == picture.descriptor.presentationTime?.microseconds)
                let pixels = frame.withPixels { span in
                    var packed = [UInt8]()
                    for y in 0..<frame.size.height {
                        for x in 0..<(frame.size.width * 4) {
                            packed.append(span.unsafeLoad(fromByteOffset: y * frame.rowBytes + x, as: UInt8.self))
                        }
                    }
                    return packed
                }
                let quality = psnr(pixels, try Self.reference(picture))
                #expect(quality >= 40, "\(fixture) frame \(index): PSNR \(quality) dB")
            }
            frame.release()
            index += 1
        }
        let statistics = try await session.finished()
        #expect(index >= pictures.count && index > 0)
        #expect(statistics.framesIn == index && statistics.framesRendered == index && statistics.framesDropped == 0)
        #expect(statistics.bytesCopied == 0)
        #expect(statistics.validationErrors == [])
        #expect(throws: ReelError.self) {
            _ = try session.tryLease(for: FrameDescription(format: .nv12, size: PixelSize(width: 64, height: 64)))
        }
    }

    /// Timed, a file's frames are shown at their times: at 120 Hz the 60 fps clip
    /// shows (almost) every frame, and whatever is not shown is counted as dropped.
    /// (Taken on the display thread, as they come: a consumer task that a busy machine
    /// runs late would hold the output buffers, and the ticks with none free would drop.)
    @Test func timedFileSessionCountsEveryFrame() async throws {
        let counted = Locked(0)
        let session = try Session(
            SessionParameters(
                source: .file("\(fixtures)/testsrc2-320x240.mp4"), pacing: .timed(rate: Rational(120, 1))),
            onFrame: { frame in
                frame.release()
                counted.withLock { $0 += 1 }
            })
        let statistics = try await session.finished()
        let shown = counted.withLock { $0 }
        #expect(statistics.framesRendered == shown)
        #expect(statistics.framesIn == 60 && statistics.framesRendered + statistics.framesDropped == 60)
        #expect(shown >= 50, "\(statistics)")
    }

    /// A missing file, or a stream that is not an RTP session, is a clear error at once.
    @Test func badInputsAreErrors() throws {
        #expect(throws: ReelError.self) { _ = try Session(SessionParameters(source: .file("/nonexistent.mp4"))) }
        do {
            _ = try Session(SessionParameters(source: .stream("/tmp/clip.mp4")))
            Issue.record("a file given as a stream was accepted")
        } catch {
            #expect(error.description.contains("not an RTP session"), "\(error)")
        }
    }
}

extension EmbeddingTests {
    /// Flash due − beep heard (ms) for each flash at a whole second `k`, matched with
    /// the `k`-th beep (one beep a second from 0).
    static func flashOffsets(
        _ flashes: [(time: Int64, due: SuspendingClock.Instant)], onsets: [SuspendingClock.Instant]
    ) -> [Double] {
        flashes.compactMap { flash in
            let second = Int(flash.time / 1_000_000)
            guard flash.time % 1_000_000 == 0, second < onsets.count else { return nil }
            let offset = flash.due - onsets[second]
            return Double(offset.components.attoseconds) / 1e15 + Double(offset.components.seconds) * 1000
        }
    }
}

/// An application's sound sink for the tests: the instants at which the beeps start.
final class BeepListener: AudioSink {
    let state = Locked<(onsets: [SuspendingClock.Instant], frames: Int, quietSince: Int, format: AudioSampleFormat?)>(
        ([], 0, Int.max / 2, nil))

    func play(_ samples: Span<Int16>, format: AudioSampleFormat, heard: SuspendingClock.Instant) {
        state.withLock { state in
            state.format = format
            let frames = samples.count / format.channels
            for frame in 0..<frames {
                let loud = abs(Int(samples[frame * format.channels])) > 4000
                if loud && state.quietSince >= format.sampleRate / 2 {
                    state.onsets.append(heard.advanced(by: .seconds(Double(frame) / Double(format.sampleRate))))
                }
                state.quietSince = loud ? 0 : state.quietSince + 1
            }
            state.frames += frames
        }
    }
}

extension EmbeddingTests {
    /// A file's sound goes to the application's sink, paced, and the pictures follow
    /// it: each white flash is due when its beep is heard (the clip has both at every
    /// whole second), within a frame interval.
    @Test func applicationAudioSinkHearsTheBeepsWithTheFlashes() async throws {
        let listener = BeepListener()
        let session = try Session(
            SessionParameters(
                source: .file("\(fixtures)/sync-flash-beep.mp4"), pacing: .timed(rate: Rational(60, 1)),
                audio: .application(listener)))
        var flashes: [(time: Int64, due: SuspendingClock.Instant)] = []
        for try await frame in session.frames {
            let level = frame.withPixels { $0.unsafeLoad(fromByteOffset: 0, as: UInt8.self) }
            if level > 200, let time = frame.presentationTime?.microseconds { flashes.append((time, frame.due)) }
            frame.release()
            if let time = frame.presentationTime?.microseconds, time >= 3_000_000 { session.stop() }
        }
        _ = try await session.finished()
        let heard = listener.state.withLock { $0 }
        #expect(heard.format == AudioSampleFormat(sampleRate: 48000, channels: 1))
        #expect(heard.onsets.count >= 4, "beeps heard: \(heard.onsets.count)")
        #expect(heard.frames >= 3 * 48000, "3 s of sound at least: \(heard.frames) frames")
        // A flash late enough to be dropped (a busy machine) is left out of the match.
        let offsets = Self.flashOffsets(flashes.filter { $0.time >= 1_000_000 }, onsets: heard.onsets)
        #expect(offsets.count >= 2, "flashes matched with their beeps: \(offsets.count)")
        print("application sound sink: flash − beep \(offsets.map { String(format: "%+.1f", $0) }) ms")
        #expect(offsets.allSatisfy { abs($0) <= 1000.0 / 60 }, "\(offsets)")
    }
}

extension EmbeddingTests {
    /// Pictures and sound pushed together: a white frame and a 30 ms beep at each whole
    /// second, pushed by two tasks, the sound to the application's sink. The sound is
    /// the master clock: each flash is due within a frame interval of its beep being
    /// heard, every frame is shown, and the sound played is all that was pushed.
    @Test func pushedSoundLeadsPushedPictures() async throws {
        let listener = BeepListener()
        let description = FrameDescription(format: .gray8, size: PixelSize(width: 160, height: 90))
        var parameters = SessionParameters(pacing: .timed(rate: Rational(60, 1)), audio: .application(listener))
        // Its pass is ready before the first flash, which is then on time too.
        parameters.expectedFrames = [description]
        let session = try Session(parameters)
        let seconds = 3
        let pictures = Task {
            for index in 0..<(seconds * 30) {
                var lease = try await session.lease(for: description)
                let (stride, rows) = (lease.stride(ofPlane: 0), lease.rows(ofPlane: 0))
                let level: UInt8 = index % 30 == 0 ? 235 : 16
                lease.withPlane(0) { bytes in
                    for offset in 0..<(stride * rows) {
                        bytes.storeBytes(of: level, toByteOffset: offset, as: UInt8.self)
                    }
                }
                try lease.submit(at: MediaTime(ticks: Int64(index), timeBase: Rational(1, 30)))
            }
        }
        let sound = Task {
            let format = AudioSampleFormat(sampleRate: 48000, channels: 1)
            for chunk in 0..<(seconds * 50) {
                let samples = (0..<960).map { frame -> Int16 in
                    let index = chunk * 960 + frame
                    guard index % 48000 < 1440 else { return 0 }
                    return Int16(16000 * sin(2 * Double.pi * 1000 * Double(index) / 48000))
                }
                try await session.push(
                    audio: samples, format: format,
                    at: MediaTime(ticks: Int64(chunk * 960), timeBase: Rational(1, 48000)))
            }
        }
        let consumer = Task {
            var flashes: [(time: Int64, due: SuspendingClock.Instant)] = []
            var shown = 0
            for try await frame in session.frames {
                if frame.withPixels({ $0.unsafeLoad(fromByteOffset: 0, as: UInt8.self) }) > 200,
                    let time = frame.presentationTime?.microseconds
                {
                    flashes.append((time, frame.due))
                }
                frame.release()
                shown += 1
            }
            return (flashes, shown)
        }
        try await pictures.value
        try await sound.value
        session.finishInput()
        let statistics = try await session.finished()
        let (flashes, shown) = try await consumer.value
        let heard = listener.state.withLock { $0 }
        // Every frame shown, unless the machine was too busy for a tick (then counted).
        #expect(shown == statistics.framesRendered && shown + statistics.framesDropped == seconds * 30)
        #expect(statistics.soundFramesPlayed == seconds * 48000 && heard.frames == seconds * 48000)
        #expect(heard.onsets.count == seconds)
        let offsets = Self.flashOffsets(flashes, onsets: heard.onsets)
        #expect(offsets.count >= seconds - 1, "flashes matched with their beeps: \(offsets.count)")
        print("pushed sound and pictures: flash − beep \(offsets.map { String(format: "%+.1f", $0) }) ms")
        #expect(offsets.allSatisfy { abs($0) <= 1000.0 / 60 }, "\(offsets)")
    }
}
