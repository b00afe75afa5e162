import ReelCore

/// How one frame's planes are laid out inside a pool slot.
///
/// Every plane's stride is a multiple of `strideAlignment` (64 bytes suits both
/// libavcodec's SIMD writers and GPU readers) and the slot size a multiple of
/// `slotAlignment` (the device's `minImportedHostPointerAlignment`, 4096 on lavapipe),
/// so each slot's base can be imported into Vulkan on its own.
/// Thread-safety: Safe (a value type).
package struct SlotLayout: Hashable, Sendable {
    package static let strideAlignment = 64
    package static let slotAlignment = 4096
    /// Bytes left after the last plane: decoders may over-read or over-write by
    /// up to this much (libavcodec's `AV_INPUT_BUFFER_PADDING_SIZE` is 64).
    package static let tailPadding = 64

    package let format: PixelFormat
    package let width: Int
    package let height: Int
    package let planes: [PlaneLayout]
    /// The largest coded picture a slot has room for (at least `width`×`height`).
    package let allocatedWidth: Int
    package let allocatedHeight: Int
    /// Bytes per slot, a multiple of `slotAlignment`.
    package let slotSize: Int

    /// Lays out a `width`×`height` picture. A decoder writing straight into the slot
    /// may need room for a larger coded picture (`allocatedWidth`×`allocatedHeight`,
    /// e.g. H.264's 16-pixel macroblocks): strides and plane sizes follow that, while
    /// the planes' `width` and `height` stay those of the visible picture.
    package init(format: PixelFormat, width: Int, height: Int, allocatedWidth: Int? = nil, allocatedHeight: Int? = nil)
    {
        precondition(width > 0 && height > 0, "frame size must be positive")
        self.format = format
        self.width = width
        self.height = height
        let shift = format.chromaShift
        let chromaSize = { (size: Int, shift: Int) in (size + (1 << shift) - 1) >> shift }
        let allocated = (width: max(width, allocatedWidth ?? width), height: max(height, allocatedHeight ?? height))
        self.allocatedWidth = allocated.width
        self.allocatedHeight = allocated.height
        var offset = 0
        var planes: [PlaneLayout] = []
        for index in 0..<format.planeCount {
            let isLuma = index == 0
            // Width and height in pixels (an interleaved CbCr pair is one pixel).
            let planeWidth = isLuma ? width : chromaSize(width, shift.x)
            let planeHeight = isLuma ? height : chromaSize(height, shift.y)
            let rowSamples =
                (isLuma ? allocated.width : chromaSize(allocated.width, shift.x)) * format.samplesPerPixel(plane: index)
            let rows = isLuma ? allocated.height : chromaSize(allocated.height, shift.y)
            let stride = Self.align(rowSamples * format.bytesPerSample, to: Self.strideAlignment)
            planes.append(PlaneLayout(offset: offset, stride: stride, width: planeWidth, height: planeHeight))
            offset += Self.align(stride * rows, to: Self.strideAlignment)
        }
        self.planes = planes
        slotSize = Self.align(offset + Self.tailPadding, to: Self.slotAlignment)
    }

    /// Rounds `value` up to a multiple of `alignment` (a power of two).
    package static func align(_ value: Int, to alignment: Int) -> Int {
        (value + alignment - 1) & ~(alignment - 1)
    }
}
