import Foundation
import Logging
import ReelAudio
import ReelCore
import ReelTiming
import ReelVulkan
import ReelWindow
import Synchronization

/// A Reel session: frames in (pushed by the application, or from a file or an RTP
/// stream), converted from YCbCr to RGB by the Vulkan pass, timed or not, and out
/// (`frames`, a callback, a window, or nowhere).
///
/// A session starts when it is made and runs on threads of its own: the display
/// thread picks, renders and hands out frames (the real-time path never waits for
/// the application). It ends when its input ends (`finishInput()` for pushed frames),
/// on `stop()`, when the task reading `frames` is cancelled, or on an error; then
/// `finished()` returns its statistics with every thread it started joined.
///
/// ```swift
/// let session = try Session(SessionParameters(pacing: .timed(rate: Rational(60, 1))))
/// var lease = try await session.lease(for: FrameDescription(format: .nv12, size: PixelSize(width: 1920, height: 1080)))
/// lease.withPlane(0) { luma in /* write rows */ }
/// try lease.submit(at: MediaTime(ticks: 0, timeBase: Rational(1, 60)))
/// ```
///
/// Thread-safety: Safe; every method may be called from any thread or task.
public final class Session: Sendable {
    private let runtime: any SessionRuntime

    /// Opens the Vulkan device (and the input, for a file or a stream) and starts the
    /// session. `onFrame`: with a `.frames` output, rendered frames go to it, on the
    /// display thread (keep it short; release or keep the frame), instead of to `frames`.
    public init(_ parameters: SessionParameters, onFrame: (@Sendable (RenderedFrame) -> Void)? = nil)
        throws(ReelError)
    {
        switch parameters.source {
        case .pushed, .listening: runtime = try PushRuntime(parameters, onFrame: onFrame)
        case .file, .stream: runtime = try PlaybackRuntime(parameters, onFrame: onFrame)
        }
    }

    /// The pushed-frame source, or an error for a session reading a file or a stream.
    private func pushSource() throws(ReelError) -> PushSource {
        guard let source = runtime.pushSource else {
            throw ReelError(.unsuitable, "this session reads a file or a stream: it takes no pushed frames")
        }
        return source
    }

    deinit { runtime.close() }

    /// The rendered frames, in order (a `.frames` output without `onFrame`; otherwise
    /// the sequence ends at once).
    public var frames: RenderedFrames {
        RenderedFrames(channel: runtime.channel) { [runtime] in runtime.stop() }
    }

    /// The name of the Vulkan device rendering.
    public var deviceName: String { runtime.deviceName }

    /// Lends a free pool slot for a frame of `description`, suspending while every slot
    /// is taken (the display is behind): back-pressure. Throws when the session stopped
    /// or the input was finished, when the task is cancelled, or for a size out of range.
    public func lease(for description: FrameDescription) async throws(ReelError) -> FrameLease {
        try await pushSource().lease(for: description)
    }

    /// Lends a free pool slot at once, or returns nil when the pool is full.
    public func tryLease(for description: FrameDescription) throws(ReelError) -> FrameLease? {
        try pushSource().tryLease(for: description)
    }

    /// Pushes a frame the application already holds in its own memory: one copy per
    /// plane into a pool slot (counted in `SessionStatistics.bytesCopied`), then
    /// submitted. `planes[i]` holds plane `i` with rows `strides[i]` bytes apart
    /// (packed rows when `strides` is nil). Suspends like `lease(for:)`.
    public func push(
        _ description: FrameDescription, planes: [[UInt8]], strides: [Int]? = nil, at presentationTime: MediaTime,
        captured: SuspendingClock.Instant? = nil
    ) async throws(ReelError) {
        var lease = try await lease(for: description)
        guard planes.count == lease.planeCount else {
            throw ReelError(
                .unsuitable, "\(description.format) has \(lease.planeCount) planes; \(planes.count) were given")
        }
        var copied = 0
        for (index, plane) in planes.enumerated() {
            let rowBytes = lease.rowBytes(ofPlane: index)
            let rows = lease.rows(ofPlane: index)
            let stride = lease.stride(ofPlane: index)
            let sourceStride = strides?[index] ?? rowBytes
            guard sourceStride >= rowBytes, plane.count >= sourceStride * (rows - 1) + rowBytes else {
                throw ReelError(
                    .unsuitable,
                    "plane \(index) of a \(description.size) \(description.format) frame needs \(rows) rows of \(rowBytes) bytes; \(plane.count) bytes were given"
                )
            }
            lease.withPlane(index) { bytes in
                bytes.withUnsafeMutableBytes { destination in
                    plane.withUnsafeBytes { source in
                        for row in 0..<rows {
                            (destination.baseAddress! + row * stride).copyMemory(
                                from: source.baseAddress! + row * sourceStride, byteCount: rowBytes)
                        }
                    }
                }
            }
            copied += rowBytes * rows
        }
        try pushSource().counters.withLock {
            $0.copied += 1
            $0.bytesCopied += copied
        }
        try lease.submit(at: presentationTime, captured: captured)
    }

