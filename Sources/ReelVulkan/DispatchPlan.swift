import ReelCore

/// How one frame's conversion is split between the two compute passes.
///
/// The native pass (`Shaders/yuv420_native.comp`) converts 4:2:0 (8- and 10-bit, planar
/// and semi-planar) and planar 4:2:2 at native scale
/// in whole blocks of `nativeBlock` pixels, with no bounds checks: it takes every
/// block that lies inside the picture. The
/// general pass (`Shaders/yuv_general.comp`) converts the rest: the strip on the right
/// and the rows below, or the whole picture when the native pass does not apply.
/// Every destination pixel is converted exactly once.
///
/// Thread-safety: Safe (a value type).
package struct DispatchPlan: Equatable {
    /// Pixels per native-pass invocation, and invocations per workgroup.
    package static let nativeBlock = (width: 32, height: 4)
    package static let nativeGroupSize = 64
    /// Pixels per general-pass invocation, and invocations per workgroup (x, y).
    package static let generalBlock = (width: 8, height: 2)
    package static let generalGroup = (width: 8, height: 8)

    /// A rectangle of destination pixels, relative to the picture's top-left corner:
    /// x0 ..< x1, y0 ..< y1.
    package struct Region: Equatable {
        package var x0: Int
        package var y0: Int
        package var x1: Int
        package var y1: Int

        package init(x0: Int, y0: Int, x1: Int, y1: Int) {
            self.x0 = x0
            self.y0 = y0
            self.x1 = x1
            self.y1 = y1
        }
    }

    /// A grid of native-pass blocks from the picture's top-left corner.
    package struct Blocks: Equatable {
        package var columns: Int
        package var rows: Int

        package init(columns: Int, rows: Int) {
            self.columns = columns
            self.rows = rows
        }
    }

    /// The native pass's blocks (nil: no native pass).
    package var nativeBlocks: Blocks?
    /// The general pass's regions, each its own dispatch.
    package var general: [Region]

    /// Plans `frame`'s conversion into `destination` (picture rectangle in an output
    /// `outputWidth` pixels wide). `nativeAvailable` is false where the device lacks
    /// the native pass, or a test wants the general pass everywhere.
    package init(
        frame: VideoFrameDescriptor, destination: (x: Int, y: Int, width: Int, height: Int), outputWidth: Int,
        nativeAvailable: Bool
    ) {
        let whole = Region(x0: 0, y0: 0, x1: destination.width, y1: destination.height)
        guard nativeAvailable, Self.suitsNativePass(frame, destination: destination, outputWidth: outputWidth) else {
            nativeBlocks = nil
            general = [whole]
            return
        }
        let columns = frame.width / Self.nativeBlock.width
        let rows = frame.height / Self.nativeBlock.height
        guard columns > 0, rows > 0 else {
            nativeBlocks = nil
            general = [whole]
            return
        }
        nativeBlocks = Blocks(columns: columns, rows: rows)
        let nativeWidth = columns * Self.nativeBlock.width
        let nativeHeight = rows * Self.nativeBlock.height
        general = []
        if nativeWidth < frame.width {
            general.append(Region(x0: nativeWidth, y0: 0, x1: frame.width, y1: nativeHeight))
        }
        if nativeHeight < frame.height {
            general.append(Region(x0: 0, y0: nativeHeight, x1: frame.width, y1: frame.height))
        }
    }

    /// The general pass alone over the whole output, bars included: the region in
    /// picture coordinates starts before the picture where bars are.
    package init(wholeOutput size: PixelSize, destination: (x: Int, y: Int, width: Int, height: Int)) {
        nativeBlocks = nil
        general = [
            Region(
                x0: -destination.x, y0: -destination.y, x1: size.width - destination.x,
                y1: size.height - destination.y)
        ]
    }

    /// 4:2:0 (8- or 10-bit, planar or semi-planar) or planar 4:2:2 drawn at its own size, planes on 16-byte boundaries with a
    /// plane before each chroma plane (the pass reads 16 bytes before a row's start),
    /// and output rows that start on 8-pixel boundaries (it writes 8 pixels at a time).
    package static func suitsNativePass(
        _ frame: VideoFrameDescriptor, destination: (x: Int, y: Int, width: Int, height: Int), outputWidth: Int
    ) -> Bool {
        let planeCount = [
            PixelFormat.yuv420p: 3, .nv12: 2, .yuv420p10: 3, .p010: 2, .yuv422p: 3, .yuv422p10: 3,
        ][frame.format]
        guard let planeCount, frame.planes.count == planeCount,
            destination.width == frame.width, destination.height == frame.height,
            outputWidth % 8 == 0, destination.x % 8 == 0
        else { return false }
        let planesAligned = frame.planes.allSatisfy { $0.offset % 16 == 0 && $0.stride % 16 == 0 }
        return planesAligned && frame.planes.dropFirst().allSatisfy { $0.offset >= 16 }
    }

    /// Workgroups for the native pass over `blocks` (one invocation each).
    package static func nativeGroups(_ blocks: Blocks) -> Int {
        (blocks.columns * blocks.rows + nativeGroupSize - 1) / nativeGroupSize
    }

    /// Workgroups (x, y) for the general pass over `region`.
    package static func generalGroups(_ region: Region) -> (x: Int, y: Int) {
        let groupWidth = generalBlock.width * generalGroup.width
        let groupHeight = generalBlock.height * generalGroup.height
        return (
            (region.x1 - region.x0 + groupWidth - 1) / groupWidth,
            (region.y1 - region.y0 + groupHeight - 1) / groupHeight
        )
    }
}
