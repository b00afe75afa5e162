import Foundation
import Reel

/// A camera that needs no hardware: diagonal luma bars that move two pixels a frame, a
/// slow colour drift, and the frame number burned into the top-left corner as blocky
/// digits (white on black), drawn straight into a leased NV12 slot.
///
/// Thread-safety: Safe (immutable).
struct SyntheticCamera: Sendable {
    let width: Int
    let height: Int
    /// One period of the bars, repeated: a row is a slice of it.
    private let bars: [UInt8]
    static let period = 256
    /// Digits, their cell size in pixels, and how many are drawn.
    static let digits = 6
    static let cell = 8
    static var counterModulus: Int {
        var modulus = 1
        for _ in 0..<digits { modulus *= 10 }
        return modulus
    }
    /// 3×5 glyphs, a row per 3 bits (most significant bit on the left).
    static let glyphs: [[UInt8]] = [
        [7, 5, 5, 5, 7], [2, 6, 2, 2, 7], [7, 1, 7, 4, 7], [7, 1, 7, 1, 7], [5, 5, 7, 1, 1],
        [7, 4, 7, 1, 7], [7, 4, 7, 5, 7], [7, 1, 1, 1, 1], [7, 5, 7, 5, 7], [7, 5, 7, 1, 7],
    ]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        bars = (0..<(width + Self.period)).map { x in
            // A triangle wave from 16 to 235 (limited range).
            let phase = x % Self.period
            let up = phase < Self.period / 2 ? phase : Self.period - phase
            return UInt8(16 + up * 219 / (Self.period / 2))
        }
    }

    func draw(into lease: inout FrameLease, frame: Int) {
        let (lumaStride, lumaRows) = (lease.stride(ofPlane: 0), lease.rows(ofPlane: 0))
        let (width, period) = (width, Self.period)
        bars.withUnsafeBytes { bars in
            lease.withPlane(0) { plane in
                plane.withUnsafeMutableBytes { luma in
                    for y in 0..<lumaRows {
                        let shift = (y + 2 * frame) % period
                        (luma.baseAddress! + y * lumaStride).copyMemory(
                            from: bars.baseAddress! + shift, byteCount: width)
                    }
                    drawCounter(frame % Self.counterModulus, into: luma, stride: lumaStride)
                }
            }
        }
        // Chroma: a colour that drifts around the hue circle over ten seconds.
        let angle = Double(frame) / 600 * 2 * Double.pi
        let cb = UInt8(128 + 60 * cos(angle))
        let cr = UInt8(128 + 60 * cos(angle - Double.pi / 2))
        let (chromaStride, chromaRows, chromaBytes) = (
            lease.stride(ofPlane: 1), lease.rows(ofPlane: 1), lease.rowBytes(ofPlane: 1)
        )
        lease.withPlane(1) { plane in
            plane.withUnsafeMutableBytes { pairs in
                let first = pairs.baseAddress!
                for x in stride(from: 0, to: chromaBytes, by: 2) {
                    first.storeBytes(of: cb, toByteOffset: x, as: UInt8.self)
                    first.storeBytes(of: cr, toByteOffset: x + 1, as: UInt8.self)
                }
                for y in 1..<chromaRows {
                    (first + y * chromaStride).copyMemory(from: first, byteCount: chromaBytes)
                }
            }
        }
    }

    /// The counter: `digits` glyphs of 3×5 cells, each cell `cell` pixels, on a black
    /// box with a one-cell margin.
    private func drawCounter(_ number: Int, into luma: UnsafeMutableRawBufferPointer, stride: Int) {
        let (cell, digits) = (Self.cell, Self.digits)
        let boxWidth = (digits * 4 + 1) * cell
        let boxHeight = 7 * cell
        guard boxWidth <= width, boxHeight <= height else { return }
        for y in 0..<boxHeight {
            let row = luma.baseAddress! + y * stride
            row.initializeMemory(as: UInt8.self, repeating: 16, count: boxWidth)
        }
        var value = number
        for position in (0..<digits).reversed() {
            let glyph = Self.glyphs[value % 10]
            value /= 10
            let left = (1 + position * 4) * cell
            for (glyphRow, bits) in glyph.enumerated() {
                for column in 0..<3 where bits & (4 >> UInt8(column)) != 0 {
                    for y in 0..<cell {
                        let start = luma.baseAddress! + ((1 + glyphRow) * cell + y) * stride + left + column * cell
                        start.initializeMemory(as: UInt8.self, repeating: 235, count: cell)
                    }
                }
            }
        }
    }

    /// The counter read back from a rendered RGBA frame (nil when no glyph matches):
    /// the centre of each cell, bright or dark.
    static func readCounter(_ pixels: RawSpan, rowBytes: Int) -> Int? {
        var number = 0
        for position in 0..<digits {
            let left = (1 + position * 4) * cell
            var glyph: [UInt8] = []
            for glyphRow in 0..<5 {
                var bits: UInt8 = 0
                for column in 0..<3 {
                    let x = left + column * cell + cell / 2
                    let y = (1 + glyphRow) * cell + cell / 2
                    let green = pixels.unsafeLoad(fromByteOffset: y * rowBytes + x * 4 + 1, as: UInt8.self)
                    if green > 128 { bits |= 4 >> UInt8(column) }
                }
                glyph.append(bits)
            }
            guard let digit = glyphs.firstIndex(of: glyph) else { return nil }
            number = number * 10 + digit
        }
        return number
    }
}