    /// With a `.window` output: handles the window's events on the calling thread — the
    /// thread that made the session (the main thread, as the window system wants) —
    /// until the session ends. Closing the window, or pressing Q or Escape, stops it; a
    /// file's or stream's window also takes the player's keys (space pauses, arrows
    /// seek). Throws for a session without a window.
    public func runWindow() throws(ReelError) { try runtime.runWindow() }

    /// Pushes a chunk of sound: interleaved signed 16-bit samples, whole frames, with
    /// the presentation time of its first frame on the pictures' timeline. The sound
    /// plays to the session's `SessionParameters.audio` output and is its master clock:
    /// pushed pictures are shown when their time is heard. Suspends while half a second
    /// of sound waits to be played. Every chunk has the format of the first.
    public func push(audio samples: [Int16], format: AudioSampleFormat, at presentationTime: MediaTime)
        async throws(ReelError)
    {
        guard let audio = runtime.pushedAudio else {
            throw ReelError(
                .unsuitable, "this session takes no pushed sound: make it with pushed frames and an `audio` output")
        }
        try await audio.push(samples, format: format, at: presentationTime)
    }

    /// No more frames: the session ends once those submitted are rendered (or dropped
    /// at their time).
    public func finishInput() { runtime.finishInput() }

    /// Stops at once: frames not yet rendered are dropped, waiting leases throw, and
    /// `frames` ends. Idempotent.
    public func stop() { runtime.stop() }

    /// Waits for the end and returns what the session did, every thread it started
    /// joined. Throws what ended it badly (a render failure).
    public func finished() async throws(ReelError) -> SessionStatistics {
        try await runtime.finished()
    }
}

/// The threads and stages of a pushed session.
///
/// Thread-safety: Safe.
final class PushRuntime: SessionRuntime, @unchecked Sendable {
    let push: PushSource
    var pushSource: PushSource? { push }
    let channel: FrameChannel
    let deviceName: String
    private let state: SessionState
    private let sink: FrameStreamSink?
    private let renderer: OffscreenRenderer
    private let vsync: DeadlineVsync
    private let logger: Logger?
    private let display: DisplayWorker
    /// Other processes' producers (`.listening`), when the session takes them.
    private var server: PoolServer?
    /// Sound the application pushes, and its thread.
    let audio: PushedAudio?
    var pushedAudio: PushedAudio? { audio }
    private let audioWorker = Locked<Worker?>(nil)
    /// The preview window (`.window` output), whose events `runWindow` handles.
    private var window: VideoWindow?
    /// When the session was asked for, and when it was ready (device open, passes compiled).
    private let opened = (wall: HostTime.now(), cpu: HostTime.processCPU())
    private var start = (wall: Int64(0), cpu: Int64(0))
    /// The display thread, and the end it waits for.
    private let end = SessionEnd()

