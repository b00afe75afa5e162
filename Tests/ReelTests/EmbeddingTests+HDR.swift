import Foundation
import Reel
import ReelCore
import ReelMedia
import ReelTestSupport
import Testing

extension EmbeddingTests {
    /// HDR10 frames pushed through leases come out as the file renderer draws them: tone
    /// mapped to SDR (the reference's gamut clip asked for: within 35 dB of FFmpeg's
    /// libplacebo filter), or as HDR10 in 16 bits (`FrameOutput.colour`), which for a PQ
    /// source is its own R′G′B′ (libswscale's conversion, ≥ 50 dB at 16 bits).
    @Test(arguments: [OutputColour.sdr, .hdr10])
    func pushedHDRFramesAreMappedAsFilesAre(output: OutputColour) async throws {
        let picture = try #require(try Self.pictures("hdr10-pq.mkv", limit: 1).first)
        #expect(picture.descriptor.color.transfer == .pq)
        let colour = ColourTarget(output: output, gamutMapping: .clip)
        let session = try Session(
            SessionParameters(
                output: .frames(FrameOutput(format: output == .sdr ? .rgba8 : .rgba16, colour: colour)),
                validation: true))
        let producer = Task {
            var lease = try await session.lease(for: Self.description(of: picture))
            Self.write(picture, into: &lease)
            try lease.submit(at: MediaTime(ticks: 0, timeBase: Rational(1, 10)))
            session.finishInput()
        }
        let bytes = try await Self.lastPicture(of: session, bytesPerPixel: output == .sdr ? 4 : 8)
        try await producer.value
        let statistics = try await session.finished()
        #expect(statistics.framesRendered == 1 && statistics.validationErrors == [])
        if output == .sdr {
            let reference = try HDRReference.libplacebo("hdr10-pq.mkv")
            let quality = psnr(bytes, reference.pixels)
            print("pushed HDR10, tone-mapped: \(String(format: "%.1f", quality)) dB against libplacebo")
            #expect(quality >= 35)
        } else {
            let samples = bytes.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
            let reference = try Self.reference16(picture)
            let quality = psnr16(samples, reference)
            #expect(quality >= 50, "HDR10 passthrough: \(quality) dB")
        }
    }

    /// An HDR10 frame from a producer across the pool protocol (`RemoteProducer`: the
    /// transfer, primaries and light levels travel with each frame) is drawn exactly as
    /// the same frame pushed in process: the same bytes, tone-mapped.
    @Test func hdrFramesAcrossThePoolProtocolAreMappedAsPushedOnes() async throws {
        let picture = try #require(try Self.pictures("hdr10-pq.mkv", limit: 1).first)
        #expect(picture.descriptor.color.hdr.masteringPeak == 1000)
        let time = MediaTime(ticks: 0, timeBase: Rational(1, 10))
        // The reference's gamut clip, so that the picture can be held against libplacebo's too.
        let output = SessionParameters.Output.frames(FrameOutput(colour: ColourTarget(gamutMapping: .clip)))
        let local = try Session(SessionParameters(output: output, validation: true))
        let pushing = Task {
            var lease = try await local.lease(for: Self.description(of: picture))
            Self.write(picture, into: &lease)
            try lease.submit(at: time)
            local.finishInput()
        }
        let pushed = try await Self.lastPicture(of: local, bytesPerPixel: 4)
        try await pushing.value
        _ = try await local.finished()

        let path = RemoteProducerTests.socketPath()
        let listening = try Session(
            SessionParameters(
                source: .listening(path, once: true), output: output, pacing: .everyFrame, validation: true))
        let producer = try RemoteProducer(connectingTo: path, for: Self.description(of: picture), slots: 2)
        let sending = Task {
            var lease = try await producer.lease(for: Self.description(of: picture))
            Self.write(picture, into: &lease)
            try lease.submit(at: time)
            producer.finish()
        }
        let received = try await Self.lastPicture(of: listening, bytesPerPixel: 4)
        try await sending.value
        let statistics = try await listening.finished()
        #expect(statistics.framesRendered == 1 && statistics.bytesCopied == 0 && statistics.validationErrors == [])
        #expect(!pushed.isEmpty && received == pushed)
        let reference = try HDRReference.libplacebo("hdr10-pq.mkv")
        #expect(psnr(received, reference.pixels) >= 35)
    }

    static func description(of picture: Picture) -> FrameDescription {
        FrameDescription(
            format: picture.descriptor.format,
            size: PixelSize(width: picture.descriptor.width, height: picture.descriptor.height),
            color: picture.descriptor.color)
    }

    /// Copies a decoded picture's packed planes into a lease, row by row.
    static func write(_ picture: Picture, into lease: inout FrameLease) {
        for plane in 0..<lease.planeCount {
            let (stride, rows, row) = (
                lease.stride(ofPlane: plane), lease.rows(ofPlane: plane), lease.rowBytes(ofPlane: plane)
            )
            lease.withPlane(plane) { bytes in
                for y in 0..<rows {
                    for x in 0..<row {
                        bytes.storeBytes(
                            of: picture.planes[plane][y * row + x], toByteOffset: y * stride + x, as: UInt8.self)
                    }
                }
            }
        }
    }

    /// The last frame a session renders, its rows packed.
    static func lastPicture(of session: Session, bytesPerPixel: Int) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await frame in session.frames {
            let rowLength = frame.size.width * bytesPerPixel
            bytes = frame.withPixels { span in
                var packed = [UInt8]()
                for y in 0..<frame.size.height {
                    for x in 0..<rowLength {
                        packed.append(span.unsafeLoad(fromByteOffset: y * frame.rowBytes + x, as: UInt8.self))
                    }
                }
                return packed
            }
            frame.release()
        }
        return bytes
    }

    /// libswscale's RGBA16 for a picture's packed planes (its R′G′B′, no colour mapping).
    static func reference16(_ picture: Picture) throws -> [UInt16] {
        var result: [UInt16] = []
        try decodeFixture("hdr10-pq.mkv", limit: 1) { frame, pool in
            #expect(frame.descriptor.planes.count == picture.planes.count)
            result = try ReferenceConverter.rgba16(
                of: frame.descriptor, bytes: UnsafeRawBufferPointer(pool.bytes(of: frame.slot)))
        }
        return result
    }
}
