import Foundation
import ReelCore
import ReelMedia
import ReelTiming

/// What the demux thread hands a decoder thread.
enum PacketItem: Sendable {
    /// A packet read in `generation`.
    case packet(Packet, generation: Int)
    /// A seek or a loop started `generation`: forget what the decoder holds; with an
    /// exact seek, show nothing before `exactFrom` (µs).
    case start(generation: Int, exactFrom: Int64?)
    /// The input ended in `generation`: drain the decoder.
    case endOfInput(generation: Int)

    var generation: Int {
        switch self {
        case .packet(_, let generation), .start(let generation, _), .endOfInput(let generation): generation
        }
    }
}

/// Which packet queue of the session.
enum PacketStream {
    case video, audio
}

extension SessionFields {
    /// Calls `body` with the packet queue of `stream`, in place; nil when the stream has none.
    mutating func withPackets<Result>(
        _ stream: PacketStream, _ body: (inout FIFO<PacketItem>) -> Result
    ) -> Result? {
        switch stream {
        case .video: videoPackets == nil ? nil : body(&videoPackets!)
        case .audio: audioPackets == nil ? nil : body(&audioPackets!)
        }
    }
}

/// The demux thread: reads packets and routes them to the queues of the streams that
/// are played; serves seeks; at the end of the input, waits (a seek may still come) or,
/// once everything has been shown and heard, loops (`SessionFields.looping`).
///
/// It blocks on the input's I/O and on a full packet queue; the second wait gives up on
/// a stop or a seek (the packet it held is of the old position, and is dropped).
final class DemuxWorker: @unchecked Sendable {
    private let source: PacketSource
    private let streams: (video: Int?, audio: Int?)
    private let state: SessionState
    private let clock: SessionClock
    private let monitor: PlaybackMonitor
    private let timeline: TimelineWriter?
    private let events: SessionEvents
    private let start: Int64
    private let end: Int64?
    /// A live input's audio stream time base: its packets tell the live edge how early
    /// the sound comes (see `SessionFields.followLiveEdge`).
    var liveAudioTimeBase: Rational?
    private var liveAudioNext: Int64?
    /// How long before its time a live sound must have arrived to be heard then
    /// (decoding, a chunk's length, the output's own delay).
    static let liveAudioLead: Int64 = 20_000

    init(
        source: PacketSource, streams: (video: Int?, audio: Int?), state: SessionState, clock: SessionClock,
        monitor: PlaybackMonitor, timeline: TimelineWriter?, events: SessionEvents
    ) {
        self.events = events
        self.source = source
        self.streams = streams
        self.state = state
        self.clock = clock
        self.monitor = monitor
        self.timeline = timeline
        start = source.start
        end = source.duration.map { source.start + $0 }
    }

    /// What the demux thread does next.
    private enum Next {
        case read(generation: Int)
        case seek(SeekRequest)
        case loop
        case stop
    }

    func run() {
        defer { state.update { $0.packetsClosed = true } }
        var ended = false
        while true {
            let next = state.wait { fields -> Next? in
                if fields.stopping { return .stop }
                if let request = fields.pendingSeek {
                    fields.pendingSeek = nil
                    fields.servingSeek = true
                    return .seek(request)
                }
                guard ended else { return .read(generation: fields.generation) }
                // At the end: played through, loop; else wait for a seek, a loop or the stop.
                if fields.looping && fields.playedThrough == fields.generation { return .loop }
                return nil
            }
            switch next {
            case .stop:
                return
            case .seek(let request):
                // As mpv: `seek` when it starts, `playback-restart` at its first picture.
                events.post(.seek)
                ended = !serve(request)
                state.update { $0.servingSeek = false }
            case .loop:
                // Played to the end: again from the start, or the end if it cannot.
                ended = !restart(at: SeekTarget.absolute(start, start: start, end: end, exact: false), from: nil)
                if ended { state.update { $0.looping = false } }
            case .read(let generation):
                ended = read(generation: generation)
            }
        }
    }

