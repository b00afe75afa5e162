import Foundation
import ReelMedia
import ReelTiming

/// A decoded frame, its time on the media timeline and the generation it belongs to.
struct ReadyFrame: Sendable {
    var time: Int64
    var generation: Int
    var frame: DecodedFrame
    /// A live input's frame: when (host ns) its first packet arrived.
    var received: Int64? = nil
    /// A live input's frame that waited in the jitter buffer behind a lost packet: late
    /// by up to the latency budget on purpose, so the live edge does not follow it
    /// (shown if still in time, else dropped and counted).
    var held = false
}

/// The video thread: packets in, frames with media times out.
///
/// At a `.start` item (a seek) it flushes the decoder and starts mapping timestamps
/// afresh; after an exact seek it keeps back the frames before the target, passing on
/// only the last of them (the one on screen at the target) and those after it. It
/// blocks on an empty packet queue, a full queue of ready frames and (when libavcodec
/// could not decode into the pool) a free pool slot; each wait also ends on a stop, and
/// the last two on a seek.
final class VideoWorker: @unchecked Sendable {
    private let decoder: VideoDecoder
    private let state: SessionState
    private let clock: SessionClock
    private let decodeDelay: Int64
    private var packets: PacketFeed
    private var mapper = TimestampMapper()
    private var generation = 0
    /// After an exact seek: its target (µs), and the latest frame before it, held back.
    private var exactFrom: Int64?
    private var heldBack: ReadyFrame?
    private(set) var framesDecoded = 0

    /// A live input's arrival of a frame, by its timestamp in the stream's ticks.
    private let arrival: (@Sendable (Int64) -> FrameArrival?)?

    init(
        decoder: VideoDecoder, state: SessionState, clock: SessionClock, decodeDelay: Int64,
        arrival: (@Sendable (Int64) -> FrameArrival?)? = nil
    ) {
        self.arrival = arrival
        self.decoder = decoder
        self.state = state
        self.clock = clock
        self.decodeDelay = decodeDelay
        packets = PacketFeed(.video, state: state)
    }

    func run() {
        defer {
            if let frame = heldBack.take() { state.release(frame) }
            state.update { $0.videoDone = true }
        }
        do {
            while !state.read({ $0.stopping }) {
                switch try decoder.receive() {
                case .frame(let frame):
                    framesDecoded += 1
                    if decodeDelay > 0 { clock.sleep(until: clock.now() + decodeDelay * 1000) }
                    let time = mapper.map(frame.descriptor.presentationTime)
                    let received = frame.descriptor.presentationTime.flatMap { arrival?($0.ticks) }
                    pass(
                        ReadyFrame(
                            time: time, generation: generation, frame: frame, received: received?.first,
                            held: received?.held ?? false))
                case .needsInput:
                    guard try feed() else { return }
                case .waitingForSlot:
                    waitForSlot()
                case .endOfStream:
                    // Drained: the held-back frame is the last before the end.
                    if let last = heldBack.take() { push(last) }
                    let generation = generation
                    state.update { $0.videoEnded = max($0.videoEnded, generation) }
                    guard try feed() else { return }
                }
            }
        } catch {
            state.fail(.media(error))
        }
    }

    /// Feeds the decoder the next item; at a new generation, starts mapping
    /// timestamps afresh. False once the queue is closed.
    private func feed() throws(MediaError) -> Bool {
        switch try packets.feed(decoder) {
        case .closed:
            return false
        case .fed:
            return true
        case .started(let generation, let exactFrom):
            mapper.reset()
            if let frame = heldBack.take() { state.release(frame) }
            self.generation = generation
            self.exactFrom = exactFrom
            return true
        }
    }

    /// Waits until the pool has a free slot (the display frees them as it goes), or a
    /// stop or a seek comes.
    private func waitForSlot() {
        let pool = decoder.pool
        let generation = generation
        state.wait { fields -> Bool? in
            let done = fields.interrupts(generation) || pool.freeCount > 0
            fields.waitingForSlot = !done
            return done ? true : nil
        }
    }

    /// Hands a frame to the display, unless an exact seek keeps it back.
    private func pass(_ frame: ReadyFrame) {
        if let target = exactFrom {
            if frame.time < target {
                if let before = heldBack.take() { state.release(before) }
                heldBack = frame
                return
            }
            exactFrom = nil
            if frame.time > target, let before = heldBack.take() { push(before) }
            if let before = heldBack.take() { state.release(before) }
        }
        push(frame)
    }

    /// Queues a frame for the display once there is room; released instead when a stop
    /// or a newer generation comes first.
    private func push(_ frame: ReadyFrame) {
        let queued = state.wait { fields -> Bool? in
            if fields.stopping || fields.generation != frame.generation { return false }
            guard !fields.ready.isFull else { return nil }
            fields.ready.append(frame)
            // A live stream: how far ahead of the clock the frame is ready.
            if !frame.held, let master = fields.clocks.master.media(at: clock.now()) {
                fields.followLiveEdge(slack: frame.time - master, ofSound: false, at: clock.now())
            }
            return true
        }
        if !queued { state.release(frame) }
    }
}

extension Optional {
    /// The value, leaving nil behind.
    mutating func take() -> Wrapped? {
        defer { self = nil }
        return self
    }
}
