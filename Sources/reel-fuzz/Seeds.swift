import Foundation
import ReelCore
import ReelFramePool
import ReelShare

/// Seed inputs for each target, made with the real encoders where there is one (so
/// the fuzzer starts from messages that go deep) and from the fixtures for media.
enum Seeds {
    /// Writes each target's seeds into `folder/TARGET/`; the media target's come from
    /// `fixtures`.
    static func write(into folder: String, fixtures: String) throws {
        for target in FuzzTarget.allCases {
            let directory = "\(folder)/\(target.rawValue)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let seeds = target == .media ? try media(fixtures) : inputs(for: target)
            for (index, seed) in seeds.enumerated() {
                try Data(seed).write(to: URL(fileURLWithPath: "\(directory)/seed-\(index)"))
            }
        }
    }

    /// Packets each led by its length, as `FuzzTarget.packets` splits them.
    static func framed(_ packets: [[UInt8]]) -> [UInt8] {
        packets.flatMap { [UInt8(min($0.count, 255))] + $0.prefix(255) }
    }

    static func inputs(for target: FuzzTarget) -> [[UInt8]] {
        switch target {
        case .pool: pool()
        case .rtp: rtp()
        case .sdp: sdp().map { Array($0.utf8) }
        case .ipc: [ipc().joined(separator: "\n")].map { Array($0.utf8) } + ipc().map { Array($0.utf8) }
        case .media: []
        }
    }

    static func pool() -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        for (format, width, height) in [(PixelFormat.gray8, 64, 48), (.nv12, 62, 34), (.yuv420p10, 33, 17)] {
            let hello = PoolMessage.hello(
                PoolMessage.Hello(format: format, width: UInt32(width), height: UInt32(height), slots: 2))
            let layout = SlotLayout(format: format, width: width, height: height)
            let frames = (0..<3).map { index in
                PoolMessage.frame(
                    PoolMessage.Frame(
                        slot: UInt32(index % 2), generation: index < 2 ? 1 : 2, format: format, width: UInt32(width),
                        height: UInt32(height), planes: layout.planes.map { (UInt64($0.offset), UInt32($0.stride)) },
                        color: ColorDescription(matrix: .bt709, range: .limited, chromaLocation: .left),
                        presentationTime: MediaTime(ticks: Int64(index), timeBase: Rational(1, 30)), captured: 0))
            }
            seeds.append(framed([hello.encoded()] + frames.map { $0.encoded() } + [PoolMessage.bye.encoded()]))
        }
        return seeds
    }

    /// An RTP packet: version 2, `marker`, payload type 96, `sequence`, a timestamp and SSRC.
    static func rtpPacket(sequence: UInt16, marker: Bool = false, payload: [UInt8] = [0x65, 0x88, 0x84]) -> [UInt8] {
        let timestamp = UInt32(sequence) &* 3000
        return [0x80, (marker ? 0x80 : 0) | 96, UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
            + withUnsafeBytes(of: timestamp.bigEndian, Array.init) + [0x12, 0x34, 0x56, 0x78] + payload
    }

    static func rtp() -> [[UInt8]] {
        let senderReport: [UInt8] =
            [0x80, 200, 0, 6, 0x12, 0x34, 0x56, 0x78] + [UInt8](repeating: 1, count: 8) + [0, 0, 0, 9]
            + [0, 0, 0, 3, 0, 0, 0, 100]
        let bye: [UInt8] = [0x81, 203, 0, 1, 0x12, 0x34, 0x56, 0x78]
        return [
            framed((0..<6).map { rtpPacket(sequence: UInt16($0), marker: $0 == 5) }),
            framed([5, 3, 4, 1, 2, 9, 6, 7, 8].map { rtpPacket(sequence: UInt16((65530 + $0) % 65536)) }),
            framed([rtpPacket(sequence: 1), senderReport, rtpPacket(sequence: 2), rtpPacket(sequence: 2), bye]),
        ]
    }

    static func sdp() -> [String] {
        [
            """
            v=0\r
            o=- 0 0 IN IP4 127.0.0.1\r
            s=Reel\r
            c=IN IP4 127.0.0.1\r
            t=0 0\r
            m=video 5004 RTP/AVP 96\r
            a=rtpmap:96 H264/90000\r
            a=fmtp:96 packetization-mode=1\r
            m=audio 5006 RTP/AVP 97\r
            a=rtpmap:97 opus/48000/2\r
            a=rtcp:5009\r

            """,
            "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=ts\nc=IN IP4 239.1.2.3/16\nt=0 0\nm=video 6000 RTP/AVP 33\n",
        ]
    }

    static func ipc() -> [String] {
        [
            #"{"command": ["seek", 5, "relative"], "request_id": 7}"#,
            #"{"command": ["seek", 12.5, "absolute", "exact"]}"#, #"{"command": ["pause", true]}"#,
            #"{"command": ["set", "volume", 40]}"#, #"{"command": ["set", "mute", false]}"#,
            #"{"command": ["get", "position"], "request_id": 2}"#, #"{"command": ["screenshot", "shot.png"]}"#,
            #"{"command": ["quit"]}"#,
        ]
    }

    /// The smallest fixtures, one per container and format family.
    static func media(_ fixtures: String) throws -> [[UInt8]] {
        try [
            "hdbars-bt709-center.mkv", "bars-bt601-full.mp4", "format-gray.mkv", "format-yuv420p10le.mkv",
            "aspect-container.webm", "aspect-bitstream.ts", "anamorphic-480x360.mp4",
        ].map { Array(try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/\($0)"))) }
    }
}
