import Foundation
public import ReelAudio
public import ReelCore
import ReelFramePool
public import ReelMedia
public import ReelTiming
public import ReelVulkan
import Synchronization

/// What a timed playback should do.
public struct PlaybackParameters: Sendable {
    public var input: String
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
    /// Debug: spend this long (µs) in every render, to show frames being dropped.
    public var renderDelay: Int64
    public var device: DeviceParameters

    public init(
        input: String, audio: AudioOutputChoice? = .pulse, pulseServer: String? = nil, sync: SyncSource? = nil,
        displayRate: Rational = Rational(60, 1), frameLimit: Int? = nil, timelinePath: String? = nil,
        renderDelay: Int64 = 0, device: DeviceParameters = DeviceParameters()
    ) {
        self.input = input
        self.audio = audio
        self.pulseServer = pulseServer
        self.sync = sync
        self.displayRate = displayRate
        self.frameLimit = frameLimit
        self.timelinePath = timelinePath
        self.renderDelay = renderDelay
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
    /// Video frames shown minus the master clock at the tick that showed them.
    public var avOffset: OffsetSummary?
    public var framesDecoded = 0
    public var audioFramesWritten: Int64 = 0
    /// The master clock used: "audio", "video" or "external".
    public var sync: String = ""
    /// Why sound went to the null output instead of the device, if it did.
    public var audioWarning: String?
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
    private let timeline: TimelineWriter?
    /// The master clock's source, chosen from the parameters and the input.
    public let sync: SyncSource
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
            if parameters.audio != nil, let audio = demuxer.bestAudioStream {
                audioDecoder = try AudioDecoder(demuxer: demuxer, streamIndex: audio)
            } else {
                audioDecoder = nil
            }
        } catch { throw .media(error) }
        do { renderer = try OffscreenRenderer(device: parameters.device) } catch { throw .render(error) }
        sync = parameters.sync ?? .automatic(hasAudio: audioDecoder != nil)
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
        let videoPackets = BoundedQueue<Packet>(capacity: 1024)
        let audioPackets = BoundedQueue<Packet>(capacity: 1024)
        let ready = BoundedQueue<ReadyFrame>(capacity: Self.readyFrames)
        let shared = SharedState(queues: [videoPackets.close, audioPackets.close])

        // Audio: decode, write (paced by the output), set the master clock.
        var audioThread: Thread?
        var audioWarning: String?
        if let audioDecoder, let choice = parameters.audio {
            let opened: (output: AudioOutput, warning: String?)
            do {
                opened = try choice.open(format: audioDecoder.output, pulseServer: parameters.pulseServer)
            } catch { throw ReelError.audio(error) }
            audioWarning = opened.warning
            let worker = AudioWorker(
                decoder: audioDecoder, output: opened.output, packets: audioPackets, shared: shared,
                timeline: timeline, drivesClock: sync == .audio)
            audioThread = Thread { worker.run() }
            audioThread?.name = "reel-audio"
        } else {
            shared.audioDone.store(true, ordering: .releasing)
        }

        // Video decode into pool slots.
        let videoWorker = VideoWorker(decoder: videoDecoder, packets: videoPackets, ready: ready, shared: shared)
        let videoThread = Thread { videoWorker.run() }
        videoThread.name = "reel-video"

        // The display: each tick shows a frame.
        let displayTimeline = VsyncTimeline(start: HostTime.now(), rate: parameters.displayRate)
        let display = DisplayWorker(
            renderer: renderer, ready: ready, shared: shared, timeline: timeline, sync: sync,
            interval: displayTimeline.intervalMicroseconds,
            frameLimit: parameters.frameLimit, renderDelay: parameters.renderDelay, onFrame: onFrame)
        audioThread?.start()
        videoThread.start()
        let vsync = VsyncThread(
            timeline: displayTimeline,
            onTick: { _, deadline in display.tick(deadline: deadline) })