    init(_ parameters: SessionParameters, onFrame: (@Sendable (RenderedFrame) -> Void)?) throws(ReelError) {
        let slots = max(2, parameters.pushedSlots)
        // Sound, when the application will push some: opened at its first chunk.
        let openAudio: (@Sendable (AudioFormat) throws(AudioError) -> (output: AudioOutput, warning: String?))?
        switch parameters.audio {
        case .none: openAudio = nil
        case .system:
            openAudio = { [logger = parameters.logger] format throws(AudioError) in
                try AudioOutputChoice.pulse.open(format: format, notice: { logger?.warning("\($0)") })
            }
        case .application(let sink):
            openAudio = { format in (ApplicationAudioOutput(sink: sink, format: format, clock: MonotonicClock()), nil) }
        }
        let state = SessionState(
            SessionFields(readyFrames: slots, packets: 1, hasVideo: true, hasAudio: openAudio != nil))
        self.state = state
        push = PushSource(state: state, slotsPerPool: slots)
        let clock = HostClock()
        audio = openAudio.map { PushedAudio(state: state, clock: clock, open: $0) }
        channel = FrameChannel(handler: onFrame)
        logger = parameters.logger
        var device = DeviceParameters(validation: parameters.validation)
        if let logger = parameters.logger {
            device.onValidationMessage = { isError, message in
                logger.log(level: isError ? .error : .warning, "Vulkan validation: \(message)")
            }
        }
        if case .named(let name) = parameters.device { device.preferredName = name }
        var output: FrameOutput?
        switch parameters.output {
        case .frames(let frames): output = frames
        case .none: output = nil
        case .window:
            guard parameters.pacing != .everyFrame else {
                throw ReelError(.unsuitable, "a window shows frames at their time: give the session a timed pacing")
            }
            do {
                let window = try VideoWindow(title: "Reel", contentSize: PixelSize(width: 960, height: 540))
                self.window = window
                device.window = WindowSurfaceSource(
                    instanceExtensions: VideoWindow.requiredInstanceExtensions,
                    makeSurface: { window.makeSurface(instance: $0) })
            } catch { throw ReelError(.unsuitable, error.description) }
        }
        let renderer: OffscreenRenderer
        let videoSink: VideoSink?
        do {
            renderer = try OffscreenRenderer(
                device: device, resourceCount: output?.buffers ?? OffscreenRenderer.framesInFlight)
            if let window {
                renderer.outputFormat = .bgra8
                let presenter = try WindowPresenter(device: renderer.device, size: window.framebufferSize, mode: nil)
                videoSink = WindowSink(renderer: renderer, presenter: presenter)
            } else {
                videoSink = nil
            }
        } catch { throw ReelError(.render(error)) }
        self.renderer = renderer
        deviceName = renderer.device.name
        let channel = channel
        let sink = output.map { FrameStreamSink(renderer: renderer, output: $0, channel: channel) }
        self.sink = sink
        // The frames the application said it will push: their passes are ready before the first.
        if !parameters.expectedFrames.isEmpty {
            guard case .pushed = parameters.source else {
                throw ReelError(.unsuitable, "expectedFrames applies to a session the application pushes frames to")
            }
            for description in parameters.expectedFrames {
                let pool = try push.pool(for: description)
                let scaled = window != nil || output?.size.map { $0 != description.size } ?? false
                do { try renderer.prepare(for: pool, scaled: scaled) } catch { throw ReelError(.render(error)) }
                if let windowSink = videoSink as? WindowSink {
                    do {
                        try windowSink.warmUp(
                            format: description.format, size: description.size, colour: description.color)
                    } catch {
                        throw ReelError(error)
                    }
                }
            }
        }
        let rate: Rational
        if case .timed(let timedRate) = parameters.pacing {
            guard timedRate.isValid, timedRate.doubleValue <= 1000 else {
                throw ReelError(.unsuitable, "a display rate must be positive and at most 1000 Hz, not \(timedRate)")
            }
            rate = timedRate
        } else {
            rate = Rational(60, 1)
        }
        vsync = DeadlineVsync(timeline: VsyncTimeline(start: HostTime.now(), rate: rate))
        let hasWindow = window != nil
        display = DisplayWorker(
            sink: sink ?? videoSink, state: state, clock: clock, timeline: nil, sync: audio != nil ? .audio : .video,
            hasVideo: true, hasAudio: audio != nil, interval: VsyncTimeline(start: 0, rate: rate).intervalMicroseconds,
            frameLimit: nil,
            renderDelay: 0, monitor: PlaybackMonitor(), onFrame: { _ in },
            onNotice: { if hasWindow { VideoWindow.wake() } })
        logger?.info(
            "session started",
            metadata: [
                "device": "\(deviceName)", "pacing": "\(parameters.pacing)",
                "output": "\(hasWindow ? "window" : output.map { "\($0.format) frames" } ?? "none")",
            ])
        if case .listening(let path, let once) = parameters.source {
            let push = push
            // Once: the first producer to leave ends the input.
            server = try PoolServer(
                path: path, logger: logger, deliver: { push.enqueue($0) },
                peerEnded: { [weak self] in if once { self?.firstProducerLeft() } })
        }
        start = (HostTime.now(), HostTime.processCPU())
        startDisplay(timed: parameters.pacing != .everyFrame, interval: display.interval, followsInput: !hasWindow)
    }

    /// No more producers are taken; those connected go on until the display ends.
    private func firstProducerLeft() {
        server?.stopListening()
        push.finish()
    }

    func runWindow() throws(ReelError) {
        guard let window else { throw ReelError(.unsuitable, "this session has no window: its output is not .window") }
        // The display thread wakes this one (`onNotice`) when it is done.
        while !state.read({ $0.displayDone }) {
            for event in window.waitEvents() {
                switch event {
                case .closeRequested, .key(.q), .key(.escape): stop()
                case .resized, .refreshNeeded: state.update { $0.redraw = true }
                case .displayLost: state.fail(.unsuitable(VideoWindow.displayLostMessage))
                default: break
                }
            }
        }
    }

