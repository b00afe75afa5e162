import Foundation
import ReelCore
import ReelFramePool
import ReelMedia
import ReelTestSupport
import Testing

@testable import ReelVulkan

/// HDR10 (PQ), HLG and SDR BT.2020 pictures on an SDR BT.709 output: tone mapping
/// (BT.2390), primaries and the output's gamma in the pass, against FFmpeg's libplacebo
/// filter on the same kind of device (the ffmpeg CLI, run here), with the same curve, no
/// peak detection and no dithering. The fixtures (tools/make-fixtures) hold a grey ramp
/// to 1000 cd/m², BT.2020 primaries and secondaries at 600 and 100 cd/m², and everyday
/// colours and highlights.
@Suite(.serialized) struct HDRTests {
    static let fixtures = ["hdr10-pq.mkv", "hdr-hlg.mkv", "sdr-bt2020.mkv"]

    /// A renderer of the suite's own (validation on): the other Vulkan suites share theirs.
    nonisolated(unsafe) static let shared = Result { () throws -> OffscreenRenderer in
        try OffscreenRenderer(device: DeviceParameters(validation: true))
    }

    let renderer: OffscreenRenderer
    init() throws { renderer = try Self.shared.get() }

    /// Renders the fixture's first frame for `target`; `seenAsSDR`: with its colour taken
    /// as SDR BT.709 — what Reel drew before it knew transfers and primaries.
    func firstFrame(
        _ fixture: String, target: ColourTarget = ColourTarget(), seenAsSDR: Bool = false, general: Bool = false
    ) throws -> RenderedPixels {
        renderer.colourTarget = target
        renderer.forcesGeneralPath = general
        // HDR10 and linear light want 16 bits, as the pipelines render them.
        renderer.outputFormat = target.output == .sdr ? .rgba8 : .rgba16
        defer {
            renderer.colourTarget = ColourTarget()
            renderer.forcesGeneralPath = false
            renderer.outputFormat = .rgba8
        }
        var result: RenderedPixels?
        try decodeFixture(fixture, limit: 1) { frame, pool in
            var descriptor = frame.descriptor
            if seenAsSDR {
                descriptor.color.transfer = .sdr
                descriptor.color.primaries = .bt709
            }
            let size = PixelSize(width: descriptor.width, height: descriptor.height)
            let image = try renderer.render(descriptor, in: pool, slot: frame.slot, outputSize: size)
            result = RenderedPixels(
                size: size, format: image.format, rgba8: image.format == .rgba16 ? [] : image.copyPixels(),
                rgba16: image.format == .rgba16 ? image.copySamples16() : [], colour: descriptor.color)
        }
        return try #require(result)
    }

    struct RenderedPixels {
        var size: PixelSize
        var format: OutputFormat
        var rgba8: [UInt8]
        var rgba16: [UInt16]
        var colour: ColorDescription
    }

    /// The decoder reads each fixture's transfer, primaries and (HDR10) the mastering
    /// display and content light levels from the stream.
    @Test func colourIsReadFromTheStream() throws {
        let expected: [(String, ColorTransfer, HDRMetadata)] = [
            (
                "hdr10-pq.mkv", .pq,
                HDRMetadata(
                    masteringPeak: 1000, masteringBlack: 0.005, maxContentLight: 1000, maxFrameAverageLight: 400)
            ),
            ("hdr-hlg.mkv", .hlg, HDRMetadata()),
            ("sdr-bt2020.mkv", .sdr, HDRMetadata()),
        ]
        for (fixture, transfer, levels) in expected {
            let colour = try firstFrame(fixture).colour
            #expect(colour.transfer == transfer, "\(fixture)")
            #expect(colour.primaries == .bt2020, "\(fixture)")
            #expect(colour.matrix == .bt2020, "\(fixture)")
            #expect(colour.hdr == levels, "\(fixture)")
        }
    }

    /// With the reference's curve (BT.2390) and its gamut handling (clipped per channel),
    /// the picture is libplacebo's within ≥ 35 dB (measured 46–50), through the native
    /// pass and the general one alike; what Reel drew before (the code values taken as
    /// SDR BT.709) is far from it: under 25 dB for PQ and HLG (measured 12 and 19), and
    /// for SDR BT.2020, whose primaries alone differ, under 30 (measured 26) and at least
    /// 20 dB worse.
    @Test(arguments: fixtures)
    func matchesLibplacebo(fixture: String) throws {
        let reference = try HDRReference.libplacebo(fixture)
        let clip = ColourTarget(gamutMapping: .clip)
        let native = try firstFrame(fixture, target: clip)
        #expect(renderer.lastPlan?.nativeBlocks != nil)
        let general = try firstFrame(fixture, target: clip, general: true)
        let before = try firstFrame(fixture, seenAsSDR: true)
        let perceptual = try firstFrame(fixture)
        #expect(native.size == reference.size)
        let figures = [native, general, before, perceptual].map { psnr($0.rgba8, reference.pixels) }
        print(
            "\(fixture) against libplacebo: \(figures.map { String(format: "%.1f", $0) }) dB "
                + "(native, general, as SDR before, perceptual gamut mapping)")
        #expect(figures[0] >= 35 && figures[1] >= 35, "\(fixture): \(figures)")
        let hdr = native.colour.transfer.isHDR
        #expect(figures[2] < (hdr ? 25 : 30), "\(fixture): the picture as SDR is \(figures[2]) dB from libplacebo's")
        #expect(figures[0] - figures[2] >= 20, "\(fixture): \(figures)")
        #expect(renderer.device.validationErrors == [])
    }

