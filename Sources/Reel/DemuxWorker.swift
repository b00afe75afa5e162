import Foundation
import ReelCore
import ReelMedia
import ReelTiming
import Synchronization

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

/// A decoder that takes packets: the video and the audio one.
protocol PacketDecoder: AnyObject {
    func send(_ packet: Packet) throws(MediaError)
    func sendEndOfInput() throws(MediaError)
    func flush()
}

extension VideoDecoder: PacketDecoder {}
extension AudioDecoder: PacketDecoder {}

/// What the next item of a packet queue did to its decoder.
enum FeedStep {
    /// A packet was sent, the end of input told, or a stale item dropped.
    case fed
    /// A new generation started: the decoder was flushed; the thread resets the rest.
    case started(generation: Int, exactFrom: Int64?)
    /// The queue is closed and empty: the thread is done.
    case closed
}

extension BoundedQueue where Element == PacketItem {
    /// Waits for the next item and hands it to `decoder`: a packet is sent, the end of
    /// input drains it (once: `ended` remembers), a start flushes it. Items of a
    /// generation older than `current` are dropped.
    func feed(_ decoder: some PacketDecoder, ended: inout Bool, current: Int) throws(MediaError) -> FeedStep {
        guard let item = pop() else { return .closed }
        guard item.generation >= current else { return .fed }
        switch item {
        case .packet(let packet, _):
            try decoder.send(packet)
        case .start(let generation, let exactFrom):
            decoder.flush()
            ended = false
            return .started(generation: generation, exactFrom: exactFrom)
        case .endOfInput:
            if !ended {
                ended = true
                try decoder.sendEndOfInput()
            }
        }
        return .fed
    }
}

/// The demux thread: reads packets and routes them to the two decoder queues; serves
/// seeks; at the end of the input, waits (a seek may still come) or, once everything
/// has been shown and heard, loops (`SharedState.looping`).
final class DemuxWorker: @unchecked Sendable {
    private let demuxer: Demuxer
    private let streams: (video: Int, audio: Int?)
    private let video: BoundedQueue<PacketItem>
    private let audio: BoundedQueue<PacketItem>
    private let shared: SharedState
    private let monitor: PlaybackMonitor
    private let timeline: TimelineWriter?
    private let start: Int64
    private let end: Int64?
    /// Set once the thread is out.
    let done = Atomic<Bool>(false)

    init(
        demuxer: Demuxer, streams: (video: Int, audio: Int?), video: BoundedQueue<PacketItem>,
        audio: BoundedQueue<PacketItem>, shared: SharedState, monitor: PlaybackMonitor,
        timeline: TimelineWriter?
    ) {
        self.demuxer = demuxer
        self.streams = streams
        self.video = video
        self.audio = audio
        self.shared = shared
        self.monitor = monitor
        self.timeline = timeline
        start = demuxer.startTime ?? 0
        end = demuxer.info.durationMicroseconds.map { (demuxer.startTime ?? 0) + $0 }
    }

    func run() {
        defer {
            video.close()
            audio.close()
            done.store(true, ordering: .releasing)
        }
        var ended = false
        while !shared.stopping.load(ordering: .acquiring) {
            if let request = shared.seekRequest.withLock({ $0.take() }) {
                ended = !serve(request)
                continue
            }
            if ended {
                let generation = shared.generation.load(ordering: .acquiring)
                if shared.looping.load(ordering: .acquiring)
                    && shared.playedThrough.load(ordering: .acquiring) == generation
                {
                    // Played to the end: again from the start, or the end if it cannot.
                    ended = !restart(at: SeekTarget.absolute(start, start: start, end: end, exact: false), from: nil)
                    if ended { shared.looping.store(false, ordering: .releasing) }
                } else {
                    usleep(5000)  // until a seek, a loop or the stop
                }
                continue
            }
            let generation = shared.generation.load(ordering: .acquiring)
            switch demuxer.readPacket() {
            case .packet(let packet):
                if packet.streamIndex == streams.video {
                    video.push(.packet(packet, generation: generation))
                } else if packet.streamIndex == streams.audio {
                    audio.push(.packet(packet, generation: generation))
                }
            case .endOfInput:
                video.push(.endOfInput(generation: generation))
                audio.push(.endOfInput(generation: generation))
                ended = true
            }
        }
    }

    /// Serves a seek from the frame on screen; false when it went forward past the
    /// last keyframe, which ends the input (a seek the input cannot do is ignored).
    private func serve(_ request: SeekRequest) -> Bool {
        let generation = shared.generation.load(ordering: .acquiring)
        // Before the first frame of a seek is shown, "here" is where that seek went.
        let shown = monitor.progress
        let here =
            shown.generation == generation
            ? shown.position : shared.clocks.withLock { $0.seek?.target.time } ?? shown.position
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
        let ended = newGeneration(seek: ServedSeek(from: position, target: target))
        video.push(.start(generation: ended, exactFrom: nil))
        audio.push(.start(generation: ended, exactFrom: nil))
        video.push(.endOfInput(generation: ended))
        audio.push(.endOfInput(generation: ended))
        return false
    }

    /// Moves the input and starts a new generation there; false (and nothing changed)
    /// when the demuxer cannot.
    private func restart(at target: SeekTarget, from position: Int64?) -> Bool {
        do { try demuxer.seek(to: target.time, within: target.keyframes) } catch { return false }
        let generation = newGeneration(seek: position.map { ServedSeek(from: $0, target: target) })
        let exactFrom = target.exact ? target.time : nil
        video.push(.start(generation: generation, exactFrom: exactFrom))
        audio.push(.start(generation: generation, exactFrom: exactFrom))
        return true
    }

    /// Restarts the clocks in a new generation, from now on the current one.
    private func newGeneration(seek: ServedSeek?) -> Int {
        // Logged before anything of the new generation can be.
        if let seek { timeline?.seek(from: seek.from, target: seek.target.time, exact: seek.target.exact) }
        let generation = shared.clocks.withLock { clocks in
            clocks.restart(at: HostTime.now(), paused: shared.paused.load(ordering: .acquiring), seek: seek)
            return clocks.generation
        }
        shared.generation.store(generation, ordering: .releasing)
        return generation
    }
}
