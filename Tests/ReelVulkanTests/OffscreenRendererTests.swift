import Foundation
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
        // 4:2:0 and 4:2:2 (8- and 10-bit) at its own size go through the native pass, odd sizes
        // included (output rows are padded to 8 pixels; the general pass takes the edge strips).
        let fourTwoZero =
            !fixture.hasPrefix("format-")
            || ["format-nv12.mkv", "format-yuv420p10le.mkv", "format-yuv422p.mkv", "format-yuv422p10le.mkv"]
                .contains(fixture)
        #expect((renderer.lastPlan?.nativeBlocks != nil) == fourTwoZero, "\(fixture)")
        if fixture == "odd-317x237.mkv" {
            #expect(
                renderer.lastPlan?.general == [
                    DispatchPlan.Region(x0: 288, y0: 0, x1: 317, y1: 236),
                    DispatchPlan.Region(x0: 0, y0: 236, x1: 317, y1: 237),
                ])
        }
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

    /// Preparing for a pool compiles the pass and runs it on a black picture in a free
    /// slot of that pool: the slot is free again afterwards, no frame is counted, and the
    /// next frames from the pool render as libswscale does. The CPU driver's compiler
    /// has given its resident pages back by then (`CompilerMemory`); giving them back
    /// again, and compiling another pass afterwards (its pages read back in), leaves
    /// rendering exact.
    @Test func prepareRunsThePassOnceAndCountsNothing() throws {
        var frames = 0
        try decodeFixture("odd-317x237.mkv", limit: 3) { frame, pool in
            if frames == 0 {
                let (rendered, uploaded, free) = (renderer.renderedFrames, renderer.uploadedBytes, pool.freeCount)
                try renderer.prepare(for: pool, scaled: true)
                #expect(renderer.renderedFrames == rendered && renderer.uploadedBytes == uploaded)
                #expect(pool.freeCount == free, "the warm-up's slot is free again")
                if renderer.device.type == "cpu" {
                    #expect(CompilerMemory.libraries.contains { Self.mappedLibraries().contains($0) })
                }
                CompilerMemory.release()
            }
            if frames == 2 {
                // A pass compiled after the pages went (the general one at native size).
                renderer.forcesGeneralPath = true
            }
            defer { renderer.forcesGeneralPath = false }
            let size = PixelSize(width: frame.descriptor.width, height: frame.descriptor.height)
            let image = try renderer.render(frame.descriptor, in: pool, slot: frame.slot, outputSize: size)
            let reference = try ReferenceConverter.rgba(
                of: frame.descriptor, bytes: UnsafeRawBufferPointer(pool.bytes(of: frame.slot)))
            let quality = psnr(image.copyPixels(), reference.pixels)
            #expect(quality >= 40, "frame \(frames) after prepare: PSNR \(quality) dB")
            frames += 1
        }
        #expect(frames == 3)
        #expect(renderer.device.validationErrors == [])
    }

    /// The names of the libraries this process maps, as `/proc/self/maps` lists them.
    static func mappedLibraries() -> String {
        let data = FileHandle(forReadingAtPath: "/proc/self/maps")?.readDataToEndOfFile() ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// NV12 takes the native pass too (its interleaved chroma specialized), and renders
    /// bit for bit as the same samples in planar 4:2:0 do, at sizes that are and are not
    /// multiples of the pass's block, with each chroma siting the fixtures carry.
    @Test(arguments: ["testsrc2-320x240.mp4", "hdbars-bt709-center.mkv", "odd-317x237.mkv"])
    func nv12MatchesPlanarBitForBit(fixture: String) throws {
        try #require(renderer.device.supportsInt64, "lavapipe has shaderInt64")
        try decodeFixture(fixture, limit: 2) { frame, pool in
            let planar = frame.descriptor
            let layout = SlotLayout(format: .nv12, width: planar.width, height: planar.height)
            let nv12Pool = try FramePool(layout: layout, slotCount: 1)
            guard case .slot(let slot) = nv12Pool.acquire() else { throw SupportError("no slot") }
            defer { nv12Pool.release(slot) }
            let source = UnsafeRawBufferPointer(pool.bytes(of: frame.slot))
            let destination = nv12Pool.bytes(of: slot)
            let (luma, pairs) = (layout.planes[0], layout.planes[1])
            for y in 0..<luma.height {
                for x in 0..<luma.width {
                    destination[luma.offset + y * luma.stride + x] =
                        source[planar.planes[0].offset + y * planar.planes[0].stride + x]
                }
            }
            for y in 0..<pairs.height {
                for x in 0..<pairs.width {
                    for component in 0..<2 {
                        let plane = planar.planes[1 + component]
                        destination[pairs.offset + y * pairs.stride + 2 * x + component] =
                            source[plane.offset + y * plane.stride + x]
                    }
                }
            }
            let nv12 = nv12Pool.descriptor(
                color: planar.color, sampleAspectRatio: planar.sampleAspectRatio, presentationTime: nil)
            let size = PixelSize(width: planar.width, height: planar.height)
            let expected = try renderer.render(planar, in: pool, slot: frame.slot, outputSize: size).copyPixels()
            let image = try renderer.render(nv12, in: nv12Pool, slot: slot, outputSize: size)
            #expect(renderer.lastPlan?.nativeBlocks != nil)
            #expect(image.copyPixels() == expected, "\(fixture): NV12 differs from planar 4:2:0")
        }
        #expect(renderer.device.validationErrors == [])
    }

    /// H.264 4:2:0 drawn at its own size takes the native pass. Cropped to 600×358 (same
    /// bytes), the picture leaves a 24-pixel strip on the right and 2 rows at the bottom
    /// to the general pass; the whole still matches libswscale.
    @Test func nativePassAndEdgeStripsMatchLibswscale() throws {
        try #require(renderer.device.supportsInt64, "lavapipe has shaderInt64")
        var frames = 0
        try decodeFixture("hdbars-bt709-center.mkv", limit: 3) { frame, pool in
            var cropped = frame.descriptor
            cropped.width = 600
            cropped.height = 358
            cropped.planes[0].width = 600
            cropped.planes[0].height = 358
            for plane in 1...2 {
                cropped.planes[plane].width = 300
                cropped.planes[plane].height = 179
            }
            for descriptor in [frame.descriptor, cropped] {
                let size = PixelSize(width: descriptor.width, height: descriptor.height)
                let image = try renderer.render(descriptor, in: pool, slot: frame.slot, outputSize: size)
                let reference = try ReferenceConverter.rgba(
                    of: descriptor, bytes: UnsafeRawBufferPointer(pool.bytes(of: frame.slot)))
                let quality = psnr(image.copyPixels(), reference.pixels)
                #expect(quality >= 40, "frame \(frames) at \(size): PSNR \(quality) dB")
                if descriptor == frame.descriptor {
                    #expect(
                        renderer.lastPlan
                            == DispatchPlan(
                                frame: descriptor, destination: (0, 0, 640, 360), outputWidth: 640,
                                nativeAvailable: true))
                    #expect(renderer.lastPlan?.nativeBlocks == DispatchPlan.Blocks(columns: 20, rows: 90))
                    #expect(renderer.lastPlan?.general == [])
                }
            }
            // The uncropped 640×360 is all native blocks; the last column's right-hand
            // chroma neighbour is past the edge and repeats the edge column.
            #expect(renderer.lastPlan?.nativeBlocks == DispatchPlan.Blocks(columns: 18, rows: 89))
            #expect(
                renderer.lastPlan?.general == [
                    DispatchPlan.Region(x0: 576, y0: 0, x1: 600, y1: 356),
                    DispatchPlan.Region(x0: 0, y0: 356, x1: 600, y1: 358),
                ])
            frames += 1
        }
        #expect(frames == 3)
        #expect(renderer.device.validationErrors == [])
    }

    /// The native pass and the general pass's regions cover every destination pixel
    /// exactly once, and the native pass is planned only where its conditions hold.
    @Test func dispatchPlanCoversEachPixelOnce() {
        func descriptor(_ format: PixelFormat, _ width: Int, _ height: Int) -> VideoFrameDescriptor {
            let layout = SlotLayout(format: format, width: width, height: height)
            return VideoFrameDescriptor(
                format: format, width: width, height: height, planes: layout.planes,
                color: ColorDescription(matrix: .bt709, range: .limited, chromaLocation: .left),
                presentationTime: nil)
        }
        for (width, height) in [(33, 4), (32, 4), (64, 7), (320, 240), (1920, 1080), (1280, 721), (2, 2), (40, 3)] {
            let frame = descriptor(.yuv420p, width, height)
            let plan = DispatchPlan(
                frame: frame, destination: (0, 0, width, height), outputWidth: width, nativeAvailable: true)
            var covered = [UInt8](repeating: 0, count: width * height)
            if let blocks = plan.nativeBlocks {
                for y in 0..<(blocks.rows * DispatchPlan.nativeBlock.height) {
                    for x in 0..<(blocks.columns * DispatchPlan.nativeBlock.width) { covered[y * width + x] += 1 }
                }
                #expect(blocks.columns * DispatchPlan.nativeBlock.width <= width)
            }
            for region in plan.general {
                for y in region.y0..<region.y1 {
                    for x in region.x0..<region.x1 { covered[y * width + x] += 1 }
                }
            }
            #expect(covered.allSatisfy { $0 == 1 }, "\(width)x\(height)")
            #expect((plan.nativeBlocks != nil) == (width % 8 == 0 && width >= 32 && height >= 4), "\(width)x\(height)")
        }
        let frame = descriptor(.yuv420p, 320, 240)
        let native = { (destination: (Int, Int, Int, Int), outputWidth: Int) in
            DispatchPlan(frame: frame, destination: destination, outputWidth: outputWidth, nativeAvailable: true)
                .nativeBlocks != nil
        }
        #expect(native((0, 0, 320, 240), 320))
        #expect(native((8, 4, 320, 240), 336))
        #expect(!native((4, 0, 320, 240), 328))  // rows would start between 8-pixel stores
        #expect(!native((0, 0, 320, 240), 324))
        #expect(!native((0, 0, 640, 480), 640))  // scaled
        #expect(
            DispatchPlan(
                frame: descriptor(.nv12, 320, 240), destination: (0, 0, 320, 240), outputWidth: 320,
                nativeAvailable: true
            ).nativeBlocks != nil)
        #expect(
            DispatchPlan(
                frame: descriptor(.yuv422p, 320, 240), destination: (0, 0, 320, 240), outputWidth: 320,
                nativeAvailable: true
            ).nativeBlocks != nil)
        #expect(
            DispatchPlan(
                frame: descriptor(.yuv444p, 320, 240), destination: (0, 0, 320, 240), outputWidth: 320,
                nativeAvailable: true
            ).nativeBlocks == nil)
        #expect(
            DispatchPlan(frame: frame, destination: (0, 0, 320, 240), outputWidth: 320, nativeAvailable: false)
                .general == [DispatchPlan.Region(x0: 0, y0: 0, x1: 320, y1: 240)])
    }

    /// 10-bit sources rendered as RGBA16 match libswscale's 16-bit conversion of the same
    /// frames, compared at 16 bits: the shader keeps the precision that RGBA8 rounds away.
    @Test(arguments: ["format-yuv420p10le.mkv", "format-yuv422p10le.mkv", "format-yuv444p10le.mkv"])
    func tenBitMatchesLibswscaleAtSixteenBits(fixture: String) throws {
        renderer.outputFormat = .rgba16
        defer { renderer.outputFormat = .rgba8 }
        var frames = 0
        try decodeFixture(fixture) { frame, pool in
            let size = PixelSize(width: frame.descriptor.width, height: frame.descriptor.height)
            let image = try renderer.render(frame.descriptor, in: pool, slot: frame.slot, outputSize: size)
            #expect(image.format == .rgba16)
            let pixels = image.copySamples16()
            let reference = try ReferenceConverter.rgba16(
                of: frame.descriptor, bytes: UnsafeRawBufferPointer(pool.bytes(of: frame.slot)))
            let quality = psnr16(pixels, reference)
            #expect(quality >= 40, "frame \(frames) of \(fixture): PSNR \(quality) dB at 16 bits")
            #expect(stride(from: 3, to: pixels.count, by: 4).allSatisfy { pixels[$0] == 65535 })
            // More than 8 bits survive: 8-bit values widened would all be multiples of 257.
            // (Saturated samples, 0 and 65535, are multiples either way.)
            let red = stride(from: 0, to: pixels.count, by: 4).map { pixels[$0] }.filter { $0 != 0 && $0 != 65535 }
            let finer = red.filter { $0 % 257 != 0 }.count
            #expect(finer * 10 > red.count * 9, "only \(finer) of \(red.count) samples finer than 8 bits")
            if frames == 0 { print("\(fixture) as RGBA16: PSNR \(quality) dB at 16 bits") }
            frames += 1
        }
        #expect(frames == 3)
        #expect(renderer.device.validationErrors == [])
    }

    /// RGBA16 letterboxing: bars are opaque black, drawn by the shader itself.
    @Test func sixteenBitLetterboxIsOpaqueBlack() throws {
        renderer.outputFormat = .rgba16
        defer { renderer.outputFormat = .rgba8 }
        try decodeFixture("bars-bt709-full.mp4", limit: 1) { frame, pool in
            // 320x180 (16:9) into 400x180: 40 px black on each side.
            let size = PixelSize(width: 400, height: 180)
            let image = try renderer.render(frame.descriptor, in: pool, slot: frame.slot, outputSize: size)
            let pixels = image.copySamples16()
            func pixel(_ x: Int, _ y: Int) -> [UInt16] { Array(pixels[(y * 400 + x) * 4..<(y * 400 + x) * 4 + 4]) }
            for y in [0, 90, 179] {
                for x in [0, 39, 360, 399] { #expect(pixel(x, y) == [0, 0, 0, 65535], "(\(x), \(y))") }
            }
            // The first (75% white) bar starts right after the left bar.
            #expect(pixel(41, 45)[0] > 45_000)
        }
        #expect(renderer.device.validationErrors == [])
    }

    /// Builds a frame of `format` the size of `source` from `value(component, x, y)` —
    /// component 0 Y, 1 Cb, 2 Cr, at that plane's sample position; 10-bit values for a
    /// 10-bit format (P010 keeps them in the high bits), else 8-bit — renders it, and
    /// returns its PSNR against libswscale's conversion of the same bytes and whether the
    /// native pass took it.
    func renderBuilt(
        like source: VideoFrameDescriptor, as format: PixelFormat, value: (Int, Int, Int) -> UInt16
    ) throws -> (psnr: Double, native: Bool) {
        let layout = SlotLayout(format: format, width: source.width, height: source.height)
        let pool = try FramePool(layout: layout, slotCount: 1)
        guard case .slot(let slot) = pool.acquire() else { throw RenderError(.invalidRequest, "no slot") }
        defer { pool.release(slot) }
        let to = pool.bytes(of: slot)
        for (index, plane) in layout.planes.enumerated() {
            let perPixel = format.samplesPerPixel(plane: index)
            for y in 0..<plane.height {
                for sample in 0..<(plane.width * perPixel) {
                    // Interleaved chroma: Cb, Cr, Cb, Cr, …
                    let component = perPixel == 2 ? 1 + sample % 2 : index
                    let v = value(component, sample / perPixel, y)
                    let offset = plane.offset + y * plane.stride + sample * format.bytesPerSample
                    if format.bytesPerSample == 2 {
                        to.storeBytes(of: v << format.sampleShift, toByteOffset: offset, as: UInt16.self)
                    } else {
                        to[offset] = UInt8(v)
                    }
                }
            }
        }
        let descriptor = pool.descriptor(
            color: source.color, sampleAspectRatio: source.sampleAspectRatio,
            presentationTime: source.presentationTime)
        let size = PixelSize(width: source.width, height: source.height)
        let image = try renderer.render(descriptor, in: pool, slot: slot, outputSize: size)
        let reference = try ReferenceConverter.rgba(of: descriptor, bytes: UnsafeRawBufferPointer(to))
        return (psnr(image.copyPixels(), reference.pixels), renderer.lastPlan?.nativeBlocks != nil)
    }

    /// p010: frames built from the 10-bit 4:2:0 fixture's samples render like
    /// libswscale's conversion of the same bytes, through the native pass.
    @Test func p010MatchesLibswscale() throws {
        var frames = 0
        try decodeFixture("format-yuv420p10le.mkv") { frame, pool in
            #expect(frame.descriptor.format == .yuv420p10)
            let (from, planes) = (pool.bytes(of: frame.slot), frame.descriptor.planes)
            let result = try renderBuilt(like: frame.descriptor, as: .p010) { component, x, y in
                let plane = planes[component]
                return from.load(fromByteOffset: plane.offset + y * plane.stride + 2 * x, as: UInt16.self)
            }
            #expect(result.psnr >= 40, "p010 frame \(frames): PSNR \(result.psnr) dB")
            #expect(result.native, "p010 takes the native pass")
            frames += 1
        }
        #expect(frames == 3)
    }

    /// Every format the native pass takes — 10-bit 4:2:0 planar and P010, 8- and 10-bit
    /// 4:2:2 — at an odd size (317×237: the native pass's blocks, the general pass's strips
    /// on the right and below, chroma edges repeated): frames built from the 8-bit 4:2:0
    /// fixture's samples (scaled to 10 bits; 4:2:2 repeating each chroma row) render like
    /// libswscale's conversion of the same bytes, through the native pass.
    @Test(arguments: [PixelFormat.yuv420p10, .p010, .yuv422p, .yuv422p10])
    func nativeFormatsAtAnOddSizeMatchLibswscale(format: PixelFormat) throws {
        var frames = 0
        try decodeFixture("odd-317x237.mkv") { frame, pool in
            let (from, planes) = (pool.bytes(of: frame.slot), frame.descriptor.planes)
            let rowShift = format.chromaShift.y == 0 ? 1 : 0
            let result = try renderBuilt(like: frame.descriptor, as: format) { component, x, y in
                let plane = planes[component]
                let code = UInt16(from[plane.offset + (component == 0 ? y : y >> rowShift) * plane.stride + x])
                // 8-bit code c is 10-bit code 4c (and c/64 spreads it over the range).
                return format.bytesPerSample == 2 ? code << 2 | code >> 6 : code
            }
            #expect(result.psnr >= 45, "\(format) frame \(frames): PSNR \(result.psnr) dB")
            #expect(result.native, "\(format) takes the native pass")
            frames += 1
        }
        #expect(frames == 5)
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

    /// A stream that changes pixel format mid-way (4:2:0, then 4:2:2) renders every frame
    /// in its own format, correctly.
    @Test func followsMidStreamFormatChange() throws {
        var formats: [PixelFormat] = []
        try decodeFixture("format-change.ts") { frame, pool in
            let size = PixelSize(width: frame.descriptor.width, height: frame.descriptor.height)
            let image = try renderer.render(frame.descriptor, in: pool, slot: frame.slot, outputSize: size)
            let reference = try ReferenceConverter.rgba(
                of: frame.descriptor, bytes: UnsafeRawBufferPointer(pool.bytes(of: frame.slot)))
            let quality = psnr(image.copyPixels(), reference.pixels)
            #expect(quality >= 40, "frame \(formats.count) in \(frame.descriptor.format): PSNR \(quality) dB")
            formats.append(frame.descriptor.format)
        }
        #expect(formats == Array(repeating: .yuv420p, count: 5) + Array(repeating: .yuv422p, count: 5))
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

    /// A submitted frame can be polled without waiting, and reports finished once done.
    @Test func pollsCompletionWithoutWaiting() throws {
        try decodeFixture("testsrc2-320x240.mp4", limit: 1) { frame, pool in
            let size = PixelSize(width: 320, height: 240)
            let ticket = try renderer.submit(frame.descriptor, in: pool, slot: frame.slot, outputSize: size)
            var polls = 0
            while try !renderer.isFinished(ticket) {
                polls += 1
                #expect(polls < 10_000_000, "the frame never finished")
                if polls >= 10_000_000 { break }
            }
            let image = try renderer.finish(ticket)
            #expect(image.size == size)
            #expect(try renderer.isFinished(ticket))
        }
        #expect(renderer.device.validationErrors == [])
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