    /// Perceptual gamut mapping keeps each saturated BT.2020 patch's hue (its Oklab hue
    /// angle against the source colour's, within 6°), where clipping per channel turns
    /// some by more than 10°. Source colours: the fixture's middle row, in cd/m².
    @Test func perceptualGamutMappingKeepsHue() throws {
        let sources: [SIMD3<Double>] = [
            [600, 0, 0], [0, 600, 0], [0, 0, 600], [600, 600, 0], [0, 600, 600], [600, 0, 600], [100, 0, 0],
            [0, 100, 0],
        ]
        func hueTurns(_ target: ColourTarget) throws -> [Double] {
            let picture = try firstFrame("hdr10-pq.mkv", target: target)
            return sources.enumerated().map { index, source in
                let offset = (90 * picture.size.width + index * 40 + 20) * 4
                let shown =
                    SIMD3<Double>(
                        Double(picture.rgba8[offset]), Double(picture.rgba8[offset + 1]),
                        Double(picture.rgba8[offset + 2])) / 255
                let light = SIMD3<Double>(pow(shown.x, 2.4), pow(shown.y, 2.4), pow(shown.z, 2.4))
                let turn = Self.hue(light) - Self.hue(Self.bt709(fromBT2020: source))
                return (turn + 540).truncatingRemainder(dividingBy: 360) - 180
            }
        }
        let perceptual = try hueTurns(ColourTarget())
        let clipped = try hueTurns(ColourTarget(gamutMapping: .clip))
        print(
            "hue turns, perceptual: \(perceptual.map { Int($0.rounded()) })°, clipped: \(clipped.map { Int($0.rounded()) })°"
        )
        #expect(perceptual.allSatisfy { abs($0) <= 6 }, "\(perceptual)")
        #expect(clipped.contains { abs($0) > 10 }, "\(clipped)")
    }

    /// HDR10 output (16 bits): a PQ BT.2020 source passes through — its R′G′B′ is the plain
    /// YCbCr → RGB conversion (libswscale's, ≥ 50 dB at 16 bits); linear-light output
    /// decodes PQ (the 1000 cd/m² patch at 0.1 of 10 000).
    @Test func hdrOutputs() throws {
        let hdr10 = try firstFrame("hdr10-pq.mkv", target: ColourTarget(output: .hdr10))
        var reference: [UInt16] = []
        try decodeFixture("hdr10-pq.mkv", limit: 1) { frame, pool in
            reference = try ReferenceConverter.rgba16(
                of: frame.descriptor, bytes: UnsafeRawBufferPointer(pool.bytes(of: frame.slot)))
        }
        let quality = psnr16(hdr10.rgba16, reference)
        #expect(quality >= 50, "HDR10 passthrough: \(quality) dB at 16 bits")
        let linear = try firstFrame("hdr10-pq.mkv", target: ColourTarget(output: .linear))
        // The ramp's last patch (1000 cd/m²) and its 203 cd/m² one, top row.
        let brightest = Double(linear.rgba16[(30 * 320 + 310) * 4]) / 65535
        let white = Double(linear.rgba16[(30 * 320 + 170) * 4]) / 65535
        #expect(abs(brightest - 0.1) < 0.002, "1000 cd/m² as \(brightest)")
        #expect(abs(white - 0.0203) < 0.001, "203 cd/m² as \(white)")
        #expect(renderer.device.validationErrors == [])
    }

