import Foundation
import ReelCore

/// What the pass does to a picture's colour after YCbCr → R′G′B′, as the specialization
/// constants of `Shaders/colour_map.glsl`: nil (no constant set, the pass as it always
/// was) when the source's transfer and primaries are the output's.
///
/// Linear light is in units of 203 cd/m² (BT.2408's reference white, where SDR white
/// sits), as libplacebo counts it. Black levels follow libplacebo's conventions too: an
/// HDR source's black is its mastering display's (else 0.005 cd/m²); an SDR display's is
/// its peak / 1000 (a typical contrast), which BT.1886 encodes as code 0.
///
/// Thread-safety: Safe (a value type).
struct ColourPlan: Hashable {
    enum SourceTransfer: UInt32 {
        case pq = 1
        case hlg = 2
        case bt1886 = 3
    }
    enum Gamut: UInt32 {
        case kept = 0
        case perceptualTo709 = 1
        case clippedTo709 = 2
        case bt709To2020 = 3
    }
    enum OutputTransfer: UInt32 {
        case bt1886 = 0
        case pq = 1
        case linear = 2
    }
    enum Curve: UInt32 {
        case none = 0
        case bt2390 = 1
        case clip = 2
        case hable = 3
    }
    enum Mode: UInt32 {
        case luminance = 0
        case hybrid = 1
        case perChannel = 2
    }

    var source: SourceTransfer
    var sourceIs2020: Bool
    var curve: Curve
    var mode: Mode
    var gamut: Gamut
    var output: OutputTransfer
    var sourceBlack: Float
    var sourcePeak: Float
    var targetBlack: Float
    var targetPeak: Float
    var swapsRedAndBlue = false

    /// Linear light's unit in cd/m².
    static let white = 203.0

    /// The plan for showing `colour` on `target`, or nil when nothing is to be done.
    init?(for colour: ColorDescription, target: ColourTarget) {
        let wide = colour.primaries == .bt2020
        if target.output == .sdr && !colour.transfer.isHDR && !wide { return nil }
        sourceIs2020 = wide
        switch colour.transfer {
        case .pq: source = .pq
        case .hlg: source = .hlg
        case .sdr: source = .bt1886
        }
        let peak = colour.hdr.peak(for: colour.transfer) / Self.white
        var black = peak / 1000
        if colour.transfer.isHDR {
            black = 0.005 / Self.white
            if colour.transfer == .pq, let mastered = colour.hdr.masteringBlack, mastered > 0, mastered <= 100 {
                black = mastered / Self.white
            }
        }
        sourcePeak = Float(peak)
        sourceBlack = Float(black)
        switch target.output {
        case .sdr:
            output = .bt1886
            let targetPeak = target.peak / Self.white
            self.targetPeak = Float(targetPeak)
            targetBlack = Float(targetPeak / 1000)
            gamut = wide ? (target.gamutMapping == .clip ? .clippedTo709 : .perceptualTo709) : .kept
            // The curve spans the source's range to the target's, never brightening.
            let curvePeak = min(targetPeak, peak)
            let reduces = abs(peak - curvePeak) > 1e-6
            let rangeDiffers = reduces || abs(black - Double(targetBlack)) > 1e-6
            switch target.toneMapping {
            case .bt2390 where reduces: curve = .bt2390
            case .hable where reduces: curve = .hable
            case .clip where rangeDiffers: curve = .clip
            default: curve = .none
            }
            if curve == .bt2390 || curve == .hable {
                mode = peak / curvePeak > 10 ? .hybrid : .luminance
            } else {
                mode = .perChannel
            }
        case .hdr10, .linear:
            output = target.output == .hdr10 ? .pq : .linear
            targetPeak = Float(10_000 / Self.white)
            targetBlack = 0
            gamut = wide ? .kept : .bt709To2020
            curve = .none
            mode = .perChannel
        }
    }

    /// The pass's specialization constants (`Shaders/colour_map.glsl`), by constant ID.
    var constants: [(id: UInt32, value: UInt32)] {
        let curvePeak = min(targetPeak, sourcePeak)
        let pqSourceBlack = Self.pqSignal(Double(sourceBlack))
        let pqSourcePeak = Self.pqSignal(Double(sourcePeak))
        let pqTargetBlack = Self.pqSignal(Double(targetBlack))
        let pqTargetPeak = Self.pqSignal(Double(curvePeak))
        // BT.2390 on the source-relative PQ scale, its knee offset 1.0 (libplacebo's default).
        let span = pqSourcePeak - pqSourceBlack
        let low = (pqTargetBlack - pqSourceBlack) / span
        let high = (pqTargetPeak - pqSourceBlack) / span
        let knee = 2 * high - 1
        let exponent = low > 0 ? min(1 / low, 4) : 4
        let gain = high < 1 ? 1 / (1 + low / high * pow(1 - high, exponent)) : 1
        // HLG's OOTF at the source's peak (BT.2100 Note 5f) and its black lift.
        let hlgGamma = max(1.2 + 0.42 * log10(Double(sourcePeak) * Self.white / 1000), 1)
        let hlgBeta = (3 * pow(Double(sourceBlack / sourcePeak), 1 / hlgGamma)).squareRoot()
        let input = Self.bt1886(black: Double(sourceBlack), white: Double(sourcePeak))
        let outputCurve = Self.bt1886(black: Double(targetBlack), white: Double(targetPeak))
        let hable = { (x: Double) in
            (x * (0.15 * x + 0.05) + 0.004) / (x * (0.15 * x + 0.5) + 0.06) - 0.02 / 0.3
        }
        let desaturation = curvePeak > sourcePeak ? 1.075 : 1.1
        func float(_ value: Double) -> UInt32 { Float(value).bitPattern }
        return [
            (8, source.rawValue), (9, sourceIs2020 ? 1 : 0), (10, curve.rawValue), (11, mode.rawValue),
            (12, gamut.rawValue), (13, output.rawValue),
            (14, sourceBlack.bitPattern), (15, sourcePeak.bitPattern), (16, targetBlack.bitPattern),
            (17, curvePeak.bitPattern), (18, float(hlgGamma)), (19, float(hlgBeta)),
            (20, float(input.a)), (21, float(input.b)), (22, float(outputCurve.a)), (23, float(outputCurve.b)),
            (24, float(pqSourceBlack)), (25, float(pqSourcePeak)), (26, float(pqTargetBlack)),
            (27, float(pqTargetPeak)), (28, float(knee)), (29, float(exponent)), (30, float(gain)),
            (31, float(1 / hable(Double(sourcePeak / curvePeak)))),
            (32, float(log(desaturation) / log(1000 / Self.white))), (33, swapsRedAndBlue ? 1 : 0),
            (34, targetPeak.bitPattern),
        ]
    }

    /// PQ's signal for linear light `value` (1.0 = 203 cd/m²): ST 2084's inverse EOTF.
    static func pqSignal(_ value: Double) -> Double {
        let (m1, m2) = (2610.0 / 16384, 2523.0 / 4096 * 128)
        let (c1, c2, c3) = (3424.0 / 4096, 2413.0 / 4096 * 32, 2392.0 / 4096 * 32)
        let y = pow(max(value * white / 10_000, 0), m1)
        return pow((c1 + c2 * y) / (1 + c3 * y), m2)
    }

    /// BT.1886's EOTF, L = a·(V + b)^2.4, for a display with this black and white.
    static func bt1886(black: Double, white: Double) -> (a: Double, b: Double) {
        let lb = pow(black, 1 / 2.4)
        let lw = pow(white, 1 / 2.4)
        return (pow(lw - lb, 2.4), lb / (lw - lb))
    }
}
