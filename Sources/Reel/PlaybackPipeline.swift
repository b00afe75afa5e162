import Foundation
public import ReelAudio
public import ReelCore
import ReelFramePool
public import ReelMedia
public import ReelTiming
public import ReelVulkan
import ReelWindow
import Synchronization

/// Where video goes (`--vo`).
public enum VideoOutputChoice: Sendable, Equatable {
    /// Rendered into host memory at each tick (tests, headless machines).
    case offscreen
    /// A window with a Vulkan swapchain; nil mode: mailbox when offered, else FIFO.
    case window(PresentMode?)
}

/// What a timed playback should do.
public struct PlaybackParameters: Sendable {
    public var input: String
    public var video: VideoOutputChoice
    /// Where sound goes; nil plays no sound even when the input has some.
    public var audio: AudioOutputChoice?
    /// The PulseAudio server for `.pulse` (nil: the default one).
    public var pulseServer: String?
    /// The clock the others follow; nil: audio when there is audio, else video.
    public var sync: SyncSource?
    /// The virtual display's refresh rate.
    public var displayRate: Rational
    /// Stop after this many frames have been shown.
    public var frameLimit: Int?
    /// Write one JSON line per presented frame and per audio chunk here.
    public var timelinePath: String?
    /// Render every frame as soon as it is decoded, with no clock and no sound: the
    /// pipeline's own speed (what `bench` measures).
    public var untimed: Bool
    /// Debug: spend this long (µs) in every render, to show frames being dropped.
    public var renderDelay: Int64
    /// Debug: spend this long (µs) after decoding each frame, to show frames repeated.
    public var decodeDelay: Int64
    public var device: DeviceParameters

    public init(
        input: String, video: VideoOutputChoice = .offscreen, audio: AudioOutputChoice? = .pulse,
        pulseServer: String? = nil, sync: SyncSource? = nil,
        displayRate: Rational = Rational(60, 1), frameLimit: Int? = nil, timelinePath: String? = nil,
        untimed: Bool = false, renderDelay: Int64 = 0, decodeDelay: Int64 = 0,
        device: DeviceParameters = DeviceParameters()
    ) {
        self.input = input
        self.video = video
        self.audio = audio
        self.pulseServer = pulseServer
        self.sync = sync
        self.displayRate = displayRate
        self.frameLimit = frameLimit
        self.timelinePath = timelinePath
        self.untimed = untimed
        self.renderDelay = renderDelay
        self.decodeDelay = decodeDelay
        self.device = device
    }
}

/// A summary of A−V offsets (video shown minus audio heard, µs) at presentation.
public struct OffsetSummary: Sendable, Codable, Equatable {
    public var count: Int
    public var mean: Double
    public var p50: Int64
    public var p95: Int64
    public var maxMagnitude: Int64

    init?(_ offsets: [Int64]) {
        guard !offsets.isEmpty else { return nil }
        let sorted = offsets.sorted()
        count = offsets.count
        mean = Double(offsets.reduce(0, +)) / Double(offsets.count)
        p50 = sorted[sorted.count / 2]
        p95 = sorted[min(sorted.count - 1, sorted.count * 95 / 100)]
        maxMagnitude = offsets.map { abs($0) }.max()!
    }
}

/// Counters of one timed playback.
public struct PlaybackStatistics: Sendable, Codable {
    public var presentation = PresentationStatistics()
    /// Display ticks the scheduler thread woke too late for.
    public var missedTicks = 0
    /// Renders not made because the window had no swapchain image free (or was being
    /// resized or minimized).
    public var imagesUnavailable = 0
    /// Video frames shown minus the audio clock at the tick that showed them (minus the
    /// master clock when there is no audio).
    public var avOffset: OffsetSummary?
    /// Frames added to (positive) or removed from the sound to keep it on a video or
    /// external master: silence or a cut at the start, then libswresample's stretch.
    public var audioFramesAligned: Int64 = 0
    public var audioFramesStretched: Int64 = 0
    /// Wall time of `run` and the process's CPU time (all threads) during it, seconds.
    public var wallSeconds = 0.0
    public var cpuSeconds = 0.0
    public var framesDecoded = 0
    public var audioFramesWritten: Int64 = 0
    /// The master clock used: "audio", "video", "external", or "none" (untimed).
    public var sync: String = ""
    /// Why sound went to the null output instead of the device, if it did.
    public var audioWarning: String?
}

