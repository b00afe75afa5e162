internal import CFFmpeg
import ReelCore

/// Converts a pool frame to RGBA8 on the CPU with libswscale, configured like
/// Reel's shader: the frame's matrix and range, its chroma siting, bilinear
/// chroma upsampling, accurate rounding, no dither.
///
/// This is the reference the GPU path is measured against. It runs in two
/// libswscale steps because libswscale's direct 4:2:0 → RGB path does not
/// interpolate chroma vertically when luma is not scaled (it takes the nearer
/// chroma row, or the mean of two): first chroma is upsampled bilinearly to
/// 4:4:4 at 16 bits, then the matrix is applied with no resampling left to do.
///
/// A subsampled picture of odd width or height is upsampled as if one luma column or
/// row larger (the chroma plane is the same), then cropped: libswscale would otherwise
/// stretch 159 chroma samples over 317 luma ones instead of putting sample i at luma 2i.
/// Thread-safety: Safe (each call uses its own scalers).
package enum ReferenceConverter {
    /// RGBA8, rows packed.
    package static func rgba(
        of descriptor: VideoFrameDescriptor, bytes: UnsafeRawBufferPointer
    ) throws(MediaError) -> RGBAImage {
        let pixels = try convert(descriptor, bytes: bytes, to: AV_PIX_FMT_RGBA, bytesPerPixel: 4)
        return RGBAImage(size: PixelSize(width: descriptor.width, height: descriptor.height), pixels: pixels)
    }

    /// RGBA with 16 bits a channel (native-endian), rows packed: R, G, B, A per pixel.
    package static func rgba16(
        of descriptor: VideoFrameDescriptor, bytes: UnsafeRawBufferPointer
    ) throws(MediaError) -> [UInt16] {
        let pixels = try convert(descriptor, bytes: bytes, to: AV_PIX_FMT_RGBA64LE, bytesPerPixel: 8)
        return pixels.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
    }

    private static func convert(
        _ descriptor: VideoFrameDescriptor, bytes: UnsafeRawBufferPointer, to output: AVPixelFormat,
        bytesPerPixel: Int
    ) throws(MediaError) -> [UInt8] {
        let width = descriptor.width
        let height = descriptor.height
        let chroma = descriptor.color.chromaLocation.offset
        let shift = descriptor.format.chromaShift
        let paddedWidth = ((width + (1 << shift.x) - 1) >> shift.x) << shift.x
        let paddedHeight = ((height + (1 << shift.y) - 1) >> shift.y) << shift.y
        let upsampler = try scaler(
            width: paddedWidth, height: paddedHeight, from: descriptor.format.avFormat, to: AV_PIX_FMT_YUV444P16LE,
            // Chroma sample position in 1/256 of a luma sample (libswscale's unit), in
            // the directions that are subsampled.
            chromaPosition: (
                descriptor.format.chromaShift.x > 0 ? Int64(chroma.x * 256) : 0,
                descriptor.format.chromaShift.y > 0 ? Int64(chroma.y * 256) : 0
            ))
        defer { sws_freeContext(upsampler) }
        // Step 1 must leave code values alone; libswscale would otherwise take gray
        // input as full range and expand it. Same range in and out: no conversion.
        try FFmpegCall.check(
            sws_setColorspaceDetails(
                upsampler, sws_getCoefficients(SWS_CS_DEFAULT), 0, sws_getCoefficients(SWS_CS_DEFAULT), 0, 0, 1 << 16,
                1 << 16), "sws_setColorspaceDetails", .codec, "cannot configure the reference upsampler")
        let converter = try scaler(
            width: width, height: height, from: AV_PIX_FMT_YUV444P16LE, to: output, chromaPosition: nil)
        defer { sws_freeContext(converter) }
        let matrix =
            switch descriptor.color.matrix {
            case .bt601: SWS_CS_ITU601
            case .bt709: SWS_CS_ITU709
            case .bt2020: SWS_CS_BT2020
            }
        let fullRange: Int32 = descriptor.color.range == .full ? 1 : 0
        try FFmpegCall.check(
            sws_setColorspaceDetails(
                converter, sws_getCoefficients(matrix), fullRange, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16,
                1 << 16), "sws_setColorspaceDetails", .codec, "cannot set the reference scaler's colour matrix")

        // Step 1: 4:2:0 → 4:4:4 (16-bit), code values unchanged. The padding column and
        // row read luma bytes past the picture (row padding, or the next plane), which
        // land only in the padding.
        let planeSamples = paddedWidth * paddedHeight
        var upsampled = [UInt16](repeating: 0, count: planeSamples * 3)
        upsampled.withUnsafeMutableBytes { yuv444 in
            let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let planes = descriptor.planes
            var sources: [UnsafePointer<UInt8>?] = (0..<4).map { $0 < planes.count ? base + planes[$0].offset : nil }
            var sourceStrides: [Int32] = (0..<4).map { $0 < planes.count ? Int32(planes[$0].stride) : 0 }
            let out = yuv444.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var destinations: [UnsafeMutablePointer<UInt8>?] = (0..<3).map { out + $0 * planeSamples * 2 } + [nil]
            var destinationStrides: [Int32] = [
                Int32(paddedWidth * 2), Int32(paddedWidth * 2), Int32(paddedWidth * 2), 0,
            ]
            _ = sws_scale(
                upsampler, &sources, &sourceStrides, 0, Int32(paddedHeight), &destinations, &destinationStrides)
        }
        // Step 2: 4:4:4 → RGBA with the frame's matrix and range, the picture only.
        var pixels = [UInt8](repeating: 0, count: width * height * bytesPerPixel)
        upsampled.withUnsafeBytes { yuv444 in
            pixels.withUnsafeMutableBufferPointer { rgba in
                let base = yuv444.baseAddress!.assumingMemoryBound(to: UInt8.self)
                var sources: [UnsafePointer<UInt8>?] = (0..<3).map { base + $0 * planeSamples * 2 } + [nil]
                var sourceStrides: [Int32] = [
                    Int32(paddedWidth * 2), Int32(paddedWidth * 2), Int32(paddedWidth * 2), 0,
                ]
                var destinations: [UnsafeMutablePointer<UInt8>?] = [rgba.baseAddress, nil, nil, nil]
                var destinationStrides: [Int32] = [Int32(width * bytesPerPixel), 0, 0, 0]
                _ = sws_scale(converter, &sources, &sourceStrides, 0, Int32(height), &destinations, &destinationStrides)
            }
        }
        return pixels
    }

    /// A same-size libswscale context with bilinear filtering and accurate rounding.
    private static func scaler(
        width: Int, height: Int, from source: AVPixelFormat, to destination: AVPixelFormat,
        chromaPosition: (x: Int64, y: Int64)?
    ) throws(MediaError) -> OpaquePointer {
        guard let scaler = sws_alloc_context() else { throw MediaError(.codec, "out of memory creating a scaler") }
        var options: [(String, Int64)] = [
            ("srcw", Int64(width)), ("srch", Int64(height)), ("src_format", Int64(source.rawValue)),
            ("dstw", Int64(width)), ("dsth", Int64(height)), ("dst_format", Int64(destination.rawValue)),
            ("sws_flags", Int64(SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT)),
        ]
        if let chromaPosition {
            options += [("src_h_chr_pos", chromaPosition.x), ("src_v_chr_pos", chromaPosition.y)]
        }
        var result = av_opt_set(UnsafeMutableRawPointer(scaler), "sws_dither", "none", 0)
        for (name, value) in options where result >= 0 {
            result = av_opt_set_int(UnsafeMutableRawPointer(scaler), name, value, 0)
        }
        if result >= 0 { result = sws_init_context(scaler, nil, nil) }
        guard result >= 0 else {
            sws_freeContext(scaler)
            throw MediaError(.codec, "cannot set up the reference scaler", call: "sws_init_context", code: result)
        }
        return scaler
    }
}
