public import ReelCore

/// How one frame's planes are laid out inside a pool slot.
///
/// Every plane's stride is a multiple of `strideAlignment` (64 bytes suits both
/// libavcodec's SIMD writers and GPU readers) and the slot size a multiple of
/// `slotAlignment` (the device's `minImportedHostPointerAlignment`, 4096 on lavapipe),
/// so each slot's base can be imported into Vulkan on its own.
/// Thread-safety: Safe (a value type).
public struct SlotLayout: Hashable, Sendable {
    public static let strideAlignment = 64
    public static let slotAlignment = 4096
    /// Bytes left after the last plane: decoders may over-read or over-write by
    /// up to this much (libavcodec's `AV_INPUT_BUFFER_PADDING_SIZE` is 64).
    public static let tailPadding = 64

    public let format: PixelFormat
    public let width: Int
    public let height: Int
    public let planes: [PlaneLayout]
    /// Bytes per slot, a multiple of `slotAlignment`.
    public let slotSize: Int

    public init(format: PixelFormat, width: Int, height: Int) {
        precondition(width > 0 && height > 0, "frame size must be positive")
        self.format = format
        self.width = width
        self.height = height
        let shift = format.chromaShift
        var offset = 0
        var planes: [PlaneLayout] = []
        for index in 0..<format.planeCount {
            let planeWidth = index == 0 ? width : (width + (1 << shift.x) - 1) >> shift.x
            let planeHeight = index == 0 ? height : (height + (1 << shift.y) - 1) >> shift.y
            let stride = Self.align(planeWidth * format.bytesPerSample, to: Self.strideAlignment)
            planes.append(PlaneLayout(offset: offset, stride: stride, width: planeWidth, height: planeHeight))
            offset += Self.align(stride * planeHeight, to: Self.strideAlignment)
        }
        self.planes = planes
        slotSize = Self.align(offset + Self.tailPadding, to: Self.slotAlignment)
    }

    /// Rounds `value` up to a multiple of `alignment` (a power of two).
    public static func align(_ value: Int, to alignment: Int) -> Int {
        (value + alignment - 1) & ~(alignment - 1)
    }
}