/// What a playback is doing now: for a status line.
public struct PlaybackProgress: Sendable {
    /// Media time (µs) of the frame on screen.
    public var position: Int64?
    /// The input's duration (µs), when its container states one.
    public var duration: Int64?
    public var presentation = PresentationStatistics()
    /// A−V (µs) of the latest frame shown.
    public var avOffset: Int64?
    /// Renders finished so far (shown, repeated and untimed ones).
    public var rendered = 0
}

/// Where another thread reads a running playback's progress.
///
/// Thread-safety: Safe; the display thread writes it once a tick.
public final class PlaybackMonitor: Sendable {
    private let state = Mutex(PlaybackProgress())
    public var progress: PlaybackProgress { state.withLock { $0 } }
    func update(_ body: (inout PlaybackProgress) -> Void) { state.withLock { body(&$0) } }
}

/// Plays a file in real time, headless: video is rendered offscreen at each tick of a
/// virtual display, sound goes to an audio output, and both follow one master clock.
///
/// Threads, each with one job (ARCHITECTURE.md): the caller's thread demuxes into two
/// bounded packet queues; a video thread decodes into pool slots and a bounded queue
/// of ready frames; an audio thread decodes, resamples and writes to the output,
/// which paces it, and sets the master clock from what the output holds; the vsync
/// thread picks the frame each tick shows and renders it, never waiting for the
/// decoder or the GPU (a tick with both submissions busy is skipped).
///
/// Thread-safety: Unsafe; create, run and drop it on one thread.
public final class PlaybackPipeline {
    public let parameters: PlaybackParameters
    private let demuxer: Demuxer
    private let videoDecoder: VideoDecoder
    private let audioDecoder: AudioDecoder?
    private let renderer: OffscreenRenderer
    private let window: VideoWindow?
    private let presenter: WindowPresenter?
    private let timeline: TimelineWriter?
    /// The master clock's source, chosen from the parameters and the input.
    public let sync: SyncSource
    /// The progress while `run` runs; read it from any thread.
    public let monitor = PlaybackMonitor()
    /// Validation errors reported so far (empty unless validation is on).
    public var validationErrors: [String] { renderer.device.validationErrors }

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
        if case .window(let mode) = parameters.video {
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
                renderer = try OffscreenRenderer(device: device)
                renderer.outputFormat = .bgra8
                presenter = try WindowPresenter(device: renderer.device, size: window.framebufferSize, mode: mode)
            } catch let error as WindowError {
                throw .unsuitable(error.description)
            } catch let error as RenderError {
                throw .render(error)
            } catch {
                throw .unsuitable("\(error)")
            }
        } else {
            window = nil
            presenter = nil
            do { renderer = try OffscreenRenderer(device: parameters.device) } catch { throw .render(error) }
        }
        sync = parameters.sync ?? .automatic(hasAudio: audioDecoder != nil)
        if parameters.sync == .audio && parameters.untimed {
            throw .unsuitable("--untimed plays without a clock; it cannot follow --sync audio")
        }
        if sync == .audio && audioDecoder == nil {
            throw .unsuitable("--sync audio needs an audio stream, and '\(parameters.input)' has none")
        }
        do {
            timeline = try parameters.timelinePath.map { path throws(AudioError) in try TimelineWriter(path: path) }
        } catch { throw .audio(error) }
    }

    /// Plays to the end (or the frame limit), calling `onFrame` on the vsync thread for
    /// each rendered frame, and returns the counters.
    public func run(onFrame: @escaping @Sendable (RenderedFrame) -> Void = { _ in }) throws -> PlaybackStatistics {
        let start = (wall: HostTime.now(), cpu: HostTime.processCPU())
        let duration = demuxer.info.durationMicroseconds
        monitor.update { $0.duration = duration }
        let videoPackets = BoundedQueue<Packet>(capacity: 1024)
        let audioPackets = BoundedQueue<Packet>(capacity: 1024)
        let ready = BoundedQueue<ReadyFrame>(capacity: Self.readyFrames)
        let shared = SharedState(queues: [videoPackets.close, audioPackets.close])

        // Audio: decode, write (paced by the output), set the master clock.
        var audioThread: Thread?
        var audioWarning: String?
        var audioWorker: AudioWorker?
        if let audioDecoder, let choice = parameters.audio {
            let opened: (output: AudioOutput, warning: String?)
            do {
                opened = try choice.open(format: audioDecoder.output, pulseServer: parameters.pulseServer)
            } catch { throw ReelError.audio(error) }
            audioWarning = opened.warning
            let worker = AudioWorker(
                decoder: audioDecoder, output: opened.output, packets: audioPackets, shared: shared,
                timeline: timeline, followsMaster: sync != .audio)
            audioWorker = worker
            audioThread = Thread { worker.run() }
            audioThread?.name = "reel-audio"
        } else {
            shared.audioDone.store(true, ordering: .releasing)
        }

        // Video decode into pool slots.
        let videoWorker = VideoWorker(
            decoder: videoDecoder, packets: videoPackets, ready: ready, shared: shared,
            decodeDelay: parameters.decodeDelay)
        let videoThread = Thread { videoWorker.run() }
        videoThread.name = "reel-video"

        // The display: each tick shows a frame (untimed: each frame as it comes).
        let displayTimeline = VsyncTimeline(start: HostTime.now(), rate: parameters.displayRate)
        let display = DisplayWorker(
            renderer: renderer, presenter: presenter, ready: ready, shared: shared, timeline: timeline, sync: sync,
            hasAudio: audioThread != nil, interval: displayTimeline.intervalMicroseconds,
            frameLimit: parameters.frameLimit, renderDelay: parameters.renderDelay, monitor: monitor,
            onFrame: onFrame)
        audioThread?.start()
        videoThread.start()
        var vsync: VsyncThread?
        if parameters.untimed {
            let thread = Thread { display.runUntimed() }
            thread.name = "reel-display"
            thread.start()
        } else {
            vsync = VsyncThread(
                timeline: displayTimeline,
                onTick: { _, deadline in display.tick(deadline: deadline) })
        }

        // Demux until the end, or until the display has stopped: on this thread, or with
        // a window on a thread of its own, this one answering the window's events.
        let input = Handoff(demuxer)
        let streams = (video: videoDecoder.streamIndex, audio: audioDecoder?.streamIndex)
        let demux: @Sendable () -> Void = {
            demuxing: while !shared.stopping.load(ordering: .acquiring) {
                switch input.value.readPacket() {
                case .packet(let packet):
                    if packet.streamIndex == streams.video {
                        videoPackets.push(packet)
                    } else if packet.streamIndex == streams.audio {
                        audioPackets.push(packet)
                    }
                case .endOfInput:
                    break demuxing
                }
            }
            videoPackets.close()
            audioPackets.close()
        }
        if let window {
            let demuxDone = DoneFlag()
            let thread = Thread {
                demux()
                demuxDone.set()
            }
            thread.name = "reel-demux"
            thread.start()
            while !shared.displayDone.load(ordering: .acquiring) {
                for event in window.pollEvents(timeout: 0.01) {
                    switch event {
                    case .closeRequested, .key(.q), .key(.escape): shared.stop()
                    case .key(.f): window.toggleFullscreen()
                    case .key(.space): shared.togglePause(at: HostTime.now())
                    default: break
                    }
                }
            }
            while !demuxDone.isSet { usleep(1000) }
        } else {
            demux()
        }
        while !shared.displayDone.load(ordering: .acquiring) { usleep(2000) }
        vsync?.stop()
        // The display stopped everyone (end, limit, or an error); free what is still
        // queued until the workers are out.
        ready.close()
        repeat {
            while let frame = ready.tryPop() { frame.frame.release() }
            usleep(2000)
        } while !shared.videoDone.load(ordering: .acquiring) || !shared.audioDone.load(ordering: .acquiring)
        while let frame = ready.tryPop() { frame.frame.release() }
        do { try timeline?.close() } catch { throw ReelError.audio(error) }
        if let error = shared.failure.withLock({ $0 }) { throw error }

        var statistics = display.statistics
        statistics.missedTicks = vsync?.missedTicks ?? 0
        statistics.framesDecoded = videoWorker.framesDecoded
        statistics.audioFramesWritten = shared.audioFramesWritten.load(ordering: .acquiring)
        statistics.audioFramesAligned = audioWorker?.framesAligned ?? 0
        statistics.audioFramesStretched = audioWorker?.framesStretched ?? 0
        statistics.sync = parameters.untimed ? "none" : sync.rawValue
        statistics.audioWarning = audioWarning
        statistics.wallSeconds = Double(HostTime.now() - start.wall) / 1e9
        statistics.cpuSeconds = Double(HostTime.processCPU() - start.cpu) / 1e9
        return statistics
    }
}