    /// Reads one packet and queues it (waiting for room); true at the end of the input.
    private func read(generation: Int) -> Bool {
        switch source.read() {
        case .packet(let packet):
            if packet.streamIndex == streams.video {
                push(.packet(packet, generation: generation), to: .video)
            } else if packet.streamIndex == streams.audio {
                // (A transport stream's audio frames after the first of a PES have no
                // timestamp: they follow on. One that waited behind a lost packet is late
                // on purpose: the live edge does not follow it.)
                let held = source.takeHeld(packet)
                if let timeBase = liveAudioTimeBase, let ticks = packet.presentationTicks ?? liveAudioNext {
                    liveAudioNext = packet.durationTicks > 0 ? ticks + packet.durationTicks : nil
                    let time = MediaTime(ticks: ticks, timeBase: timeBase).microseconds
                    let now = clock.now()
                    state.update { fields in
                        guard !held, fields.generation == generation, let master = fields.clocks.master.media(at: now)
                        else { return }
                        fields.followLiveEdge(slack: time - master - Self.liveAudioLead, ofSound: true, at: now)
                    }
                }
                push(.packet(packet, generation: generation), to: .audio)
            }
            return false
        case .endOfInput(let error):
            state.update { fields in
                if let error, fields.inputError == nil { fields.inputError = error }
                fields.videoPackets?.append(.endOfInput(generation: generation))
                fields.audioPackets?.append(.endOfInput(generation: generation))
            }
            return true
        }
    }

    /// Queues a packet once its queue has room; dropped on a stop or a seek to serve.
    private func push(_ item: PacketItem, to stream: PacketStream) {
        state.wait { fields -> Bool? in
            if fields.interrupts(item.generation) { return false }
            return fields.withPackets(stream) { queue -> Bool? in
                guard !queue.isFull else { return nil }
                queue.append(item)
                return true
            } ?? false
        }
    }

    /// Serves a seek from the frame on screen; false when it went forward past the
    /// last keyframe, which ends the input (a seek the input cannot do is ignored).
    private func serve(_ request: SeekRequest) -> Bool {
        // Before the first frame of a seek is shown, "here" is where that seek went.
        let shown = monitor.progress
        let here = state.read { fields in
            shown.generation == fields.generation ? shown.position : fields.clocks.seek?.target.time ?? shown.position
        }
        let position = here ?? start
        let target: SeekTarget
        switch request {
        case .relative(let delta, let exact):
            target = .relative(from: position, by: delta, start: start, end: end, exact: exact)
        case .absolute(let time, let exact):
            target = .absolute(time, start: start, end: end, exact: exact)
        }
        if restart(at: target, from: position) { return true }
        guard target.time > position else { return true }
        // Nothing to play after the target: what is queued is dropped and playback ends.
        newGeneration(seek: ServedSeek(from: position, target: target), exactFrom: nil, ended: true)
        return false
    }

    /// Moves the input and starts a new generation there; false (and nothing changed)
    /// when the source cannot (a live one never can).
    private func restart(at target: SeekTarget, from position: Int64?) -> Bool {
        guard !source.isLive else { return false }
        do { try source.seek(to: target.time, within: target.keyframes) } catch { return false }
        newGeneration(
            seek: position.map { ServedSeek(from: $0, target: target) }, exactFrom: target.exact ? target.time : nil,
            ended: false)
        return true
    }

    /// Restarts the clocks in a new generation, from now on the current one: what is
    /// queued of the old one is dropped, and each decoder is told to start afresh (and,
    /// `ended`, that nothing follows).
    private func newGeneration(seek: ServedSeek?, exactFrom: Int64?, ended: Bool) {
        // Logged before anything of the new generation can be.
        if let seek { timeline?.seek(from: seek.from, target: seek.target.time, exact: seek.target.exact) }
        let now = clock.now()
        let stale = state.update { fields in
            fields.generation += 1
            let generation = fields.generation
            fields.clocks.restart(at: now, paused: fields.paused, seek: seek)
            for stream in [PacketStream.video, .audio] {
                fields.withPackets(stream) { queue in
                    _ = queue.removeAll { $0.generation < generation }
                    queue.append(.start(generation: generation, exactFrom: exactFrom))
                    if ended { queue.append(.endOfInput(generation: generation)) }
                }
            }
            // Frames of the old position make room for the new one's at once.
            return fields.ready.removeAll { $0.generation < generation }
        }
        state.release(stale)
    }
}
