/// What a sender report says about the sender's clocks (RFC 3550 §6.4.1): its wall
/// clock (NTP format, 32.32 fixed point seconds) at one RTP timestamp of the stream.
package struct SenderClock: Sendable, Equatable {
    package var ntp: UInt64
    package var timestamp: UInt32

    package init(ntp: UInt64, timestamp: UInt32) {
        self.ntp = ntp
        self.timestamp = timestamp
    }

    /// The wall clock in µs (since 1900).
    var microseconds: Int64 {
        Int64(ntp >> 32) * 1_000_000 + Int64(((ntp & 0xFFFF_FFFF) * 1_000_000) >> 32)
    }
}

/// Places the packets of every stream of an RTP session on one timeline, in each
/// stream's clock ticks, so that sound and picture can be synchronised.
///
/// A stream's RTP timestamps start anywhere and run on its own clock; only the sender
/// reports relate them (to the sender's wall clock). Until a stream has one, it is
/// placed by arrival: its first packet at the time it arrived (relative to the
/// session's first packet), the rest by their timestamps. Once it has one, it is placed
/// by the sender's clock: the first stream placed that way stays where arrival had put
/// it (the offset between the two clocks is fixed then), and every other stream then
/// lands where the sender says it belongs relative to it. With a sender that reports
/// before its first packets (ffmpeg does), both streams are on the sender's clock from
/// the start and nothing ever moves.
///
/// libavformat would do this mapping itself, but only from each stream's first report
/// on: the packets before it start at 0 and jump when it comes (by tens of ms between
/// the streams), which sync cannot follow. Reel keeps the reports and does the mapping
/// here, in one place, from the first packet.
///
/// Pure logic. Thread-safety: Unsafe (a value type); owned by the demux thread.
package struct SessionTimeline: Sendable {
    private struct Stream {
        /// Ticks per second.
        let rate: Int64
        /// The first packet placed: its arrival (host ns) and extended timestamp.
        var anchor: (arrival: Int64, timestamp: Int64)?
        var report: SenderClock?
    }

    private var streams: [Stream]
    /// The arrival (host ns) of the session's first packet placed: time 0 by arrival.
    private var origin: Int64?
    /// The sender's wall clock (µs) at time 0 of the timeline, once a stream is placed
    /// by a report.
    private var senderOrigin: Int64?

    /// One stream per clock rate (ticks per second), in the session's order.
    package init(clockRates: [Int]) {
        streams = clockRates.map { Stream(rate: Int64(max(1, $0))) }
    }

    /// The stream's latest sender report.
    package mutating func report(_ clock: SenderClock, ofStream index: Int) {
        guard streams.indices.contains(index) else { return }
        streams[index].report = clock
    }

    /// Where a packet of stream `index` goes, in the stream's ticks: `timestamp` is its
    /// RTP timestamp extended past wrap-arounds; `firstArrival` is when (host ns) the
    /// stream's first packet arrived (used once, for the stream's first packet).
    package mutating func ticks(ofStream index: Int, timestamp: Int64, firstArrival: Int64) -> Int64 {
        var stream = streams[index]
        defer { streams[index] = stream }
        let origin = origin ?? firstArrival
        self.origin = origin
        let anchor = stream.anchor ?? (firstArrival, timestamp)
        stream.anchor = anchor
        let byArrival = (anchor.arrival - origin) / 1000 * stream.rate / 1_000_000 + timestamp - anchor.timestamp
        guard let report = stream.report else { return byArrival }
        // The report's timestamp, extended to the packet's neighbourhood.
        let reported = timestamp + Int64(Int32(bitPattern: report.timestamp &- UInt32(truncatingIfNeeded: timestamp)))
        let senderOrigin =
            senderOrigin
            ?? (report.microseconds + (timestamp - reported) * 1_000_000 / stream.rate
                - byArrival * 1_000_000 / stream.rate)
        self.senderOrigin = senderOrigin
        return (report.microseconds - senderOrigin) * stream.rate / 1_000_000 + timestamp - reported
    }
}