/// A value handed to another thread that from then on is its only user.
struct Handoff<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// A flag one thread sets and another polls.
final class DoneFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

/// A decoded frame and its time on the media timeline.
struct ReadyFrame: Sendable {
    var time: Int64
    var frame: DecodedFrame
}

/// What the threads share, each field with its own synchronization.
final class SharedState: Sendable {
    /// Closes the packet queues, so a demuxer waiting to push gives up.
    private let closeQueues: [@Sendable () -> Void]
    let stopping = Atomic<Bool>(false)
    let videoDone = Atomic<Bool>(false)
    let audioDone = Atomic<Bool>(false)
    let displayDone = Atomic<Bool>(false)
    let audioFramesWritten = Atomic<Int64>(0)
    /// The audio clock, set by the audio thread from what the output holds.
    let audio = Mutex(MasterClock())
    /// The master clock when it is not the audio clock: the display starts it at the
    /// first frame (video, external), and it runs on the monotonic clock.
    let master = Mutex(MasterClock())
    let failure = Mutex<ReelError?>(nil)
    let paused = Atomic<Bool>(false)

    init(queues: [@Sendable () -> Void]) { closeQueues = queues }

    /// Everyone stops: playback is over, or something failed.
    func stop() {
        stopping.store(true, ordering: .releasing)
        for close in closeQueues { close() }
    }