    /// `interval`: between ticks, µs. `followsInput`: with no screen, the ticks are
    /// put in phase with the first frame.
    private func startDisplay(timed: Bool, interval: Int64, followsInput: Bool) {
        // The sound card's buffer has a deadline: its thread goes first.
        if let audio {
            audioWorker.withLock { $0 = Worker(name: "reel.audio", priority: .deadline(level: 12)) { audio.run() } }
        }
        let thread = Worker(name: "reel.display", priority: timed ? .deadline(level: 10) : .normal) {
            [self, display, vsync] in
            if timed {
                // No screen to follow: the ticks fall a quarter of an interval after the
                // first frame's arrival, so a steady source's frames (a camera's) are
                // each shown at the first tick after they come, with room for jitter.
                if followsInput, let first = firstArrival() { vsync.startTicks(at: first + interval * 250) }
                // Frames go out as soon as they are rendered, up to 2 ms before the next tick.
                let waitLimit = interval * 1000 - 2_000_000
                while let deadline = vsync.nextTick() {
                    guard display.tick(deadline: deadline) else { break }
                    display.deliverRendered(before: deadline + waitLimit)
                }
                vsync.stop()
                display.stopped()
            } else {
                display.runUntimed()
            }
            ended()
        }
        end.started(thread)
    }

    /// Waits for the first frame submitted and returns when it came (host ns); nil when
    /// the session stopped or its input ended first.
    private func firstArrival() -> Int64? {
        state.wait { fields -> Int64?? in
            if fields.stopping || fields.videoEnded == 0 { return .some(nil) }
            guard let first = fields.ready.first else { return nil }
            return .some(first.received ?? HostTime.now())
        }
    }

    /// On the display thread, at its end: the statistics, the frames' end, the waiters.
    private func ended() {
        push.stop()
        audio?.stop()
        audioWorker.withLock { worker in
            worker?.join()
            worker = nil
        }
        // Frames submitted and never taken (a stop) go back to their pools, then the
        // producers are cut off (the slots they held come back too) and counted.
        state.release(state.update { fields in fields.ready.removeAll { _ in true } })
        server?.stop()
        // (One a producer was handing over at that moment.)
        state.release(state.update { fields in fields.ready.removeAll { _ in true } })
        let producers = server?.counts.withLock { $0 }
        let failure = state.read { $0.failure }
        let counters = push.counters.withLock { $0 }
        var statistics = SessionStatistics()
        statistics.framesIn = counters.pushed
        statistics.framesRendered = display.statistics.presentation.presented
        statistics.framesDropped = counters.pushed - statistics.framesRendered
        statistics.framesDroppedForBuffers = display.statistics.presentation.skipped
        statistics.soundFramesPlayed = Int(state.read { $0.audioFramesWritten })
        if let producers {
            statistics.producers = producers.producers
            statistics.producersRefused = producers.refusals
            statistics.slotsReclaimed = producers.slotsReclaimed
            statistics.producerSlots = producers.slots
            statistics.producerSlotsFreeAtEnd = producers.slotsFreeAtEnd
        }
        if let warning = audio?.warning { logger?.warning("\(warning)") }
        statistics.framesCopied = counters.copied
        statistics.bytesCopied = counters.bytesCopied + renderer.uploadedBytes
        statistics.pushToRender = sink.flatMap { SessionStatistics.Latency($0.latencies) }
        statistics.device = deviceName
        statistics.validationErrors = renderer.device.validationErrors
        statistics.setupCPUTime = .nanoseconds(start.cpu - opened.cpu)
        statistics.cpuTime = .nanoseconds(HostTime.processCPU() - start.cpu)
        statistics.wallTime = .nanoseconds(HostTime.now() - start.wall)
        let error = failure.map { ReelError($0) }
        if let error {
            logger?.error("session failed: \(error)")
        } else {
            logger?.info(
                "session ended",
                metadata: [
                    "framesIn": "\(statistics.framesIn)", "framesRendered": "\(statistics.framesRendered)",
                    "framesDropped": "\(statistics.framesDropped)", "bytesCopied": "\(statistics.bytesCopied)",
                ])
        }
        channel.finish(error)
        end.finish(error.map { .failure($0) } ?? .success(statistics))
    }

    func stop() {
        state.update { fields in
            if !fields.stopping { fields.stoppedByUser = true }
            fields.stopping = true
        }
        push.stop()
        audio?.stop()
        vsync.stop()
        sink?.stop()
    }

    func finishInput() {
        // No more producers: those connected are cut off; what they published is shown.
        server?.stop()
        push.finish()
        audio?.finish()
    }

    func finished() async throws(ReelError) -> SessionStatistics { try await end.wait() }

    func close() {
        stop()
        end.join()
    }
}

/// A session's worker handed between threads: joined once, under `PushRuntime.worker`'s lock.
extension Worker: @unchecked Sendable {}
