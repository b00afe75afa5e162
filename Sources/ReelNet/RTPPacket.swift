/// The fixed header of an RTP packet (RFC 3550 §5.1), read from a datagram.
package struct RTPHeader: Equatable {
    package var payloadType: UInt8
    package var marker: Bool
    package var sequence: UInt16
    package var timestamp: UInt32
    package var ssrc: UInt32

    /// Nil when `bytes` is not an RTP packet: version 2, 12 bytes at least, the CSRC
    /// list, extension and padding inside the datagram, and a payload type that is not
    /// an RTCP packet type (72–76 collide with RTCP's 200–204 when multiplexed).
    package init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 12, bytes[0] >> 6 == 2 else { return nil }
        let csrcCount = Int(bytes[0] & 0x0F)
        var headerLength = 12 + 4 * csrcCount
        guard bytes.count >= headerLength else { return nil }
        if bytes[0] & 0x10 != 0 {
            guard bytes.count >= headerLength + 4 else { return nil }
            let words = Int(bytes[headerLength + 2]) << 8 | Int(bytes[headerLength + 3])
            headerLength += 4 + 4 * words
            guard bytes.count >= headerLength else { return nil }
        }
        if bytes[0] & 0x20 != 0 {
            let padding = Int(bytes[bytes.count - 1])
            guard padding > 0, headerLength + padding <= bytes.count else { return nil }
        }
        payloadType = bytes[1] & 0x7F
        guard !(72...76).contains(payloadType) else { return nil }
        marker = bytes[1] & 0x80 != 0
        sequence = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
        timestamp = bytes.loadBigEndianUInt32(at: 4)
        ssrc = bytes.loadBigEndianUInt32(at: 8)
    }
}

/// An RTCP compound packet, checked as RFC 3550 §A.2 says (version 2, the first
/// packet an SR or RR, the lengths adding up to the datagram), with what Reel needs
/// from it: the sender's SSRC, its clock reading (a sender report) and whether it says
/// BYE.
package struct RTCPPacket: Equatable {
    package var senderSSRC: UInt32
    /// SSRCs said goodbye for.
    package var byes: [UInt32]
    /// The SSRC reported on by the first report block of a receiver report (where
    /// libavformat's reports about a stream must go).
    var reportedSSRC: UInt32?
    /// A sender report's clock reading.
    var senderClock: SenderClock?

    package init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 8, bytes[0] >> 6 == 2, (200...201).contains(bytes[1]) || bytes[1] == 203 else {
            return nil
        }
        senderSSRC = bytes.loadBigEndianUInt32(at: 4)
        byes = []
        reportedSSRC = nil
        senderClock = nil
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 4, bytes[offset] >> 6 == 2 else { return nil }
            let length = (Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3]) + 1) * 4
            guard offset + length <= bytes.count else { return nil }
            let count = Int(bytes[offset] & 0x1F)
            switch bytes[offset + 1] {
            case 203:
                for index in 0..<count where 4 + 4 * (index + 1) <= length {
                    byes.append(bytes.loadBigEndianUInt32(at: offset + 4 + 4 * index))
                }
            case 201 where count > 0 && length >= 32:
                reportedSSRC = reportedSSRC ?? bytes.loadBigEndianUInt32(at: offset + 8)
            case 200 where length >= 28:
                if offset == 0 {
                    let ntp = UInt64(bytes.loadBigEndianUInt32(at: 8)) << 32 | UInt64(bytes.loadBigEndianUInt32(at: 12))
                    senderClock = SenderClock(ntp: ntp, timestamp: bytes.loadBigEndianUInt32(at: 16))
                }
                if count > 0 && length >= 52 {
                    reportedSSRC = reportedSSRC ?? bytes.loadBigEndianUInt32(at: offset + 28)
                }
            default:
                break
            }
            offset += length
        }
    }
}

extension UnsafeRawBufferPointer {
    func loadBigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8
            | UInt32(self[offset + 3])
    }
}

/// Extends 16-bit sequence numbers to 64 bits across wrap-arounds (RFC 3550 §A.1),
/// relative to the highest seen.
package struct SequenceExtender {
    private var highest: Int64?

    /// The extended number of `sequence`: the one nearest the highest so far.
    package init() {}

    package mutating func extend(_ sequence: UInt16) -> Int64 {
        guard let highest else {
            self.highest = Int64(sequence)
            return Int64(sequence)
        }
        let base = highest & ~0xFFFF
        var candidates = [base + Int64(sequence), base + Int64(sequence) + 0x10000, base + Int64(sequence) - 0x10000]
        candidates.sort { abs($0 - highest) < abs($1 - highest) }
        let extended = candidates[0]
        if extended > highest { self.highest = extended }
        return extended
    }
}