    /// Pauses or resumes both clocks at host time `now`: the picture holds (no frame is
    /// due), the audio thread stops writing, and the paused time does not count.
    func togglePause(at now: Int64) {
        let pausing = !paused.load(ordering: .acquiring)
        master.withLock { pausing ? $0.pause(at: now) : $0.resume(at: now) }
        audio.withLock { pausing ? $0.pause(at: now) : $0.resume(at: now) }
        paused.store(pausing, ordering: .releasing)
    }

    func fail(_ error: ReelError) {
        failure.withLock { if $0 == nil { $0 = error } }
        stop()
    }
}

/// The video thread: packets in, frames with media times out.
final class VideoWorker: @unchecked Sendable {
    private let decoder: VideoDecoder
    private let packets: BoundedQueue<Packet>
    private let ready: BoundedQueue<ReadyFrame>
    private let shared: SharedState
    private let decodeDelay: Int64
    private var mapper = TimestampMapper()
    private(set) var framesDecoded = 0

    init(
        decoder: VideoDecoder, packets: BoundedQueue<Packet>, ready: BoundedQueue<ReadyFrame>, shared: SharedState,
        decodeDelay: Int64
    ) {
        self.decoder = decoder
        self.packets = packets
        self.ready = ready
        self.shared = shared
        self.decodeDelay = decodeDelay
    }