    /// What an HDR10 window is given (A2B10G10R10, the picture through the same exact
    /// mapping as RGBA16, letterbox bars painted): every channel of every pixel is the
    /// 16-bit HDR10 output's rounded to 10 bits, alpha opaque — at the picture's size
    /// and in a wider output with bars. HLG is converted to PQ on the way.
    @Test(arguments: ["hdr10-pq.mkv", "hdr-hlg.mkv"])
    func hdr10WindowPixels(fixture: String) throws {
        let target = ColourTarget(output: .hdr10)
        for wide in [false, true] {
            var deep: [UInt16] = []
            var packed: [UInt32] = []
            try decodeFixture(fixture, limit: 1) { frame, pool in
                let size = PixelSize(width: frame.descriptor.width + (wide ? 64 : 0), height: frame.descriptor.height)
                renderer.colourTarget = target
                defer {
                    renderer.colourTarget = ColourTarget()
                    renderer.outputFormat = .rgba8
                }
                renderer.outputFormat = .rgba16
                deep = try renderer.render(frame.descriptor, in: pool, slot: frame.slot, outputSize: size)
                    .copySamples16()
                renderer.outputFormat = .a2bgr10
                let image = try renderer.render(frame.descriptor, in: pool, slot: frame.slot, outputSize: size)
                #expect(image.format == .a2bgr10)
                packed = image.copyPixels().withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
            }
            #expect(packed.count * 4 == deep.count && !packed.isEmpty)
            var worst = 0
            for (index, word) in packed.enumerated() {
                #expect(word >> 30 == 3, "alpha at \(index)")
                for channel in 0..<3 {
                    let expected = (Int(deep[index * 4 + channel]) * 1023 + 32767) / 65535
                    worst = max(worst, abs(Int((word >> (10 * UInt32(channel))) & 1023) - expected))
                }
            }
            #expect(worst <= 1, "\(fixture)\(wide ? " with bars" : ""): 10-bit channels off by up to \(worst)")
            if wide { #expect(packed[0] == 0xC000_0000, "the bar is black") }
        }
        #expect(renderer.device.validationErrors == [])
    }

    /// The window's surface format: A2B10G10R10 in HDR10 (ST 2084) for HDR pictures
    /// where the surface offers it, B8G8R8A8 in sRGB otherwise (and for SDR pictures
    /// always), whatever order the formats come in and whatever else is offered.
    @Test func windowTakesHDR10OnlyForHDRPicturesWhereOffered() {
        typealias Format = WindowPresenter.SurfaceFormat
        let srgb = Format(format: Format.bgra8, colourSpace: Format.srgb)
        let hdr10 = Format(format: Format.a2bgr10, colourSpace: Format.hdr10)
        let passThrough = Format(format: Format.bgra8, colourSpace: 1_000_104_013)
        let unorm10 = Format(format: Format.a2bgr10, colourSpace: Format.srgb)
        let hdrSurface = [passThrough, unorm10, srgb, hdr10]
        #expect(WindowPresenter.chooseSurfaceFormat(from: hdrSurface, hdr: true) == 3)
        #expect(WindowPresenter.chooseSurfaceFormat(from: hdrSurface, hdr: false) == 2)
        #expect(WindowPresenter.chooseSurfaceFormat(from: [srgb], hdr: true) == 0)
        #expect(WindowPresenter.chooseSurfaceFormat(from: [passThrough], hdr: false) == 0)
        #expect(WindowPresenter.chooseSurfaceFormat(from: [hdr10, unorm10], hdr: false) == nil)
    }

    /// SDR BT.709 pictures take no colour mapping whatever the target (its peak matters
    /// to HDR pictures only): the same bytes as before, through the same pipelines.
    @Test func sdrPicturesAreUntouched() throws {
        let before = try firstFrame("bars-bt709-limited.mp4")
        let brighter = try firstFrame("bars-bt709-limited.mp4", target: ColourTarget(peak: 1000, toneMapping: .hable))
        #expect(before.rgba8 == brighter.rgba8)
        #expect(renderer.colourPlan(for: before.colour) == nil)
    }

    /// A brighter target keeps more of the highlights: with a 1000 cd/m² target the
    /// 1000 cd/m² patch is (within the table's interpolation) full white and reference
    /// white (203) sits lower than on a 203 cd/m² target, where both are white.
    @Test func targetPeakMovesWhite() throws {
        let standard = try firstFrame("hdr10-pq.mkv")
        let bright = try firstFrame("hdr10-pq.mkv", target: ColourTarget(peak: 1000))
        func grey(_ picture: RenderedPixels, patch: Int) -> UInt8 { picture.rgba8[(30 * 320 + patch * 20 + 10) * 4] }
        #expect(grey(standard, patch: 15) == 255 && grey(bright, patch: 15) >= 252, "\(grey(bright, patch: 15))")
        #expect(grey(bright, patch: 8) < 200, "reference white on a 1000 cd/m² target: \(grey(bright, patch: 8))")
        #expect(grey(standard, patch: 8) > grey(bright, patch: 8))
    }

    static func bt709(fromBT2020 c: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3(
            1.6604910021 * c.x - 0.5876411388 * c.y - 0.0728498633 * c.z,
            -0.1245504745 * c.x + 1.1328998971 * c.y - 0.0083494226 * c.z,
            -0.0181507634 * c.x - 0.1005788980 * c.y + 1.1187296614 * c.z)
    }

    /// The Oklab hue angle (degrees) of linear BT.709 light.
    static func hue(_ c: SIMD3<Double>) -> Double {
        let l = cbrt(0.4122214708 * c.x + 0.5363325363 * c.y + 0.0514459929 * c.z)
        let m = cbrt(0.2119034982 * c.x + 0.6806995451 * c.y + 0.1073969566 * c.z)
        let s = cbrt(0.0883024619 * c.x + 0.2817188376 * c.y + 0.6299787005 * c.z)
        let a = 1.9779984951 * l - 2.4285922050 * m + 0.4505937099 * s
        let b = 0.0259040371 * l + 0.7827717662 * m - 0.8086757660 * s
        return atan2(b, a) * 180 / .pi
    }
}
