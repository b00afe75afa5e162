import ReelCore
import ReelFramePool
import ReelMedia
import ReelNet
import ReelTiming
import ReelVulkan

/// What an offscreen run should do.
package struct OffscreenParameters: Sendable {
    /// A file path or URL FFmpeg can open.
    package var input: String
    /// Stop after this many frames (all when nil).
    package var frameLimit: Int?
    /// Output size; the video's display size when nil. The picture keeps its aspect.
    package var outputSize: PixelSize?
    /// Decode into the pool but do not render: the peer that isolates decode cost.
    package var decodeOnly: Bool
    /// Decode the first frame only and render it `frameLimit` times (default 300): the
    /// render stage's own cost, without the decoder competing for the cores.
    package var renderOnly: Bool
    /// With `renderOnly`: start each render on a tick of this rate (absolute deadlines)
    /// and wait for it, instead of rendering back to back — what the render stage costs
    /// run in real time, as a timed session runs it.
    package var renderRate: Rational?
    /// End each frame with its RGBA pixels in host memory (the default, as the peers
    /// `bench` is compared with do). When false the pixels stay on the device and
    /// `PipelineFrame.image` has none.
    package var readback: Bool
    /// Output buffers frames are rendered into: with two, the next frame renders while
    /// the consumer (`run`'s `onFrame`) still has the last one, which pays where the
    /// consumer takes time (PNGs written); with one, it renders once the consumer is
    /// done — the decoder still works on the frame after it while the GPU renders — and
    /// a buffer's memory (8 MB at 1080p) is saved. `bench` takes one: nothing holds its
    /// pixels.
    package var outputBuffers = OffscreenRenderer.framesInFlight
    /// Device choice and validation.
    package var device: DeviceParameters
    /// Decoder threads and frame-pool options.
    package var decoder: DecoderParameters
    /// How an RTP session (an SDP or `rtp://` input) is received.
    package var rtp: ReceiverOptions
    /// An RTP session's damaged pictures: rendered concealed, or left out until a keyframe.
    package var damagedPictures = DamagedPictures.concealed
    /// An RTP session joined between keyframes: its pictures are rendered at once
    /// (broken until the next keyframe) instead of from the first keyframe.
    package var showsPicturesBeforeKeyframe = false

    /// Renders per `renderOnly` run when no frame limit is given.
    package static let defaultRenderOnlyFrames = 300

    package init(
        input: String, frameLimit: Int? = nil, outputSize: PixelSize? = nil, decodeOnly: Bool = false,
        renderOnly: Bool = false, readback: Bool = true, device: DeviceParameters = DeviceParameters(),
        decoder: DecoderParameters = DecoderParameters(), rtp: ReceiverOptions = ReceiverOptions()
    ) {
        self.rtp = rtp
        self.input = input
        self.frameLimit = frameLimit
        self.outputSize = outputSize
        self.decodeOnly = decodeOnly
        self.renderOnly = renderOnly
        self.readback = readback
        self.device = device
        self.decoder = decoder
    }
}

/// One rendered frame, handed to the caller's callback on the pipeline's thread.
///
/// The pixels are valid only during the callback; copy them to keep them.
package struct PipelineFrame {
    /// 0-based position in decode (presentation) order.
    package let index: Int
    package let presentationTime: MediaTime?
    package let image: RenderedImage
}

/// Counters of one run.
package struct PipelineStatistics: Sendable, Codable {
    package var framesDecoded = 0
    package var framesRendered = 0
    /// Bytes the CPU copied on the video input path (decoder → pool → GPU).
    package var inputBytesCopied = 0
    /// Of those, the decoder → pool copy and the pool → GPU upload.
    package var decoderToPoolBytes = 0
    package var poolToGPUBytes = 0
    /// Pictures libavcodec wrote straight into pool slots, and pictures copied there.
    package var framesDecodedInPlace = 0
    package var framesCopiedToPool = 0
    /// Times the picture size or format changed mid-stream (each makes a new pool).
    package var poolChanges = 0
    /// RGBA bytes the GPU wrote into host-visible memory (the output; not an input copy;
    /// 0 without readback).
    package var readbackBytes = 0
    /// How frames reached the GPU ("host-import" or "staging"; nil without rendering),
    /// and why importing failed when it could have worked.
    package var inputPath: InputPath?
    package var importFailure: String?
    package var poolSlots = 0
    package var poolSlotBytes = 0
    package var poolBytes = 0
    /// Slots of the last pool ever taken (only their memory is resident).
    package var poolSlotsUsed = 0
    /// Damaged pictures the decoder returned (rendered concealed, or left out), and
    /// packets it rejected as invalid (their pictures are missing).
    package var damagedPictures = DamageCounts()
    package var rejectedPackets = 0
}