    func run() {
        defer {
            ready.close()
            shared.videoDone.store(true, ordering: .releasing)
        }
        do {
            var ended = false
            while !shared.stopping.load(ordering: .acquiring) {
                switch try decoder.receive() {
                case .frame(let frame):
                    framesDecoded += 1
                    if decodeDelay > 0 { usleep(UInt32(decodeDelay)) }
                    let time = mapper.map(frame.descriptor.presentationTime)
                    if !ready.push(ReadyFrame(time: time, frame: frame)) {
                        frame.release()
                        return
                    }
                case .needsInput:
                    try packets.feed(decoder, ended: &ended)
                case .waitingForSlot:
                    usleep(1000)  // the display releases slots as it goes
                case .endOfStream:
                    return
                }
            }
        } catch {
            shared.fail(.media(error))
        }
    }
}

/// The audio thread: packets in, samples to the output, the audio clock out.
///
/// When another clock is master (video, external), the sound follows it: the first
/// chunk waits for the master to start and is cut, or preceded by silence, so that it
/// is heard at its time; after that, drift is taken out by stretching or squeezing a
/// few percent (`AudioDriftCorrector`), never by cutting.
final class AudioWorker: @unchecked Sendable {
    private let decoder: AudioDecoder
    private let output: AudioOutput
    private let packets: BoundedQueue<Packet>
    private let shared: SharedState
    private let timeline: TimelineWriter?
    private let followsMaster: Bool
    private var clock: AudioClock
    private var mapper = TimestampMapper()
    private var corrector: AudioDriftCorrector
    private var aligned = false
    /// Silence written (positive) or frames cut (negative) to align the start.
    private(set) var framesAligned: Int64 = 0
    /// Frames added (positive) or taken out (negative) by the resampler's compensation.
    private(set) var framesStretched: Int64 = 0

    init(
        decoder: AudioDecoder, output: AudioOutput, packets: BoundedQueue<Packet>, shared: SharedState,
        timeline: TimelineWriter?, followsMaster: Bool
    ) {
        self.decoder = decoder
        self.output = output
        self.packets = packets
        self.shared = shared
        self.timeline = timeline
        self.followsMaster = followsMaster
        clock = AudioClock(format: decoder.output)
        corrector = AudioDriftCorrector(sampleRate: decoder.output.sampleRate)
    }

    func run() {
        defer { shared.audioDone.store(true, ordering: .releasing) }
        do {
            var ended = false
            decoding: while !shared.stopping.load(ordering: .acquiring) {
                switch try decoder.receive() {
                case .chunk(let chunk):
                    var start = chunk.presentationTime.map { mapper.map($0) }
                    var samples = chunk.samples
                    if followsMaster && !aligned {
                        guard let kept = try alignStart(&start, samples) else { continue }
                        samples = kept
                    }
                    try write(samples, startingAt: start)
                case .needsInput:
                    try packets.feed(decoder, ended: &ended)
                case .endOfStream:
                    break decoding
                }
            }
            try output.finish()
        } catch let error as MediaError {
            shared.fail(.media(error))
        } catch let error as AudioError {
            shared.fail(.audio(error))
        } catch {
            shared.fail(.audio(AudioError("\(error)")))
        }
    }

