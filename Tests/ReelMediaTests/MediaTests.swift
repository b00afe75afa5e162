import Foundation
import ReelCore
import ReelFramePool
import ReelTestSupport
import Testing

@testable import ReelMedia

@Suite struct DemuxerTests {
    @Test func probesStreams() throws {
        let info = try Demuxer(url: "\(fixtures)/testsrc2-320x240.mp4").info
        #expect(info.streams.map(\.kind) == [.video, .audio])
        #expect(info.streams[0].video?.width == 320)
        #expect(info.streams[0].frameCount == 60)
        #expect(info.streams[1].audio?.sampleRate == 48_000)
        #expect(info.durationMicroseconds == 2_000_000)
    }

    @Test func openErrorsAreTyped() {
        #expect(throws: MediaError.self) { try Demuxer(url: "/nonexistent.mp4") }
        do throws(MediaError) {
            _ = try Demuxer(url: "\(fixtures)/audio-only.m4a").requireVideoStream()
            Issue.record("expected noVideoStream")
        } catch { #expect(error.kind == .noVideoStream) }
    }
}

@Suite struct VideoDecoderTests {
    /// Every picture arrives once, in presentation order, with its timestamp and colour
    /// tags, written by libavcodec straight into its pool slot: no CPU copy.
    @Test func decodesInPlaceInOrderWithTags() throws {
        let demuxer = try Demuxer(url: "\(fixtures)/hdbars-bt709-center.mkv")
        let decoder = try VideoDecoder(demuxer: demuxer, streamIndex: try demuxer.requireVideoStream())
        var times: [Int64] = []
        try drain(demuxer, decoder) { frame in
            #expect(
                frame.descriptor.color == ColorDescription(matrix: .bt709, range: .limited, chromaLocation: .center))
            times.append(frame.descriptor.presentationTime!.microseconds)
            decoder.pool.release(frame.slot)
            return true
        }
        let expected: [Int64] = (0..<25).map { Int64($0) * 40_000 }
        #expect(times == expected)
        #expect(decoder.framesDecodedInPlace == 25)
        #expect(decoder.copiedBytes == 0)
        #expect(decoder.rejectedPackets == 0)
    }

    /// The copy fallback delivers the same pictures as decoding in place.
    @Test func copyFallbackMatchesInPlace() throws {
        func pictures(inPlace: Bool) throws -> [[UInt8]] {
            let demuxer = try Demuxer(url: "\(fixtures)/odd-317x237.mkv")
            let decoder = try VideoDecoder(
                demuxer: demuxer, streamIndex: 0, parameters: DecoderParameters(decodesIntoPool: inPlace))
            var result: [[UInt8]] = []
            try drain(demuxer, decoder) { frame in
                let bytes = decoder.pool.bytes(of: frame.slot)
                result.append(
                    frame.descriptor.planes.flatMap { plane in
                        (0..<plane.height).flatMap { row in
                            bytes[
                                (plane.offset + row * plane.stride)..<(plane.offset + row * plane.stride + plane.width)]
                        }
                    })
                decoder.pool.release(frame.slot)
                return true
            }
            #expect(inPlace ? decoder.framesCopied == 0 : decoder.framesDecodedInPlace == 0)
            return result
        }
        let inPlace = try pictures(inPlace: true)
        #expect(inPlace.count == 5)
        #expect(inPlace == (try pictures(inPlace: false)))
    }

    /// A pool of 3 slots and a slow consumer that keeps the two newest pictures (as a
    /// renderer with frames in flight would): decoding finishes, never hands out a
    /// held slot, and never changes a held picture.
    @Test func tinyPoolWithSlowConsumerNeverDeadlocksOrReusesHeldSlots() throws {
        let demuxer = try Demuxer(url: "\(fixtures)/testsrc2-320x240.mp4")
        let decoder = try VideoDecoder(
            demuxer: demuxer, streamIndex: 0, parameters: DecoderParameters(consumerSlots: 2, poolSlots: 3))
        var held: [(slot: Int, checksum: Int)] = []
        var received = 0
        func checksum(_ slot: Int) -> Int { decoder.pool.bytes(of: slot).reduce(0) { $0 &* 31 &+ Int($1) } }
        func finishOldest() {
            let oldest = held.removeFirst()
            #expect(checksum(oldest.slot) == oldest.checksum, "slot \(oldest.slot) changed while held")
            decoder.pool.release(oldest.slot)
        }
        func waitForSlot() -> Bool {
            guard !held.isEmpty else { return false }
            finishOldest()
            return true
        }
        func receive(_ frame: DecodedFrame) -> Bool {
            #expect(!held.contains { $0.slot == frame.slot }, "slot \(frame.slot) handed out while held")
            held.append((frame.slot, checksum(frame.slot)))
            received += 1
            if held.count > 2 { finishOldest() }
            return true
        }
        try drain(demuxer, decoder, onWait: waitForSlot, onFrame: receive)
        while !held.isEmpty { finishOldest() }
        #expect(received == 60)
        #expect(decoder.framesDecodedInPlace + decoder.framesCopied == 60)
        #if DEBUG
            // Freed slots are poisoned, so a reader that kept a released slot would see it.
            for slot in 0..<3 where decoder.pool.isFree(slot) { #expect(decoder.pool.isPoisoned(slot)) }
        #endif
    }

    /// Feeds packets and takes pictures until the end. `onFrame` returns false to stop;
    /// `onWait` is called when the pool is full and returns false if nothing can be freed.
    private func drain(
        _ demuxer: Demuxer, _ decoder: VideoDecoder, onWait: () -> Bool = { false },
        onFrame: (DecodedFrame) throws -> Bool
    ) throws {
        while true {
            switch try decoder.receive() {
            case .frame(let frame): guard try onFrame(frame) else { return }
            case .needsInput:
                switch demuxer.readPacket() {
                case .packet(let packet): try decoder.send(packet)
                case .endOfInput(let error):
                    #expect(error == nil)
                    try decoder.sendEndOfInput()
                }
            case .waitingForSlot:
                guard onWait() else {
                    Issue.record("the pool is full and nothing can be released")
                    return
                }
            case .endOfStream: return
            }
        }
    }
}

@Suite struct PNGTests {
    @Test func roundTripsExactly() throws {
        let size = PixelSize(width: 37, height: 11)
        let pixels = (0..<(37 * 11 * 4)).map { UInt8(truncatingIfNeeded: $0 &* 7 | ($0 % 4 == 3 ? 0xFF : 0)) }
        let path = NSTemporaryDirectory() + "reel-png-\(UUID().uuidString).png"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try pixels.withUnsafeBytes { try PNGWriter().write(rgba: $0, size: size, rowBytes: 37 * 4, to: path) }
        let read = try ImageReader.readRGBA(path)
        #expect(read == RGBAImage(size: size, pixels: pixels))
    }

    @Test func unwritablePathIsAnOutputError() throws {
        let pixels = [UInt8](repeating: 0, count: 16)
        do {
            try pixels.withUnsafeBytes {
                try PNGWriter().write(
                    rgba: $0, size: PixelSize(width: 2, height: 2), rowBytes: 8, to: "/nonexistent/x.png")
            }
            Issue.record("expected an error")
        } catch let error as MediaError { #expect(error.kind == .output) }
    }
}
