/// The layouts of decoded pictures Reel can render.
///
/// Thread-safety: Safe (a value type).
public enum PixelFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// 8-bit planar Y, Cb, Cr; chroma halved in both directions.
    case yuv420p
    /// 8-bit planar; chroma halved horizontally.
    case yuv422p
    /// 8-bit planar; full-resolution chroma.
    case yuv444p
    /// 8-bit Y plane, then one plane of interleaved Cb, Cr; chroma halved in both directions.
    case nv12
    /// 8-bit luma only.
    case gray8
    /// 10-bit in 16-bit little-endian samples (low bits), planar 4:2:0.
    case yuv420p10
    /// 10-bit in the high bits of 16-bit samples, Y plane then interleaved Cb, Cr, 4:2:0.
    case p010
    /// 10-bit planar 4:2:2 and 4:4:4.
    case yuv422p10
    case yuv444p10

    /// Bytes per stored sample.
    public var bytesPerSample: Int {
        switch self {
        case .yuv420p, .yuv422p, .yuv444p, .nv12, .gray8: 1
        case .yuv420p10, .p010, .yuv422p10, .yuv444p10: 2
        }
    }

    /// Bits that carry the value.
    public var bitDepth: Int { bytesPerSample == 1 ? 8 : 10 }

    /// How far right a stored sample is shifted to get its value (p010 keeps it in the high bits).
    public var sampleShift: Int { self == .p010 ? 6 : 0 }

    /// log2 of the chroma subsampling factor (horizontal, vertical).
    public var chromaShift: (x: Int, y: Int) {
        switch self {
        case .yuv420p, .nv12, .yuv420p10, .p010, .gray8: (1, 1)
        case .yuv422p, .yuv422p10: (1, 0)
        case .yuv444p, .yuv444p10: (0, 0)
        }
    }

    /// Whether Cb and Cr alternate in one plane.
    public var interleavesChroma: Bool { self == .nv12 || self == .p010 }

    /// Whether the picture has chroma at all.
    public var hasChroma: Bool { self != .gray8 }

    /// Planes in a slot: Y, Cb, Cr; Y and CbCr when interleaved; Y alone for gray.
    public var planeCount: Int { hasChroma ? (interleavesChroma ? 2 : 3) : 1 }

    /// Samples per pixel in plane `index` (2 for an interleaved CbCr plane).
    public func samplesPerPixel(plane index: Int) -> Int { index == 1 && interleavesChroma ? 2 : 1 }

    public var description: String { rawValue }
}
