import Foundation
import ReelAudio
import ReelCore
import ReelFramePool
import ReelMedia
public import ReelTiming
import ReelVulkan
import ReelWindow
import Synchronization

/// Plays a file in real time: video is rendered to a window or offscreen at each tick
/// of the display, sound goes to an audio output, and both follow one master clock.
///
/// Threads, each with one job (ARCHITECTURE.md): a demux thread reads into two bounded
/// packet queues and serves seeks; a video thread decodes into pool slots and a
/// bounded queue of ready frames; an audio thread decodes, resamples and writes to the
/// output, which paces it, and sets the master clock from what the output holds; the
/// vsync thread picks the frame each tick shows and renders it, never waiting for the
/// decoder or the GPU (a tick with both submissions busy is skipped). The caller's
/// thread answers the window's events (GLFW wants the main thread) and writes
/// screenshots.
///
/// Thread-safety: Unsafe; create, run and drop it on one thread.
public final class PlaybackPipeline {
    public let parameters: PlaybackParameters
    private let demuxer: Demuxer
    private let videoDecoder: VideoDecoder
    private let audioDecoder: AudioDecoder?
    /// Nil with `--vo none`.
    private let renderer: OffscreenRenderer?
    private let window: VideoWindow?
    private let presenter: WindowPresenter?
    private let timeline: TimelineWriter?
    /// The master clock's source, chosen from the parameters and the input.
    public let sync: SyncSource
    /// The progress while `run` runs; read it from any thread.
    public let monitor = PlaybackMonitor()
    /// Pause, seek, volume, screenshots, stop: from any thread, before or during `run`.
    public let controls: PlaybackControls
    private let shared = SharedState()
    /// Validation errors reported so far (empty unless validation is on).
    public var validationErrors: [String] { renderer?.device.validationErrors ?? [] }

    /// Frames the decoder may have ready ahead of the display.
    static let readyFrames = 6

    public init(parameters: PlaybackParameters) throws(ReelError) {
        self.parameters = parameters
        do {
            demuxer = try Demuxer(url: parameters.input)
            let video = try demuxer.requireVideoStream()
            // Ready frames, the one on screen and those being rendered hold slots too.
            videoDecoder = try VideoDecoder(
                demuxer: demuxer, streamIndex: video,
                parameters: DecoderParameters(
                    consumerSlots: Self.readyFrames + OffscreenRenderer.framesInFlight + 2))
            if parameters.audio != nil, !parameters.untimed, let audio = demuxer.bestAudioStream {
                audioDecoder = try AudioDecoder(demuxer: demuxer, streamIndex: audio)
            } else {
                audioDecoder = nil
            }
        } catch { throw .media(error) }
        switch parameters.video {
        case .window(let mode):
            let videoIndex = videoDecoder.streamIndex
            let stream = demuxer.info.streams.first { $0.index == videoIndex }?.video
            let size = stream.map { PixelSize(width: $0.displayWidth, height: $0.displayHeight) }
            do {
                let window = try VideoWindow(
                    title: "\((parameters.input as NSString).lastPathComponent) — reel",
                    contentSize: size ?? PixelSize(width: 640, height: 360))
                self.window = window
                var device = parameters.device
                device.window = WindowSurfaceSource(
                    instanceExtensions: VideoWindow.requiredInstanceExtensions,
                    makeSurface: { window.makeSurface(instance: $0) })
                let renderer = try OffscreenRenderer(device: device)
                renderer.outputFormat = .bgra8
                self.renderer = renderer
                presenter = try WindowPresenter(device: renderer.device, size: window.framebufferSize, mode: mode)
            } catch let error as WindowError {
                throw .unsuitable(error.description)
            } catch let error as RenderError {
                throw .render(error)
            } catch {
                throw .unsuitable("\(error)")
            }
        case .offscreen:
            window = nil
            presenter = nil
            do { renderer = try OffscreenRenderer(device: parameters.device) } catch { throw .render(error) }
        case .none:
            window = nil
            presenter = nil
            renderer = nil
        }
        sync = parameters.sync ?? .automatic(hasAudio: audioDecoder != nil)
        if parameters.sync == .audio && parameters.untimed {
            throw .unsuitable("--untimed plays without a clock; it cannot follow --sync audio")
        }
        if sync == .audio && audioDecoder == nil {
            throw .unsuitable("--sync audio needs an audio stream, and '\(parameters.input)' has none")
        }
        controls = PlaybackControls(shared: shared)
        controls.volume = parameters.volume
        controls.isMuted = parameters.muted
        shared.looping.store(parameters.loop, ordering: .releasing)
        if let startTime = parameters.startTime { controls.seek(to: startTime, exact: true) }
        do {
            timeline = try parameters.timelinePath.map { path throws(AudioError) in try TimelineWriter(path: path) }
        } catch { throw .audio(error) }
    }

