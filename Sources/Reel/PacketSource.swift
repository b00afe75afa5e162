import ReelMedia

/// Where a session's packets come from: the file or URL demuxer now; the RTP receiver
/// and other live inputs plug in here.
///
/// The demux thread is its only user: it reads, and seeks when asked. A live source
/// cannot seek (a seek or a loop is then refused, as an input that cannot seek is) and
/// may have no duration.
///
/// Thread-safety: Confined to the demux thread once the session runs.
protocol PacketSource: AnyObject {
    /// Whether the input is live (a stream arriving in real time): no seeking.
    var isLive: Bool { get }
    /// Media time (µs) of the input's start, and its duration when known.
    var start: Int64 { get }
    var duration: Int64? { get }
    /// The next packet, or the end (with the error that ended it early, if any);
    /// blocks on the input's I/O.
    func read() -> DemuxStep
    /// Moves to the keyframe nearest `target` (µs) within `range`.
    func seek(to target: Int64, within range: ClosedRange<Int64>) throws(MediaError)
    /// Whether `packet` (read from this source) came late on purpose: a live input's
    /// packet that waited in its jitter buffer behind a lost one. Asked once per packet.
    func takeHeld(_ packet: Packet) -> Bool
}

extension Demuxer: PacketSource {
    var isLive: Bool { false }
    var start: Int64 { startTime ?? 0 }
    var duration: Int64? { info.durationMicroseconds }
    func read() -> DemuxStep { readPacket() }
    func takeHeld(_ packet: Packet) -> Bool { false }
}
