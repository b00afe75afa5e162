import Foundation
import ReelCore
import ReelMedia
import ReelNet
import Synchronization

/// An RTP session as a session's packet source: the receiver (sockets, jitter buffer,
/// statistics) feeding libavformat's depacketisers through the demuxer's custom I/O.
///
/// Thread-safety: `read` on the demux thread; `stop` and the statistics from any thread.
final class LiveInput: PacketSource {
    let demuxer: Demuxer
    let receiver: RTPReceiver

    /// An MPEG transport stream carried over RTP: its streams are found in the packets
    /// (probed), and its pictures by parsers; no per-picture RTP timing.
    let carriesTransportStream: Bool

    /// Reads and checks the description and opens the demuxer on it; `listen` binds
    /// its ports.
    init(_ input: String, options: ReceiverOptions) throws(PipelineError) {
        let text: String
        do { text = try SessionDescription.text(of: input) } catch { throw .unsuitable(error.description) }
        do throws(NetError) {
            let description = try SessionDescription(parsing: text, allowMulticast: options.allowMulticast)
            carriesTransportStream = description.media.contains { $0.encodings.values.contains("MP2T") }
            if carriesTransportStream && description.media.count > 1 {
                throw NetError("an MPEG-TS (MP2T) stream must be the session's only stream")
            }
            receiver = try RTPReceiver(description: description, options: options)
            // A transport stream's streams are found by reading it (the demuxer probes).
            if carriesTransportStream { try receiver.listen() }
            clockRates = description.media.map(\.clockRate)
            timeline = SessionTimeline(clockRates: clockRates)
        } catch { throw .unsuitable("'\(input)': \(error.description)") }
        do {
            demuxer = try Demuxer(
                description: text, name: input, input: ReceiverInput(receiver), probes: carriesTransportStream)
        } catch { throw .media(error) }
    }

    /// Starts receiving (binds the ports): called once the session is ready to play, so
    /// that nothing waits in the sockets while the outputs start.
    func listen() throws(PipelineError) {
        do { try receiver.listen() } catch { throw .unsuitable("'\(demuxer.url)': \(error.description)") }
    }

    /// When the video frames read lately had their first packet.
    let arrivals = ArrivalTable()
    private var matcher = ArrivalMatcher()
    /// Every stream's packets on one timeline (A/V sync), from the sender's reports.
    private var timeline: SessionTimeline
    private let clockRates: [Int]
    /// Packets (other than pictures) that waited in the jitter buffer behind a gap, until
    /// the demux thread asks (`takeHeld`).
    private struct Held: Hashable {
        var stream: Int
        var ticks: Int64
    }
    private var heldPackets: Set<Held> = []

    /// Whether `packet` waited in the jitter buffer behind a gap it gave up on: it comes
    /// late by up to the latency budget, and the live edge does not follow it.
    func takeHeld(_ packet: Packet) -> Bool {
        guard let ticks = packet.presentationTicks else { return false }
        if heldPackets.count > 256 { heldPackets.removeAll(keepingCapacity: true) }
        return heldPackets.remove(Held(stream: packet.streamIndex, ticks: ticks)) != nil
    }

    /// Steps to hand out before reading more, and the pieces of the picture being read.
    private var outbox: [DemuxStep] = []
    private var unit: [Packet] = []

    var isLive: Bool { true }
    var start: Int64 { 0 }
    var duration: Int64? { nil }

    func read() -> DemuxStep {
        while outbox.isEmpty {
            let step = demuxer.readPacket()
            switch step {
            case .packet(let packet) where packet.streamIndex == demuxer.bestVideoStream && !carriesTransportStream:
                // The depacketiser's pieces of one picture share its timestamp; the one
                // made from the packet with the marker bit is its last.
                if !unit.isEmpty && packet.presentationTicks != unit[0].presentationTicks { finishUnit() }
                unit.append(packet)
                if receiver.lastHandedEndsFrame(ofStream: packet.streamIndex) { finishUnit() }
            case .packet(let packet):
                if !carriesTransportStream, let ticks = packet.presentationTicks,
                    let placed = place(ticks, ofStream: packet.streamIndex)
                {
                    packet.setPresentationTicks(placed.ticks)
                    if receiver.takeHeld(placed.timestamp, ofStream: packet.streamIndex) {
                        heldPackets.insert(Held(stream: packet.streamIndex, ticks: placed.ticks))
                    }
                }
                outbox.append(step)
            case .endOfInput(let error):
                finishUnit()
                if error == nil, case .nothing = receiver.endReason {
                    outbox.append(
                        .endOfInput(
                            error: MediaError(.cannotOpen, "'\(demuxer.url)': \(receiver.endReason!.description)")))
                } else {
                    outbox.append(step)
                }
            }
        }
        return outbox.removeFirst()
    }

