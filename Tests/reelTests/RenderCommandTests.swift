import Foundation
import ReelCore
import ReelFramePool
import ReelMedia
import ReelTestSupport
import Testing

@Suite struct RenderCommandTests {
    /// `reel render` PNGs open and match libswscale's conversion of the same decoded frames.
    @Test func pngsMatchReference() throws {
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = try ReelCLI.run(["render", "\(fixtures)/testsrc2-320x240.mp4", "--out", out, "--frames", "12"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr == "")

        var index = 0
        try decodeFixture("testsrc2-320x240.mp4", limit: 12) { frame, pool in
            index += 1
            let reference = try ReferenceConverter.rgba(
                of: frame.descriptor, bytes: UnsafeRawBufferPointer(pool.bytes(of: frame.slot)))
            let png = try ImageReader.readRGBA("\(out)/frame-\(String(format: "%06d", index)).png")
            #expect(png.size == reference.size)
            let quality = psnr(png.pixels, reference.pixels)
            #expect(quality >= 40, "frame \(index): \(quality) dB")
        }
        #expect(index == 12)
        let written = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(written == (1...12).map { "frame-\(String(format: "%06d", $0)).png" })
    }

    /// --out may name a directory whose parents do not exist yet.
    @Test func createsOutputDirectoryWithParents() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let result = try ReelCLI.run(
            ["render", "\(fixtures)/bars-bt709-full.mp4", "--out", "\(root)/a/b/frames", "--frames", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(root)/a/b/frames").count == 2)
    }

    /// A stream that changes size mid-way: every frame is written, each at its own size.
    @Test func followsSizeChange() throws {
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = try ReelCLI.run(["render", "\(fixtures)/size-change.ts", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        let sizes = try (1...20).map { try ImageReader.readRGBA("\(out)/frame-\(String(format: "%06d", $0)).png").size }
        #expect(sizes.prefix(10).allSatisfy { $0 == PixelSize(width: 320, height: 240) })
        #expect(sizes.suffix(10).allSatisfy { $0 == PixelSize(width: 240, height: 176) })
    }

    /// Wherever the sample aspect ratio is stated — the bitstream only (H.264 in MPEG-TS),
    /// the container only (VP9 in WebM), or both, disagreeing (the container wins, as
    /// FFmpeg's av_guess_sample_aspect_ratio and ffprobe have it) — probe shows the
    /// display size and render draws at it.
    @Test(arguments: [("aspect-bitstream.ts", 428), ("aspect-container.webm", 428), ("aspect-disagree.mkv", 480)])
    func aspectFromBitstreamOrContainer(fixture: String, displayWidth: Int) throws {
        let probe = try ReelCLI.run(["probe", "\(fixtures)/\(fixture)"])
        #expect(probe.stdout.contains("display \(displayWidth)x240"), "\(probe.stdout)")
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = try ReelCLI.run(["render", "\(fixtures)/\(fixture)", "--out", out, "--frames", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        let size = try ImageReader.readRGBA("\(out)/frame-000001.png").size
        #expect(size == PixelSize(width: displayWidth, height: 240), "\(fixture)")
    }

    /// Non-square pixels render at the display size; --size letterboxes with black bars.
    @Test func displaySizeAndLetterbox() throws {
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        var result = try ReelCLI.run(["render", "\(fixtures)/anamorphic-480x360.mp4", "--out", out, "--frames", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try ImageReader.readRGBA("\(out)/frame-000001.png").size == PixelSize(width: 640, height: 360))

        result = try ReelCLI.run([
            "render", "\(fixtures)/anamorphic-480x360.mp4", "--out", out, "--frames", "1", "--size", "640x480",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let boxed = try ImageReader.readRGBA("\(out)/frame-000001.png")
        #expect(boxed.size == PixelSize(width: 640, height: 480))
        // 640x360 picture centred in 640x480: 60 black rows above and below.
        for x in stride(from: 0, to: 640, by: 64) {
            #expect(boxed[x, 0] == [0, 0, 0, 255])
            #expect(boxed[x, 59] == [0, 0, 0, 255])
            #expect(boxed[x, 420] == [0, 0, 0, 255])
            #expect(boxed[x, 479] == [0, 0, 0, 255])
        }
        // testsrc draws its colour bars right up to the picture's top edge.
        #expect(boxed[100, 61] != [0, 0, 0, 255])
    }
}
