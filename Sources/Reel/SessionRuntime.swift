import Foundation
import Logging
import ReelCore
import ReelMedia
import ReelNet
import ReelVulkan
import ReelWindow
import Synchronization

/// What a `Session` runs on: pushed frames (`PushRuntime`) or a file or RTP stream
/// (`PlaybackRuntime`).
///
/// Thread-safety: Safe.
protocol SessionRuntime: AnyObject, Sendable {
    var channel: FrameChannel { get }
    var deviceName: String { get }
    /// The pushed-frame source; nil when frames come from a file or stream.
    var pushSource: PushSource? { get }
    /// Pushed sound; nil when the session takes none.
    var pushedAudio: PushedAudio? { get }
    /// No more pushed frames or sound.
    func finishInput()
    func stop()
    func finished() async throws(ReelError) -> SessionStatistics
    /// A window's events on the calling thread until the end (`Session.runWindow()`).
    func runWindow() throws(ReelError)
    /// The session is dropped: stop and join.
    func close()
}

/// A session's end: its result, those waiting for it, and its one thread, joined by
/// whoever first waits for the end (or by `close`).
///
/// Thread-safety: Safe.
final class SessionEnd: Sendable {
    private let inner = Locked<
        (result: Result<SessionStatistics, ReelError>?, waiters: [CheckedContinuation<Void, Never>])
    >((nil, []))
    private let worker = Locked<Worker?>(nil)

    /// The thread whose end is the session's.
    func started(_ thread: Worker) { worker.withLock { $0 = thread } }

