internal import CFFmpeg
import ReelCore

/// One compressed packet read from the input. Owns its `AVPacket`.
///
/// Thread-safety: Unsafe; hand it from the demuxer to one decoder.
package final class Packet: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<AVPacket>

    init(_ pointer: UnsafeMutablePointer<AVPacket>) { self.pointer = pointer }

    deinit {
        var packet: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&packet)
    }

    /// The index of the stream this packet belongs to.
    package var streamIndex: Int { Int(pointer.pointee.stream_index) }

    /// The packets' data joined in order, with the first one's timestamps, flags and
    /// side data (one access unit from the pieces a depacketiser put out); nil when out
    /// of memory.
    package static func joining(_ parts: [Packet]) -> Packet? {
        guard let first = parts.first else { return nil }
        if parts.count == 1 { return first }
        let total = parts.reduce(0) { $0 + Int($1.pointer.pointee.size) }
        guard total < Int(Int32.max), let joined = av_packet_alloc() else { return nil }
        let result = Packet(joined)
        guard av_new_packet(joined, Int32(total)) >= 0, av_packet_copy_props(joined, first.pointer) >= 0 else {
            return nil
        }
        var offset = 0
        for part in parts {
            let size = Int(part.pointer.pointee.size)
            if size > 0 { (joined.pointee.data + offset).update(from: part.pointer.pointee.data, count: size) }
            offset += size
            if part.isKeyframe { joined.pointee.flags |= AV_PKT_FLAG_KEY }
        }
        joined.pointee.stream_index = first.pointer.pointee.stream_index
        return result
    }

    /// Gives a packet without a timestamp one (stream ticks).
    package func setPresentationTicks(_ ticks: Int64) {
        pointer.pointee.pts = ticks
        if pointer.pointee.dts == FFmpegCall.noTimestamp { pointer.pointee.dts = ticks }
    }

    /// Marks the packet as damaged (parts of it lost: `AV_PKT_FLAG_CORRUPT`): the
    /// decoder counts its picture damaged, and may keep it from being shown.
    package func markCorrupt() { pointer.pointee.flags |= AV_PKT_FLAG_CORRUPT }

    /// Whether the packet is known to be damaged.
    package var isCorrupt: Bool { pointer.pointee.flags & AV_PKT_FLAG_CORRUPT != 0 }

    /// The packet's duration in the stream's time base (0 when unknown).
    package var durationTicks: Int64 { pointer.pointee.duration }

    /// Whether the packet starts a keyframe.
    package var isKeyframe: Bool { pointer.pointee.flags & AV_PKT_FLAG_KEY != 0 }

    /// The presentation timestamp in the stream's time base, if it has one.
    package var presentationTicks: Int64? {
        pointer.pointee.pts == FFmpegCall.noTimestamp ? nil : pointer.pointee.pts
    }
}

/// The outcome of reading the input: a packet, or the end. An input that stops
/// on a read error ends with that error, so callers can use what came before it.
package enum DemuxStep: Sendable {
    case packet(Packet)
    case endOfInput(error: MediaError?)
}

