internal import CFFmpeg

/// Where a live input's datagrams come from (the RTP receiver): one per `next`, which
/// blocks until there is one and returns nil at the end; `send` takes the RTCP packets
/// libavformat writes back (receiver reports).
///
/// Thread-safety: Called on the demux thread only.
package protocol DatagramInput: AnyObject {
    func next(into buffer: UnsafeMutableRawBufferPointer) -> Int?
    func send(_ bytes: UnsafeRawBufferPointer)
}

/// The `AVIOContext`s of a live input: the SDP text read once at open, then a
/// read+write context over a `DatagramInput`, one datagram per read.
///
/// Thread-safety: Confined to the demuxer's thread.
final class LiveIO {
    let context: UnsafeMutablePointer<AVIOContext>
    private let opaque: Unmanaged<Box>

    private final class Box {
        let input: DatagramInput
        init(_ input: DatagramInput) { self.input = input }
    }

    private static let bufferSize: Int32 = 65536

    init(_ input: DatagramInput) {
        opaque = Unmanaged.passRetained(Box(input))
        let buffer = av_malloc(Int(Self.bufferSize))!.assumingMemoryBound(to: UInt8.self)
        context = avio_alloc_context(
            buffer, Self.bufferSize, 1, opaque.toOpaque(),
            { opaque, buffer, size in
                let box = Unmanaged<Box>.fromOpaque(opaque!).takeUnretainedValue()
                guard let count = box.input.next(into: UnsafeMutableRawBufferPointer(start: buffer, count: Int(size)))
                else { return FFmpegCall.endOfFile }
                return Int32(count)
            },
            { opaque, buffer, size in
                let box = Unmanaged<Box>.fromOpaque(opaque!).takeUnretainedValue()
                box.input.send(UnsafeRawBufferPointer(start: buffer, count: Int(size)))
                return size
            }, nil)!
        // Each RTCP packet written goes out on its own.
        context.pointee.max_packet_size = Self.bufferSize
    }

    func close() {
        LiveIO.free(context)
        opaque.release()
    }

    /// A read-only context over `text`, for the SDP at open.
    static func textReader(_ text: String) -> UnsafeMutablePointer<AVIOContext> {
        let bytes = Array(text.utf8)
        let box = Unmanaged.passRetained(TextBox(bytes))
        let size: Int32 = 4096
        let buffer = av_malloc(Int(size))!.assumingMemoryBound(to: UInt8.self)
        return avio_alloc_context(
            buffer, size, 0, box.toOpaque(),
            { opaque, buffer, size in
                let box = Unmanaged<TextBox>.fromOpaque(opaque!).takeUnretainedValue()
                let count = min(Int(size), box.bytes.count - box.offset)
                guard count > 0 else { return FFmpegCall.endOfFile }
                box.bytes.withUnsafeBufferPointer { buffer!.update(from: $0.baseAddress! + box.offset, count: count) }
                box.offset += count
                return Int32(count)
            }, nil, nil)!
    }

    private final class TextBox {
        let bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    /// Frees a context made here, its buffer, and (for the text reader) its text.
    static func free(_ context: UnsafeMutablePointer<AVIOContext>) {
        if context.pointee.write_flag == 0, let opaque = context.pointee.opaque {
            Unmanaged<TextBox>.fromOpaque(opaque).release()
        }
        var buffer: UnsafeMutableRawPointer? = UnsafeMutableRawPointer(context.pointee.buffer)
        av_freep(&buffer)
        var owned: UnsafeMutablePointer<AVIOContext>? = context
        avio_context_free(&owned)
    }
}