    /// From that thread, at its end.
    func finish(_ result: Result<SessionStatistics, ReelError>) {
        let waiters = inner.withLock { inner in
            inner.result = result
            defer { inner.waiters.removeAll() }
            return inner.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async throws(ReelError) -> SessionStatistics {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = inner.withLock { inner in
                if inner.result != nil { return true }
                inner.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        // The thread has nothing left to do but return.
        join()
        return try inner.withLock { $0.result! }.get()
    }

    func join() {
        worker.withLock { worker in
            worker?.join()
            worker = nil
        }
    }
}

/// A session playing a file or an RTP stream: the player's pipeline (demux, decode,
/// display, with no sound), its frames lent to the application or dropped at their
/// time, run on a thread of the session's.
///
/// Thread-safety: Safe.
final class PlaybackRuntime: SessionRuntime, @unchecked Sendable {
    let channel: FrameChannel
    let deviceName: String
    var pushSource: PushSource? { nil }
    var pushedAudio: PushedAudio? { nil }
    private let pipeline: PlaybackPipeline
    private let end = SessionEnd()
    private let logger: Logger?
    private let hasWindow: Bool
    /// CPU time (ns) opening the input and the device took.
    private let setupCPU: Int64
    /// FFmpeg's messages routed to `logger` while the session runs (a token).
    private let ffmpegLog = Locked<Int?>(nil)

    init(_ parameters: SessionParameters, onFrame: (@Sendable (RenderedFrame) -> Void)?) throws(ReelError) {
        let opened = HostTime.processCPU()
        let input: String
        switch parameters.source {
        case .file(let path): input = path
        case .stream(let description):
            guard SessionDescription.names(description) else {
                throw ReelError(
                    .unsuitable,
                    "'\(description)' is not an RTP session: give an .sdp file, sdp:PATH or rtp://ADDR:PORT")
            }
            input = description
        case .pushed, .listening: preconditionFailure("pushed frames run on PushRuntime")
        }
        channel = FrameChannel(handler: onFrame)
        logger = parameters.logger
        var playback = PlaybackParameters(input: input, video: .offscreen, audio: nil)
        switch parameters.audio {
        case .none: break
        case .system: playback.audio = .pulse
        case .application(let sink):
            playback.audio = .null
            playback.applicationAudio = sink
        }
        switch parameters.output {
        case .frames(let output): playback.frames = (output, channel)
        case .none: playback.video = .none
        case .window: playback.video = .window(nil)
        }
        switch parameters.pacing {
        case .timed(let rate):
            guard rate.isValid, rate.doubleValue <= 1000 else {
                throw ReelError(.unsuitable, "a display rate must be positive and at most 1000 Hz, not \(rate)")
            }
            playback.displayRate = rate
        case .everyFrame:
            playback.untimed = true
        }
        playback.device = DeviceParameters(validation: parameters.validation)
        if case .named(let name) = parameters.device { playback.device.preferredName = name }
        if let logger = parameters.logger {
            playback.device.onValidationMessage = { isError, message in
                logger.log(level: isError ? .error : .warning, "Vulkan validation: \(message)")
            }
        }
        if let logger = parameters.logger {
            let minimum: FFmpegLog.Level =
                switch logger.logLevel {
                case .trace: .trace
                case .debug: .debug
                case .info, .notice: .info
                case .warning: .warning
                case .error: .error
                case .critical: .critical
                }
            let token = FFmpegLog.addHandler(minimum: minimum) { level, message in
                let levels: [FFmpegLog.Level: Logger.Level] = [
                    .trace: .trace, .debug: .debug, .info: .info, .warning: .warning, .error: .error,
                    .critical: .critical,
                ]
                logger.log(level: levels[level] ?? .info, "FFmpeg: \(message)")
            }
            ffmpegLog.withLock { $0 = token }
        }
        do { pipeline = try PlaybackPipeline(parameters: playback) } catch {
            if let token = ffmpegLog.withLock({ $0.take() }) { FFmpegLog.removeHandler(token) }
            throw ReelError(error)
        }
        deviceName = pipeline.deviceName ?? "none"
        setupCPU = HostTime.processCPU() - opened
        logger?.info(
            "session started",
            metadata: ["device": "\(deviceName)", "input": "\(input)", "pacing": "\(parameters.pacing)"])
        hasWindow = playback.video != .offscreen && playback.video != .none
        // A window's session runs on the thread that made it, in `runWindow`.
        if !hasWindow {
            let thread = Worker(name: "reel.session") { [self] in run() }
            end.started(thread)
        }
    }

    func runWindow() throws(ReelError) {
        guard hasWindow else { throw ReelError(.unsuitable, "this session has no window: its output is not .window") }
        run()
    }

    /// On the session's thread: the whole playback, then its end.
    private func run() {
        let result: Result<SessionStatistics, ReelError>
        do {
            result = .success(statistics(try pipeline.run()))
        } catch let error as PipelineError {
            result = .failure(ReelError(error))
        } catch {
            result = .failure(ReelError(.media, "\(error)"))
        }
        switch result {
        case .success(let statistics):
            if let warning = pipeline.statistics?.audioWarning { logger?.warning("\(warning)") }
            logger?.info(
                "session ended",
                metadata: [
                    "framesIn": "\(statistics.framesIn)", "framesRendered": "\(statistics.framesRendered)",
                    "framesDropped": "\(statistics.framesDropped)",
                ])
            channel.finish(nil)
        case .failure(let error):
            logger?.error("session failed: \(error)")
            channel.finish(error)
        }
        stopLogging()
        end.finish(result)
    }

    private func stopLogging() {
        if let token = ffmpegLog.withLock({ $0.take() }) { FFmpegLog.removeHandler(token) }
    }

    private func statistics(_ playback: PlaybackStatistics) -> SessionStatistics {
        var statistics = SessionStatistics()
        statistics.framesIn = playback.framesDecoded
        statistics.framesRendered = playback.presentation.presented
        statistics.framesDropped = max(0, statistics.framesIn - statistics.framesRendered)
        statistics.framesDroppedForBuffers = playback.presentation.skipped
        statistics.soundFramesPlayed = Int(playback.audioFramesWritten)
        statistics.bytesCopied = pipeline.uploadedBytes
        statistics.pushToRender = pipeline.frameSink.flatMap { SessionStatistics.Latency($0.latencies) }
        statistics.device = deviceName
        statistics.validationErrors = pipeline.validationErrors
        statistics.cpuTime = .seconds(playback.cpuSeconds)
        statistics.setupCPUTime = .nanoseconds(setupCPU)
        statistics.wallTime = .seconds(playback.wallSeconds)
        return statistics
    }

    func stop() { pipeline.controls.stop() }

    func finishInput() {}

    func finished() async throws(ReelError) -> SessionStatistics { try await end.wait() }

    func close() {
        stop()
        end.join()
    }
}