/// Reads packets from a file or URL (wraps `AVFormatContext`).
///
/// Thread-safety: Confined to the thread that reads packets.
package final class Demuxer {
    let context: UnsafeMutablePointer<AVFormatContext>
    /// The input's name as given.
    package let url: String
    /// Container and streams, as probed at open.
    package let info: MediaInfo
    /// The stream FFmpeg considers the best video stream, if any.
    package let bestVideoStream: Int?
    /// The best audio stream (related to the best video stream when there is one), if any.
    package let bestAudioStream: Int?
    /// A live input (RTP): its datagrams come through `LiveIO`; it cannot seek.
    package var isLive: Bool { live != nil }
    private let live: LiveIO?

    /// Opens `url` and probes its streams. Throws `MediaError.cannotOpen`.
    package init(url: String) throws(MediaError) {
        var context: UnsafeMutablePointer<AVFormatContext>?
        try FFmpegCall.check(
            avformat_open_input(&context, url, nil, nil), "avformat_open_input", .cannotOpen,
            "cannot open '\(url)'")
        guard let context else { throw MediaError(.cannotOpen, "cannot open '\(url)'") }
        let found = avformat_find_stream_info(context, nil)
        if found < 0 {
            var owned: UnsafeMutablePointer<AVFormatContext>? = context
            avformat_close_input(&owned)
            throw MediaError(
                .cannotOpen, "cannot read streams of '\(url)'", call: "avformat_find_stream_info", code: found)
        }
        self.context = context
        self.url = url
        live = nil
        info = Self.describe(context)
        let best = av_find_best_stream(context, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        bestVideoStream = best >= 0 ? Int(best) : nil
        let audio = av_find_best_stream(context, AVMEDIA_TYPE_AUDIO, -1, best >= 0 ? best : -1, nil, 0)
        bestAudioStream = audio >= 0 ? Int(audio) : nil
    }

    /// Opens an RTP session described by the SDP `description` (the text), whose
    /// datagrams `input` receives: libavformat's `sdp` demuxer with `custom_io` keeps the
    /// depacketisers and codec parameters, and reads nothing but what `input` hands it
    /// (no socket, file or URL of its own; its reordering is off, `input` orders). The
    /// streams are taken from the description without probing packets
    /// (`avformat_find_stream_info` would cost a second and old packets). `name` is
    /// what messages call the input.
    ///
    /// `probes`: an MPEG-TS payload says what it carries only in its packets: they are
    /// probed (briefly), and parsers split its pictures.
    package init(description: String, name: String, input: DatagramInput, probes: Bool = false) throws(MediaError) {
        guard var context = avformat_alloc_context() else { throw MediaError(.cannotOpen, "out of memory") }
        let sdp = LiveIO.textReader(description)
        context.pointee.pb = sdp
        // No parsers: a parser finds the end of a picture only when the next one begins
        // (a frame interval of delay); the caller joins each access unit's packets at its
        // last packet, as the RTP marker bit says.
        context.pointee.flags |= AVFMT_FLAG_CUSTOM_IO | (probes ? 0 : AVFMT_FLAG_NOPARSE | AVFMT_FLAG_NOFILLIN)
        var options: OpaquePointer?
        av_dict_set(&options, "sdp_flags", "custom_io", 0)
        av_dict_set(&options, "max_delay", "0", 0)
        av_dict_set(&options, "protocol_whitelist", "none", 0)
        var opened: UnsafeMutablePointer<AVFormatContext>? = context
        let result = avformat_open_input(&opened, name, av_find_input_format("sdp"), &options)
        av_dict_free(&options)
        LiveIO.free(sdp)
        guard result >= 0, let openedContext = opened else {
            throw MediaError(
                .cannotOpen, "cannot open the RTP session of '\(name)'", call: "avformat_open_input", code: result)
        }
        context = openedContext
        let live = LiveIO(input)
        context.pointee.pb = live.context
        if probes {
            // Half a second of packets at most: enough for a transport stream's tables
            // and its first keyframe's parameters.
            context.pointee.max_analyze_duration = 500_000
            let probed = avformat_find_stream_info(context, nil)
            guard probed >= 0 else {
                var owned: UnsafeMutablePointer<AVFormatContext>? = context
                avformat_close_input(&owned)
                live.close()
                throw MediaError(
                    .cannotOpen, "no streams found in the RTP session of '\(name)'", call: "avformat_find_stream_info",
                    code: probed)
            }
        }
        self.context = context
        self.live = live
        url = name
        info = Self.describe(context)
        let best = av_find_best_stream(context, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        bestVideoStream = best >= 0 ? Int(best) : nil
        let audio = av_find_best_stream(context, AVMEDIA_TYPE_AUDIO, -1, -1, nil, 0)
        bestAudioStream = audio >= 0 ? Int(audio) : nil
    }

    deinit {
        var owned: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&owned)
        // A custom I/O context is the caller's to free, after the demuxer.
        live?.close()
    }

    /// The best video stream's index, or `MediaError.noVideoStream`.
    package func requireVideoStream() throws(MediaError) -> Int {
        guard let bestVideoStream else { throw MediaError(.noVideoStream, "'\(url)' has no video stream") }
        return bestVideoStream
    }

    func stream(_ index: Int) -> UnsafeMutablePointer<AVStream> {
        precondition(index >= 0 && index < Int(context.pointee.nb_streams), "stream \(index) out of range")
        return context.pointee.streams[index]!
    }

    /// The stream's time base.
    package func timeBase(ofStream index: Int) -> Rational { Rational(stream(index).pointee.time_base) }

    /// Checks that a stream which ended at `end` (the last picture's presentation time
    /// plus its duration) reached the duration its container's header declares.
    ///
    /// Only headers that state a duration (Matroska, MP4) are trusted; one estimated
    /// from the bit rate or read off the file's last packets proves nothing. The
    /// tolerance, half a second or 5 %, absorbs edit lists and rounding.
    /// `stream` names what ended there in the message ("video", "sound").
    package func checkComplete(endedAt end: MediaTime, stream: String = "video") -> MediaError? {
        guard context.pointee.duration_estimation_method == AVFMT_DURATION_FROM_STREAM,
            context.pointee.duration > 0
        else { return nil }
        let declared = context.pointee.duration
        let start = context.pointee.start_time == FFmpegCall.noTimestamp ? 0 : context.pointee.start_time
        let reached = end.microseconds - start
        let tolerance = max(500_000, declared / 20)
        guard declared - reached > tolerance else { return nil }
        let seconds = { (value: Int64) in String(Double(value / 1000) / 1000) }
        return MediaError(
            .truncated,
            "'\(url)' ends early: its \(stream) stops at \(seconds(reached)) s of the \(seconds(declared)) s its header declares"
        )
    }

    /// The container's start time (µs on the media timeline), when it states one.
    package var startTime: Int64? {
        let start = context.pointee.start_time
        return start == FFmpegCall.noTimestamp ? nil : start
    }

    /// Moves the input to the keyframe nearest `target` (µs on the media timeline)
    /// that lies within `range`, so that the next packets start there (wraps
    /// `avformat_seek_file`; all streams move). Throws `MediaError.cannotSeek` when the
    /// input cannot seek (a live stream) or has no keyframe in `range`.
    package func seek(to target: Int64, within range: ClosedRange<Int64>) throws(MediaError) {
        try FFmpegCall.check(
            avformat_seek_file(context, -1, range.lowerBound, target, range.upperBound, 0), "avformat_seek_file",
            .cannotSeek, "cannot seek in '\(url)'")
    }

    /// Reads the next packet of any stream (wraps `av_read_frame`).
    package func readPacket() -> DemuxStep {
        guard let packet = av_packet_alloc() else {
            return .endOfInput(error: MediaError(.truncated, "out of memory reading '\(url)'"))
        }
        var result = av_read_frame(context, packet)
        // A live input's demuxer says "again" after a datagram that made no packet (RTCP).
        while result == FFmpegCall.tryAgain && live != nil { result = av_read_frame(context, packet) }
        if result >= 0 { return .packet(Packet(packet)) }
        var owned: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&owned)
        if result == FFmpegCall.endOfFile {
            // Some demuxers report a short read as a plain end of file; the I/O context knows better.
            if let io = context.pointee.pb, io.pointee.error < 0, io.pointee.error != FFmpegCall.endOfFile {
                return .endOfInput(
                    error: MediaError(.truncated, "'\(url)' ends early", call: "av_read_frame", code: io.pointee.error))
            }
            return .endOfInput(error: nil)
        }
        return .endOfInput(
            error: MediaError(.truncated, "'\(url)' is truncated or corrupt", call: "av_read_frame", code: result))
    }
}
