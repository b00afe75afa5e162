import Foundation

/// What an SDP file (RFC 8866) says about an RTP session, as far as Reel receives
/// one: where each stream arrives and what it carries. The text itself goes to
/// libavformat's `sdp` demuxer too (for the depacketisers and codec parameters); this
/// parse decides what is bound and what is refused before any socket is opened.
///
/// Thread-safety: A value; safe.
package struct SessionDescription: Sendable, Equatable {
    /// One `m=` line: an audio or video stream on its own port.
    package struct Media: Sendable, Equatable {
        package enum Kind: String, Sendable { case audio, video }
        package var kind: Kind
        /// The RTP port; RTCP arrives on `rtcpPort` (the next one unless `a=rtcp:` says).
        package var port: UInt16
        package var rtcpPort: UInt16
        /// The connection address (IPv4, dotted), from the media or the session level.
        package var address: String
        /// The payload types listed, with their encodings (`a=rtpmap`, or the static ones).
        package var payloadTypes: [UInt8]
        package var encodings: [UInt8: String]
        /// The RTP clock rate of the first payload type.
        package var clockRate: Int
    }

    package var media: [Media]
    /// The text as given (handed to libavformat).
    package var text: String

    /// Encodings Reel can play (as `a=rtpmap` names them, upper-cased).
    package static let supportedEncodings: Set<String> = ["H264", "H265", "OPUS", "MPEG4-GENERIC", "MP4A-LATM", "MP2T"]

    /// The highest RTP clock rate taken (audio runs at most at 192 kHz; video at 90 kHz).
    static let maximumClockRate = 1_000_000

    /// The static payload types of RFC 3551 that Reel plays.
    static let staticEncodings: [UInt8: (name: String, rate: Int)] = [33: ("MP2T", 90000), 14: ("MPA", 90000)]

    /// Parses and checks `text`. Throws `NetError.badDescription` with the line at fault.
    /// `allowMulticast`: a multicast connection address is refused unless it is set
    /// (joining a group sends IGMP reports on the network).
    package init(parsing text: String, allowMulticast: Bool = false) throws(NetError) {
        self.text = text
        var sessionAddress: String?
        var media: [Media] = []
        var current: Media?
        var sawVersion = false
        func finish() throws(NetError) {
            guard var stream = current else { return }
            guard let address = stream.address.isEmpty ? sessionAddress : stream.address else {
                throw .badDescription("the \(stream.kind.rawValue) stream has no connection address (c=)")
            }
            stream.address = address
            for type in stream.payloadTypes where stream.encodings[type] == nil {
                guard let known = Self.staticEncodings[type] else {
                    throw .badDescription("payload type \(type) of the \(stream.kind.rawValue) stream has no a=rtpmap")
                }
                stream.encodings[type] = known.name
                if type == stream.payloadTypes.first { stream.clockRate = known.rate }
            }
            for type in stream.payloadTypes {
                let name = stream.encodings[type] ?? "?"
                guard Self.supportedEncodings.contains(name) else {
                    throw .badDescription(
                        "payload type \(type) (\(name)) of the \(stream.kind.rawValue) stream is not one Reel plays "
                            + "(H264, H265, opus, MPEG4-GENERIC, MP4A-LATM, MP2T)")
                }
            }
            media.append(stream)
            current = nil
        }
        for (number, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
        {
            let line = rawLine.trimmingCharacters(in: CharacterSet(charactersIn: " \t\r"))
            if line.isEmpty { continue }
            guard line.count >= 2, line.dropFirst().first == "=" else {
                throw .badDescription("line \(number + 1) is not SDP (type=value): '\(line.prefix(60))'")
            }
            let type = line.first!
            let value = String(line.dropFirst(2))
            switch type {
            case "v":
                guard value == "0" else { throw .badDescription("unsupported SDP version '\(value)'") }
                sawVersion = true
            case "c":
                let address = try Self.connectionAddress(value, line: number + 1, allowMulticast: allowMulticast)
                if current != nil { current!.address = address } else { sessionAddress = address }
            case "m":
                try finish()
                current = try Self.mediaLine(value, line: number + 1)
            case "a":
                guard current != nil else { continue }
                if value.hasPrefix("rtpmap:") {
                    let parts = value.dropFirst(7).split(separator: " ", maxSplits: 1)
                    guard parts.count == 2, let type = UInt8(parts[0]), type < 128 else {
                        throw .badDescription("line \(number + 1): bad a=rtpmap '\(value)'")
                    }
                    let encoding = parts[1].split(separator: "/", omittingEmptySubsequences: false)
                    current!.encodings[type] = encoding.first.map { $0.uppercased() } ?? ""
                    // The clock turns timestamps into time: 0 or less, or none where a
                    // slash says one follows, is refused (found by fuzzing: "H264//0").
                    if encoding.count > 1 {
                        guard let rate = Int(encoding[1]), (1...Self.maximumClockRate).contains(rate) else {
                            throw .badDescription(
                                "line \(number + 1): bad clock rate '\(encoding[1])' in a=rtpmap (1…\(Self.maximumClockRate) Hz)"
                            )
                        }
                        if type == current!.payloadTypes.first { current!.clockRate = rate }
                    }
                } else if value.hasPrefix("rtcp:") {
                    let port = value.dropFirst(5).split(separator: " ").first.flatMap { UInt16($0) }
                    guard let port, port > 0 else { throw .badDescription("line \(number + 1): bad a=rtcp '\(value)'") }
                    current!.rtcpPort = port
                }
            default:
                continue
            }
        }
        try finish()
        guard sawVersion || !media.isEmpty else { throw .badDescription("no SDP in it (no v= and no m= line)") }
        guard !media.isEmpty else { throw .badDescription("no audio or video stream (m=) in it") }
        // libavformat routes packets to streams by payload type.
        var seen: Set<UInt8> = []
        for stream in media {
            for type in stream.payloadTypes where !seen.insert(type).inserted {
                throw .badDescription("payload type \(type) is used by two streams; each needs its own")
            }
        }
        var ports: Set<UInt16> = []
        for stream in media where !ports.insert(stream.port).inserted || !ports.insert(stream.rtcpPort).inserted {
            throw .badDescription("port \(stream.port) or \(stream.rtcpPort) is named twice")
        }
        self.media = media
    }

    /// `IN IP4 ADDRESS[/TTL]`: the address, checked.
    private static func connectionAddress(_ value: String, line: Int, allowMulticast: Bool) throws(NetError) -> String {
        let parts = value.split(separator: " ")
        guard parts.count == 3, parts[0] == "IN" else {
            throw .badDescription("line \(line): bad connection line 'c=\(value)'")
        }
        guard parts[1] == "IP4" else { throw .badDescription("line \(line): only IPv4 is supported ('c=\(value)')") }
        let address = String(parts[2].split(separator: "/").first ?? "")
        guard let octets = IPv4(address) else {
            throw .badDescription("line \(line): '\(address)' is not an IPv4 address")
        }
        if octets.isMulticast && !allowMulticast {
            throw .badDescription(
                "\(address) is a multicast group: joining it sends IGMP reports on the network; "
                    + "pass --rtp-allow-multicast to join it")
        }
        return address
    }

    /// `KIND PORT RTP/AVP TYPES…`.
    private static func mediaLine(_ value: String, line: Int) throws(NetError) -> Media {
        let parts = value.split(separator: " ")
        guard parts.count >= 4 else { throw .badDescription("line \(line): bad media line 'm=\(value)'") }
        guard let kind = Media.Kind(rawValue: String(parts[0])) else {
            throw .badDescription("line \(line): '\(parts[0])' streams are not played (only audio and video)")
        }
        guard let port = UInt16(parts[1].split(separator: "/").first ?? ""), port > 0, port < 65535 else {
            throw .badDescription("line \(line): bad port '\(parts[1])'")
        }
        guard parts[2] == "RTP/AVP" || parts[2] == "RTP/AVPF" else {
            throw .badDescription("line \(line): transport '\(parts[2])' is not RTP/AVP")
        }
        var types: [UInt8] = []
        for word in parts[3...] {
            guard let type = UInt8(word), type < 128 else {
                throw .badDescription("line \(line): bad payload type '\(word)'")
            }
            types.append(type)
        }
        return Media(
            kind: kind, port: port, rtcpPort: port + 1, address: "", payloadTypes: types, encodings: [:],
            clockRate: 90000)
    }
}

/// An IPv4 address's four octets.
struct IPv4: Equatable {
    var octets: (UInt8, UInt8, UInt8, UInt8)

    init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var values: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, let value = UInt8(part) else { return nil }
            values.append(value)
        }
        octets = (values[0], values[1], values[2], values[3])
    }

    var isMulticast: Bool { octets.0 >= 224 && octets.0 <= 239 }
    var isLoopback: Bool { octets.0 == 127 }

    /// Network byte order, as `in_addr.s_addr` holds it.
    var networkOrder: UInt32 {
        UInt32(octets.0) | UInt32(octets.1) << 8 | UInt32(octets.2) << 16 | UInt32(octets.3) << 24
    }

    static func == (lhs: IPv4, rhs: IPv4) -> Bool { lhs.networkOrder == rhs.networkOrder }
}

/// Why a network input failed, in one line.
package struct NetError: Error, Sendable, CustomStringConvertible {
    package var description: String

    package init(_ description: String) { self.description = description }

    static func badDescription(_ why: String) -> NetError { NetError("bad SDP: \(why)") }
}
