internal import CFFmpeg
import ReelCore

extension Demuxer {
    static func describe(_ context: UnsafeMutablePointer<AVFormatContext>) -> MediaInfo {
        let format = context.pointee.iformat.map { String(cString: $0.pointee.name) } ?? "unknown"
        let duration = context.pointee.duration
        let streams = (0..<Int(context.pointee.nb_streams)).map {
            describe(stream: context.pointee.streams[$0]!, in: context)
        }
        return MediaInfo(
            format: format,
            durationMicroseconds: duration == FFmpegCall.noTimestamp || duration <= 0 ? nil : duration,
            bitRate: context.pointee.bit_rate > 0 ? context.pointee.bit_rate : nil,
            streams: streams)
    }

    private static func describe(
        stream: UnsafeMutablePointer<AVStream>, in context: UnsafeMutablePointer<AVFormatContext>
    ) -> StreamInfo {
        let parameters = stream.pointee.codecpar.pointee
        let timeBase = Rational(stream.pointee.time_base)
        let kind: StreamInfo.Kind =
            switch parameters.codec_type {
            case AVMEDIA_TYPE_VIDEO: .video
            case AVMEDIA_TYPE_AUDIO: .audio
            case AVMEDIA_TYPE_SUBTITLE: .subtitle
            case AVMEDIA_TYPE_DATA: .data
            case AVMEDIA_TYPE_ATTACHMENT: .attachment
            default: .unknown
            }
        var info = StreamInfo(
            index: Int(stream.pointee.index), kind: kind,
            codec: String(cString: avcodec_get_name(parameters.codec_id)),
            timeBase: timeBase.description,
            durationMicroseconds: stream.pointee.duration == FFmpegCall.noTimestamp || !timeBase.isValid
                ? nil : MediaTime(ticks: stream.pointee.duration, timeBase: timeBase).microseconds,
            frameCount: stream.pointee.nb_frames)
        if kind == .video {
            // The container's sample aspect where it states one, else the bitstream's:
            // FFmpeg's rule (av_guess_sample_aspect_ratio), as ffprobe and ffplay apply it.
            let sar = Rational(av_guess_sample_aspect_ratio(context, stream, nil))
            let display = PixelSize.display(
                width: Int(parameters.width), height: Int(parameters.height), sampleAspectRatio: sar)
            let rate = Rational(stream.pointee.avg_frame_rate)
            info.video = VideoStreamInfo(
                width: Int(parameters.width), height: Int(parameters.height),
                displayWidth: display.width, displayHeight: display.height,
                pixelFormat: name(av_get_pix_fmt_name(AVPixelFormat(parameters.format))),
                sampleAspectRatio: sar.isValid ? sar.description : "1/1",
                frameRate: rate.isValid ? rate.description : nil,
                framesPerSecond: rate.isValid ? rate.doubleValue : nil,
                colorMatrix: name(av_color_space_name(parameters.color_space)),
                colorRange: name(av_color_range_name(parameters.color_range)),
                colorPrimaries: name(av_color_primaries_name(parameters.color_primaries)),
                colorTransfer: name(av_color_transfer_name(parameters.color_trc)),
                chromaLocation: name(av_chroma_location_name(parameters.chroma_location)))
        } else if kind == .audio {
            info.audio = AudioStreamInfo(
                sampleRate: Int(parameters.sample_rate), channels: Int(parameters.ch_layout.nb_channels),
                sampleFormat: name(av_get_sample_fmt_name(AVSampleFormat(parameters.format))))
        }
        return info
    }

    /// The colour of the first picture of the video stream, as the decoder gives it:
    /// the transfer, primaries and HDR light levels, which HEVC and AV1 carry in the
    /// bitstream (SEI, metadata OBUs) rather than in the container. Nil when no picture decodes.
    package static func firstPictureColour(url: String) -> ColorDescription? {
        guard let demuxer = try? Demuxer(url: url), let stream = try? demuxer.requireVideoStream(),
            let decoder = try? VideoDecoder(demuxer: demuxer, streamIndex: stream)
        else { return nil }
        for _ in 0..<10_000 {
            switch try? decoder.receive() {
            case .frame(let frame):
                defer { frame.release() }
                return frame.descriptor.color
            case .needsInput:
                switch demuxer.readPacket() {
                case .packet(let packet): try? decoder.send(packet)
                case .endOfInput: try? decoder.sendEndOfInput()
                }
            case .waitingForSlot, .endOfStream, nil: return nil
            }
        }
        return nil
    }

    private static func name(_ text: UnsafePointer<CChar>?) -> String {
        text.map { String(cString: $0) } ?? "unknown"
    }
}
