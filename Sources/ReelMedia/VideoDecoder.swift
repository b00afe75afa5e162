internal import CFFmpeg
import ReelCore
import ReelFramePool

/// A decoded picture, stored in a frame-pool slot that the receiver now holds.
package struct DecodedFrame: Sendable {
    /// The pool the picture is in: the decoder's pool when it was decoded (a new one
    /// after a change of picture size).
    package var pool: FramePool
    /// The pool slot holding the planes.
    package var slot: Int
    package var descriptor: VideoFrameDescriptor

    /// Gives the slot back to its pool; the picture's bytes must not be touched after.
    package init(pool: FramePool, slot: Int, descriptor: VideoFrameDescriptor) {
        self.pool = pool
        self.slot = slot
        self.descriptor = descriptor
    }

    package func release() { pool.release(slot) }
}

/// What the decoder has for the caller: flow control, not errors.
package enum DecodeStep: Sendable {
    /// A picture, written into a pool slot.
    case frame(DecodedFrame)
    /// The decoder needs another packet (or the end-of-input signal) first.
    case needsInput
    /// A picture is ready but the pool has no free slot; call again after releasing one.
    case waitingForSlot
    /// Everything has been decoded.
    case endOfStream
}

/// What becomes of a picture decoded from a damaged stream (packets of it, or of a
/// picture it refers to, were lost).
package enum DamagedPictures: String, Sendable, CaseIterable {
    /// Shown as libavcodec conceals the missing parts (from the picture before).
    case concealed = "conceal"
    /// Not shown: the picture before stays on screen until the next keyframe.
    case frozen = "freeze"
}

/// Pictures decoded from a damaged stream, by what became of them.
package struct DamageCounts: Sendable, Equatable, Codable {
    /// Shown with the missing parts concealed.
    package var concealed = 0
    /// Not shown: damaged, or after a damaged one before the next keyframe.
    package var frozen = 0
    /// Not shown: before the stream's first keyframe (joined mid-GOP).
    package var beforeKeyframe = 0

    package init() {}
}

/// How a decoder is set up.
package struct DecoderParameters: Sendable {
    /// libavcodec threads; 0 lets it choose (one per core, plus one).
    package var threadCount: Int
    /// Slots the consumer may hold at once; the decoder keeps that many free for it.
    package var consumerSlots: Int
    /// Pool size, overriding the computed one (tests use tiny pools).
    package var poolSlots: Int?
    /// Let libavcodec write pictures straight into pool slots (`get_buffer2`).
    package var decodesIntoPool: Bool

    /// What becomes of damaged pictures.
    package var damaged: DamagedPictures
    /// Whether pictures before the first keyframe are kept back (a live stream joined
    /// between keyframes: they refer to pictures never received).
    package var startsAtKeyframe: Bool
    /// A live stream: every picture comes out of libavcodec, flagged when it is not
    /// recovered (before the first keyframe), and `damaged` and `startsAtKeyframe`
    /// decide what is shown.
    package var live: Bool

    package init(
        threadCount: Int = 0, consumerSlots: Int = 4, poolSlots: Int? = nil, decodesIntoPool: Bool = true,
        damaged: DamagedPictures = .concealed, startsAtKeyframe: Bool = false, live: Bool = false
    ) {
        self.live = live
        self.threadCount = threadCount
        self.consumerSlots = consumerSlots
        self.poolSlots = poolSlots
        self.decodesIntoPool = decodesIntoPool
        self.damaged = damaged
        self.startsAtKeyframe = startsAtKeyframe
    }
}

