import Foundation
import Reel
import Testing

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures").path

@Suite(.serialized) struct OffscreenPipelineTests {
    @Test func deliversFramesInOrderAndCountsCopies() throws {
        let pipeline = try OffscreenPipeline(
            parameters: OffscreenParameters(
                input: "\(fixtures)/testsrc2-320x240.mp4", frameLimit: 7, device: DeviceParameters(validation: true)))
        var indices: [Int] = []
        var times: [Int64] = []
        let statistics = try pipeline.run { frame in
            indices.append(frame.index)
            times.append(frame.presentationTime!.microseconds)
            #expect(frame.image.size == PixelSize(width: 320, height: 240))
        }
        #expect(indices == Array(0..<7))
        // 30 fps in a 1/15360 time base: 512 ticks a frame, rounded to whole µs.
        let expected: [Int64] = (0..<7).map { (Int64($0) * 1_000_000 + 15) / 30 }
        #expect(times == expected)
        #expect(statistics.framesRendered == 7)
        #expect(statistics.inputBytesCopied == statistics.decoderToPoolBytes + statistics.poolToGPUBytes)
        #expect(statistics.poolToGPUBytes == 7 * statistics.poolSlotBytes)
        #expect(pipeline.validationErrors == [])
    }

    /// A damaged input delivers what decodes, then throws a truncation error.
    @Test func truncatedInputThrowsAfterFrames() throws {
        let whole = try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/testsrc2-320x240.mkv"))
        let path = NSTemporaryDirectory() + "reel-cut-\(UUID().uuidString).mkv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try whole.prefix(whole.count * 2 / 3).write(to: URL(fileURLWithPath: path))
        let pipeline = try OffscreenPipeline(parameters: OffscreenParameters(input: path, decodeOnly: true))
        do {
            _ = try pipeline.run()
            Issue.record("expected a truncation error")
        } catch ReelError.media(let error) {
            #expect(error.kind == .truncated)
        }
    }

    /// A frame limit that stops before the damage is not an error.
    @Test func frameLimitBeforeDamageSucceeds() throws {
        let whole = try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/testsrc2-320x240.mkv"))
        let path = NSTemporaryDirectory() + "reel-cut-\(UUID().uuidString).mkv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try whole.prefix(whole.count * 2 / 3).write(to: URL(fileURLWithPath: path))
        let pipeline = try OffscreenPipeline(
            parameters: OffscreenParameters(input: path, frameLimit: 5, decodeOnly: true))
        #expect(try pipeline.run().framesDecoded == 5)
    }
}
