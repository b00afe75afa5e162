import ReelCore
import ReelFramePool
import ReelMedia
import ReelTestSupport
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
        "bars-bt709-limited.mp4", "bars-bt709-full.mp4", "odd-317x237.mkv", "format-yuv422p.mkv",
        "format-yuv444p.mkv", "format-gray.mkv", "format-nv12.mkv", "format-yuv420p10le.mkv",
        "format-yuv422p10le.mkv", "format-yuv444p10le.mkv",
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

    /// p010 (10 bits in the high bits of 16, Cb and Cr interleaved): frames built from the
    /// 10-bit 4:2:0 fixture's samples render like libswscale's conversion of the same bytes.
    @Test func p010MatchesLibswscale() throws {
        var frames = 0
        try decodeFixture("format-yuv420p10le.mkv") { frame, pool in
            let source = frame.descriptor
            #expect(source.format == .yuv420p10)
            let layout = SlotLayout(format: .p010, width: source.width, height: source.height)
            let p010 = try FramePool(layout: layout, slotCount: 1)
            guard case .slot(let slot) = p010.acquire() else { return }
            defer { p010.release(slot) }
            let from = pool.bytes(of: frame.slot)
            let to = p010.bytes(of: slot)
            func sample(_ plane: PlaneLayout, _ x: Int, _ y: Int) -> UInt16 {
                from.load(fromByteOffset: plane.offset + y * plane.stride + 2 * x, as: UInt16.self)
            }
            let (luma, cb, cr) = (source.planes[0], source.planes[1], source.planes[2])
            for y in 0..<luma.height {
                for x in 0..<luma.width {
                    to.storeBytes(
                        of: sample(luma, x, y) << 6,
                        toByteOffset: layout.planes[0].offset + y * layout.planes[0].stride + 2 * x,
                        as: UInt16.self)
                }
            }
            for y in 0..<cb.height {
                for x in 0..<cb.width {
                    let row = layout.planes[1].offset + y * layout.planes[1].stride
                    to.storeBytes(of: sample(cb, x, y) << 6, toByteOffset: row + 4 * x, as: UInt16.self)
                    to.storeBytes(of: sample(cr, x, y) << 6, toByteOffset: row + 4 * x + 2, as: UInt16.self)
                }
            }
            let descriptor = p010.descriptor(
                color: source.color, sampleAspectRatio: source.sampleAspectRatio,
                presentationTime: source.presentationTime)
            let size = PixelSize(width: source.width, height: source.height)
            let image = try renderer.render(descriptor, in: p010, slot: slot, outputSize: size)
            let reference = try ReferenceConverter.rgba(of: descriptor, bytes: UnsafeRawBufferPointer(to))
            let quality = psnr(image.copyPixels(), reference.pixels)
            #expect(quality >= 40, "p010 frame \(frames): PSNR \(quality) dB")
            frames += 1
        }
        #expect(frames == 3)
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