/// Where the pipeline's thread spent one frame's time (wall, ns): from the frame before
/// it finished to its own finish.
package struct FrameTiming: Sendable, Codable, Equatable {
    /// When the frame finished (host ns, from the run's start).
    package var finishedAt: Int64
    package var demux: Int64 = 0
    package var decode: Int64 = 0
    /// Recording and submitting the render.
    package var submit: Int64 = 0
    /// Waiting for the GPU (the device's threads render meanwhile) and reading back.
    package var wait: Int64 = 0
    /// The rest: the caller's callback, bookkeeping.
    package var other: Int64 = 0

    package var total: Int64 { demux + decode + submit + wait + other }
}

/// CPU time (ns) by pipeline stage, from thread CPU clocks: the pipeline's own thread
/// timed around each stage's calls, libavcodec's threads counted to decoding and the
/// Vulkan driver's (a CPU driver renders on them) to rendering — each thread by the
/// stage whose setup started it.
package struct StageCPU: Sendable, Codable, Equatable {
    package var demux: Int64 = 0
    package var decode: Int64 = 0
    package var render: Int64 = 0
    /// A window's presentation (0 offscreen).
    package var present: Int64 = 0
    /// Threads no stage started, and the pipeline thread outside the stages.
    package var other: Int64 = 0
}

