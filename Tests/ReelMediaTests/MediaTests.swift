import Foundation
import ReelCore
import ReelFramePool
import Testing

@testable import ReelMedia

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures").path

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
    /// Every picture arrives once, in presentation order, with its timestamp and colour tags.
    @Test func decodesAllFramesInOrderWithTags() throws {
        let demuxer = try Demuxer(url: "\(fixtures)/hdbars-bt709-center.mkv")
        let decoder = try VideoDecoder(demuxer: demuxer, streamIndex: try demuxer.requireVideoStream())
        let pool = try FramePool(layout: decoder.layout, slotCount: 1)
        var times: [Int64] = []
        loop: while true {
            switch try decoder.receive(into: pool) {
            case .frame(let frame):
                #expect(
                    frame.descriptor.color == ColorDescription(matrix: .bt709, range: .limited, chromaLocation: .center)
                )
                times.append(frame.descriptor.presentationTime!.microseconds)
                // One slot only: the decoder must wait for it rather than overwrite it.
                #expect(pool.acquire() == .exhausted)
                pool.release(frame.slot)
            case .needsInput:
                switch demuxer.readPacket() {
                case .packet(let packet): try decoder.send(packet)
                case .endOfInput(let error):
                    #expect(error == nil)
                    try decoder.sendEndOfInput()
                }
            case .waitingForSlot: Issue.record("slot was released")
            case .endOfStream: break loop
            }
        }
        #expect(times == (0..<25).map { Int64($0) * 40_000 })
        #expect(decoder.copiedBytes == 25 * (640 * 360 + 2 * 320 * 180))
        #expect(decoder.rejectedPackets == 0)
    }

    @Test func holdsPictureWhenPoolIsFull() throws {
        let demuxer = try Demuxer(url: "\(fixtures)/bars-bt601-limited.mp4")
        let decoder = try VideoDecoder(demuxer: demuxer, streamIndex: 0)
        let pool = try FramePool(layout: decoder.layout, slotCount: 1)
        guard case .slot(let held) = pool.acquire() else { return }
        var step = try decoder.receive(into: pool)
        while case .needsInput = step {
            guard case .packet(let packet) = demuxer.readPacket() else {
                try decoder.sendEndOfInput()
                step = try decoder.receive(into: pool)
                continue
            }
            try decoder.send(packet)
            step = try decoder.receive(into: pool)
        }
        guard case .waitingForSlot = step else {
            Issue.record("expected waitingForSlot, got \(step)")
            return
        }
        pool.release(held)
        guard case .frame(let frame) = try decoder.receive(into: pool) else {
            Issue.record("the held picture should come out once a slot is free")
            return
        }
        #expect(frame.descriptor.presentationTime?.ticks == 0)
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
