import Foundation

/// What the network did to one RTP stream, as Reel received it: RFC 3550's receiver
/// counts (§6.4.1, §A.3, §A.8) and Reel's own.
///
/// Thread-safety: A value; safe.
package struct RTPStatistics: Sendable, Equatable, Codable {
    /// "video" or "audio".
    package var stream: String
    /// The SSRC and source address:port the stream locked to (nil before its first packet).
    package var ssrc: UInt32?
    package var source: String?
    /// Packets received from the locked source, duplicates not counted.
    package var received: Int64 = 0
    /// Expected (highest extended sequence number − first + 1) less received: never arrived.
    package var lost: Int64 = 0
    /// Copies of a packet already received.
    package var duplicates: Int64 = 0
    /// Packets that arrived after one with a higher sequence number (and in time to be
    /// put back in order).
    package var reordered: Int64 = 0
    /// Packets that arrived after the jitter buffer had given up on them.
    package var late: Int64 = 0
    /// Datagrams on this stream's ports that were not RTP or RTCP, or of a payload
    /// type the description does not list.
    package var garbage: Int64 = 0
    /// Valid packets from another source or SSRC than the locked one (dropped), and
    /// RTCP BYEs among them (ignored).
    package var foreign: Int64 = 0
    package var foreignByes: Int64 = 0
    /// Gaps the jitter buffer skipped at their deadline (packets given up on).
    package var skipped: Int64 = 0
    /// Datagrams the kernel dropped on this stream's RTP socket (SO_RXQ_OVFL).
    package var kernelDrops: Int64 = 0
    /// Interarrival jitter (RFC 3550 §6.4.1), in µs.
    package var jitter: Double = 0

    var firstSequence: Int64?
    var highestSequence: Int64?

    /// Updates `lost` from the sequence numbers seen.
    mutating func count() {
        guard let first = firstSequence, let highest = highestSequence else { return }
        lost = max(0, highest - first + 1 - received)
    }

    package init(stream: String) { self.stream = stream }

    /// One line for `--stats`.
    package var summary: String {
        "\(stream): received \(received), lost \(lost), duplicates \(duplicates), reordered \(reordered), "
            + "late \(late), garbage \(garbage), foreign \(foreign) (\(foreignByes) BYE), "
            + "kernel drops \(kernelDrops), jitter \(String(format: "%.2f", jitter / 1000)) ms"
    }
}