/// Decodes a file and renders every frame offscreen as fast as it can, in order:
/// demux → decode into a frame-pool slot → Vulkan YCbCr → RGB → RGBA in host memory.
/// One frame is in flight on the GPU while the next is decoded. An RTP session (an
/// SDP or `rtp://` input) is rendered as it arrives, from its first keyframe, until
/// the sender's BYE, the receive timeout or the frame limit.
///
/// Thread-safety: Unsafe; create, run and drop it on one thread (`receivingStopper`
/// may be called from any).
package final class OffscreenPipeline {
    /// The counters of the last run that reached the end of its input, also when that
    /// run then threw for a damaged input (what was rendered is still counted).
    package private(set) var finalStatistics: PipelineStatistics?
    package let parameters: OffscreenParameters
    private let demuxer: Demuxer
    /// Where packets come from: the demuxer, or the RTP session feeding it.
    private let source: PacketSource
    private let live: LiveInput?
    private let decoder: VideoDecoder
    private var pool: FramePool { decoder.pool }
    private let renderer: OffscreenRenderer?
    /// The input as probed.
    package var info: MediaInfo { demuxer.info }
    /// The name of the Vulkan device in use (nil with `decodeOnly`).
    package var deviceName: String? { renderer?.device.name }
    /// Its driver and version (nil with `decodeOnly`).
    package var deviceDriver: String? { renderer?.device.driver }
    /// The run's frames: where the pipeline thread's time went for each (after `run`).
    package private(set) var frameTimings: [FrameTiming] = []
    /// The run's CPU by stage (after `run`).
    package private(set) var stageCPU = StageCPU()
    /// Threads libavcodec and the Vulkan driver started, by kernel id.
    private var decoderThreads = Set<Int32>()
    private var rendererThreads = Set<Int32>()
    /// Where the current frame's time goes, and the pipeline thread's CPU per stage.
    private var current = FrameTiming(finishedAt: 0)
    private var lastMark = (wall: Int64(0), cpu: Int64(0))
    private var runStart = Int64(0)
    private var threadStage = StageCPU()

    /// Validation errors reported so far (empty unless validation is on).
    package var validationErrors: [String] { renderer?.device.validationErrors ?? [] }

    /// Opens the input, its decoder, the pool and (unless `decodeOnly`) the renderer.
    package init(parameters: OffscreenParameters) throws(PipelineError) {
        self.parameters = parameters
        let live =
            SessionDescription.names(parameters.input) ? try LiveInput(parameters.input, options: parameters.rtp) : nil
        self.live = live
        var decoderParameters = parameters.decoder
        if live != nil {
            // As the player: frame threads would hold back a picture per thread.
            decoderParameters.threadCount = 1
            decoderParameters.live = true
            decoderParameters.damaged = parameters.damagedPictures
            decoderParameters.startsAtKeyframe = !parameters.showsPicturesBeforeKeyframe
        }
        let before = HostTime.threadIDs()
        do {
            if let live { demuxer = live.demuxer } else { demuxer = try Demuxer(url: parameters.input) }
            decoder = try VideoDecoder(
                demuxer: demuxer, streamIndex: try demuxer.requireVideoStream(), parameters: decoderParameters)
        } catch { throw .media(error) }
        let decoding = HostTime.threadIDs()
        source = live ?? demuxer
        do {
            renderer =
                parameters.decodeOnly
                ? nil : try OffscreenRenderer(device: parameters.device, resourceCount: parameters.outputBuffers)
        } catch {
            throw .render(error)
        }
        decoderThreads = decoding.subtracting(before)
        rendererThreads = HostTime.threadIDs().subtracting(decoding)
        renderer?.readsBack = parameters.readback
        // HDR10 or linear-light output keeps 16 bits a channel.
        if parameters.device.colour.output != .sdr { renderer?.outputFormat = .rgba16 }
        // The pass is compiled now, as setup, not in the first frame's time.
        do { try renderer?.prepare(for: decoder.pool, colour: decoder.declaredColour) } catch { throw .render(error) }
        // Ready: the session's packets may come now.
        try live?.listen()
    }

    /// Whether the input is an RTP session.
    package var isLive: Bool { live != nil }

    /// An RTP session's statistics per stream (empty for a file).
    package var rtpStatistics: [RTPStatistics] { live?.receiver.statistics ?? [] }

    /// Why an RTP session ended, when it ended by itself (a BYE, silence).
    package var inputEnd: String? { live?.endNotice }

    /// What ends an RTP session's receiving at once, from any thread (a Ctrl-C): the run
    /// then finishes with what it has. It holds the receiver only, never the pipeline, so
    /// that a signal handler keeping it cannot make the pipeline (and its Vulkan device)
    /// end on another thread while the process exits.
    package var receivingStopper: @Sendable () -> Void {
        { [receiver = live?.receiver] in receiver?.stop() }
    }

    /// Runs to the end of the input (or the frame limit), calling `onFrame` for each
    /// rendered frame. A damaged input yields every frame that could be decoded and
    /// then throws `PipelineError.media` with kind `.truncated`. Errors thrown by
    /// `onFrame` end the run and are rethrown (a `MediaError` as `PipelineError.media`).
    package func run(onFrame: (PipelineFrame) throws -> Void = { _ in }) throws -> PipelineStatistics {
        finalStatistics = nil
        do {
            return try decodeAndRender(onFrame: onFrame)
        } catch let error as MediaError {
            throw PipelineError.media(error)
        }
    }

    /// Ends the current stage: its wall time goes to the frame's `part`, the pipeline
    /// thread's CPU since the last mark to `stage`.
    private func mark(_ part: WritableKeyPath<FrameTiming, Int64>, _ stage: WritableKeyPath<StageCPU, Int64>) {
        let now = (wall: HostTime.now(), cpu: HostTime.threadCPU())
        current[keyPath: part] += now.wall - lastMark.wall
        threadStage[keyPath: stage] += now.cpu - lastMark.cpu
        lastMark = now
    }

    /// The CPU of every thread by stage, at the end of the run.
    private func collectStageCPU(processCPU: Int64) {
        var stages = threadStage
        for id in decoderThreads { stages.decode += HostTime.threadCPU(id: id) }
        for id in rendererThreads { stages.render += HostTime.threadCPU(id: id) }
        let counted = stages.demux + stages.decode + stages.render + stages.present + stages.other
        stages.other += max(0, processCPU - counted)
        stageCPU = stages
    }

    private func decodeAndRender(onFrame: (PipelineFrame) throws -> Void) throws -> PipelineStatistics {
        var statistics = PipelineStatistics()
        let startCPU = HostTime.processCPU()
        // The device's and the decoder's threads' CPU before the run (setup) is not the run's.
        for id in decoderThreads { threadStage.decode -= HostTime.threadCPU(id: id) }
        for id in rendererThreads { threadStage.render -= HostTime.threadCPU(id: id) }
        runStart = HostTime.now()
        lastMark = (runStart, HostTime.threadCPU())
        current = FrameTiming(finishedAt: 0)
        frameTimings.reserveCapacity(parameters.frameLimit ?? 1024)
        defer { collectStageCPU(processCPU: HostTime.processCPU() - startCPU) }
        var inputError: MediaError?
        var inFlight: (ticket: RenderTicket, frame: DecodedFrame)?
        let limit = parameters.frameLimit ?? .max
        decoding: while statistics.framesDecoded < limit {
            let received = try decoder.receive()
            mark(\.decode, \.decode)
            switch received {
            case .frame(let frame):
                statistics.framesDecoded += 1
                guard let renderer else {
                    frame.release()
                    mark(\.other, \.other)
                    current.finishedAt = lastMark.wall - runStart
                    frameTimings.append(current)
                    current = FrameTiming(finishedAt: 0)
                    continue
                }
                // Submit this frame, then finish the previous one: the GPU renders while
                // the decoder works on the next frame.
                if parameters.renderOnly {
                    try renderRepeatedly(frame, with: renderer, statistics: &statistics, onFrame: onFrame)
                    break decoding
                }
                // (With one output buffer, the previous frame goes out first.)
                if let previous = inFlight, renderer.resourceCount == 1 {
                    try deliver(previous, from: renderer, statistics: &statistics, onFrame: onFrame)
                    inFlight = nil
                }
                let ticket = try submit(frame, to: renderer)
                mark(\.submit, \.render)
                if let previous = inFlight {
                    try deliver(previous, from: renderer, statistics: &statistics, onFrame: onFrame)
                }
                inFlight = (ticket, frame)
            case .needsInput:
                let read = source.read()
                mark(\.demux, \.demux)
                switch read {
                case .packet(let packet): try decoder.send(packet)
                case .endOfInput(let error):
                    inputError = error
                    try decoder.sendEndOfInput()
                }
                mark(\.decode, \.decode)
            case .waitingForSlot:
                // Only the decoder's own reference pictures hold slots now; a pool that
                // small is a sizing bug, not something waiting would fix on this thread.
                throw PipelineError.media(MediaError.poolTooSmall(pool.slotCount))
            case .endOfStream:
                break decoding
            }
        }
        if let renderer, let last = inFlight {
            try deliver(last, from: renderer, statistics: &statistics, onFrame: onFrame)
        }
        statistics.decoderToPoolBytes = decoder.copiedBytes
        statistics.framesDecodedInPlace = decoder.framesDecodedInPlace
        statistics.framesCopiedToPool = decoder.framesCopied
        statistics.poolChanges = decoder.poolChanges
        statistics.poolToGPUBytes = renderer?.uploadedBytes ?? 0
        statistics.inputPath = renderer?.inputPath
        statistics.importFailure = renderer?.importFailure
        statistics.inputBytesCopied = statistics.decoderToPoolBytes + statistics.poolToGPUBytes
        statistics.poolSlots = pool.slotCount
        statistics.poolSlotBytes = pool.layout.slotSize
        statistics.poolBytes = pool.byteCount
        statistics.poolSlotsUsed = pool.slotsUsed
        statistics.damagedPictures = decoder.damage
        statistics.rejectedPackets = decoder.rejectedPackets
        finalStatistics = statistics
        // A live session that never started (no packets) says so; one that ended is done.
        if live != nil, let inputError { throw PipelineError.media(inputError) }
        if statistics.framesDecoded < limit && !parameters.renderOnly && live == nil {
            let shortfall = decoder.lastPictureEnd.flatMap {
                demuxer.checkComplete(endedAt: $0)
            }
            if let error = inputError ?? decoder.packetError ?? shortfall { throw PipelineError.media(error) }
        }
        return statistics
    }

    /// Renders one decoded frame `frameLimit` times with frames in flight, as the steady
    /// state of a run does; the slot is read-only to the GPU, so the submissions share it.
    private func renderRepeatedly(
        _ frame: DecodedFrame, with renderer: OffscreenRenderer, statistics: inout PipelineStatistics,
        onFrame: (PipelineFrame) throws -> Void
    ) throws {
        defer { frame.release() }
        let count = parameters.frameLimit ?? OffscreenParameters.defaultRenderOnlyFrames
        if let rate = parameters.renderRate {
            let ticks = VsyncTimeline(start: HostTime.now(), rate: rate)
            for index in 0..<count {
                HostTime.sleep(until: ticks.time(ofTick: Int64(index)))
                mark(\.other, \.other)
                let ticket = try submit(frame, to: renderer)
                mark(\.submit, \.render)
                try finish(ticket, of: frame, from: renderer, statistics: &statistics, onFrame: onFrame)
            }
            return
        }
        let depth = min(renderer.resourceCount, OffscreenRenderer.framesInFlight)
        var pending: [RenderTicket] = []
        pending.reserveCapacity(depth)
        for _ in 0..<count {
            if pending.count == depth, depth == 1 {
                try finish(pending.removeFirst(), of: frame, from: renderer, statistics: &statistics, onFrame: onFrame)
            }
            pending.append(try submit(frame, to: renderer))
            mark(\.submit, \.render)
            if pending.count == depth, depth > 1 {
                try finish(pending.removeFirst(), of: frame, from: renderer, statistics: &statistics, onFrame: onFrame)
            }
        }
        for ticket in pending {
            try finish(ticket, of: frame, from: renderer, statistics: &statistics, onFrame: onFrame)
        }
    }

    private func submit(_ frame: DecodedFrame, to renderer: OffscreenRenderer) throws(PipelineError) -> RenderTicket {
        let size = parameters.outputSize ?? frame.descriptor.displaySize
        do {
            return try renderer.submit(frame.descriptor, in: frame.pool, slot: frame.slot, outputSize: size)
        } catch { throw .render(error) }
    }

    /// Waits for a submitted frame, hands it to `onFrame`, and only then gives its slot
    /// back: the GPU has finished reading it.
    private func deliver(
        _ submitted: (ticket: RenderTicket, frame: DecodedFrame), from renderer: OffscreenRenderer,
        statistics: inout PipelineStatistics, onFrame: (PipelineFrame) throws -> Void
    ) throws {
        defer { submitted.frame.release() }
        try finish(submitted.ticket, of: submitted.frame, from: renderer, statistics: &statistics, onFrame: onFrame)
    }

    private func finish(
        _ ticket: RenderTicket, of frame: DecodedFrame, from renderer: OffscreenRenderer,
        statistics: inout PipelineStatistics, onFrame: (PipelineFrame) throws -> Void
    ) throws {
        let image: RenderedImage
        do { image = try renderer.finish(ticket) } catch { throw PipelineError.render(error) }
        mark(\.wait, \.render)
        statistics.framesRendered += 1
        statistics.readbackBytes +=
            image.pixels.isEmpty ? 0 : image.size.width * image.size.height * image.format.bytesPerPixel
        try onFrame(
            PipelineFrame(
                index: statistics.framesRendered - 1, presentationTime: frame.descriptor.presentationTime,
                image: image))
        mark(\.other, \.other)
        current.finishedAt = lastMark.wall - runStart
        frameTimings.append(current)
        current = FrameTiming(finishedAt: 0)
    }
}

extension RenderedImage {
    /// Writes the image as a PNG file with `writer`.
    package func writePNG(with writer: PNGWriter, to path: String) throws(MediaError) {
        if format == .rgba16 {
            try writer.write(rgba16: pixels, size: size, rowBytes: rowBytes, to: path)
        } else {
            try writer.write(rgba: pixels, size: size, rowBytes: rowBytes, to: path)
        }
    }
}
