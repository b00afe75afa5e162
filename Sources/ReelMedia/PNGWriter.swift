internal import CFFmpeg
import Glibc
import ReelCore

/// Encodes RGBA pictures as PNG files with libavcodec's PNG encoder.
///
/// Thread-safety: Unsafe; use from one thread at a time.
package final class PNGWriter {
    private var context: UnsafeMutablePointer<AVCodecContext>?
    private var size: PixelSize?
    private let frame: UnsafeMutablePointer<AVFrame>
    private let packet: UnsafeMutablePointer<AVPacket>
    /// A 16-bit picture's samples, swapped to PNG's big-endian order.
    private var swapped: [UInt8] = []

    package init() throws(MediaError) {
        guard let frame = av_frame_alloc(), let packet = av_packet_alloc() else {
            throw MediaError(.codec, "out of memory creating the PNG encoder")
        }
        self.frame = frame
        self.packet = packet
    }

    deinit {
        avcodec_free_context(&context)
        var frame: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&frame)
        var packet: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&packet)
    }

    /// Writes `pixels` (RGBA16 native-endian, `rowBytes` apart) as a 16-bit PNG at `path`.
    package func write(
        rgba16 pixels: UnsafeRawBufferPointer, size: PixelSize, rowBytes: Int, to path: String
    ) throws(MediaError) {
        precondition(pixels.count >= rowBytes * (size.height - 1) + size.width * 8, "too few pixels for the size")
        // PNG's samples are big-endian.
        let packedRow = size.width * 8
        // Reused from picture to picture: no allocation per frame at a steady size.
        if swapped.count != packedRow * size.height { swapped = [UInt8](repeating: 0, count: packedRow * size.height) }
        for row in 0..<size.height {
            for index in stride(from: 0, to: packedRow, by: 2) {
                swapped[row * packedRow + index] = pixels[row * rowBytes + index + 1]
                swapped[row * packedRow + index + 1] = pixels[row * rowBytes + index]
            }
        }
        var failure: MediaError?
        swapped.withUnsafeBytes { bytes in
            do throws(MediaError) {
                try write(bytes, format: AV_PIX_FMT_RGBA64BE, size: size, rowBytes: packedRow, to: path)
            } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes `pixels` (RGBA8, `rowBytes` apart) as a PNG file at `path`.
    package func write(
        rgba pixels: UnsafeRawBufferPointer, size: PixelSize, rowBytes: Int, to path: String
    ) throws(MediaError) {
        precondition(pixels.count >= rowBytes * (size.height - 1) + size.width * 4, "too few pixels for the size")
        try write(pixels, format: AV_PIX_FMT_RGBA, size: size, rowBytes: rowBytes, to: path)
    }

    private func write(
        _ pixels: UnsafeRawBufferPointer, format: AVPixelFormat, size: PixelSize, rowBytes: Int, to path: String
    ) throws(MediaError) {
        let context = try encoder(for: size, format: format)
        frame.pointee.format = format.rawValue
        frame.pointee.width = Int32(size.width)
        frame.pointee.height = Int32(size.height)
        frame.pointee.data.0 = UnsafeMutablePointer(mutating: pixels.baseAddress!.assumingMemoryBound(to: UInt8.self))
        frame.pointee.linesize.0 = Int32(rowBytes)
        defer { frame.pointee.data.0 = nil }
        try FFmpegCall.check(
            avcodec_send_frame(context, frame), "avcodec_send_frame", .codec, "encoding \(path) failed")
        try FFmpegCall.check(
            avcodec_receive_packet(context, packet), "avcodec_receive_packet", .codec, "encoding \(path) failed")
        defer { av_packet_unref(packet) }
        try Self.writeFile(path, UnsafeRawBufferPointer(start: packet.pointee.data, count: Int(packet.pointee.size)))
    }

    private func encoder(
        for size: PixelSize, format: AVPixelFormat
    ) throws(MediaError) -> UnsafeMutablePointer<AVCodecContext> {
        if let context, self.size == size, context.pointee.pix_fmt == format { return context }
        avcodec_free_context(&context)
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_PNG), let created = avcodec_alloc_context3(codec) else {
            throw MediaError(.codec, "this FFmpeg has no PNG encoder")
        }
        context = created
        created.pointee.width = Int32(size.width)
        created.pointee.height = Int32(size.height)
        created.pointee.pix_fmt = format
        created.pointee.time_base = AVRational(num: 1, den: 25)
        try FFmpegCall.check(avcodec_open2(created, codec, nil), "avcodec_open2", .codec, "cannot open the PNG encoder")
        self.size = size
        return created
    }

    /// Writes all of `bytes` to `path`, replacing it; fails with `MediaError.output`.
    /// The bytes go to a hidden temporary name next to it first and are renamed to
    /// `path` once all are written: a file that could not be finished (a full disk) is
    /// removed, never left under the name of a complete one.
    static func writeFile(_ path: String, _ bytes: UnsafeRawBufferPointer) throws(MediaError) {
        let temporary = partialFileName(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw MediaError(.output, "cannot write '\(path)': \(String(cString: strerror(errno)))") }
        var failure: Int32?
        var written = 0
        while written < bytes.count {
            let result = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                failure = result < 0 ? errno : ENOSPC
                break
            }
            written += result
        }
        // A failed close loses data too (NFS, a full quota).
        if close(fd) != 0 && failure == nil { failure = errno }
        if failure == nil && temporary != path && rename(temporary, path) != 0 { failure = errno }
        if let failure {
            if temporary != path { unlink(temporary) }
            throw MediaError(.output, "cannot write '\(path)': \(String(cString: strerror(failure)))")
        }
    }
}