    private func write(_ samples: UnsafeBufferPointer<Int16>, startingAt start: Int64?) throws {
        // Paused: hold the samples until playback resumes.
        while shared.paused.load(ordering: .acquiring) && !shared.stopping.load(ordering: .acquiring) {
            usleep(5000)
        }
        let format = decoder.output
        let frames = samples.count / format.channels
        try output.write(samples)
        clock.wrote(frames: frames, startingAt: start)
        shared.audioFramesWritten.add(Int64(frames), ordering: .releasing)
        let now = HostTime.now()
        let queued = output.queuedFrames(at: now)
        guard let heard = clock.media(queuedFrames: queued) else { return }
        shared.audio.withLock { $0.set(media: heard, at: now, limit: clock.writtenEnd) }
        if followsMaster, let master = shared.master.withLock({ $0.media(at: now) }) {
            let extra = corrector.correction(difference: heard - master, frames: frames)
            if extra != 0 {
                try decoder.compensate(by: extra, over: frames + extra)
                framesStretched += Int64(extra)
            }
        }
        // This chunk's first frame is heard once the frames before it are.
        let before = max(0, queued - Int64(frames))
        timeline?.audio(
            pts: clock.writtenEnd! - format.microseconds(ofFrames: Int64(frames)),
            played: now / 1000 + format.microseconds(ofFrames: before))
    }

    /// Lines the first chunk up with the master: waits for the master to start, then
    /// writes silence before the chunk when it is due later than it would be heard, or
    /// cuts its beginning when that has already passed. Returns the samples to write
    /// (nil: all of this chunk has passed; take the next).
    private func alignStart(
        _ start: inout Int64?, _ samples: UnsafeBufferPointer<Int16>
    ) throws -> UnsafeBufferPointer<Int16>? {
        guard let chunkStart = start else {
            aligned = true
            return samples
        }
        var master: Int64?
        while master == nil {
            if shared.stopping.load(ordering: .acquiring) { return nil }
            master = shared.master.withLock { $0.media(at: HostTime.now()) }
            if master == nil { usleep(1000) }
        }
        let format = decoder.output
        let now = HostTime.now()
        let heardAt =
            shared.master.withLock { $0.media(at: now) }!
            + format.microseconds(
                ofFrames: output.queuedFrames(at: now))
        let lead = chunkStart - heardAt
        let leadFrames = lead * Int64(format.sampleRate) / 1_000_000
        let frames = Int64(samples.count / format.channels)
        if leadFrames > 0 {
            let silence = [Int16](repeating: 0, count: Int(leadFrames) * format.channels)
            try silence.withUnsafeBufferPointer { try write($0, startingAt: chunkStart - lead) }
            framesAligned += leadFrames
        } else if leadFrames < 0 {
            let cut = min(frames, -leadFrames)
            framesAligned -= cut
            if cut == frames { return nil }
            start = chunkStart + format.microseconds(ofFrames: cut)
            aligned = true
            return UnsafeBufferPointer(rebasing: samples[(Int(cut) * format.channels)...])
        }
        aligned = true
        return samples
    }
}

/// The vsync thread's work at each tick: pick, render, account.
final class DisplayWorker: @unchecked Sendable {
    private let renderer: OffscreenRenderer
    /// The window's swapchain, when video goes to a window.
    private let presenter: WindowPresenter?
    private let ready: BoundedQueue<ReadyFrame>
    private let shared: SharedState
    private let timeline: TimelineWriter?
    private let sync: SyncSource
    private let hasAudio: Bool
    private let interval: Int64
    private let frameLimit: Int?
    private let renderDelay: Int64
    private let monitor: PlaybackMonitor
    private let onFrame: @Sendable (RenderedFrame) -> Void
    private var scheduler = FrameScheduler()
    /// The master as the display reads it: audio-clock wobble under a few ms is not chased.
    private var follower = ClockFollower()
    private var showing: ReadyFrame?
    private var inFlight: [(ticket: RenderTicket, frame: ReadyFrame)] = []
    private var offsets: [Int64] = []
    private var readyTimes: [Int64] = []
    private var rendered = 0
    /// Counting frames itself, without the scheduler (`runUntimed`).
    private var untimed = false
    private(set) var statistics = PlaybackStatistics()