/// Decodes one video stream into the slots of a frame pool it creates (wraps `AVCodecContext`).
///
/// libavcodec allocates its pictures from the pool (`get_buffer2`), so a decoded
/// picture is already in its slot: no copy. A slot then has two holders, the
/// decoder (while the picture is a reference) and the receiver; it is free once
/// both let go. When the pool is exhausted, or a picture does not fit its slots,
/// libavcodec's own allocator is used and the picture is copied into a slot,
/// counted in `copiedBytes`.
/// Thread-safety: Confined to the decoding thread (libavcodec's threads call into the pool, which is Safe).
package final class VideoDecoder {
    private let context: UnsafeMutablePointer<AVCodecContext>
    private let frame: UnsafeMutablePointer<AVFrame>
    private var holdsFrame = false
    private let timeBase: Rational
    private let streamName: String
    private var allocator: PoolAllocator?
    private let parameters: DecoderParameters
    private let codecID: AVCodecID
    /// The stream this decoder reads.
    package let streamIndex: Int
    /// The sample aspect ratio the container states for the stream, if it states one.
    private let containerAspect: Rational?
    /// The slot layout every picture of this stream needs.
    package private(set) var layout: SlotLayout
    /// The pool pictures are delivered in now; it is replaced when the picture size changes.
    package private(set) var pool: FramePool
    private var decodesIntoPool = false
    /// Times the stream changed picture size or format and a new pool was made.
    package private(set) var poolChanges = 0
    /// Pictures delivered straight from libavcodec's writes, and pictures copied.
    package private(set) var framesDecodedInPlace = 0
    package private(set) var framesCopied = 0
    /// Bytes copied by the CPU from libavcodec's buffers into pool slots.
    package private(set) var copiedBytes = 0
    /// When the last picture returned ends: its presentation time plus its duration.
    package private(set) var lastPictureEnd: MediaTime?
    /// Packets or pictures the decoder rejected as invalid, and the first such error.
    package private(set) var rejectedPackets = 0
    private var firstRejection: (call: String, code: Int32, after: MediaTime?)?
    /// Damaged pictures, by what became of them.
    package private(set) var damage = DamageCounts()
    /// The timestamps of packets marked damaged, until their pictures come out.
    private var damagedTimes: Set<Int64> = []
    /// Pictures are kept back until the next keyframe (frozen, or not yet started).
    private var awaitingKeyframe: Bool
    private var seenKeyframe = false

    /// Opens the decoder for `demuxer`'s stream `streamIndex`, with frame threads, and
    /// creates its pool. Throws `MediaError.codec`, `.unsupported` or `.resources`.
    package init(
        demuxer: Demuxer, streamIndex: Int, parameters: DecoderParameters = DecoderParameters()
    ) throws(MediaError) {
        let stream = demuxer.stream(streamIndex)
        let codecParameters = stream.pointee.codecpar!
        let codecName = String(cString: avcodec_get_name(codecParameters.pointee.codec_id))
        guard let codec = avcodec_find_decoder(codecParameters.pointee.codec_id) else {
            throw MediaError(.unsupported, "no decoder for \(codecName) video in '\(demuxer.url)'")
        }
        guard let context = avcodec_alloc_context3(codec), let frame = av_frame_alloc() else {
            throw MediaError(.codec, "out of memory opening the \(codecName) decoder")
        }
        let streamName = "'\(demuxer.url)' (\(codecName))"
        let codecID = codecParameters.pointee.codec_id
        // Configure and size the pool before this object owns the C objects; free them here on failure.
        let prepared: (layout: SlotLayout, pool: FramePool)
        do throws(MediaError) {
            try FFmpegCall.check(
                avcodec_parameters_to_context(context, codecParameters), "avcodec_parameters_to_context", .codec,
                "cannot configure the \(codecName) decoder")
            let known = context.pointee.width > 0 && context.pointee.height > 0
            // A live stream's picture size and format come with its first picture: a
            // small pool stands in until then (replaced as on any change of size).
            guard known || demuxer.isLive else {
                throw MediaError(.unsupported, "\(streamName) has no picture size")
            }
            let format =
                known || context.pointee.pix_fmt != AV_PIX_FMT_NONE
                ? try Self.pixelFormat(context.pointee.pix_fmt, stream: streamName) : .yuv420p
            let layout = Self.layout(
                for: context, width: known ? context.pointee.width : 16, height: known ? context.pointee.height : 16,
                format: format)
            prepared = (layout, try Self.makePool(layout: layout, slots: Self.slotCount(parameters, codecID)))
        } catch {
            var ownedContext: UnsafeMutablePointer<AVCodecContext>? = context
            avcodec_free_context(&ownedContext)
            var ownedFrame: UnsafeMutablePointer<AVFrame>? = frame
            av_frame_free(&ownedFrame)
            throw error
        }
        // Owned from here on: deinit frees them if anything below throws.
        self.context = context
        self.frame = frame
        self.parameters = parameters
        awaitingKeyframe = parameters.startsAtKeyframe
        self.codecID = codecID
        self.streamIndex = streamIndex
        self.streamName = streamName
        timeBase = Rational(stream.pointee.time_base)
        // Stated by the container (Matroska's display size, MP4's pasp): it wins over
        // the bitstream's, as FFmpeg's av_guess_sample_aspect_ratio has it.
        let containerAspect = Rational(av_guess_sample_aspect_ratio(nil, stream, nil))
        self.containerAspect =
            Rational(stream.pointee.sample_aspect_ratio).isValid && containerAspect.isValid ? containerAspect : nil
        layout = prepared.layout
        pool = prepared.pool
        context.pointee.pkt_timebase = stream.pointee.time_base
        context.pointee.thread_count = Int32(parameters.threadCount)
        context.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
        if parameters.live {  // see `DecoderParameters.live`
            context.pointee.flags |= AV_CODEC_FLAG_OUTPUT_CORRUPT
            context.pointee.flags2 |= AV_CODEC_FLAG2_SHOW_ALL
        }
        decodesIntoPool = parameters.decodesIntoPool && codec.pointee.capabilities & AV_CODEC_CAP_DR1 != 0
        installAllocator()
        try FFmpegCall.check(
            avcodec_open2(context, codec, nil), "avcodec_open2", .codec, "cannot open the \(codecName) decoder")
    }

    /// Slots for the codec's reference pictures, its threads' pictures in progress,
    /// one being output, one spare and the consumer's share (or the override).
    private static func slotCount(_ parameters: DecoderParameters, _ codec: AVCodecID) -> Int {
        let threads = parameters.threadCount > 0 ? parameters.threadCount : min(Int(av_cpu_count()) + 1, 16)
        return parameters.poolSlots ?? referencePictures(codec) + threads + 2 + parameters.consumerSlots
    }

    /// Replaces the pool with one for pictures of `width`×`height` in `format` (after a
    /// change of picture size); the old pool lives while anyone holds its slots.
    private func replacePool(width: Int32, height: Int32, format: PixelFormat) throws(MediaError) {
        layout = Self.layout(for: context, width: width, height: height, format: format)
        pool = try Self.makePool(layout: layout, slots: Self.slotCount(parameters, codecID))
        installAllocator()
    }

    /// When decoding in place, points libavcodec's `get_buffer2` at the current pool.
    private func installAllocator() {
        guard decodesIntoPool else { return }
        let allocator = PoolAllocator(
            pool: pool, format: context.pointee.pix_fmt, reserve: min(parameters.consumerSlots, pool.slotCount - 1))
        self.allocator = allocator
        allocator.install(on: context)
    }

    /// A layout with room for the coded picture libavcodec writes (its dimensions
    /// rounded up as `avcodec_align_dimensions2` says).
    private static func layout(
        for context: UnsafeMutablePointer<AVCodecContext>, width: Int32, height: Int32, format: PixelFormat
    ) -> SlotLayout {
        let visible = (width: Int(width), height: Int(height))
        var width = width
        var height = height
        var strideAlignment = [Int32](repeating: 0, count: Int(reel_AV_NUM_DATA_POINTERS))
        avcodec_align_dimensions2(context, &width, &height, &strideAlignment)
        precondition(
            strideAlignment.allSatisfy { SlotLayout.strideAlignment % max(Int($0), 1) == 0 },
            "libavcodec wants a stride alignment above \(SlotLayout.strideAlignment)")
        return SlotLayout(
            format: format, width: visible.width, height: visible.height, allocatedWidth: Int(width),
            allocatedHeight: Int(height))
    }

    /// Pictures a decoder of `codec` may keep as references at once.
    private static func referencePictures(_ codec: AVCodecID) -> Int {
        switch codec {
        case AV_CODEC_ID_H264, AV_CODEC_ID_HEVC: 16
        case AV_CODEC_ID_VP9, AV_CODEC_ID_AV1, AV_CODEC_ID_VP8: 8
        default: 4
        }
    }

    private static func makePool(layout: SlotLayout, slots: Int) throws(MediaError) -> FramePool {
        do { return try FramePool(layout: layout, slotCount: slots) } catch {
            throw MediaError(.resources, "cannot create a frame pool of \(slots) × \(layout.slotSize) bytes: \(error)")
        }
    }

    deinit {
        var owned: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&owned)
        var ownedFrame: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&ownedFrame)
    }

    /// Feeds one packet (wraps `avcodec_send_packet`). Packets of other streams are
    /// ignored; invalid packets are counted in `rejectedPackets`, not thrown, so a
    /// damaged input still yields every picture that can be decoded.
    package func send(_ packet: Packet) throws(MediaError) {
        guard packet.streamIndex == streamIndex else { return }
        if packet.isCorrupt, let ticks = packet.presentationTicks {
            // Bounded: a picture comes out within a few packets of its own.
            if damagedTimes.count > 64 { damagedTimes.removeAll(keepingCapacity: true) }
            damagedTimes.insert(ticks)
        }
        let result = avcodec_send_packet(context, packet.pointer)
        if FFmpegCall.isDamage(result) {
            recordCorruption(result, call: "avcodec_send_packet")
            return
        }
        try FFmpegCall.check(result, "avcodec_send_packet", .codec, "decoding \(streamName) failed")
    }

    /// Forgets the pictures the decoder holds (a seek, a loop): the next packet,
    /// which should start at a keyframe, starts afresh (wraps `avcodec_flush_buffers`).
    package func flush() {
        if holdsFrame {
            av_frame_unref(frame)
            holdsFrame = false
        }
        avcodec_flush_buffers(context)
    }

    /// Tells the decoder no more packets come, so it returns the pictures it holds.
    package func sendEndOfInput() throws(MediaError) {
        let result = avcodec_send_packet(context, nil)
        guard result != FFmpegCall.endOfFile else { return }
        // With frame threads, a damaged last packet's error can surface here.
        if FFmpegCall.isDamage(result) { return recordCorruption(result, call: "avcodec_send_packet") }
        try FFmpegCall.check(result, "avcodec_send_packet", .codec, "draining \(streamName) failed")
    }

    /// Takes the next picture (wraps `avcodec_receive_frame`). The receiver holds the
    /// returned slot of `pool` until it calls `pool.release(slot)`.
    package func receive() throws(MediaError) -> DecodeStep {
        while !holdsFrame {
            let result = avcodec_receive_frame(context, frame)
            if result == FFmpegCall.tryAgain { return .needsInput }
            if result == FFmpegCall.endOfFile { return .endOfStream }
            // With frame threads, a bad packet's error surfaces here; skip that picture
            // (one error per picture held: the loop ends).
            if FFmpegCall.isDamage(result) {
                recordCorruption(result, call: "avcodec_receive_frame")
                continue
            }
            try FFmpegCall.check(result, "avcodec_receive_frame", .codec, "decoding \(streamName) failed")
            if keepsBack() {
                av_frame_unref(frame)
                continue
            }
            holdsFrame = true
        }
        let format = try Self.pixelFormat(AVPixelFormat(frame.pointee.format), stream: streamName)
        if format != layout.format || Int(frame.pointee.width) != layout.width
            || Int(frame.pointee.height) != layout.height
        {
            // The stream changed size or format: later pictures go to a new pool. The
            // old one lives on until the receiver and libavcodec have let go of its slots.
            try replacePool(width: frame.pointee.width, height: frame.pointee.height, format: format)
            poolChanges += 1
        }
        let slot: Int
        if let allocator, let inPlace = allocator.slot(of: frame) {
            // libavcodec wrote this picture into the slot; add the receiver as a holder.
            pool.retain(inPlace)
            slot = inPlace
            framesDecodedInPlace += 1
        } else {
            guard case .slot(let free) = pool.acquire() else { return .waitingForSlot }
            copyPlanes(into: pool.bytes(of: free))
            slot = free
            framesCopied += 1
        }
        let presentationTime = presentationTime()
        lastPictureEnd = presentationTime.map {
            MediaTime(ticks: $0.ticks + max(frame.pointee.pkt_duration, 0), timeBase: $0.timeBase)
        }
        let descriptor = pool.descriptor(
            color: colorDescription(), sampleAspectRatio: sampleAspectRatio(), presentationTime: presentationTime)
        av_frame_unref(frame)
        holdsFrame = false
        return .frame(DecodedFrame(pool: pool, slot: slot, descriptor: descriptor))
    }

    /// Whether the picture just decoded is kept back, as `damaged` and
    /// `startsAtKeyframe` ask; counts it in `damage`.
    private func keepsBack() -> Bool {
        let damaged =
            frame.pointee.decode_error_flags != 0 || frame.pointee.flags & AV_FRAME_FLAG_CORRUPT != 0
            || damagedTimes.remove(frame.pointee.pts) != nil
        let keyframe = frame.pointee.key_frame != 0 && !damaged
        if keyframe { seenKeyframe = true }
        if awaitingKeyframe && keyframe { awaitingKeyframe = false }
        if damaged && parameters.damaged == .frozen { awaitingKeyframe = true }
        guard awaitingKeyframe else {
            if damaged { damage.concealed += 1 }
            return false
        }
        if seenKeyframe { damage.frozen += 1 } else { damage.beforeKeyframe += 1 }
        return true
    }

    private func recordCorruption(_ code: Int32, call: String) {
        rejectedPackets += 1
        if firstRejection == nil { firstRejection = (call, code, lastPictureEnd) }
    }

    /// The packets rejected as invalid, as one error: how many, and where the first was
    /// (after the last good picture then); nil when none was.
    package var packetError: MediaError? {
        guard let first = firstRejection else { return nil }
        let place =
            first.after.map { String(format: " (the first around %.1f s)", Double($0.microseconds) / 1e6) } ?? ""
        let count = rejectedPackets == 1 ? "1 packet" : "\(rejectedPackets) packets"
        return MediaError(
            .truncated, "\(streamName) is truncated or corrupt: \(count) could not be decoded\(place)",
            call: first.call,
            code: first.code)
    }

    private func copyPlanes(into slot: UnsafeMutableRawBufferPointer) {
        for (index, plane) in layout.planes.enumerated() {
            let rowBytes = plane.width * layout.format.bytesPerSample * layout.format.samplesPerPixel(plane: index)
            av_image_copy_plane(
                slot.baseAddress!.advanced(by: plane.offset).assumingMemoryBound(to: UInt8.self), Int32(plane.stride),
                frame.plane(index), Int32(frame.lineSize(index)), Int32(rowBytes), Int32(plane.height))
            copiedBytes += rowBytes * plane.height
        }
    }

    private func presentationTime() -> MediaTime? {
        let pts = frame.pointee.best_effort_timestamp
        guard pts != FFmpegCall.noTimestamp, timeBase.isValid else { return nil }
        return MediaTime(ticks: pts, timeBase: timeBase)
    }

    /// The container's sample aspect ratio where it states one, else the frame's (the
    /// bitstream's), else square pixels: av_guess_sample_aspect_ratio's rule.
    private func sampleAspectRatio() -> Rational {
        if let containerAspect { return containerAspect }
        let sar = Rational(frame.pointee.sample_aspect_ratio)
        return sar.isValid ? sar : Rational(1, 1)
    }

    /// The frame's colour tags, with the conventional defaults for untagged streams.
    private func colorDescription() -> ColorDescription {
        let matrix: ColorMatrix =
            switch frame.pointee.colorspace {
            case AVCOL_SPC_BT709: .bt709
            case AVCOL_SPC_BT470BG, AVCOL_SPC_SMPTE170M: .bt601
            case AVCOL_SPC_BT2020_NCL: .bt2020
            default: ColorDescription.defaultMatrix(forHeight: layout.height)
            }
        let isJPEGFormat = PixelFormat.from(AVPixelFormat(frame.pointee.format))?.fullRange ?? false
        let range: ColorRange =
            switch frame.pointee.color_range {
            case AVCOL_RANGE_JPEG: .full
            case AVCOL_RANGE_MPEG: .limited
            default: isJPEGFormat ? .full : .limited
            }
        let location: ChromaLocation =
            switch frame.pointee.chroma_location {
            case AVCHROMA_LOC_CENTER: .center
            case AVCHROMA_LOC_TOPLEFT: .topLeft
            case AVCHROMA_LOC_TOP: .top
            case AVCHROMA_LOC_BOTTOMLEFT: .bottomLeft
            case AVCHROMA_LOC_BOTTOM: .bottom
            // Unspecified 4:2:0 is MPEG-2/H.264's default siting, as libplacebo and mpv assume.
            default: .left
            }
        let transfer = Self.transfer(frame.pointee.color_trc)
        let primaries = Self.primaries(frame.pointee.color_primaries)
        return ColorDescription(
            matrix: matrix, range: range, chromaLocation: location, transfer: transfer, primaries: primaries,
            hdr: transfer.isHDR ? hdrMetadata() : HDRMetadata())
    }

    /// The stream's transfer and primaries as its parameters declare them (its pictures
    /// may say otherwise; each frame's own `color` is what is rendered): what a renderer
    /// prepares for before the first picture.
    package var declaredColour: ColorDescription {
        let transfer = Self.transfer(context.pointee.color_trc)
        return ColorDescription(
            matrix: context.pointee.colorspace == AVCOL_SPC_BT2020_NCL ? .bt2020 : .bt709, range: .limited,
            chromaLocation: .left, transfer: transfer,
            primaries: Self.primaries(context.pointee.color_primaries))
    }

    /// The transfer a tag names: PQ, HLG, or (any other, or none) SDR.
    private static func transfer(_ tag: AVColorTransferCharacteristic) -> ColorTransfer {
        switch tag {
        case AVCOL_TRC_SMPTE2084: .pq
        case AVCOL_TRC_ARIB_STD_B67: .hlg
        default: .sdr
        }
    }

    /// BT.2020 where tagged so; any other primaries are taken as BT.709.
    private static func primaries(_ tag: AVColorPrimaries) -> ColorPrimaries {
        tag == AVCOL_PRI_BT2020 ? .bt2020 : .bt709
    }

    /// The frame's mastering display and content light levels, where its side data gives them.
    private func hdrMetadata() -> HDRMetadata {
        var metadata = HDRMetadata()
        if let data = av_frame_get_side_data(frame, AV_FRAME_DATA_MASTERING_DISPLAY_METADATA) {
            let mastering = data.pointee.data.withMemoryRebound(
                to: AVMasteringDisplayMetadata.self, capacity: 1
            ) { $0.pointee }
            let (peak, black) = (Rational(mastering.max_luminance), Rational(mastering.min_luminance))
            if mastering.has_luminance != 0, peak.isValid, black.denominator > 0 {
                metadata.masteringPeak = peak.doubleValue
                metadata.masteringBlack = black.doubleValue
            }
        }
        if let data = av_frame_get_side_data(frame, AV_FRAME_DATA_CONTENT_LIGHT_LEVEL) {
            let levels = data.pointee.data.withMemoryRebound(to: AVContentLightMetadata.self, capacity: 1) {
                $0.pointee
            }
            if levels.MaxCLL > 0 { metadata.maxContentLight = Double(levels.MaxCLL) }
            if levels.MaxFALL > 0 { metadata.maxFrameAverageLight = Double(levels.MaxFALL) }
        }
        return metadata
    }

    private static func pixelFormat(_ format: AVPixelFormat, stream: String) throws(MediaError) -> PixelFormat {
        if let known = PixelFormat.from(format) { return known.format }
        if format == AV_PIX_FMT_NONE {
            throw MediaError(.truncated, "\(stream) has no decodable picture (truncated or corrupt input?)")
        }
        let name = av_get_pix_fmt_name(format).map { String(cString: $0) } ?? "unknown"
        let supported = PixelFormat.allCases.map(\.rawValue).joined(separator: ", ")
        throw MediaError(.unsupported, "\(stream) uses pixel format \(name); Reel renders \(supported)")
    }
}
