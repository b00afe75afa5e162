internal import CFFmpeg
import ReelCore

/// One run of decoded, resampled audio: interleaved 16-bit PCM in the decoder's
/// output format. The samples belong to the decoder and stay valid until its next
/// `receive`.
package struct AudioChunk {
    /// Media time of the chunk's first frame, if the stream gave timestamps: the
    /// decoded frame's best-effort timestamp, less what the resampler still held from
    /// earlier frames (in microseconds).
    package let presentationTime: MediaTime?
    /// Frames (one sample per channel) in the chunk.
    package let frames: Int
    /// `frames × channels` samples, interleaved.
    package let samples: UnsafeBufferPointer<Int16>
}

/// What `AudioDecoder.receive` produced.
package enum AudioStep {
    case chunk(AudioChunk)
    /// Send another packet.
    case needsInput
    /// Every sample has been delivered.
    case endOfStream
}

/// Decodes one audio stream (wraps `AVCodecContext`) and converts it with libswresample
/// to the output's format: interleaved signed 16-bit, at the output's rate and channel
/// count. A change of the stream's own format mid-way reconfigures the resampler.
///
/// Thread-safety: Confined to the audio thread.
package final class AudioDecoder {
    private let context: UnsafeMutablePointer<AVCodecContext>
    private let frame: UnsafeMutablePointer<AVFrame>
    private var resampler: OpaquePointer?
    /// The input format the resampler is set up for: sample format, rate, channels.
    private var resamplerInput: (format: Int32, rate: Int32, channels: Int32)?
    private var buffer: [Int16] = []
    private var flushed = false
    private let timeBase: Rational
    private let streamName: String
    /// The stream this decoder reads.
    package let streamIndex: Int
    /// The format chunks come out in.
    package let output: AudioFormat
    /// Frames delivered so far.
    package private(set) var framesDelivered: Int64 = 0
    /// Packets the decoder rejected as invalid (skipped: the sound goes on after them).
    package private(set) var rejectedPackets = 0
    private var firstRejection: (call: String, code: Int32)?
    /// Where (µs) the next chunk starts when it follows the last one without a gap: the
    /// time of a frame that came without a timestamp (an MPEG-TS PES carries one for
    /// several audio frames).
    private var expectedNext: Int64?

    /// Opens the decoder for `demuxer`'s audio stream `streamIndex`. The output format
    /// defaults to the stream's own rate, in mono or stereo (more channels are mixed
    /// down to two). Throws `MediaError.unsupported` or `.codec`.
    package init(demuxer: Demuxer, streamIndex: Int, output: AudioFormat? = nil) throws(MediaError) {
        let stream = demuxer.stream(streamIndex)
        let parameters = stream.pointee.codecpar!
        let codecName = String(cString: avcodec_get_name(parameters.pointee.codec_id))
        guard parameters.pointee.codec_type == AVMEDIA_TYPE_AUDIO else {
            throw MediaError(.unsupported, "stream \(streamIndex) of '\(demuxer.url)' is not audio")
        }
        guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
            throw MediaError(.unsupported, "no decoder for \(codecName) audio in '\(demuxer.url)'")
        }
        guard let context = avcodec_alloc_context3(codec), let frame = av_frame_alloc() else {
            throw MediaError(.codec, "out of memory opening the \(codecName) decoder")
        }
        self.context = context
        self.frame = frame
        self.streamIndex = streamIndex
        streamName = "'\(demuxer.url)' (\(codecName))"
        timeBase = Rational(stream.pointee.time_base)
        let rate = Int(parameters.pointee.sample_rate)
        let channels = Int(parameters.pointee.ch_layout.nb_channels)
        guard rate > 0, channels > 0 else {
            self.output = AudioFormat(sampleRate: 48000, channels: 2)
            throw MediaError(.unsupported, "\(streamName) has no sample rate or channels")
        }
        self.output = output ?? AudioFormat(sampleRate: rate, channels: min(channels, 2))
        try FFmpegCall.check(
            avcodec_parameters_to_context(context, parameters), "avcodec_parameters_to_context", .codec,
            "cannot configure the \(codecName) decoder")
        context.pointee.pkt_timebase = stream.pointee.time_base
        try FFmpegCall.check(
            avcodec_open2(context, codec, nil), "avcodec_open2", .codec, "cannot open the \(codecName) decoder")
    }

    deinit {
        var owned: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&owned)
        var ownedFrame: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&ownedFrame)
        swr_free(&resampler)
    }

    /// Feeds one packet; packets of other streams are ignored. Invalid packets are
    /// skipped (a damaged stream still plays what decodes).
    package func send(_ packet: Packet) throws(MediaError) {
        guard packet.streamIndex == streamIndex else { return }
        let result = avcodec_send_packet(context, packet.pointer)
        if FFmpegCall.isDamage(result) { return recordCorruption(result, call: "avcodec_send_packet") }
        try FFmpegCall.check(result, "avcodec_send_packet", .codec, "decoding \(streamName) failed")
    }

    private func recordCorruption(_ code: Int32, call: String) {
        rejectedPackets += 1
        if firstRejection == nil { firstRejection = (call, code) }
    }

    /// The packets rejected as invalid, as one error; nil when none was.
    package var packetError: MediaError? {
        guard let first = firstRejection else { return nil }
        let count = rejectedPackets == 1 ? "1 packet" : "\(rejectedPackets) packets"
        return MediaError(
            .truncated, "\(streamName) is truncated or corrupt: \(count) could not be decoded", call: first.call,
            code: first.code)
    }

    /// Forgets what the decoder and the resampler hold (a seek, a loop): the next
    /// packet starts afresh (wraps `avcodec_flush_buffers`).
    package func flush() {
        expectedNext = nil
        avcodec_flush_buffers(context)
        swr_free(&resampler)
        resamplerInput = nil
        flushed = false
    }

    /// Tells the decoder no more packets come.
    package func sendEndOfInput() throws(MediaError) {
        let result = avcodec_send_packet(context, nil)
        guard result != FFmpegCall.endOfFile else { return }
        if FFmpegCall.isDamage(result) { return recordCorruption(result, call: "avcodec_send_packet") }
        try FFmpegCall.check(result, "avcodec_send_packet", .codec, "draining \(streamName) failed")
    }

    /// The next chunk of converted samples.
    package func receive() throws(MediaError) -> AudioStep {
        while true {
            let result = avcodec_receive_frame(context, frame)
            if result == FFmpegCall.tryAgain { return .needsInput }
            if result == FFmpegCall.endOfFile {
                // The resampler may still hold a few frames.
                guard !flushed, resampler != nil else { return .endOfStream }
                flushed = true
                let frames = try convert(input: nil, count: 0)
                return frames > 0 ? .chunk(chunk(frames: frames, time: nil)) : .endOfStream
            }
            if FFmpegCall.isDamage(result) {
                recordCorruption(result, call: "avcodec_receive_frame")
                continue
            }
            try FFmpegCall.check(result, "avcodec_receive_frame", .codec, "decoding \(streamName) failed")
            defer { av_frame_unref(frame) }
            try configureResampler()
            let timestamp = frame.pointee.best_effort_timestamp
            // Output starts with what the resampler holds from before this frame.
            let held = swr_get_delay(resampler, Int64(output.sampleRate))
            let time =
                timestamp == reel_AV_NOPTS_VALUE
                ? nil
                : MediaTime(
                    ticks: MediaTime(ticks: timestamp, timeBase: timeBase).microseconds
                        - output.microseconds(ofFrames: held),
                    timeBase: Rational(1, 1_000_000))
            let input = UnsafeMutableRawPointer(frame.pointee.extended_data)?
                .assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
            let frames = try convert(input: input, count: Int(frame.pointee.nb_samples))
            if frames > 0 { return .chunk(chunk(frames: frames, time: time)) }
        }
    }

    /// Stretches (positive `frames`) or squeezes (negative) the output by `frames`
    /// frames, spread over the next `distance` frames: libswresample's compensation,
    /// for an audio stream following another clock. Does nothing before the first
    /// chunk (no resampler yet).
    package func compensate(by frames: Int, over distance: Int) throws(MediaError) {
        guard let resampler, distance > 0 else { return }
        try FFmpegCall.check(
            swr_set_compensation(resampler, Int32(frames), Int32(distance)), "swr_set_compensation", .codec,
            "cannot adjust the speed of \(streamName)")
    }

    private func chunk(frames: Int, time: MediaTime?) -> AudioChunk {
        framesDelivered += Int64(frames)
        let time = time ?? expectedNext.map { MediaTime(ticks: $0, timeBase: Rational(1, 1_000_000)) }
        expectedNext = time.map { $0.microseconds + output.microseconds(ofFrames: Int64(frames)) }
        let samples = buffer.withUnsafeBufferPointer {
            UnsafeBufferPointer(rebasing: $0[0..<(frames * output.channels)])
        }
        return AudioChunk(presentationTime: time, frames: frames, samples: samples)
    }

    /// Converts `count` input frames (or, with nil, what the resampler still holds)
    /// into `buffer`; returns the frames written.
    private func convert(input: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, count: Int) throws(MediaError) -> Int {
        let capacity = Int(swr_get_out_samples(resampler, Int32(count))) + 32
        if buffer.count < capacity * output.channels {
            buffer = [Int16](repeating: 0, count: capacity * output.channels)
        }
        let written = buffer.withUnsafeMutableBytes { bytes in
            var out: UnsafeMutablePointer<UInt8>? = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            return swr_convert(resampler, &out, Int32(capacity), input, Int32(count))
        }
        return Int(try FFmpegCall.check(written, "swr_convert", .codec, "resampling \(streamName) failed"))
    }

    /// (Re)creates the resampler when the decoded frame's format differs from its input.
    private func configureResampler() throws(MediaError) {
        let input = (frame.pointee.format, frame.pointee.sample_rate, frame.pointee.ch_layout.nb_channels)
        if let current = resamplerInput, current == input { return }
        swr_free(&resampler)
        var inLayout = AVChannelLayout()
        if frame.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC {
            av_channel_layout_default(&inLayout, input.2)
        } else {
            av_channel_layout_copy(&inLayout, &frame.pointee.ch_layout)
        }
        defer { av_channel_layout_uninit(&inLayout) }
        var outLayout = AVChannelLayout()
        av_channel_layout_default(&outLayout, Int32(output.channels))
        defer { av_channel_layout_uninit(&outLayout) }
        var created: OpaquePointer?
        var result = swr_alloc_set_opts2(
            &created, &outLayout, AV_SAMPLE_FMT_S16, Int32(output.sampleRate), &inLayout,
            AVSampleFormat(input.0), input.1, 0, nil)
        if result >= 0 { result = swr_init(created) }
        guard result >= 0, let created else {
            swr_free(&created)
            throw MediaError(
                .codec, "cannot resample \(streamName) to \(output)", call: "swr_init", code: min(result, -1))
        }
        resampler = created
        resamplerInput = input
    }
}
