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

/// How a picture's code values map to colour, as far as Reel's conversion needs it.
///
/// Thread-safety: Safe (a value type).
public struct ColorDescription: Hashable, Sendable {
    public var matrix: ColorMatrix
    public var range: ColorRange
    public var chromaLocation: ChromaLocation

    public init(matrix: ColorMatrix, range: ColorRange, chromaLocation: ChromaLocation) {
        self.matrix = matrix
        self.range = range
        self.chromaLocation = chromaLocation
    }

    /// The matrix to assume when a stream does not say: BT.709 for HD
    /// (height ≥ 720), BT.601 below, as players conventionally do.
    public static func defaultMatrix(forHeight height: Int) -> ColorMatrix {
        height >= 720 ? .bt709 : .bt601
    }
}