    /// Plays to the end (or the frame limit, or a stop), calling `onFrame` on the vsync
    /// thread for each rendered frame, and returns the counters. Call it once, on the
    /// main thread when there is a window.
    public func run(onFrame: @escaping @Sendable (RenderedFrame) -> Void = { _ in }) throws -> PlaybackStatistics {
        let start = (wall: HostTime.now(), cpu: HostTime.processCPU())
        monitor.update { $0.duration = demuxer.info.durationMicroseconds }
        if parameters.startPaused { shared.togglePause(at: start.wall) }
        let videoPackets = BoundedQueue<PacketItem>(capacity: 1024)
        let audioPackets = BoundedQueue<PacketItem>(capacity: 1024)
        let ready = BoundedQueue<ReadyFrame>(capacity: Self.readyFrames)
        shared.register(queues: [videoPackets.close, audioPackets.close])

        // Audio: decode, write (paced by the output), set the master clock.
        let audio = try startAudio(packets: audioPackets)
        // Video decode into pool slots.
        let videoWorker = VideoWorker(
            decoder: videoDecoder, packets: videoPackets, ready: ready, shared: shared,
            decodeDelay: parameters.decodeDelay)
        let videoThread = Thread { videoWorker.run() }
        videoThread.name = "reel-video"
        videoThread.start()
        // The display: each tick shows a frame (untimed: each frame as it comes).
        let display = DisplayWorker(
            renderer: renderer, presenter: presenter, ready: ready, shared: shared, timeline: timeline, sync: sync,
            hasAudio: audio.worker != nil,
            interval: VsyncTimeline(start: 0, rate: parameters.displayRate)
                .intervalMicroseconds,
            frameLimit: parameters.frameLimit, renderDelay: parameters.renderDelay, monitor: monitor,
            onFrame: onFrame)
        var vsync: VsyncThread?
        if parameters.untimed {
            let thread = Thread { display.runUntimed() }
            thread.name = "reel-display"
            thread.start()
        } else {
            vsync = VsyncThread(
                timeline: VsyncTimeline(start: HostTime.now(), rate: parameters.displayRate),
                onTick: { _, deadline in display.tick(deadline: deadline) })
        }
        // Demux: reads, seeks, loops, until the stop.
        let demux = DemuxWorker(
            demuxer: demuxer, streams: (videoDecoder.streamIndex, audioDecoder?.streamIndex), video: videoPackets,
            audio: audioPackets, shared: shared, monitor: monitor, timeline: timeline)
        let demuxThread = Thread { demux.run() }
        demuxThread.name = "reel-demux"
        demuxThread.start()

        // This thread: the window's events and the screenshots, until the display stops.
        var screenshots: [String] = []
        while !shared.displayDone.load(ordering: .acquiring) {
            if let window {
                answer(window.pollEvents(timeout: 0.01), in: window)
            } else {
                usleep(10_000)
            }
            screenshots += writeScreenshots()
        }
        vsync?.stop()
        // The display stopped everyone (end, limit, stop, or an error); free what is
        // still queued until the workers are out.
        ready.close()
        repeat {
            while let frame = ready.tryPop() { frame.frame.release() }
            usleep(2000)
        } while !shared.videoDone.load(ordering: .acquiring) || !shared.audioDone.load(ordering: .acquiring)
            || !demux.done.load(ordering: .acquiring)
        while let frame = ready.tryPop() { frame.frame.release() }
        screenshots += writeScreenshots()
        do { try timeline?.close() } catch { throw ReelError.audio(error) }
        if let error = shared.failure.withLock({ $0 }) { throw error }

        var statistics = display.statistics
        statistics.missedTicks = vsync?.missedTicks ?? 0
        statistics.framesDecoded = videoWorker.framesDecoded
        statistics.audioFramesWritten = shared.audioFramesWritten.load(ordering: .acquiring)
        statistics.audioFramesAligned = audio.worker?.framesAligned ?? 0
        statistics.audioFramesStretched = audio.worker?.framesStretched ?? 0
        statistics.sync = parameters.untimed ? "none" : sync.rawValue
        statistics.audioWarning = audio.warning
        statistics.screenshots = screenshots
        statistics.wallSeconds = Double(HostTime.now() - start.wall) / 1e9
        statistics.cpuSeconds = Double(HostTime.processCPU() - start.cpu) / 1e9
        return statistics
    }