        // Demux on this thread until the end, or until the display has stopped.
        demuxing: while !shared.stopping.load(ordering: .acquiring) {
            switch demuxer.readPacket() {
            case .packet(let packet):
                if packet.streamIndex == videoDecoder.streamIndex {
                    videoPackets.push(packet)
                } else if packet.streamIndex == audioDecoder?.streamIndex {
                    audioPackets.push(packet)
                }
            case .endOfInput:
                break demuxing
            }
        }
        videoPackets.close()
        audioPackets.close()
        while !shared.displayDone.load(ordering: .acquiring) { usleep(2000) }
        vsync.stop()
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
        statistics.missedTicks = vsync.missedTicks
        statistics.framesDecoded = videoWorker.framesDecoded
        statistics.audioFramesWritten = shared.audioFramesWritten.load(ordering: .acquiring)
        statistics.sync = sync.rawValue
        statistics.audioWarning = audioWarning
        return statistics
    }
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
    /// The master clock, set by the audio thread (audio sync) or the display (otherwise).
    let master = Mutex(MasterClock())
    let failure = Mutex<ReelError?>(nil)

    init(queues: [@Sendable () -> Void]) { closeQueues = queues }

    /// Everyone stops: playback is over, or something failed.
    func stop() {
        stopping.store(true, ordering: .releasing)
        for close in closeQueues { close() }
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
    private var mapper = TimestampMapper()
    private(set) var framesDecoded = 0

    init(decoder: VideoDecoder, packets: BoundedQueue<Packet>, ready: BoundedQueue<ReadyFrame>, shared: SharedState) {
        self.decoder = decoder
        self.packets = packets
        self.ready = ready
        self.shared = shared
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
final class AudioWorker: @unchecked Sendable {
    private let decoder: AudioDecoder
    private let output: AudioOutput
    private let packets: BoundedQueue<Packet>
    private let shared: SharedState
    private let timeline: TimelineWriter?
    private let drivesClock: Bool
    private var clock: AudioClock
    private var mapper = TimestampMapper()

    init(
        decoder: AudioDecoder, output: AudioOutput, packets: BoundedQueue<Packet>, shared: SharedState,
        timeline: TimelineWriter?, drivesClock: Bool
    ) {
        self.decoder = decoder
        self.output = output
        self.packets = packets
        self.shared = shared
        self.timeline = timeline
        self.drivesClock = drivesClock
        clock = AudioClock(format: decoder.output)
    }

    func run() {
        defer { shared.audioDone.store(true, ordering: .releasing) }
        do {
            var ended = false
            decoding: while !shared.stopping.load(ordering: .acquiring) {
                switch try decoder.receive() {
                case .chunk(let chunk):
                    let start = chunk.presentationTime.map { mapper.map($0) }
                    try output.write(chunk.samples)
                    clock.wrote(frames: chunk.frames, startingAt: start)
                    shared.audioFramesWritten.add(Int64(chunk.frames), ordering: .releasing)
                    let now = HostTime.now()
                    let queued = output.queuedFrames(at: now)
                    if let heard = clock.media(queuedFrames: queued) {
                        if drivesClock {
                            shared.master.withLock { $0.set(media: heard, at: now, limit: clock.writtenEnd) }
                        }
                        // This chunk's first frame is heard once the frames before it are.
                        let before = max(0, queued - Int64(chunk.frames))
                        let chunkStart = clock.writtenEnd! - decoder.output.microseconds(ofFrames: Int64(chunk.frames))
                        timeline?.audio(
                            pts: chunkStart, played: now / 1000 + decoder.output.microseconds(ofFrames: before))
                    }
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
}

/// The vsync thread's work at each tick: pick, render, account.
final class DisplayWorker: @unchecked Sendable {
    private let renderer: OffscreenRenderer
    private let ready: BoundedQueue<ReadyFrame>
    private let shared: SharedState
    private let timeline: TimelineWriter?
    private let sync: SyncSource
    private let interval: Int64
    private let frameLimit: Int?
    private let renderDelay: Int64
    private let onFrame: @Sendable (RenderedFrame) -> Void
    private var scheduler = FrameScheduler()
    private var showing: ReadyFrame?
    private var inFlight: [(ticket: RenderTicket, frame: ReadyFrame)] = []
    private var offsets: [Int64] = []
    private var readyTimes: [Int64] = []
    private var rendered = 0
    private(set) var statistics = PlaybackStatistics()

    init(
        renderer: OffscreenRenderer, ready: BoundedQueue<ReadyFrame>, shared: SharedState,
        timeline: TimelineWriter?, sync: SyncSource, interval: Int64, frameLimit: Int?, renderDelay: Int64,
        onFrame: @escaping @Sendable (RenderedFrame) -> Void
    ) {
        self.renderer = renderer
        self.ready = ready
        self.shared = shared
        self.timeline = timeline
        self.sync = sync
        self.interval = interval
        self.frameLimit = frameLimit
        self.renderDelay = renderDelay
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
            switch decision {
            case .show(let index, _):
                for _ in 0..<index { ready.tryPop()?.frame.release() }
                guard let frame = ready.tryPop() else { return true }
                if let previous = showing { previous.frame.release() }
                showing = frame
                offsets.append(frame.time - master)
                timeline?.video(pts: frame.time, shown: deadline / 1000)
                try render(frame)
            case .repeatCurrent:
                if let showing { try render(showing) }
            case .wait, .skip:
                break
            }
            statistics.presentation = scheduler.statistics
            return true
        } catch {
            shared.fail(error)
            return finishUp()
        }
    }

    /// The master clock's media time at `deadline`; nil until it is set. Without audio
    /// the first frame's arrival sets it.
    private func masterTime(at deadline: Int64) -> Int64? {
        if let time = shared.master.withLock({ $0.media(at: deadline) }) { return time }
        if sync == .audio { return nil }
        // Video or external: start the clock at the first frame.
        guard let first = ready.withElements({ $0.first?.time }) else { return nil }
        shared.master.withLock { $0.set(media: first, at: deadline) }
        return first
    }

    private func render(_ frame: ReadyFrame) throws(ReelError) {
        let descriptor = frame.frame.descriptor
        frame.frame.pool.retain(frame.frame.slot)
        do {
            let ticket = try renderer.submit(
                descriptor, in: frame.frame.pool, slot: frame.frame.slot, outputSize: descriptor.displaySize)
            inFlight.append((ticket, frame))
        } catch {
            frame.frame.release()
            throw .render(error)
        }
        if renderDelay > 0 { usleep(UInt32(renderDelay)) }
    }

    /// Finishes the submissions the GPU is done with (all of them with `waiting`).
    private func collectFinished(waiting: Bool) throws(ReelError) {
        while let first = inFlight.first {
            do throws(RenderError) {
                if !waiting { guard try renderer.isFinished(first.ticket) else { return } }
                let image = try renderer.finish(first.ticket)
                onFrame(
                    RenderedFrame(
                        index: rendered, presentationTime: first.frame.frame.descriptor.presentationTime, image: image))
            } catch { throw .render(error) }
            rendered += 1
            first.frame.frame.release()
            inFlight.removeFirst()
        }
    }

    private func finishUp() -> Bool {
        try? collectFinished(waiting: true)
        showing?.frame.release()
        showing = nil
        statistics.presentation = scheduler.statistics
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
