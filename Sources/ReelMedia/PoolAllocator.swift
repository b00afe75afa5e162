internal import CFFmpeg
import ReelCore
import ReelFramePool

/// Gives libavcodec its picture buffers from frame-pool slots (its `get_buffer2`),
/// so decoded pictures are written where the renderer reads them.
///
/// Each buffer holds one reference to its slot, dropped when libavcodec frees the
/// buffer (it may keep it as a reference picture long after output). When no slot
/// is free, or a picture does not fit the pool's layout (a live stream's first
/// picture, before its size is known), the picture gets a buffer of its own, laid out
/// as a slot of its size would be: decoding never waits on the pool, and every picture
/// of a size has the same strides wherever it lies. That matters: H.264 predicts from
/// reference pictures with the current picture's strides, and libavcodec's default
/// allocator pads rows differently (384 bytes for 320 pixels where a slot has 320),
/// which garbled every picture after a live stream's first keyframe until the next.
/// Thread-safety: Safe; libavcodec's frame threads call it concurrently.
final class PoolAllocator: @unchecked Sendable {
    let pool: FramePool
    /// The pixel format the pool's layout was made for (either yuv420p or yuvj420p).
    private let format: AVPixelFormat
    /// Slots left free for the receiver. Reference pictures can then hold at most
    /// `slotCount − reserve` slots, so a receiver holding fewer than `reserve` always
    /// finds one for a copied picture: the pool cannot deadlock.
    private let reserve: Int

    init(pool: FramePool, format: AVPixelFormat, reserve: Int) {
        self.pool = pool
        self.format = format
        self.reserve = reserve
    }

    /// Points `context`'s `get_buffer2` at this allocator. The decoder keeps the
    /// allocator it installed alive for as long as the context lives, and every buffer
    /// it made keeps it alive until libavcodec frees that buffer.
    func install(on context: UnsafeMutablePointer<AVCodecContext>) {
        context.pointee.opaque = Unmanaged.passUnretained(self).toOpaque()
        context.pointee.get_buffer2 = { context, frame, flags in
            guard let context, let frame, let opaque = context.pointee.opaque else { return reel_AVERROR_ENOMEM }
            let allocator = Unmanaged<PoolAllocator>.fromOpaque(opaque).takeUnretainedValue()
            if allocator.allocate(frame) || allocator.allocateAside(frame, for: context) { return 0 }
            return avcodec_default_get_buffer2(context, frame, flags)
        }
    }

    /// The slot `frame`'s pictures lie in, if this allocator gave it its buffer.
    func slot(of frame: UnsafeMutablePointer<AVFrame>) -> Int? {
        guard let buffer = frame.pointee.buf.0,
            av_buffer_get_opaque(buffer) == Unmanaged.passUnretained(self).toOpaque(),
            let data = buffer.pointee.data
        else { return nil }
        return pool.slot(containing: data)
    }

    /// Fills `frame`'s planes and buffer from a free slot; false when it cannot.
    private func allocate(_ frame: UnsafeMutablePointer<AVFrame>) -> Bool {
        let layout = pool.layout
        // libavcodec asks for the coded size (e.g. 368 rows for 360 in H.264), which
        // the layout was made to hold.
        guard frame.pointee.format == format.rawValue, Int(frame.pointee.width) <= layout.allocatedWidth,
            Int(frame.pointee.height) <= layout.allocatedHeight,
            case .slot(let slot) = pool.acquire(leavingFree: reserve)
        else { return false }
        let bytes = pool.bytes(of: slot)
        let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        // Each buffer keeps its allocator (and so its pool) alive: after a size change
        // the decoder moves on to a new allocator while libavcodec still frees old buffers.
        let retained = Unmanaged.passRetained(self)
        guard
            let buffer = av_buffer_create(
                base, bytes.count,
                { opaque, data in
                    // libavcodec dropped its last reference to the buffer: release the slot.
                    guard let opaque, let data else { return }
                    let allocator = Unmanaged<PoolAllocator>.fromOpaque(opaque)
                    let pool = allocator.takeUnretainedValue().pool
                    if let slot = pool.slot(containing: data) { pool.release(slot) }
                    allocator.release()
                }, retained.toOpaque(), 0)
        else {
            retained.release()
            pool.release(slot)
            return false
        }
        frame.pointee.buf.0 = buffer
        Self.point(frame, at: base, layout: layout)
        return true
    }

    /// Fills `frame`'s planes and buffer from memory of its own, laid out as a slot for
    /// a picture of its size and format would be (`VideoDecoder`'s layout: the size
    /// aligned as `avcodec_align_dimensions2` says); false for a format the pool does
    /// not know.
    private func allocateAside(
        _ frame: UnsafeMutablePointer<AVFrame>, for context: UnsafeMutablePointer<AVCodecContext>
    ) -> Bool {
        guard let known = PixelFormat.from(AVPixelFormat(frame.pointee.format)), frame.pointee.width > 0,
            frame.pointee.height > 0
        else { return false }
        var (width, height) = (frame.pointee.width, frame.pointee.height)
        var strideAlignment = [Int32](repeating: 0, count: Int(reel_AV_NUM_DATA_POINTERS))
        avcodec_align_dimensions2(context, &width, &height, &strideAlignment)
        let layout = SlotLayout(
            format: known.format, width: Int(frame.pointee.width), height: Int(frame.pointee.height),
            allocatedWidth: Int(width), allocatedHeight: Int(height))
        guard let buffer = av_buffer_allocz(layout.slotSize) else { return false }
        frame.pointee.buf.0 = buffer
        Self.point(frame, at: buffer.pointee.data, layout: layout)
        return true
    }

    /// Sets `frame`'s plane pointers and strides to `layout`'s planes at `base`.
    private static func point(
        _ frame: UnsafeMutablePointer<AVFrame>, at base: UnsafeMutablePointer<UInt8>, layout: SlotLayout
    ) {
        withUnsafeMutableBytes(of: &frame.pointee.data) { data in
            withUnsafeMutableBytes(of: &frame.pointee.linesize) { lines in
                for (index, plane) in layout.planes.enumerated() {
                    data.storeBytes(
                        of: base + plane.offset,
                        toByteOffset: index * MemoryLayout<UnsafeMutablePointer<UInt8>?>.stride,
                        as: UnsafeMutablePointer<UInt8>?.self)
                    lines.storeBytes(of: Int32(plane.stride), toByteOffset: index * 4, as: Int32.self)
                }
            }
        }
        // extended_data points at the frame's own data[] array, as libavcodec's allocator sets it.
        let dataOffset = MemoryLayout<AVFrame>.offset(of: \AVFrame.data)!
        frame.pointee.extended_data = (UnsafeMutableRawPointer(frame) + dataOffset)
            .assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self)
    }
}
