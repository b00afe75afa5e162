/// The YCbCr → RGB matrix coefficients (ITU-T H.273 MatrixCoefficients).
public enum ColorMatrix: String, Sendable, CaseIterable {
    /// BT.601 (SMPTE 170M / BT.470BG): Kr 0.299, Kb 0.114.
    case bt601
    /// BT.709: Kr 0.2126, Kb 0.0722 (BT.709-6 Table 3, items 3.2 and 3.3).
    case bt709
    /// BT.2020 non-constant luminance: Kr 0.2627, Kb 0.0593 (BT.2020-2 Table 4).
    case bt2020

    /// Luma weights of red and blue.
    public var kr: Double {
        switch self {
        case .bt601: 0.299
        case .bt709: 0.2126
        case .bt2020: 0.2627
        }
    }
    public var kb: Double {
        switch self {
        case .bt601: 0.114
        case .bt709: 0.0722
        case .bt2020: 0.0593
        }
    }
}

/// Whether code values use the limited ("TV", 16–235/240 at 8 bits) or full (0–255) range.
public enum ColorRange: String, Sendable, CaseIterable {
    case limited
    case full
}

/// Where chroma samples sit relative to luma samples (H.273 / FFmpeg `AVChromaLocation`).
public enum ChromaLocation: String, Sendable, CaseIterable {
    /// Co-sited with the left luma column, vertically between rows (MPEG-2, H.264 default).
    case left
    /// Between luma columns and rows (MPEG-1, JPEG).
    case center
    /// Co-sited with the top-left luma sample (BT.2020 4:2:0).
    case topLeft
    case top
    case bottomLeft
    case bottom

    /// The position of chroma sample 0 in luma sample units, measured from the
    /// centre of luma sample 0, for a plane subsampled by 2 in that direction.
    public var offset: (x: Double, y: Double) {
        switch self {
        case .left: (0, 0.5)
        case .center: (0.5, 0.5)
        case .topLeft: (0, 0)
        case .top: (0.5, 0)
        case .bottomLeft: (0, 1)
        case .bottom: (0.5, 1)
        }
    }
}

/// How a picture's R′G′B′ signal maps to light (H.273 TransferCharacteristics).
public enum ColorTransfer: String, Sendable, CaseIterable {
    /// SDR: BT.709's camera curve shown with BT.1886's gamma 2.4 (also BT.601, BT.2020's
    /// SDR curves and an untagged stream), its white at 203 cd/m² (BT.2408).
    case sdr
    /// HDR10's perceptual quantizer (SMPTE ST 2084, BT.2100 PQ): absolute, to 10 000 cd/m².
    case pq
    /// Hybrid log-gamma (ARIB STD-B67, BT.2100 HLG): relative, shown with its OOTF.
    case hlg

    /// Whether the transfer is an HDR one.
    public var isHDR: Bool { self != .sdr }
}

/// The RGB primaries (and white point, D65 for both) a picture's colours are in.
public enum ColorPrimaries: String, Sendable, CaseIterable {
    /// BT.709 (also sRGB; BT.601's primaries are taken as these, as players do).
    case bt709
    /// BT.2020 (and BT.2100): the wide gamut of UHD and HDR video.
    case bt2020
}

/// The light levels an HDR stream declares: its mastering display's (SMPTE ST 2086)
/// and its content's (CTA-861.3 MaxCLL and MaxFALL), in cd/m². Each nil when not given.
///
/// Thread-safety: Safe (a value type).
public struct HDRMetadata: Hashable, Sendable {
    /// The mastering display's peak and black.
    public var masteringPeak: Double?
    public var masteringBlack: Double?
    /// The brightest pixel in the content (MaxCLL) and the brightest frame's average (MaxFALL).
    public var maxContentLight: Double?
    public var maxFrameAverageLight: Double?

    public init(
        masteringPeak: Double? = nil, masteringBlack: Double? = nil, maxContentLight: Double? = nil,
        maxFrameAverageLight: Double? = nil
    ) {
        self.masteringPeak = masteringPeak
        self.masteringBlack = masteringBlack
        self.maxContentLight = maxContentLight
        self.maxFrameAverageLight = maxFrameAverageLight
    }

    /// The brightest the picture can be, in cd/m², for a `transfer` source: the content's
    /// MaxCLL where given, else the mastering display's peak, else HLG's nominal 1000 and
    /// PQ's assumed 1000 (what most HDR10 is mastered to); 203 (reference white) for SDR.
    public func peak(for transfer: ColorTransfer) -> Double {
        guard transfer.isHDR else { return 203 }
        for value in [maxContentLight, masteringPeak] {
            if let value, value >= 1, value <= 10_000 { return value }
        }
        return 1000
    }
}

/// How a picture's code values map to colour, as far as Reel's conversion needs it.
///
/// Thread-safety: Safe (a value type).
public struct ColorDescription: Hashable, Sendable {
    public var matrix: ColorMatrix
    public var range: ColorRange
    public var chromaLocation: ChromaLocation
    /// The transfer: SDR, or HDR10's PQ or HLG (tone-mapped for an SDR output).
    public var transfer: ColorTransfer
    /// The primaries: BT.709, or BT.2020 (gamut-mapped for a BT.709 output).
    public var primaries: ColorPrimaries
    /// The stream's declared light levels (HDR only).
    public var hdr: HDRMetadata

    public init(
        matrix: ColorMatrix, range: ColorRange, chromaLocation: ChromaLocation, transfer: ColorTransfer = .sdr,
        primaries: ColorPrimaries = .bt709, hdr: HDRMetadata = HDRMetadata()
    ) {
        self.matrix = matrix
        self.range = range
        self.chromaLocation = chromaLocation
        self.transfer = transfer
        self.primaries = primaries
        self.hdr = hdr
    }

    /// The matrix to assume when a stream does not say: BT.709 for HD
    /// (height ≥ 720), BT.601 below, as players conventionally do.
    public static func defaultMatrix(forHeight height: Int) -> ColorMatrix {
        height >= 720 ? .bt709 : .bt601
    }
}
