import Foundation
import ReelAudio
import ReelCore
import ReelFramePool
import ReelMedia
import ReelNet
import ReelTiming
import ReelVulkan
import ReelWindow

/// Plays a file in real time: video is rendered to a window or offscreen at each tick
/// of the display, sound goes to an audio output, and both follow one master clock.
///
/// Threads, each with one job (ARCHITECTURE.md), all started by `run` and joined before
/// it returns: `reel.demux` reads into bounded packet queues (one per stream played)
/// and serves seeks; `reel.video` decodes into pool slots and a bounded queue of ready
/// frames; `reel.audio` decodes, resamples and writes to the output, which paces it,
/// and sets the audio clock; `reel.display` picks the frame each tick shows and renders
/// and presents it, never waiting for the decoder, the GPU or I/O; `reel.observe` writes
/// the timeline and reports progress. They share one `SessionState`: every wait is on
/// its condition and also ends on a stop or a seek. The caller's thread answers the
/// window's events (GLFW wants the main thread) and writes screenshots.
///
/// Thread-safety: Unsafe; create, run and drop it on one thread (`controls` and
/// `monitor` are Safe from any thread).
package final class PlaybackPipeline {
    package let parameters: PlaybackParameters
    private let demuxer: Demuxer
    /// An RTP session's receiver and demuxer (nil for a file).
    private let live: LiveInput?
    /// Nil for a file without video (sound only).
    private let videoDecoder: VideoDecoder?
    private let audioDecoder: AudioDecoder?
    /// Nil with `--vo none`, or without video.
    private let renderer: OffscreenRenderer?
    private let window: VideoWindow?
    /// Where the display sends frames; nil with `--vo none`, or without video.
    private let sink: VideoSink?
    private let timeline: TimelineWriter?
    /// The master clock's source, chosen from the parameters and the input.
    package let sync: SyncSource
    /// The progress while `run` runs; read it from any thread.
    package let monitor = PlaybackMonitor()
    /// Pause, seek, volume, screenshots, stop: from any thread, before or during `run`.
    package let controls: PlaybackControls
    let state: SessionState
    private let clock: SessionClock
    private let vsync: VsyncSource
    /// The session's time when it runs on virtual time (tests).
    package let virtualTime: VirtualTime?
    private let events = SessionEvents()
    /// Listening on `parameters.ipcPath`, when given.
    private let remote: RemoteControl?
    /// The counters of the last `run`, also when it threw (what played before the error).
    package private(set) var statistics: PlaybackStatistics?
    /// Validation errors reported so far (empty unless validation is on).
    package var validationErrors: [String] { renderer?.device.validationErrors ?? [] }
    /// The Vulkan device's name (nil without a picture).
    var deviceName: String? { renderer?.device.name }
    /// Bytes copied into staging buffers on the way to the device (0 when it reads the pool).
    var uploadedBytes: Int { renderer?.uploadedBytes ?? 0 }
    /// The embedding API's output, when frames go to the application.
    var frameSink: FrameStreamSink? { sink as? FrameStreamSink }

    /// Frames the decoder may have ready ahead of the display.
    static let readyFrames = 6
    /// Packets the demux thread may read ahead, per stream.
    package static let defaultQueuedPackets = 1024

    package convenience init(parameters: PlaybackParameters) throws(PipelineError) {
        try self.init(parameters: parameters, virtualTime: false)
    }

    /// With `virtualTime`, the session runs on `self.virtualTime`: its clock, the
    /// display's ticks and the null or WAV output's pacing move only when a test
    /// advances it. `queuedPackets`: the read-ahead per stream, and `poolSlots` the
    /// video decoder's pool size (small in tests, to fill them).
    package init(
        parameters: PlaybackParameters, virtualTime: Bool,
        queuedPackets: Int = PlaybackPipeline.defaultQueuedPackets, poolSlots: Int? = nil
    ) throws(PipelineError) {
        self.parameters = parameters
        // An RTP session (an SDP) is received by Reel itself; anything else is a file or URL.
        let live =
            SessionDescription.names(parameters.input) ? try LiveInput(parameters.input, options: parameters.rtp) : nil
        self.live = live
        do throws(MediaError) {
            if let live {
                demuxer = live.demuxer
            } else {
                demuxer = try Demuxer(url: parameters.input)
            }
            let playsAudio = parameters.audio != nil && !parameters.untimed
            guard demuxer.bestVideoStream != nil || (playsAudio && demuxer.bestAudioStream != nil) else {
                throw MediaError(
                    .noVideoStream,
                    playsAudio || demuxer.bestAudioStream == nil
                        ? "'\(parameters.input)' has neither a video nor an audio stream"
                        : "'\(parameters.input)' has no video stream, and no sound is played")
            }
            if let video = demuxer.bestVideoStream {
                // Ready frames, the one on screen and those being rendered hold slots too.
                videoDecoder = try VideoDecoder(
                    demuxer: demuxer, streamIndex: video,
                    parameters: DecoderParameters(
                        // Live: frame threads would hold back a picture per thread.
                        threadCount: live != nil ? 1 : 0,
                        consumerSlots: Self.readyFrames + OffscreenRenderer.framesInFlight + 2, poolSlots: poolSlots,
                        damaged: live != nil ? parameters.damagedPictures : .concealed,
                        startsAtKeyframe: live != nil && !parameters.showsPicturesBeforeKeyframe, live: live != nil))
            } else {
                videoDecoder = nil
            }
            if playsAudio, let audio = demuxer.bestAudioStream {
                audioDecoder = try AudioDecoder(demuxer: demuxer, streamIndex: audio)
            } else {
                audioDecoder = nil
            }
        } catch { throw .media(error) }
        let hasVideo = videoDecoder != nil
        (window, renderer, sink) = try Self.openVideoOutput(parameters, demuxer: demuxer, hasVideo: hasVideo)
        // The pass is compiled now, not at the first frame (which would miss its tick).
        if let renderer, let videoDecoder {
            // A window draws scaled whenever its size is not the picture's.
            let layout = videoDecoder.layout
            let size = PixelSize(width: layout.width, height: layout.height)
            do {
                try renderer.prepare(
                    for: videoDecoder.pool, scaled: window != nil, colour: videoDecoder.declaredColour)
            } catch {
                throw .render(error)
            }
            if let windowSink = sink as? WindowSink {
                try windowSink.warmUp(format: layout.format, size: size, colour: videoDecoder.declaredColour)
            }
        }
        // A live stream follows its video by default: the sound is aligned to it, and
        // little of it is buffered. Without a picture, a video or external clock would
        // have nothing to start from: the sound is the master then (as in ffplay).
        let asked = parameters.sync ?? (live != nil ? .video : .automatic(hasAudio: audioDecoder != nil))
        sync = !hasVideo && audioDecoder != nil && !parameters.untimed ? .audio : asked
        if parameters.sync == .audio && parameters.untimed {
            throw .unsuitable("--untimed plays without a clock; it cannot follow --sync audio")
        }
        if sync == .audio && audioDecoder == nil {
            throw .unsuitable("--sync audio needs an audio stream, and '\(parameters.input)' has none")
        }
        var fields = SessionFields(
            readyFrames: Self.readyFrames, packets: queuedPackets, hasVideo: hasVideo,
            hasAudio: audioDecoder != nil)
        fields.volume = min(100, max(0, parameters.volume))
        fields.muted = parameters.muted
        fields.looping = parameters.loop
        if live != nil && sync != .audio && !parameters.untimed { fields.liveEdge = LiveEdge() }
        if let startTime = parameters.startTime { fields.pendingSeek = .absolute(startTime, exact: true) }
        let state = SessionState(fields, tracksIdle: virtualTime)
        self.state = state
        let time = virtualTime ? VirtualTime(state: state, rate: parameters.displayRate) : nil
        self.virtualTime = time
        // The thread that will call `run`, counted from now for `VirtualTime.advance`.
        state.enter()
        clock = time ?? HostClock()
        vsync = time ?? DeadlineVsync(timeline: VsyncTimeline(start: HostTime.now(), rate: parameters.displayRate))
        let vsync = vsync
        controls = PlaybackControls(
            state: state, clock: clock, events: events, hasPicture: renderer != nil,
            wakeDisplay: { [frameSink = sink as? FrameStreamSink] in
                vsync.stop()
                frameSink?.stop()
            })
        remote = try parameters.ipcPath.map { path throws(PipelineError) in try RemoteControl(path: path) }
        if let remote { events.listen { remote.post($0) } }
        do {
            timeline = try parameters.timelinePath.map { path throws(AudioError) in try TimelineWriter(path: path) }
        } catch { throw .audio(error) }
    }

    /// The window, its renderer and swapchain, or the offscreen renderer, as asked; a
    /// window without video is black and only takes keys.
    private static func openVideoOutput(
        _ parameters: PlaybackParameters, demuxer: Demuxer, hasVideo: Bool
    ) throws(PipelineError) -> (VideoWindow?, OffscreenRenderer?, VideoSink?) {
        switch parameters.video {
        case .window(let mode):
            let stream = demuxer.info.streams.first { $0.index == demuxer.bestVideoStream }?.video
            // A live stream's size is known at its first picture only.
            let size = stream.flatMap {
                $0.displayWidth > 0 ? PixelSize(width: $0.displayWidth, height: $0.displayHeight) : nil
            }
            do {
                let window = try VideoWindow(
                    title: "\((parameters.input as NSString).lastPathComponent) — reel",
                    contentSize: size ?? PixelSize(width: 640, height: 360))
                guard hasVideo else { return (window, nil, nil) }
                var device = parameters.device
                device.window = WindowSurfaceSource(
                    instanceExtensions: VideoWindow.requiredInstanceExtensions,
                    makeSurface: { window.makeSurface(instance: $0) })
                let renderer = try OffscreenRenderer(device: device)
                renderer.outputFormat = .bgra8
                let presenter = try WindowPresenter(device: renderer.device, size: window.framebufferSize, mode: mode)
                return (window, renderer, WindowSink(renderer: renderer, presenter: presenter))
            } catch let error as WindowError {
                throw .unsuitable(error.description)
            } catch let error as RenderError {
                throw .render(error)
            } catch {
                throw .unsuitable("\(error)")
            }
        case .offscreen:
            guard hasVideo else { return (nil, nil, nil) }
            if let frames = parameters.frames {
                do {
                    let renderer = try OffscreenRenderer(
                        device: parameters.device, resourceCount: frames.output.buffers)
                    return (
                        nil, renderer,
                        FrameStreamSink(renderer: renderer, output: frames.output, channel: frames.channel)
                    )
                } catch { throw .render(error) }
            }
            do {
                let renderer = try OffscreenRenderer(device: parameters.device)
                return (nil, renderer, OffscreenSink(renderer: renderer))
            } catch { throw .render(error) }
        case .none:
            return (nil, nil, nil)
        }
    }

    /// Plays to the end (or the frame limit, or a stop), calling `onFrame` on the display
    /// thread for each rendered frame and `onProgress` on the observer thread about ten
    /// times a second (and once more, with `final` true, at the end), and returns the
    /// counters. Every thread it started is joined when it returns. Call it once, on the
    /// main thread when there is a window.
    ///
    /// A damaged or truncated input plays every frame and sample that decodes, then
    /// throws `PipelineError.media` (kind `.truncated`), unless playback was stopped first.
    package func run(
        onFrame: @escaping @Sendable (PipelineFrame) -> Void = { _ in },
        onProgress: (@Sendable (_ progress: PlaybackProgress, _ final: Bool) -> Void)? = nil
    ) throws -> PlaybackStatistics {
        defer { state.leave() }
        let start = (wall: clock.now(), cpu: HostTime.processCPU())
        monitor.update { $0.duration = demuxer.info.durationMicroseconds }
        if parameters.startPaused { state.togglePause(at: start.wall) }

        let audio = try openAudio()
        try live?.listen()
        var wakeCaller: @Sendable () -> Void = {}
        if window != nil { wakeCaller = { VideoWindow.wake() } }
        let display = DisplayWorker(
            sink: sink, state: state, clock: clock, timeline: timeline, sync: sync,
            hasVideo: videoDecoder != nil, hasAudio: audio.worker != nil,
            interval: VsyncTimeline(start: 0, rate: parameters.displayRate).intervalMicroseconds,
            frameLimit: parameters.frameLimit, renderDelay: parameters.renderDelay, monitor: monitor,
            onFrame: onFrame, onNotice: wakeCaller)
        let workers = startWorkers(display: display, audio: audio.worker, onProgress: onProgress)

        // This thread: the window's events and the screenshots, until the display stops.
        var screenshots: [String] = []
        while !state.read({ $0.displayDone }) {
            if let window {
                answer(window.waitEvents(), in: window)
            } else {
                state.wait { $0.displayDone || !$0.screenshots.isEmpty ? true : nil }
            }
            screenshots += writeScreenshots()
        }
        // A live input's demux thread may be waiting for the network.
        live?.receiver.stop()
        events.post(.endFile(reason: endReason()))
        remote?.stop()
        abandonScreenshots()
        for worker in workers.all { worker.join() }
        state.release(state.update { fields in fields.ready.removeAll { _ in true } })
        screenshots += writeScreenshots()
        do { try timeline?.close() } catch { throw PipelineError.audio(error) }
        var statistics = display.statistics
        statistics.missedTicks = vsync.missedTicks
        statistics.framesDecoded = workers.video?.framesDecoded ?? 0
        statistics.damagedPictures = videoDecoder?.damage ?? DamageCounts()
        statistics.rejectedPackets = videoDecoder?.rejectedPackets ?? 0
        statistics.rejectedAudioPackets = audioDecoder?.rejectedPackets ?? 0
        statistics.audioFramesWritten = state.read { $0.audioFramesWritten }
        statistics.audioFramesAligned = audio.worker?.framesAligned ?? 0
        statistics.audioFramesStretched = audio.worker?.framesStretched ?? 0
        statistics.sync = parameters.untimed ? "none" : sync.rawValue
        statistics.audioWarning = audio.warning
        statistics.rtp = live?.receiver.statistics ?? []
        statistics.inputEnd = live?.endNotice
        if let first = live?.receiver.firstArrival, let shown = statistics.firstShown {
            statistics.firstPictureAfter = (shown - first) / 1000
        }
        statistics.screenshots = screenshots
        statistics.wallSeconds = Double(clock.now() - start.wall) / 1e9
        statistics.cpuSeconds = Double(HostTime.processCPU() - start.cpu) / 1e9
        self.statistics = statistics
        if let error = try endError() { throw error }
        return statistics
    }

    /// The session's threads, as started.
    private struct Workers {
        var all: [Worker]
        var video: VideoWorker?
    }

    /// Starts the decoders, the display, the demux thread and the observer.
    private func startWorkers(
        display: DisplayWorker, audio: AudioWorker?,
        onProgress: (@Sendable (PlaybackProgress, Bool) -> Void)?
    ) -> Workers {
        var workers = Workers(all: [], video: nil)
        let state = state
        /// A thread of the session that `VirtualTime.advance` waits for.
        func counted(
            _ name: String, priority: Worker.Priority = .normal, _ body: @escaping @Sendable () -> Void
        ) -> Worker {
            state.enter()
            return Worker(name: name, priority: priority) {
                body()
                state.leave()
            }
        }
        // The sound card's buffer and the display's tick have deadlines: their threads
        // go first (the audio one before the display's).
        if let audio { workers.all.append(counted("reel.audio", priority: .deadline(level: 12)) { audio.run() }) }
        if let videoDecoder {
            var arrival: (@Sendable (Int64) -> FrameArrival?)?
            if let arrivals = live?.arrivals { arrival = { arrivals.arrival(ofTicks: $0) } }
            let video = VideoWorker(
                decoder: videoDecoder, state: state, clock: clock, decodeDelay: parameters.decodeDelay,
                arrival: arrival)
            workers.video = video
            workers.all.append(counted("reel.video") { video.run() })
        }
        let vsync = vsync
        if parameters.untimed {
            workers.all.append(counted("reel.display") { display.runUntimed() })
        } else {
            workers.all.append(
                counted("reel.display", priority: .deadline(level: 10)) {
                    // Frames lent to an application go out when rendered, before the next tick.
                    let waitLimit = display.interval * 1000 - 2_000_000
                    while let deadline = vsync.nextTick() {
                        guard display.tick(deadline: deadline) else { break }
                        display.deliverRendered(before: deadline + waitLimit)
                    }
                    vsync.stop()
                    display.stopped()
                })
        }
        let demux = DemuxWorker(
            source: live ?? demuxer, streams: (videoDecoder?.streamIndex, audioDecoder?.streamIndex), state: state,
            clock: clock, monitor: monitor, timeline: timeline, events: events)
        if live != nil, let audio = audioDecoder?.streamIndex {
            demux.liveAudioTimeBase = demuxer.timeBase(ofStream: audio)
        }
        workers.all.append(counted("reel.demux") { demux.run() })
        if let remote {
            workers.all.append(
                Worker(name: "reel.ipc") {
                    [answers = RemoteAnswers(controls: controls, monitor: monitor, state: state)] in
                    remote.run { answers.answer($0, reply: $1) }
                })
        }
        // A live session's counts go with each report.
        var reporting = onProgress
        if let onProgress, let receiver = live?.receiver {
            reporting = { progress, final in
                var progress = progress
                progress.rtp = receiver.statistics
                onProgress(progress, final)
            }
        }
        let observer = SessionObserver(
            state: state, monitor: monitor, timeline: timeline, events: events, onProgress: reporting)
        workers.all.append(Worker(name: "reel.observe") { observer.run() })
        return workers
    }

    /// Opens the audio output; no worker when there is no sound.
    private func openAudio() throws(PipelineError) -> (worker: AudioWorker?, warning: String?) {
        guard let audioDecoder, let choice = parameters.audio else { return (nil, nil) }
        var opened: (output: AudioOutput, warning: String?)
        if let sink = parameters.applicationAudio {
            opened = (
                ApplicationAudioOutput(sink: sink, format: audioDecoder.output, clock: virtualTime ?? MonotonicClock()),
                nil
            )
        } else {
            do {
                opened = try choice.open(
                    format: audioDecoder.output, pulseServer: parameters.pulseServer,
                    clock: virtualTime ?? MonotonicClock(), notice: { [monitor] in monitor.post($0) })
            } catch { throw .audio(error) }
        }
        let worker = AudioWorker(
            decoder: audioDecoder, output: opened.output, state: state, clock: clock, timeline: timeline,
            followsMaster: sync != .audio)
        return (worker, opened.warning)
    }

    /// Why playback ended, for the remote control's `end-file` event.
    private func endReason() -> String {
        let (failed, damaged, byUser) = state.read {
            ($0.failure != nil, $0.inputError != nil && $0.playedToEnd, $0.stoppedByUser)
        }
        return failed || damaged ? "error" : byUser ? "quit" : "eof"
    }

    /// What ended the session badly, if anything: a failure, or, when it played to the
    /// end of a damaged input, what was wrong with the input.
    private func endError() throws(PipelineError) -> PipelineError? {
        let (failure, inputError, playedToEnd, soundEnd) = state.read {
            ($0.failure, $0.inputError, $0.playedToEnd, $0.soundEnd)
        }
        if let failure { return failure }
        guard playedToEnd else { return nil }
        // Short of the declared duration: judged by whichever stream went furthest.
        let pictureEnd = videoDecoder?.lastPictureEnd?.microseconds
        let shortfall: MediaError?
        if let soundEnd, soundEnd > pictureEnd ?? .min {
            shortfall = demuxer.checkComplete(
                endedAt: MediaTime(ticks: soundEnd, timeBase: Rational(1, 1_000_000)), stream: "sound")
        } else {
            shortfall = videoDecoder?.lastPictureEnd.flatMap { demuxer.checkComplete(endedAt: $0) }
        }
        return (inputError ?? videoDecoder?.packetError ?? audioDecoder?.packetError ?? shortfall).map { .media($0) }
    }
}
