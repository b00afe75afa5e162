internal import CFFmpeg
import ReelCore

/// An RGBA8 picture in memory, rows packed (`width × 4` bytes apart).
package struct RGBAImage: Sendable, Equatable {
    package var size: PixelSize
    package var pixels: [UInt8]

    package init(size: PixelSize, pixels: [UInt8]) {
        precondition(pixels.count == size.width * size.height * 4, "pixel count does not match the size")
        self.size = size
        self.pixels = pixels
    }

    /// The pixel at column `x`, row `y`.
    package subscript(x: Int, y: Int) -> SIMD4<UInt8> {
        let index = (y * size.width + x) * 4
        return SIMD4(pixels[index], pixels[index + 1], pixels[index + 2], pixels[index + 3])
    }
}

/// Reads still images (PNG and anything else FFmpeg decodes) as RGBA8.
package enum ImageReader {
    /// Decodes the first picture of `path` and converts it to RGBA8 with libswscale.
    package static func readRGBA(_ path: String) throws(MediaError) -> RGBAImage {
        let demuxer = try Demuxer(url: path)
        let streamIndex = try demuxer.requireVideoStream()
        let stream = demuxer.stream(streamIndex)
        guard let codec = avcodec_find_decoder(stream.pointee.codecpar.pointee.codec_id) else {
            throw MediaError(.unsupported, "no decoder for '\(path)'")
        }
        var context = avcodec_alloc_context3(codec)
        var frame = av_frame_alloc()
        defer {
            avcodec_free_context(&context)
            av_frame_free(&frame)
        }
        guard let context, let frame else { throw MediaError(.codec, "out of memory reading '\(path)'") }
        try FFmpegCall.check(
            avcodec_parameters_to_context(context, stream.pointee.codecpar), "avcodec_parameters_to_context", .codec,
            "cannot read '\(path)'")
        try FFmpegCall.check(avcodec_open2(context, codec, nil), "avcodec_open2", .codec, "cannot read '\(path)'")
        while true {
            switch demuxer.readPacket() {
            case .packet(let packet):
                guard packet.streamIndex == streamIndex else { continue }
                try FFmpegCall.check(
                    avcodec_send_packet(context, packet.pointer), "avcodec_send_packet", .codec,
                    "cannot decode '\(path)'")
            case .endOfInput(let error):
                if let error { throw error }
                avcodec_send_packet(context, nil)
            }
            let result = avcodec_receive_frame(context, frame)
            if result == FFmpegCall.tryAgain { continue }
            try FFmpegCall.check(result, "avcodec_receive_frame", .codec, "cannot decode '\(path)'")
            return try convert(frame, path: path)
        }
    }

    private static func convert(_ frame: UnsafeMutablePointer<AVFrame>, path: String) throws(MediaError) -> RGBAImage {
        let size = PixelSize(width: Int(frame.pointee.width), height: Int(frame.pointee.height))
        guard
            let scaler = sws_getContext(
                frame.pointee.width, frame.pointee.height, AVPixelFormat(frame.pointee.format),
                frame.pointee.width, frame.pointee.height, AV_PIX_FMT_RGBA, SWS_POINT | SWS_ACCURATE_RND, nil, nil, nil)
        else { throw MediaError(.unsupported, "cannot convert '\(path)' to RGBA") }
        defer { sws_freeContext(scaler) }
        var pixels = [UInt8](repeating: 0, count: size.width * size.height * 4)
        pixels.withUnsafeMutableBufferPointer { buffer in
            var destination: [UnsafeMutablePointer<UInt8>?] = [buffer.baseAddress, nil, nil, nil]
            var destinationStride: [Int32] = [Int32(size.width * 4), 0, 0, 0]
            withUnsafePointer(to: frame.pointee.data) { data in
                withUnsafePointer(to: frame.pointee.linesize) { lines in
                    data.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { sources in
                        lines.withMemoryRebound(to: Int32.self, capacity: 8) { strides in
                            _ = sws_scale(
                                scaler, sources, strides, 0, frame.pointee.height, &destination, &destinationStride)
                        }
                    }
                }
            }
        }
        return RGBAImage(size: size, pixels: pixels)
    }
}
