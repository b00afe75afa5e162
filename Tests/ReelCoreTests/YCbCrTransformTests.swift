import ReelCore
import Testing

@Suite struct YCbCrTransformTests {
    /// Limited-range reference white, black and the primaries land where BT.601/709 put them.
    @Test(arguments: ColorMatrix.allCases)
    func limitedRangeEndpoints(matrix: ColorMatrix) {
        let transform = YCbCrTransform(matrix: matrix, range: .limited, bitDepth: 8)
        let white = transform.apply(y: 235, cb: 128, cr: 128)
        let black = transform.apply(y: 16, cb: 128, cr: 128)
        for channel in 0..<3 {
            #expect(abs(white[channel] - 1) < 1e-6)
            #expect(abs(black[channel]) < 1e-6)
        }
        // Pure red: Y = 16 + 219·Kr, Cr = 128 + 112 (the top of the chroma range), Cb below centre.
        let kr = matrix.kr
        let kb = matrix.kb
        let y = 16 + 219 * kr
        let cb = 128 + 224 * (-kr / (2 * (1 - kb)))
        let red = transform.apply(y: y, cb: cb, cr: 240)
        #expect(abs(red.x - 1) < 1e-5)
        #expect(abs(red.y) < 1e-5)
        #expect(abs(red.z) < 1e-5)
    }

    @Test func fullRangeMatchesJFIF() {
        // JFIF (BT.601 full range): R = Y + 1.402 (Cr − 128), G = Y − 0.344136 (Cb − 128) − 0.714136 (Cr − 128).
        let transform = YCbCrTransform(matrix: .bt601, range: .full, bitDepth: 8)
        let rgb = transform.apply(y: 100, cb: 90, cr: 200)
        #expect(abs(rgb.x * 255 - (100 + 1.402 * 72)) < 0.01)
        #expect(abs(rgb.y * 255 - (100 - 0.344136 * -38 - 0.714136 * 72)) < 0.01)
        #expect(abs(rgb.z * 255 - (100 + 1.772 * -38)) < 0.01)
    }
}

@Suite struct MediaTimeTests {
    @Test func convertsToMicrosecondsWithRounding() {
        #expect(MediaTime(ticks: 1, timeBase: Rational(1, 90_000)).microseconds == 11)
        #expect(MediaTime(ticks: 3003, timeBase: Rational(1, 90_000)).microseconds == 33_367)
        #expect(MediaTime(ticks: -1, timeBase: Rational(1, 3)).microseconds == -333_333)
        // Large tick counts do not overflow the intermediate product.
        let big = MediaTime(ticks: Int64(1) << 40, timeBase: Rational(1, 90_000))
        #expect(big.microseconds == 12_216_795_864_178)
    }

    @Test func displaySizeFollowsSampleAspect() {
        #expect(PixelSize.display(width: 720, height: 576, sampleAspectRatio: Rational(16, 15)).width == 768)
        #expect(PixelSize.display(width: 640, height: 360, sampleAspectRatio: Rational(0, 1)).width == 640)
        #expect(PixelSize(parsing: "320x240") == PixelSize(width: 320, height: 240))
        #expect(PixelSize(parsing: "320by240") == nil)
        #expect(PixelSize(parsing: "0x240") == nil)
    }
}
