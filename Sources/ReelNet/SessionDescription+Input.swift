import Foundation

extension SessionDescription {
    /// Whether `input` names an RTP session: an SDP session description (`.sdp`, or
    /// `sdp:PATH`, `sdp:-` for standard input) or `rtp://ADDRESS:PORT` (MPEG-TS over
    /// RTP). Nothing else is ever opened as a network stream, whatever its contents.
    package static func names(_ input: String) -> Bool {
        input.hasPrefix("sdp:") || input.lowercased().hasSuffix(".sdp") || input.hasPrefix("rtp://")
    }

    /// The SDP text of an input that `names` one: read from the file or standard
    /// input, or made for an `rtp://` URL (payload type 33, MPEG-TS, at the URL's
    /// address and port). Throws a one-line `NetError`.
    package static func text(of input: String) throws(NetError) -> String {
        if input.hasPrefix("rtp://") {
            let rest = input.dropFirst(6).prefix { $0 != "?" && $0 != "/" }
            guard let colon = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: colon)...]), port > 0
            else { throw NetError("'\(input)' is not rtp://ADDRESS:PORT") }
            let address = rest[..<colon]
            return "v=0\r\no=- 0 0 IN IP4 \(address)\r\ns=\(input)\r\nc=IN IP4 \(address)\r\nt=0 0\r\n"
                + "m=video \(port) RTP/AVP 33\r\n"
        }
        let path = input.hasPrefix("sdp:") ? String(input.dropFirst(4)) : input
        if path == "-" {
            return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NetError("cannot read the session description '\(path)'")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
