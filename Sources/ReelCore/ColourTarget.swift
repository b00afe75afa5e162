/// The curve that brings an HDR picture's highlights into an SDR output's range.
public enum ToneMappingCurve: String, Sendable, CaseIterable {
    /// ITU-R BT.2390's EETF: a knee, then a spline to the target's peak, on PQ signal
    /// (what mpv and libplacebo use by default). The default.
    case bt2390
    /// Everything above the target's peak clipped.
    case clip
    /// Hable's filmic curve (Uncharted 2), its white at the source's peak.
    case hable
    /// No tone mapping: linear light above the target's peak clips per channel.
    case none
}

/// How colours outside the output's gamut (a BT.2020 picture on BT.709) are brought in.
public enum GamutMapping: String, Sendable, CaseIterable {
    /// Chroma reduced at constant Oklab lightness and hue until the colour fits: hue kept.
    /// The default.
    case perceptual
    /// Each channel clipped to 0…1 in linear light (hue may shift, as libplacebo's `clip`).
    case clip
}

/// What a rendered pixel's values mean.
public enum OutputColour: String, Sendable, CaseIterable {
    /// SDR: BT.709 primaries and BT.1886's gamma, HDR pictures tone-mapped. The default.
    case sdr
    /// HDR10: BT.2020 primaries and PQ, as a PQ source is (passed through); HLG and SDR
    /// pictures converted. Wants 16 bits a channel.
    case hdr10
    /// Linear light in BT.2020 primaries, 1.0 = 10 000 cd/m² (PQ's top). Wants 16 bits.
    case linear
}

/// What the colour pipeline renders for: the output's kind of colour, its peak and
/// the curves that fit a picture into it.
///
/// Thread-safety: Safe (a value type).
public struct ColourTarget: Hashable, Sendable {
    public var output: OutputColour
    /// The output's peak in cd/m²: 203 by default (BT.2408's reference white, where SDR
    /// white sits), so an SDR output shows HDR graphics white as its white.
    public var peak: Double
    public var toneMapping: ToneMappingCurve
    public var gamutMapping: GamutMapping

    public init(
        output: OutputColour = .sdr, peak: Double = 203, toneMapping: ToneMappingCurve = .bt2390,
        gamutMapping: GamutMapping = .perceptual
    ) {
        self.output = output
        self.peak = peak
        self.toneMapping = toneMapping
        self.gamutMapping = gamutMapping
    }

    /// Target peaks accepted, in cd/m².
    public static let peakRange: ClosedRange<Double> = 10...10_000
}
