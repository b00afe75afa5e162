import Foundation
import ReelMedia
import ReelTiming

/// A decoded frame, its time on the media timeline and the generation it belongs to.
struct ReadyFrame: Sendable {
    var time: Int64
    var generation: Int
    var frame: DecodedFrame
}

/// The video thread: packets in, frames with media times out.
///
/// At a `.start` item (a seek) it flushes the decoder and starts mapping timestamps
/// afresh; after an exact seek it keeps back the frames before the target, passing on
/// only the last of them (the one on screen at the target) and those after it.
final class VideoWorker: @unchecked Sendable {
    private let decoder: VideoDecoder
    private let packets: BoundedQueue<PacketItem>
    private let ready: BoundedQueue<ReadyFrame>
    private let shared: SharedState
    private let decodeDelay: Int64
    private var mapper = TimestampMapper()
    private var generation = 0
    /// After an exact seek: its target (µs), and the latest frame before it, held back.
    private var exactFrom: Int64?
    private var heldBack: ReadyFrame?
    private(set) var framesDecoded = 0

    init(
        decoder: VideoDecoder, packets: BoundedQueue<PacketItem>, ready: BoundedQueue<ReadyFrame>,
        shared: SharedState, decodeDelay: Int64
    ) {
        self.decoder = decoder
        self.packets = packets
        self.ready = ready
        self.shared = shared
        self.decodeDelay = decodeDelay
    }

    func run() {
        defer {
            heldBack?.frame.release()
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
                    guard pass(ReadyFrame(time: time, generation: generation, frame: frame)) else { return }
                case .needsInput:
                    guard try feed(&ended) else { return }
                case .waitingForSlot:
                    usleep(1000)  // the display releases slots as it goes
                case .endOfStream:
                    // Drained: the held-back frame is the last before the end.
                    if let last = heldBack.take(), !ready.push(last) { last.frame.release() }
                    shared.videoEnded.store(generation, ordering: .releasing)
                    guard try feed(&ended) else { return }
                }
            }
        } catch {
            shared.fail(.media(error))
        }
    }

    /// Feeds the decoder the next item; at a new generation, starts mapping
    /// timestamps afresh. False once the queue is closed.
    private func feed(_ ended: inout Bool) throws(MediaError) -> Bool {
        switch try packets.feed(decoder, ended: &ended, current: shared.generation.load(ordering: .acquiring)) {
        case .closed:
            return false
        case .fed:
            return true
        case .started(let generation, let exactFrom):
            mapper.reset()
            heldBack.take()?.frame.release()
            self.generation = generation
            self.exactFrom = exactFrom
            return true
        }
    }

    /// Hands a frame to the display, unless an exact seek keeps it back; false when the
    /// display has stopped.
    private func pass(_ frame: ReadyFrame) -> Bool {
        if frame.generation < shared.generation.load(ordering: .acquiring) {
            frame.frame.release()
            return true
        }
        if let target = exactFrom {
            if frame.time < target {
                heldBack.take()?.frame.release()
                heldBack = frame
                return true
            }
            exactFrom = nil
            if frame.time > target, let before = heldBack.take() {
                guard ready.push(before) else {
                    before.frame.release()
                    frame.frame.release()
                    return false
                }
            }
            heldBack.take()?.frame.release()
        }
        guard ready.push(frame) else {
            frame.frame.release()
            return false
        }
        return true
    }
}

extension Optional {
    /// The value, leaving nil behind.
    mutating func take() -> Wrapped? {
        defer { self = nil }
        return self
    }
}
