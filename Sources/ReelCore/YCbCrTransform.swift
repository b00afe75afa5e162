/// An affine map from YCbCr code values to normalised R′G′B′ (0…1), computed on
/// the CPU and handed to the shader as three rows: `R = r.x·Y + r.y·Cb + r.z·Cr + r.w`.
///
/// Derived from the luma weights as in BT.709-6 Table 3 / BT.601-7 §2.5, with
/// quantisation per range: limited luma spans 219·2^(n−8) codes from 16·2^(n−8),
/// limited chroma 224·2^(n−8) around 128·2^(n−8); full range spans 2^n − 1.
/// Thread-safety: Safe (a value type).
package struct YCbCrTransform: Hashable, Sendable {
    /// Rows for R, G and B: coefficients of Y, Cb, Cr and a constant term.
    package var red: SIMD4<Float>
    package var green: SIMD4<Float>
    package var blue: SIMD4<Float>

    package init(matrix: ColorMatrix, range: ColorRange, bitDepth: Int) {
        let kr = matrix.kr
        let kb = matrix.kb
        let kg = 1 - kr - kb
        let scale = Double(1 << (bitDepth - 8))
        let maxCode = Double((1 << bitDepth) - 1)
        let lumaScale: Double
        let lumaOffset: Double
        let chromaScale: Double
        switch range {
        case .limited:
            lumaScale = 1 / (219 * scale)
            lumaOffset = 16 * scale
            chromaScale = 1 / (224 * scale)
        case .full:
            lumaScale = 1 / maxCode
            lumaOffset = 0
            chromaScale = 1 / maxCode
        }
        let chromaOffset = 128 * scale

        // R′ = Y′ + 2(1−Kr)·Pr;  B′ = Y′ + 2(1−Kb)·Pb;  G′ = (Y′ − Kr·R′ − Kb·B′)/Kg.
        let crToR = 2 * (1 - kr)
        let cbToB = 2 * (1 - kb)
        let cbToG = -cbToB * kb / kg
        let crToG = -crToR * kr / kg
        func row(_ cb: Double, _ cr: Double) -> SIMD4<Float> {
            let y = lumaScale
            let u = cb * chromaScale
            let v = cr * chromaScale
            let constant = -(y * lumaOffset) - (u + v) * chromaOffset
            return SIMD4(Float(y), Float(u), Float(v), Float(constant))
        }
        red = row(0, crToR)
        green = row(cbToG, crToG)
        blue = row(cbToB, 0)
    }

    /// The same transform for a picture with no chroma: Cb and Cr are taken as the
    /// neutral mid-code and folded into the constant terms, so chroma may read as 0.
    package func foldingNeutralChroma(bitDepth: Int) -> YCbCrTransform {
        let mid = Float(128 << (bitDepth - 8))
        func fold(_ row: SIMD4<Float>) -> SIMD4<Float> { SIMD4(row.x, 0, 0, row.w + (row.y + row.z) * mid) }
        var folded = self
        folded.red = fold(red)
        folded.green = fold(green)
        folded.blue = fold(blue)
        return folded
    }

    /// Applies the transform to one sample, for tests and CPU reference checks.
    package func apply(y: Double, cb: Double, cr: Double) -> SIMD3<Double> {
        func evaluate(_ row: SIMD4<Float>) -> Double {
            Double(row.x) * y + Double(row.y) * cb + Double(row.z) * cr + Double(row.w)
        }
        return SIMD3(evaluate(red), evaluate(green), evaluate(blue))
    }
}