    /// Joins the pieces of the picture read so far into one packet and queues it with
    /// its arrival time recorded.
    private func finishUnit() {
        guard !unit.isEmpty else { return }
        defer { unit.removeAll() }
        guard let packet = Packet.joining(unit) else {
            outbox.append(.endOfInput(error: MediaError(.truncated, "out of memory reading '\(demuxer.url)'")))
            return
        }
        matcher.add(receiver.takeFrameStarts(ofStream: packet.streamIndex))
        // (libavformat times every RTP packet; a picture without a time follows on.)
        if let lavTicks = packet.presentationTicks, let placed = place(lavTicks, ofStream: packet.streamIndex) {
            if receiver.takeDamaged(placed.timestamp, ofStream: packet.streamIndex) { packet.markCorrupt() }
            packet.setPresentationTicks(placed.ticks)
            if let frame = matcher.match(timestamp: placed.timestamp) {
                let held = receiver.takeHeld(placed.timestamp, ofStream: packet.streamIndex)
                arrivals.record(FrameArrival(first: frame.arrival, held: held), ofTicks: placed.ticks)
            }
        }
        outbox.append(.packet(packet))
    }

    /// Where a packet of `stream` with libavformat's timestamp `ticks` goes on the
    /// session's timeline, and its RTP timestamp. libavformat, handed no sender reports,
    /// counts a stream's ticks from its first packet's RTP timestamp (whose clock is
    /// the stream's time base); nil when that does not hold (nothing to place by).
    private func place(_ ticks: Int64, ofStream stream: Int) -> (ticks: Int64, timestamp: UInt32)? {
        guard let first = receiver.firstHanded(ofStream: stream),
            clockRates.indices.contains(stream),
            demuxer.timeBase(ofStream: stream) == Rational(1, Int64(clockRates[stream]))
        else { return nil }
        if let clock = receiver.senderClock(ofStream: stream) { timeline.report(clock, ofStream: stream) }
        let timestamp = Int64(first.timestamp) + ticks
        let placed = timeline.ticks(ofStream: stream, timestamp: timestamp, firstArrival: first.arrival)
        return (placed, UInt32(truncatingIfNeeded: timestamp))
    }

    func seek(to target: Int64, within range: ClosedRange<Int64>) throws(MediaError) {
        throw MediaError(.cannotSeek, "'\(demuxer.url)' is a live stream: it cannot seek")
    }

    /// Why the stream ended, when it ended by itself (a BYE, silence).
    var endNotice: String? {
        switch receiver.endReason {
        case .bye?, .silence?: receiver.endReason!.description
        default: nil
        }
    }
}

/// The receiver as the demuxer's datagram input.
private final class ReceiverInput: DatagramInput {
    let receiver: RTPReceiver
    init(_ receiver: RTPReceiver) { self.receiver = receiver }
    func next(into buffer: UnsafeMutableRawBufferPointer) -> Int? { receiver.next(into: buffer) }
    func send(_ bytes: UnsafeRawBufferPointer) { receiver.send(bytes) }
}

/// When (host ns) a video frame's first packet arrived, and whether its packets waited
/// in the jitter buffer behind a gap it gave up on (late, by up to the latency budget).
struct FrameArrival: Sendable {
    var first: Int64
    var held: Bool
}

/// The arrivals of the video frames read lately, by the frame's timestamp in stream
/// ticks: the demux thread records, the video thread looks up.
///
/// Thread-safety: Safe.
final class ArrivalTable: Sendable {
    private let table = Locked<[Int64: FrameArrival]>([:])

    func record(_ arrival: FrameArrival, ofTicks ticks: Int64) {
        table.withLock { table in
            // Bounded: far more than the frames between demuxer and decoder.
            if table.count >= 512 { table.removeAll(keepingCapacity: true) }
            table[ticks] = arrival
        }
    }

    func arrival(ofTicks ticks: Int64) -> FrameArrival? { table.withLock { $0[ticks] } }
}

/// Pairs the video packets libavformat puts out with the RTP frames they came from,
/// for their arrival times: packets come in the order of their frames, so frames
/// before the one matched were lost whole (or made nothing) and are stepped over.
///
/// Thread-safety: Confined to the demux thread.
struct ArrivalMatcher {
    private var pending: [RTPReceiver.FrameStart] = []

    /// Frames handed to libavformat since the last call, in order.
    mutating func add(_ starts: [RTPReceiver.FrameStart]) {
        pending += starts
        // Bounded: far more than one picture's worth of frames.
        if pending.count > 256 { pending.removeFirst(pending.count - 256) }
    }

    /// The frame with RTP `timestamp`, when it is pending.
    mutating func match(timestamp: UInt32) -> RTPReceiver.FrameStart? {
        guard let index = pending.firstIndex(where: { $0.timestamp == timestamp }) else { return nil }
        let frame = pending[index]
        pending.removeFirst(index + 1)
        return frame
    }
}