    init(
        renderer: OffscreenRenderer, presenter: WindowPresenter?, ready: BoundedQueue<ReadyFrame>,
        shared: SharedState, timeline: TimelineWriter?, sync: SyncSource, hasAudio: Bool, interval: Int64,
        frameLimit: Int?,
        renderDelay: Int64, monitor: PlaybackMonitor, onFrame: @escaping @Sendable (RenderedFrame) -> Void
    ) {
        self.renderer = renderer
        self.presenter = presenter
        self.ready = ready
        self.shared = shared
        self.timeline = timeline
        self.sync = sync
        self.hasAudio = hasAudio
        self.interval = interval
        self.frameLimit = frameLimit
        self.renderDelay = renderDelay
        self.monitor = monitor
        self.onFrame = onFrame
        readyTimes.reserveCapacity(PlaybackPipeline.readyFrames)
        offsets.reserveCapacity(4096)
    }

    /// One tick at host time `deadline` (ns); false when playback is over.
    func tick(deadline: Int64) -> Bool {
        do throws(ReelError) {
            try collectFinished(waiting: false)
            let over =
                shared.stopping.load(ordering: .acquiring)
                || ready.isFinished && shared.audioDone.load(ordering: .acquiring)
                || frameLimit.map { statistics.presentation.presented >= $0 } ?? false
            if over { return finishUp() }
            guard let master = masterTime(at: deadline) else { return true }
            readyTimes.removeAll(keepingCapacity: true)
            ready.withElements { frames in for frame in frames { readyTimes.append(frame.time) } }
            let canSubmit = inFlight.count < OffscreenRenderer.framesInFlight
            let decision = scheduler.tick(ready: readyTimes, master: master, interval: interval, canSubmit: canSubmit)
            var offset: Int64?
            switch decision {
            case .show(let index, _):
                for _ in 0..<index { ready.tryPop()?.frame.release() }
                guard let frame = ready.tryPop() else { return true }
                if let previous = showing { previous.frame.release() }
                showing = frame
                let heard = hasAudio ? shared.audio.withLock { $0.media(at: deadline) } : Optional(master)
                offset = heard.map { frame.time - $0 }
                if let offset { offsets.append(offset) }
                timeline?.video(pts: frame.time, shown: deadline / 1000)
                try render(frame)
            case .repeatCurrent:
                if let showing { try render(showing) }
            case .wait, .skip:
                break
            }
            statistics.presentation = scheduler.statistics
            report(offset: offset)
            return true
        } catch {
            shared.fail(error)
            return finishUp()
        }
    }

    /// Untimed: every frame rendered as soon as it is ready, waiting for the GPU only
    /// when all submissions are busy. Runs on its own thread until the end.
    func runUntimed() {
        untimed = true
        do throws(ReelError) {
            while !shared.stopping.load(ordering: .acquiring),
                frameLimit.map({ statistics.presentation.presented < $0 }) ?? true,
                let frame = ready.pop()
            {
                try collectFinished(waiting: false)
                while inFlight.count >= OffscreenRenderer.framesInFlight { try collectOldest() }
                showing?.frame.release()
                showing = frame
                statistics.presentation.presented += 1
                timeline?.video(pts: frame.time, shown: HostTime.now() / 1000)
                try render(frame)
                report(offset: nil)
            }
        } catch {
            shared.fail(error)
        }
        _ = finishUp()
    }

    /// Publishes the progress for a status line.
    private func report(offset: Int64?) {
        let presentation = statistics.presentation
        let position = showing?.time
        let rendered = rendered
        monitor.update {
            $0.presentation = presentation
            $0.position = position
            $0.rendered = rendered
            if let offset { $0.avOffset = offset }
        }
    }

