import Foundation
import Reel
import ReelAudio
import ReelCore
import ReelFramePool
import ReelMedia
import ReelNet
import ReelTestSupport
import ReelTiming
import ReelVulkan
import Synchronization
import Testing

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
        #expect(pipeline.validationErrors == [])
    }

    /// On a device with VK_EXT_external_memory_host (lavapipe has it) the GPU reads the
    /// pool in place; the forced staging fallback copies every slot and gives identical pixels.
    @Test func hostImportCopiesNothingAndMatchesStaging() throws {
        func run(staging: Bool) throws -> (PipelineStatistics, [[UInt8]]) {
            let pipeline = try OffscreenPipeline(
                parameters: OffscreenParameters(
                    input: "\(fixtures)/hdbars-bt709-center.mkv", frameLimit: 10,
                    device: DeviceParameters(validation: true, forcesStagingUpload: staging)))
            var images: [[UInt8]] = []
            let statistics = try pipeline.run { images.append($0.image.copyPixels()) }
            #expect(pipeline.validationErrors == [])
            return (statistics, images)
        }
        let (imported, importedImages) = try run(staging: false)
        #expect(imported.inputPath == .hostImport, "import failed: \(imported.importFailure ?? "-")")
        #expect(imported.poolToGPUBytes == 0)
        let (staged, stagedImages) = try run(staging: true)
        #expect(staged.inputPath == .staging)
        #expect(staged.poolToGPUBytes == 10 * staged.poolSlotBytes)
        #expect(importedImages.count == 10)
        #expect(importedImages == stagedImages)
    }

    /// `renderOnly` decodes one frame and renders it `frameLimit` times: every image is
    /// the first frame of a normal run, and nothing past the first frame is decoded.
    @Test func renderOnlyRepeatsTheFirstFrame() throws {
        let input = "\(fixtures)/testsrc2-320x240.mp4"
        let device = DeviceParameters(validation: true)
        var first: [UInt8] = []
        _ = try OffscreenPipeline(parameters: OffscreenParameters(input: input, frameLimit: 1, device: device)).run {
            first = $0.image.copyPixels()
        }
        let pipeline = try OffscreenPipeline(
            parameters: OffscreenParameters(input: input, frameLimit: 5, renderOnly: true, device: device))
        var images: [[UInt8]] = []
        var indices: [Int] = []
        let statistics = try pipeline.run {
            images.append($0.image.copyPixels())
            indices.append($0.index)
        }
        #expect(statistics.framesDecoded == 1)
        #expect(statistics.framesRendered == 5)
        #expect(indices == Array(0..<5))
        #expect(!first.isEmpty && images == Array(repeating: first, count: 5))
        #expect(pipeline.validationErrors == [])
    }

    /// A change of pixel format mid-stream makes a new pool and goes on rendering.
    @Test func followsFormatChange() throws {
        let pipeline = try OffscreenPipeline(
            parameters: OffscreenParameters(
                input: "\(fixtures)/format-change.ts", device: DeviceParameters(validation: true)))
        var sizes: [PixelSize] = []
        let statistics = try pipeline.run { sizes.append($0.image.size) }
        #expect(statistics.framesRendered == 10)
        #expect(statistics.poolChanges == 1)
        #expect(sizes == Array(repeating: PixelSize(width: 192, height: 108), count: 10))
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
        } catch PipelineError.media(let error) {
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

@Suite struct VsyncTests {
    /// The display wakes at every tick's absolute deadline, in order, never before it.
    @Test func ticksOnAbsoluteDeadlines() {
        let timeline = VsyncTimeline(start: HostTime.now() + 20_000_000, rate: Rational(200, 1))
        let vsync = DeadlineVsync(timeline: timeline)
        var ticks: [(index: Int64, deadline: Int64, woke: Int64)] = []
        // 60 ticks at 200 Hz take 0.3 s.
        while ticks.count < 60, let deadline = vsync.nextTick() {
            ticks.append((timeline.tick(atOrAfter: deadline), deadline, HostTime.now()))
        }
        #expect(ticks.count == 60)
        #expect(ticks.first?.index == 0)
        #expect(ticks.allSatisfy { $0.deadline == timeline.time(ofTick: $0.index) && $0.woke >= $0.deadline })
        #expect(zip(ticks, ticks.dropFirst()).allSatisfy { $0.index < $1.index })
        // Every tick is either taken or counted as missed.
        #expect(Int(ticks.last!.index) + 1 == ticks.count + vsync.missedTicks)
        vsync.stop()
        #expect(vsync.nextTick() == nil)
    }
}
