/// Where one plane of a picture lies inside a frame-pool slot.
package struct PlaneLayout: Hashable, Sendable {
    /// Byte offset of the plane's first row from the start of the slot.
    package var offset: Int
    /// Bytes from one row to the next.
    package var stride: Int
    /// Samples per row and rows in this plane.
    package var width: Int
    package var height: Int

    package init(offset: Int, stride: Int, width: Int, height: Int) {
        self.offset = offset
        self.stride = stride
        self.width = width
        self.height = height
    }
}

/// Everything a renderer needs to know about a decoded picture except its bytes:
/// geometry, plane layout inside its pool slot, colour, and time.
///
/// Thread-safety: Safe (a value type).
package struct VideoFrameDescriptor: Hashable, Sendable {
    package var format: PixelFormat
    /// Coded picture size in luma samples.
    package var width: Int
    package var height: Int
    /// Pixel (sample) aspect ratio; 1/1 for square pixels.
    package var sampleAspectRatio: Rational
    package var planes: [PlaneLayout]
    package var color: ColorDescription
    /// Presentation time in the stream's time base, if the stream gave one.
    package var presentationTime: MediaTime?

    package init(
        format: PixelFormat, width: Int, height: Int, sampleAspectRatio: Rational = Rational(1, 1),
        planes: [PlaneLayout], color: ColorDescription, presentationTime: MediaTime?
    ) {
        self.format = format
        self.width = width
        self.height = height
        self.sampleAspectRatio = sampleAspectRatio
        self.planes = planes
        self.color = color
        self.presentationTime = presentationTime
    }

    /// The size at which the picture is meant to be shown: the coded width
    /// stretched by the sample aspect ratio, rounded to an even number.
    package var displaySize: PixelSize {
        PixelSize.display(width: width, height: height, sampleAspectRatio: sampleAspectRatio)
    }
}

/// A size in pixels.
public struct PixelSize: Hashable, Sendable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// Parses `WxH`, e.g. `640x360`; nil when malformed or not positive.
    public init?(parsing text: String) {
        let parts = text.lowercased().split(separator: "x")
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0 else { return nil }
        self.init(width: w, height: h)
    }

    /// The display size of a `width`×`height` picture with the given sample aspect ratio.
    public static func display(width: Int, height: Int, sampleAspectRatio: Rational) -> PixelSize {
        guard sampleAspectRatio.isValid, sampleAspectRatio.numerator != sampleAspectRatio.denominator else {
            return PixelSize(width: width, height: height)
        }
        let stretched =
            (Int64(width) * sampleAspectRatio.numerator + sampleAspectRatio.denominator / 2)
            / sampleAspectRatio.denominator
        return PixelSize(width: max(2, Int(stretched + 1) & ~1), height: height)
    }

    public var description: String { "\(width)x\(height)" }
}
