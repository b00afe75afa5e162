import ReelCore
import ReelFramePool
import ReelMedia
import Testing

@testable import ReelVulkan

/// One renderer for the suite, with the Khronos validation layer on: creating a
/// Vulkan device per test would dominate the run time on lavapipe. The suite is
/// serialized, so one test at a time uses it.
nonisolated(unsafe) let sharedRenderer: Result<OffscreenRenderer, RenderError> = Result {
    () throws(RenderError) -> OffscreenRenderer in
    try OffscreenRenderer(device: DeviceParameters(validation: true))
}

@Suite(.serialized) struct OffscreenRendererTests {
    let renderer: OffscreenRenderer

    init() throws { renderer = try sharedRenderer.get() }

    @Test func usesValidation() {
        #expect(renderer.device.validationEnabled, "install vulkan-validationlayers: tests must run with validation")
    }

    /// Every frame rendered through Vulkan matches libswscale's conversion of the same decoded frame.
    @Test(arguments: [
        "testsrc2-320x240.mp4", "hdbars-bt709-center.mkv", "bars-bt601-limited.mp4", "bars-bt601-full.mp4",
        "bars-bt709-limited.mp4", "bars-bt709-full.mp4", "odd-317x237.mkv",
    ])
    func matchesLibswscale(fixture: String) throws {
        try compareWithLibswscale(fixture: fixture)
    }

    /// The shader's general (scaled) path, run at native size, meets the same bound.
    @Test(arguments: ["testsrc2-320x240.mp4", "hdbars-bt709-center.mkv", "odd-317x237.mkv"])
    func generalPathMatchesLibswscale(fixture: String) throws {
        renderer.forcesGeneralPath = true
        defer { renderer.forcesGeneralPath = false }
        try compareWithLibswscale(fixture: fixture)
    }

    private func compareWithLibswscale(fixture: String) throws {
        var worst = Double.infinity
        var frames = 0
        try decodeFixture(fixture) { frame, pool in
            let bytes = UnsafeRawBufferPointer(pool.bytes(of: frame.slot))
            let size = PixelSize(width: frame.descriptor.width, height: frame.descriptor.height)
            let image = try renderer.render(frame.descriptor, in: pool, slot: frame.slot, outputSize: size)
            let reference = try ReferenceConverter.rgba(of: frame.descriptor, bytes: bytes)
            let quality = psnr(image.copyPixels(), reference.pixels)
            #expect(quality >= 40, "frame \(frames) of \(fixture): PSNR \(quality) dB")
            worst = min(worst, quality)
            frames += 1
        }
        #expect(frames > 0)
        print("\(fixture): \(frames) frames, worst PSNR \(worst) dB")
        #expect(renderer.device.validationErrors == [])
    }

    /// A stream that changes size mid-way renders every frame at its own size, correctly.
    @Test func followsMidStreamSizeChange() throws {
        var sizes: [PixelSize] = []
        try decodeFixture("size-change.ts") { frame, pool in
            let size = PixelSize(width: frame.descriptor.width, height: frame.descriptor.height)
            let image = try renderer.render(frame.descriptor, in: pool, slot: frame.slot, outputSize: size)
            let reference = try ReferenceConverter.rgba(
                of: frame.descriptor, bytes: UnsafeRawBufferPointer(pool.bytes(of: frame.slot)))
            let quality = psnr(image.copyPixels(), reference.pixels)
            #expect(quality >= 40, "frame \(sizes.count) at \(size): PSNR \(quality) dB")
            sizes.append(size)
        }
        let expected =
            Array(repeating: PixelSize(width: 320, height: 240), count: 10)
            + Array(repeating: PixelSize(width: 240, height: 176), count: 10)
        #expect(sizes == expected)
        #expect(renderer.device.validationErrors == [])
    }

    /// Known bar colours come back within ±3 per channel, for both matrices and both ranges.
    @Test(arguments: ["bars-bt601-limited.mp4", "bars-bt601-full.mp4", "bars-bt709-limited.mp4", "bars-bt709-full.mp4"])
    func barColors(fixture: String) throws {
        let top: [SIMD3<Int>] = [
            [191, 191, 191], [191, 191, 0], [0, 191, 191], [0, 191, 0], [191, 0, 191], [191, 0, 0], [0, 0, 191],
            [0, 0, 0],
        ]
        let bottom: [SIMD3<Int>] = [
            [255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0], [255, 0, 255], [255, 0, 0], [0, 0, 255],
            [16, 16, 16],
        ]
        var checked = false
        try decodeFixture(fixture, limit: 1) { frame, pool in
            let size = PixelSize(width: 320, height: 180)
            let image = try renderer.render(
                frame.descriptor, in: pool, slot: frame.slot, outputSize: size)
            let pixels = RGBAImage(size: size, pixels: image.copyPixels())
            for (row, colors) in [(45, top), (135, bottom)] {
                for (bar, expected) in colors.enumerated() {
                    let pixel = pixels[bar * 40 + 20, row]
                    let got = SIMD3<Int>(Int(pixel.x), Int(pixel.y), Int(pixel.z))
                    let error = got &- expected
                    #expect(
                        (0..<3).allSatisfy { abs(error[$0]) <= 3 },
                        "\(fixture) bar \(bar) row \(row): got \(got), expected \(expected)")
                }
            }
            checked = true
        }
        #expect(checked)
    }

    /// A picture scaled into a wider output keeps its aspect: black bars left and right.
    @Test func letterboxesIntoOtherAspect() throws {
        try decodeFixture("bars-bt709-full.mp4", limit: 1) { frame, pool in
            // 320x180 (16:9) into 400x180: 40 px black on each side.
            let size = PixelSize(width: 400, height: 180)
            let image = try renderer.render(
                frame.descriptor, in: pool, slot: frame.slot, outputSize: size)
            let pixels = RGBAImage(size: size, pixels: image.copyPixels())
            for y in [0, 90, 179] {
                #expect(pixels[0, y] == [0, 0, 0, 255])
                #expect(pixels[39, y] == [0, 0, 0, 255])
                #expect(pixels[360, y] == [0, 0, 0, 255])
                #expect(pixels[399, y] == [0, 0, 0, 255])
            }
            // The first (75% white) bar starts right after the left bar.
            #expect(pixels[41, 45].x > 180)
        }
    }

    @Test func aspectFitCentres() {
        #expect(
            OffscreenRenderer.aspectFit(PixelSize(width: 640, height: 360), into: PixelSize(width: 640, height: 480))
                == (0, 60, 640, 360))
        #expect(
            OffscreenRenderer.aspectFit(PixelSize(width: 640, height: 480), into: PixelSize(width: 640, height: 360))
                == (80, 0, 480, 360))
    }

    @Test func rejectsZeroSize() throws {
        try decodeFixture("bars-bt709-full.mp4", limit: 1) { frame, pool in
            #expect(throws: RenderError.self) {
                _ = try renderer.render(
                    frame.descriptor, in: pool, slot: frame.slot,
                    outputSize: PixelSize(width: 0, height: 10))
            }
        }
    }
}