    /// Opens the audio output and starts the audio thread; no worker when there is no sound.
    private func startAudio(
        packets: BoundedQueue<PacketItem>
    ) throws(ReelError) -> (worker: AudioWorker?, warning: String?) {
        guard let audioDecoder, let choice = parameters.audio else {
            shared.audioDone.store(true, ordering: .releasing)
            return (nil, nil)
        }
        let opened: (output: AudioOutput, warning: String?)
        do {
            opened = try choice.open(format: audioDecoder.output, pulseServer: parameters.pulseServer)
        } catch { throw .audio(error) }
        let worker = AudioWorker(
            decoder: audioDecoder, output: opened.output, packets: packets, shared: shared,
            timeline: timeline, followsMaster: sync != .audio)
        let thread = Thread { worker.run() }
        thread.name = "reel-audio"
        thread.start()
        return (worker, opened.warning)
    }

    /// The window's keys: space pause, ←/→ ∓5 s, ↓/↑ ∓60 s, 9/0 volume, m mute,
    /// s screenshot, f fullscreen, q/Esc (or closing it) quit.
    private func answer(_ events: [WindowEvent], in window: VideoWindow) {
        let exact = parameters.exactSeeks
        for event in events {
            switch event {
            case .closeRequested, .key(.q), .key(.escape): controls.stop()
            case .key(.space): controls.togglePause()
            case .key(.left): controls.seek(by: -5_000_000, exact: exact)
            case .key(.right): controls.seek(by: 5_000_000, exact: exact)
            case .key(.down): controls.seek(by: -60_000_000, exact: exact)
            case .key(.up): controls.seek(by: 60_000_000, exact: exact)
            case .key(.nine): controls.volume -= 2
            case .key(.zero): controls.volume += 2
            case .key(.m): controls.isMuted.toggle()
            case .key(.s): controls.takeScreenshot()
            case .key(.f): window.toggleFullscreen()
            case .resized, .refreshNeeded: shared.redraw.store(true, ordering: .releasing)
            }
        }
    }

    /// Writes the screenshots the display has kept as PNGs; returns their paths. One
    /// that cannot be written is reported on the monitor, and playback goes on.
    private func writeScreenshots() -> [String] {
        let shots = shared.screenshots.withLock { taken in
            defer { taken.removeAll() }
            return taken
        }
        var written: [String] = []
        for var shot in shots {
            let path = Self.freeName(parameters.screenshotTemplate)
            if shot.bgra {
                for pixel in stride(from: 0, to: shot.pixels.count, by: 4) { shot.pixels.swapAt(pixel, pixel + 2) }
            }
            let size = PixelSize(width: shot.width, height: shot.height)
            let result = shot.pixels.withUnsafeBytes { pixels in
                Result { () throws(MediaError) in
                    try PNGWriter().write(rgba: pixels, size: size, rowBytes: size.width * 4, to: path)
                }
            }
            do {
                try result.get()
                written.append(path)
                monitor.post("screenshot: \(path)")
            } catch {
                monitor.post("screenshot not written: \(error)")
            }
        }
        return written
    }

    /// `template` with `%n` replaced by the first 4-digit number whose file does not exist.
    static func freeName(_ template: String) -> String {
        guard template.contains("%n") else { return template }
        var number = 1
        while true {
            let path = template.replacingOccurrences(of: "%n", with: String(format: "%04d", number))
            if !FileManager.default.fileExists(atPath: path) || number >= 9999 { return path }
            number += 1
        }
    }
}