    /// The master clock's media time at `deadline`, as the display follows it; nil
    /// until it is set. Without audio sync the first frame's arrival starts it.
    private func masterTime(at deadline: Int64) -> Int64? {
        let time =
            sync == .audio
            ? shared.audio.withLock { $0.media(at: deadline) } : shared.master.withLock { $0.media(at: deadline) }
        if let time { return follower.follow(time, at: deadline) }
        if sync == .audio { return nil }
        // Video or external: start the clock at the first frame.
        guard let first = ready.withElements({ $0.first?.time }) else { return nil }
        shared.master.withLock { $0.set(media: first, at: deadline) }
        return follower.follow(first, at: deadline)
    }

    private func render(_ frame: ReadyFrame) throws(ReelError) {
        frame.frame.pool.retain(frame.frame.slot)
        let ticket: RenderTicket?
        do {
            ticket = try submit(frame)
        } catch {
            frame.frame.release()
            throw error
        }
        if let ticket {
            inFlight.append((ticket, frame))
        } else {
            frame.frame.release()
            statistics.imagesUnavailable += 1
        }
        if renderDelay > 0 { usleep(UInt32(renderDelay)) }
    }

    /// Submits the frame offscreen or to the window (recreating its swapchain first
    /// after a resize); nil when the window had no image free.
    private func submit(_ frame: ReadyFrame) throws(ReelError) -> RenderTicket? {
        let descriptor = frame.frame.descriptor
        guard let presenter else {
            do {
                return try renderer.submit(
                    descriptor, in: frame.frame.pool, slot: frame.frame.slot, outputSize: descriptor.displaySize)
            } catch { throw .render(error) }
        }
        if presenter.needsRecreation {
            // The frames in flight use the old images.
            try collectFinished(waiting: true)
            do { try presenter.recreate(size: presenter.extent) } catch { throw .render(error) }
        }
        do {
            return try renderer.submit(
                descriptor, in: frame.frame.pool, slot: frame.frame.slot, presentingTo: presenter)
        } catch { throw .render(error) }
    }

    /// Finishes the submissions the GPU is done with (all of them with `waiting`).
    private func collectFinished(waiting: Bool) throws(ReelError) {
        while let first = inFlight.first {
            if !waiting {
                do { guard try renderer.isFinished(first.ticket) else { return } } catch { throw .render(error) }
            }
            try collectOldest()
        }
    }

    /// Finishes the oldest submission, waiting for the GPU if need be.
    private func collectOldest() throws(ReelError) {
        guard let first = inFlight.first else { return }
        do {
            let image = try renderer.finish(first.ticket)
            onFrame(
                RenderedFrame(
                    index: rendered, presentationTime: first.frame.frame.descriptor.presentationTime, image: image))
        } catch { throw .render(error) }
        rendered += 1
        first.frame.frame.release()
        inFlight.removeFirst()
    }

    private func finishUp() -> Bool {
        try? collectFinished(waiting: true)
        showing?.frame.release()
        showing = nil
        if !untimed { statistics.presentation = scheduler.statistics }
        statistics.avOffset = OffsetSummary(offsets)
        shared.stop()
        shared.displayDone.store(true, ordering: .releasing)
        return false
    }
}

/// A decoder that takes packets: the video and the audio one.
protocol PacketDecoder: AnyObject {
    func send(_ packet: Packet) throws(MediaError)
    func sendEndOfInput() throws(MediaError)
}

extension VideoDecoder: PacketDecoder {}
extension AudioDecoder: PacketDecoder {}

extension BoundedQueue where Element == Packet {
    /// Gives `decoder` the next packet, waiting for one; once the queue is finished,
    /// tells it the input has ended (once: `ended` remembers).
    func feed(_ decoder: some PacketDecoder, ended: inout Bool) throws(MediaError) {
        if let packet = pop() {
            try decoder.send(packet)
        } else if !ended {
            ended = true
            try decoder.sendEndOfInput()
        }
    }
}
