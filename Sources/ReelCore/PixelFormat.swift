/// The layouts of decoded pictures Reel can render.
///
/// Thread-safety: Safe (a value type).
public enum PixelFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// 8-bit planar Y, Cb, Cr with chroma halved in both directions.
    case yuv420p

    /// Bytes per sample in every plane.
    public var bytesPerSample: Int { 1 }

    /// Bits of each stored sample that carry the value.
    public var bitDepth: Int { 8 }

    /// log2 of the chroma subsampling factor (horizontal, vertical).
    public var chromaShift: (x: Int, y: Int) { (1, 1) }

    /// The number of planes: Y, Cb, Cr.
    public var planeCount: Int { 3 }

    public var description: String { rawValue }
}
