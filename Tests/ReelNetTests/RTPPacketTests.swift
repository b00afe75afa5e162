import Testing

@testable import ReelNet

@Suite struct RTPPacketTests {
    static func rtp(type: UInt8 = 96, marker: Bool = false, sequence: UInt16, timestamp: UInt32, ssrc: UInt32)
        -> [UInt8]
    {
        [0x80, (marker ? 0x80 : 0) | type, UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
            + withUnsafeBytes(of: timestamp.bigEndian, Array.init) + withUnsafeBytes(of: ssrc.bigEndian, Array.init)
            + [0x65, 1, 2, 3]
    }

    @Test func readsTheFixedHeader() throws {
        let bytes = Self.rtp(marker: true, sequence: 0xABCD, timestamp: 0x0102_0304, ssrc: 1111)
        let header = try #require(bytes.withUnsafeBytes { RTPHeader($0) })
        #expect(header.payloadType == 96 && header.marker && header.sequence == 0xABCD)
        #expect(header.timestamp == 0x0102_0304 && header.ssrc == 1111)
    }

    @Test func refusesWhatIsNotRTP() {
        let cases: [[UInt8]] = [
            [],
            [0x80, 96, 0, 1],  // too short
            [0x00] + Array(repeating: 7, count: 20),  // version 0
            [0x8F, 96] + Array(repeating: 0, count: 20),  // 15 CSRCs announced, not there
            [0x80, 200] + Array(repeating: 0, count: 20),  // an RTCP sender report
            [0xA0, 96] + Array(repeating: 0, count: 10) + [0x00],  // padding of 0
        ]
        for bytes in cases { #expect(bytes.withUnsafeBytes { RTPHeader($0) } == nil, "\(bytes)") }
    }

    @Test func readsAByeInACompoundPacket() throws {
        // RR (no blocks) from 2222, then BYE for 2222.
        let bytes: [UInt8] = [0x80, 201, 0, 1, 0, 0, 0x08, 0xAE, 0x81, 203, 0, 1, 0, 0, 0x08, 0xAE]
        let packet = try #require(bytes.withUnsafeBytes { RTCPPacket($0) })
        #expect(packet.senderSSRC == 2222 && packet.byes == [2222])
        // A length that runs past the datagram is not RTCP.
        var broken = bytes
        broken[3] = 9
        #expect(broken.withUnsafeBytes { RTCPPacket($0) } == nil)
    }

    @Test func readsASenderReportsClock() throws {
        // SR from 1111 without report blocks (as ffmpeg sends): NTP 3900000000.5 s at RTP 90000.
        let bytes: [UInt8] =
            [0x80, 200, 0, 6] + withUnsafeBytes(of: UInt32(1111).bigEndian, Array.init)
            + withUnsafeBytes(of: UInt32(3_900_000_000).bigEndian, Array.init) + [0x80, 0, 0, 0]
            + withUnsafeBytes(of: UInt32(90_000).bigEndian, Array.init) + Array(repeating: 0, count: 8)
        let packet = try #require(bytes.withUnsafeBytes { RTCPPacket($0) })
        #expect(packet.senderSSRC == 1111 && packet.byes.isEmpty && packet.reportedSSRC == nil)
        let clock = try #require(packet.senderClock)
        #expect(clock.timestamp == 90_000 && clock.microseconds == 3_900_000_000 * 1_000_000 + 500_000)
    }

    @Test func extendsSequenceNumbersAcrossTheWrap() {
        var extender = SequenceExtender()
        #expect(extender.extend(65534) == 65534)
        #expect(extender.extend(65535) == 65535)
        #expect(extender.extend(0) == 65536)
        #expect(extender.extend(65533) == 65533)  // late, from before the wrap
        #expect(extender.extend(2) == 65538)
    }
}
