import Foundation
import ReelMedia
import ReelTestSupport
import Testing

/// `reel play STREAM.sdp` against a real sender (the ffmpeg CLI) on loopback, directly
/// and through `tools/rtp-relay`, which damages the stream on purpose and reports what
/// it did: the player's counts must equal the relay's.
@Suite(.serialized) struct RTPPlaybackTests {
    static let repository = URL(fileURLWithPath: fixtures).deletingLastPathComponent()

    /// An RTP port (even) whose RTCP port (the next) is free too, on 127.0.0.1.
    static func freePortPair() throws -> UInt16 {
        for _ in 0..<200 {
            let port = UInt16.random(in: 10_000...30_000) & ~1
            if isFree(port) && isFree(port + 1) { return port }
        }
        throw SupportError("no free UDP port pair on 127.0.0.1")
    }

    static func isFree(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Waits (bounded) until something has bound UDP `port` on 127.0.0.1: the player is listening.
    static func waitUntilBound(_ port: UInt16, timeout: Double = 30) throws {
        let wanted = String(format: "0100007F:%04X", port)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let table = (try? String(contentsOfFile: "/proc/net/udp", encoding: .utf8)) ?? ""
            if table.contains(wanted) { return }
            usleep(10_000)
        }
        throw SupportError("nothing bound UDP port \(port) within \(timeout) s")
    }

    /// The flash/beep clip encoded for sending, in `folder`: H.264 (one keyframe a
    /// second, no B-frames) and Opus unless other encoders are named.
    ///
    /// The sender copies it (`-c copy`) rather than encoding as it sends: ffmpeg's RTP
    /// muxer starts each stream's clock (what its sender reports say) when that output
    /// starts, which, encoding, is when its encoder is ready; a slow encoder start (a
    /// second seen on a cold machine) then shows in the reports as an A/V offset of the
    /// sender's own, which a player that follows them (as it must) plays faithfully.
    static func encodedClip(
        seconds: Double, video: String = "libx264", audio: String = "libopus", in folder: String
    ) throws -> String {
        let path = "\(folder)/clip-\(video)-\(audio)-\(seconds).mkv"
        guard !FileManager.default.fileExists(atPath: path) else { return path }
        var arguments = ["-t", "\(seconds)", "-i", "\(fixtures)/sync-flash-beep.mp4", "-c:v", video]
        arguments += video == "libx265" ? ["-x265-params", "log-level=none:keyint=30:bframes=0"] : []
        arguments += ["-tune", "zerolatency", "-g", "30", "-c:a", audio, path]
        try ffmpeg(arguments)
        return path
    }

    /// The sender's arguments: `clip` copied in real time, its video (SSRC 1111, with a
    /// BYE at the end) and its audio (SSRC 2222) to the ports.
    static func senderArguments(clip: String, video: UInt16, audio: UInt16?) -> [String] {
        var arguments = [
            "-nostdin", "-v", "error", "-re", "-i", clip, "-map", "0:v", "-c", "copy", "-rtpflags", "send_bye", "-ssrc",
            "1111", "-f", "rtp", "rtp://127.0.0.1:\(video)",
        ]
        if let audio {
            arguments += ["-map", "0:a", "-c", "copy", "-ssrc", "2222", "-f", "rtp", "rtp://127.0.0.1:\(audio)"]
        }
        return arguments
    }

    /// The SDP for a session of `clip` on these ports, as the sender itself writes it
    /// (a run to ports nobody listens on yet).
    static func sessionDescription(clip: String, video: UInt16, audio: UInt16?, in folder: String) throws -> String {
        let path = "\(folder)/session-\(video).sdp"
        try ffmpeg(
            ["-t", "0.1"]
                + senderArguments(clip: clip, video: video, audio: audio).filter {
                    $0 != "-re" && $0 != "-nostdin"
                } + ["-sdp_file", path])
        return path
    }

    struct Played {
        var status: Int32?
        var output: String
        var statistics: [String: Any]
        var streams: [[String: Any]] { statistics["rtp"] as? [[String: Any]] ?? [] }
        var presentation: [String: Any] { statistics["presentation"] as? [String: Any] ?? [:] }
    }

    /// Starts `reel play SDP`, waits until it listens, runs `sender` (and waits for it),
    /// then waits for the player to end by itself.
    static func play(
        _ sdp: String, port: UInt16, options: [String] = [], in folder: String, sender: () throws -> Void
    ) throws -> Played {
        let stats = "\(folder)/stats-\(UUID().uuidString).json"
        let log = "\(folder)/play-\(UUID().uuidString).log"
        let player = try Child(
            ReelCLI.executable.path,
            ["play", sdp, "--vo", "offscreen", "--ao", "null", "--stats", stats] + options,
            environment: ProcessInfo.processInfo.environment.merging(["REEL_VULKAN_VALIDATION": "1"]) { $1 },
            output: log)
        try waitUntilBound(port)
        try sender()
        let status = player.waitForExit(timeout: 60)
        let statistics =
            (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats)))) as? [String: Any]
        return Played(
            status: status, output: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "",
            statistics: statistics ?? [:])
    }

    static func int(_ value: Any?) -> Int { (value as? NSNumber)?.intValue ?? -1 }

    /// A clean stream: every frame shown, nothing counted lost, the sender's BYE ends it,
    /// and the picture is shown soon after its packets arrive.
    @Test func cleanStreamPlaysEveryFrame() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (video, audio) = (try Self.freePortPair(), try Self.freePortPair())
        let clip = try Self.encodedClip(seconds: 4, in: folder)
        let sdp = try Self.sessionDescription(clip: clip, video: video, audio: audio, in: folder)
        let played = try Self.play(sdp, port: video, in: folder) {
            try ffmpeg(Self.senderArguments(clip: clip, video: video, audio: audio))
        }
        print("clean stream: \(played.output)")
        #expect(played.status == 0, "\(played.output)")
        #expect(played.output.contains("input ended: the sender ended the stream (RTCP BYE)"), "\(played.output)")
        // 4 s at 30 fps: every frame decoded; shown unless the machine fell behind (a few).
        let presented = Self.int(played.presentation["presented"])
        let dropped = Self.int(played.presentation["droppedLate"])
        #expect(Self.int(played.statistics["framesDecoded"]) == 120)
        #expect(presented + dropped == 120 && dropped <= 3, "\(played.presentation)")
        #expect(played.streams.count == 2)
        for stream in played.streams {
            #expect(Self.int(stream["lost"]) == 0 && Self.int(stream["duplicates"]) == 0, "\(stream)")
            #expect(Self.int(stream["garbage"]) == 0 && Self.int(stream["late"]) == 0, "\(stream)")
        }
        #expect(Self.int(played.streams[0]["received"]) == 120)
        let latency = try #require(played.statistics["receiveToPresent"] as? [String: Any])
        #expect(Self.int(latency["count"]) == presented)
        // Bounded however busy the machine (the figures are in the output above).
        #expect(Self.int(latency["p50"]) < 250_000, "\(latency)")
        let offset = try #require(played.statistics["avOffset"] as? [String: Any])
        #expect(abs((offset["mean"] as? Double) ?? 1e9) < 25_000, "\(offset)")
    }

    /// Loss (single and bursts), duplicates, reordering, garbage and a forged BYE from
    /// another port: playback runs to the sender's own BYE, and the counts are the relay's.
    /// Damaged pictures are shown concealed, or (freeze) not at all until a keyframe;
    /// either way no picture is shown out of order.
    @Test(arguments: ["conceal", "freeze"]) func damagedStreamCountsMatchTheRelay(loss: String) throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (video, audio) = (try Self.freePortPair(), try Self.freePortPair())
        let (relayVideo, relayAudio) = (try Self.freePortPair(), try Self.freePortPair())
        let clip = try Self.encodedClip(seconds: 5, in: folder)
        let sdp = try Self.sessionDescription(clip: clip, video: video, audio: audio, in: folder)
        let report = "\(folder)/relay.json"
        let timeline = "\(folder)/timeline.jsonl"
        let options = ["--rtp-loss", loss, "--timeline", timeline]
        let played = try Self.play(sdp, port: video, options: options, in: folder) {
            let relay = try Child(
                "\(Self.repository.path)/tools/rtp-relay",
                [
                    "--pair", "\(relayVideo):\(video)", "--pair", "\(relayAudio):\(audio)", "--seed", "7", "--drop",
                    "0.03", "--bursts", "0.004", "--duplicate", "0.02", "--reorder", "0.02", "--garbage", "0.01",
                    "--forge-bye-after", "40", "--idle", "2", "--report", report,
                ])
            try Self.waitUntilBound(relayAudio + 1)
            try ffmpeg(Self.senderArguments(clip: clip, video: relayVideo, audio: relayAudio))
            _ = relay.waitForExit(timeout: 30)
        }
        print("damaged stream (\(loss)): \(played.output)decoded \(Self.int(played.statistics["framesDecoded"]))")
        #expect(played.status == 0, "\(played.output)")
        #expect(played.output.contains("input ended: the sender ended the stream (RTCP BYE)"), "\(played.output)")
        let truth = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])
        let pairs = try #require(truth["pairs"] as? [[String: Any]])
        print("relay: \(pairs)")
        #expect(played.streams.count == 2 && pairs.count == 2)
        for (stream, relayed) in zip(played.streams, pairs) {
            #expect(Self.int(stream["received"]) == Self.int(relayed["relayed"]), "\(stream) \(relayed)")
            #expect(Self.int(stream["lost"]) == Self.int(relayed["lost"]), "\(stream) \(relayed)")
            #expect(Self.int(stream["duplicates"]) == Self.int(relayed["duplicated"]), "\(stream) \(relayed)")
            #expect(Self.int(stream["garbage"]) == Self.int(relayed["garbage"]), "\(stream) \(relayed)")
            #expect(abs(Self.int(stream["reordered"]) - Self.int(relayed["reordered"])) <= 1, "\(stream) \(relayed)")
            #expect(Self.int(stream["foreignByes"]) == Self.int(relayed["forged_byes"]), "\(stream) \(relayed)")
        }
        // Damage costs pictures, never the order.
        let shown = try TimelineEntry.read(timeline).filter { $0.type == "video" }.compactMap(\.pts)
        #expect(shown == shown.sorted() && Set(shown).count == shown.count, "\(shown)")
        let damage = try #require(played.statistics["damagedPictures"] as? [String: Any])
        let (concealed, frozen) = (Self.int(damage["concealed"]), Self.int(damage["frozen"]))
        let presented = Self.int(played.presentation["presented"])
        if loss == "conceal" {
            #expect(concealed > 0 && frozen == 0, "\(damage)")
            #expect(presented > 100, "\(played.presentation)")
        } else {
            #expect(concealed == 0 && frozen > 0, "\(damage)")
            // Frozen pictures never leave the decoder; the others are all shown.
            let dropped = Self.int(played.presentation["droppedLate"])
            #expect(presented > 20 && presented + dropped == Self.int(played.statistics["framesDecoded"]))
        }
    }

    /// Joined between keyframes (the relay passes nothing of the first 40 packets, nor
    /// the sender's first report): the first picture shown is the next keyframe, within
    /// a GOP of joining; with --rtp-show-corrupt the pictures before it are shown too. A
    /// BYE forged from another port before the sender's first report ends nothing.
    @Test(arguments: [false, true]) func joinBetweenKeyframes(showCorrupt: Bool) throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let video = try Self.freePortPair()
        let relayVideo = try Self.freePortPair()
        let clip = try Self.encodedClip(seconds: 3, in: folder)
        let sdp = try Self.sessionDescription(clip: clip, video: video, audio: nil, in: folder)
        let played = try Self.play(sdp, port: video, options: showCorrupt ? ["--rtp-show-corrupt"] : [], in: folder) {
            let relay = try Child(
                "\(Self.repository.path)/tools/rtp-relay",
                ["--pair", "\(relayVideo):\(video)", "--join-after", "40", "--forge-bye-after", "50", "--idle", "2"])
            try Self.waitUntilBound(relayVideo + 1)
            try ffmpeg(Self.senderArguments(clip: clip, video: relayVideo, audio: nil))
            _ = relay.waitForExit(timeout: 30)
        }
        print("joined between keyframes (show corrupt: \(showCorrupt)): \(played.output)")
        #expect(played.status == 0, "\(played.output)")
        // A BYE forged from another port before any report from the sender ends nothing.
        #expect(played.output.contains("input ended: the sender ended the stream (RTCP BYE)"), "\(played.output)")
        #expect(Self.int(played.streams.first?["foreignByes"]) == 1, "\(played.streams)")
        let damage = try #require(played.statistics["damagedPictures"] as? [String: Any])
        let before = Self.int(damage["beforeKeyframe"])
        let decoded = Self.int(played.statistics["framesDecoded"])
        let received = Self.int(played.streams.first?["received"])
        // 90 pictures, one keyframe every 30: joined at about picture 40, the next is 60.
        if showCorrupt {
            #expect(before == 0 && decoded >= received - 2, "\(damage) \(decoded) of \(received)")
        } else {
            #expect((5...25).contains(before) && decoded + before >= received - 2, "\(damage) \(decoded)")
            #expect(decoded >= 25, "\(decoded)")
            // The first picture is at most a GOP (1 s) and a little after the first packet.
            #expect(Self.int(played.statistics["firstPictureAfter"]) < 1_500_000, "\(played.statistics)")
        }
    }

    /// No sender at all: after --rtp-timeout, one line and exit 1. A sender that dies
    /// without a BYE: played until then, then ended after the timeout, exit 0.
    @Test func silenceEndsPlayback() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let video = try Self.freePortPair()
        let clip = try Self.encodedClip(seconds: 20, in: folder)
        let sdp = try Self.sessionDescription(clip: clip, video: video, audio: nil, in: folder)
        let nothing = try ReelCLI.run(["play", sdp, "--vo", "none", "--ao", "null", "--rtp-timeout", "1"], timeout: 30)
        #expect(nothing.status == 1)
        #expect(nothing.stderr.contains("no RTP packets arrived in 1 s"), "\(nothing.stderr)")
        #expect(nothing.stderr.split(separator: "\n").count == 1, "\(nothing.stderr)")

        let timeline = "\(folder)/timeline.jsonl"
        let played = try Self.play(
            sdp, port: video, options: ["--rtp-timeout", "1", "--timeline", timeline], in: folder
        ) {
            let sender = try Child("/usr/bin/ffmpeg", Self.senderArguments(clip: clip, video: video, audio: nil))
            // Killed (no BYE) once the player has shown ten frames.
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                let lines = (try? String(contentsOfFile: timeline, encoding: .utf8)) ?? ""
                if lines.components(separatedBy: "\"video\"").count > 10 { break }
                usleep(20_000)
            }
            kill(sender.pid, SIGKILL)
            _ = sender.waitForExit(timeout: 10)
        }
        #expect(played.status == 0, "\(played.output)")
        #expect(played.output.contains("input ended: no packets for 1 s"), "\(played.output)")
        #expect(Self.int(played.presentation["presented"]) > 0, "\(played.presentation)")
    }

    /// An SDP without the parameter sets (no sprop-parameter-sets), the stream carrying
    /// them in band before each keyframe: every picture decodes all the same.
    @Test func parameterSetsInBandOnly() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (video, audio) = (try Self.freePortPair(), try Self.freePortPair())
        // A transport stream keeps SPS and PPS in band (no global header).
        let clip = "\(folder)/inband.ts"
        try ffmpeg([
            "-t", "3", "-i", "\(fixtures)/sync-flash-beep.mp4", "-c:v", "libx264", "-tune", "zerolatency", "-g", "30",
            "-c:a", "libopus", "-f", "mpegts", clip,
        ])
        let sdp = try Self.sessionDescription(clip: clip, video: video, audio: audio, in: folder)
        let text = try String(contentsOfFile: sdp, encoding: .utf8)
        let stripped = text.replacingOccurrences(
            of: " sprop-parameter-sets=[^;]*;", with: "", options: .regularExpression)
        #expect(text.contains("sprop-parameter-sets") && !stripped.contains("sprop-parameter-sets"))
        try stripped.write(toFile: sdp, atomically: true, encoding: .utf8)
        let played = try Self.play(sdp, port: video, in: folder) {
            try ffmpeg(Self.senderArguments(clip: clip, video: video, audio: audio))
        }
        print("parameter sets in band only: \(played.output)")
        #expect(played.status == 0, "\(played.output)")
        #expect(Self.int(played.statistics["framesDecoded"]) == 90, "\(played.statistics)")
    }

    /// Sound only, the SDP on standard input (`sdp:-`): the sound is the master (a video
    /// clock would never start) and the sender's BYE ends it.
    @Test func soundOnlyFromStandardInput() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let audio = try Self.freePortPair()
        let clip = try Self.encodedClip(seconds: 2, in: folder)
        let sdp = "\(folder)/sound.sdp"
        let sender = [
            "-nostdin", "-v", "error", "-re", "-i", clip, "-map", "0:a", "-c", "copy", "-rtpflags", "send_bye", "-f",
            "rtp", "rtp://127.0.0.1:\(audio)",
        ]
        try ffmpeg(["-t", "0.1"] + sender.filter { $0 != "-re" && $0 != "-nostdin" } + ["-sdp_file", sdp])
        let stats = "\(folder)/stats.json"
        let log = "\(folder)/play.log"
        let player = try Child(
            "/bin/sh",
            ["-c", "exec '\(ReelCLI.executable.path)' play sdp:- --vo none --ao null --stats '\(stats)' < '\(sdp)'"],
            output: log)
        try Self.waitUntilBound(audio)
        try ffmpeg(sender)
        let status = player.waitForExit(timeout: 60)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        print("sound only: \(output)")
        #expect(status == 0, "\(output)")
        #expect(output.contains("(sync audio)") && output.contains("(RTCP BYE)"), "\(output)")
        let statistics = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats))) as? [String: Any])
        // 2 s at 48 kHz.
        #expect(abs(Self.int(statistics["audioFramesWritten"]) - 96_000) < 4_800, "\(statistics)")
    }

    /// HEVC with AAC (MPEG4-GENERIC) through an SDP.
    @Test func hevcWithAACPlays() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (video, audio) = (try Self.freePortPair(), try Self.freePortPair())
        let clip = try Self.encodedClip(seconds: 3, video: "libx265", audio: "aac", in: folder)
        let sdp = try Self.sessionDescription(clip: clip, video: video, audio: audio, in: folder)
        let description = try String(contentsOfFile: sdp, encoding: .utf8)
        #expect(description.contains("H265/90000") && description.contains("MPEG4-GENERIC"), "\(description)")
        let played = try Self.play(sdp, port: video, in: folder) {
            try ffmpeg(Self.senderArguments(clip: clip, video: video, audio: audio))
        }
        print("HEVC + AAC: \(played.output)")
        #expect(played.status == 0, "\(played.output)")
        #expect(played.output.contains("(RTCP BYE)"), "\(played.output)")
        #expect(Self.int(played.statistics["framesDecoded"]) == 90, "\(played.statistics)")
        #expect(Self.int(played.statistics["audioFramesWritten"]) > 48_000 * 2, "\(played.statistics)")
        for stream in played.streams { #expect(Self.int(stream["lost"]) == 0, "\(stream)") }
        let offset = try #require(played.statistics["avOffset"] as? [String: Any])
        #expect(abs((offset["mean"] as? Double) ?? 1e9) < 25_000, "\(offset)")
    }

    /// `reel play rtp://ADDRESS:PORT`: MPEG-TS over RTP, no SDP; it ends after the timeout.
    @Test func transportStreamOverRTPPlays() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let port = try Self.freePortPair()
        let played = try Self.play(
            "rtp://127.0.0.1:\(port)", port: port, options: ["--rtp-timeout", "1"], in: folder
        ) {
            try ffmpeg([
                "-nostdin", "-v", "error", "-re", "-t", "3", "-i", "\(fixtures)/sync-flash-beep.mp4", "-c:v", "libx264",
                "-tune", "zerolatency", "-g", "30", "-c:a", "aac", "-f", "rtp_mpegts", "rtp://127.0.0.1:\(port)",
            ])
        }
        print("MPEG-TS over RTP: \(played.output)")
        #expect(played.status == 0, "\(played.output)")
        #expect(played.output.contains("input ended: no packets for 1 s"), "\(played.output)")
        // The first picture may be before the first keyframe the probe saw: most of 90.
        // (Under a sanitizer the player is ready seconds late, and what the sender sent
        // before that is gone, as for any late joiner: then some.)
        let most = underSanitizer ? 1 : 80
        #expect(Self.int(played.statistics["framesDecoded"]) >= most, "\(played.statistics)")
        #expect(
            Self.int(played.statistics["audioFramesWritten"]) > (underSanitizer ? 0 : 48_000 * 2),
            "\(played.statistics)")
        let offset = try #require(played.statistics["avOffset"] as? [String: Any])
        #expect(abs((offset["mean"] as? Double) ?? 1e9) < 40_000, "\(offset)")
    }

    /// `reel render STREAM.sdp` writes the pictures as they arrive, the same as a render
    /// of the file the sender sends (at 40 dB or more; in fact identical). `reel bench`
    /// on a session counts its frames.
    @Test func renderAndBenchTakeASession() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (video, audio) = (try Self.freePortPair(), try Self.freePortPair())
        // A moving test pattern with detail everywhere (the flash clip is mostly flat).
        let clip = "\(folder)/pattern.mkv"
        try ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-f", "lavfi", "-i", "sine=frequency=440", "-t", "2",
            "-c:v", "libx264", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "libopus", clip,
        ])
        let sdp = try Self.sessionDescription(clip: clip, video: video, audio: audio, in: folder)
        let out = "\(folder)/frames"
        let log = "\(folder)/render.log"
        let render = try Child(
            ReelCLI.executable.path, ["render", sdp, "--out", out],
            environment: ProcessInfo.processInfo.environment.merging(["REEL_VULKAN_VALIDATION": "1"]) { $1 },
            output: log)
        try Self.waitUntilBound(video)
        try ffmpeg(Self.senderArguments(clip: clip, video: video, audio: audio))
        let status = render.waitForExit(timeout: 60)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        print("render of a session: \(output)")
        #expect(status == 0, "\(output)")
        #expect(output.contains("wrote 60 frame(s)") && output.contains("(RTCP BYE)"), "\(output)")
        // The sender's file rendered by Reel (whose conversion the renderer's tests hold
        // to libswscale's): the same pictures, bit for bit, P-pictures of the first GOP
        // included (they were garbled while the first picture lay outside the pool).
        let file = try ReelCLI.run(["render", clip, "--out", "\(folder)/file"], timeout: 60)
        #expect(file.status == 0, "\(file.stderr)")
        for index in [1, 2, 15, 30, 31, 45, 60] {
            let name = "frame-\(String(format: "%06d", index)).png"
            let expected = try ImageReader.readRGBA("\(folder)/file/\(name)")
            let picture = try ImageReader.readRGBA("\(out)/\(name)")
            #expect(picture.size == expected.size)
            let quality = psnr(picture.pixels, expected.pixels)
            #expect(quality >= 40, "picture \(index): \(quality) dB")
        }
        // A neighbour differs (the pattern moves): the match is the right picture's.
        let first = try ImageReader.readRGBA("\(folder)/file/frame-000001.png")
        let second = try ImageReader.readRGBA("\(out)/frame-000002.png")
        #expect(psnr(first.pixels, second.pixels) < 35)

        let bench = try Child(
            ReelCLI.executable.path, ["bench", sdp, "--json"], output: "\(folder)/bench.json")
        try Self.waitUntilBound(video)
        try ffmpeg(Self.senderArguments(clip: clip, video: video, audio: audio))
        #expect(bench.waitForExit(timeout: 60) == 0)
        let report = try String(contentsOfFile: "\(folder)/bench.json", encoding: .utf8)
        #expect(report.contains("\"framesRendered\" : 60"), "\(report)")
    }

    /// On a terminal, the status line shows what the network did, per stream.
    @Test func statusLineShowsTheStreamsCounts() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (video, audio) = (try Self.freePortPair(), try Self.freePortPair())
        let clip = try Self.encodedClip(seconds: 4, in: folder)
        let sdp = try Self.sessionDescription(clip: clip, video: video, audio: audio, in: folder)
        let socket = "reel-rtp-test-\(getpid())"
        let command = "\(ReelCLI.executable.path) play \(sdp) --vo offscreen --ao null; sleep 10"
        defer { _ = try? Child("/usr/bin/tmux", ["-L", socket, "kill-server"]).waitForExit(timeout: 10) }
        let started = try Child("/usr/bin/tmux", ["-L", socket, "new-session", "-d", "-x", "200", "-y", "5", command])
        #expect(started.waitForExit(timeout: 10) == 0)
        try Self.waitUntilBound(video)
        let sender = try Child("/usr/bin/ffmpeg", Self.senderArguments(clip: clip, video: video, audio: audio))
        defer { _ = sender.waitForExit(timeout: 30) }
        var line: Substring?
        for _ in 0..<100 where line == nil {
            usleep(50_000)
            let screen = try ReelCLI.runProgram("/usr/bin/tmux", ["-L", socket, "capture-pane", "-p"]).stdout
            line = screen.split(separator: "\n").first { $0.contains("video lost") && $0.contains("audio lost") }
        }
        #expect(line?.contains("video lost 0 late 0 jitter") == true, "\(line ?? "")")
    }

    /// `reel probe` on a session says what its description says, without a socket; a
    /// missing one is a one-line error.
    @Test func probeDescribesASessionWithoutListening() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (video, audio) = (try Self.freePortPair(), try Self.freePortPair())
        let clip = try Self.encodedClip(seconds: 1, in: folder)
        let sdp = try Self.sessionDescription(clip: clip, video: video, audio: audio, in: folder)
        let text = try ReelCLI.run(["probe", sdp], timeout: 30)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("#0 video: H264/90000 (payload type 96) on 127.0.0.1:\(video)"), "\(text.stdout)")
        #expect(text.stdout.contains("#1 audio: OPUS/48000"), "\(text.stdout)")
        // Nothing was bound: the ports are still free.
        #expect(Self.isFree(video) && Self.isFree(audio))
        let json = try ReelCLI.run(["probe", "rtp://127.0.0.1:\(video)", "--json"], timeout: 30)
        #expect(json.status == 0 && json.stdout.contains("\"encoding\" : \"MP2T\""), "\(json.stdout)")
        let missing = try ReelCLI.run(["probe", "\(folder)/missing.sdp"], timeout: 30)
        #expect(missing.status == 1 && missing.stderr.contains("cannot read"), "\(missing.stderr)")
        #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
    }

    /// Ctrl-C while waiting for packets ends at once: the receive wait wakes on stop.
    @Test func interruptWhileWaitingExitsAtOnce() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let video = try Self.freePortPair()
        let clip = try Self.encodedClip(seconds: 1, in: folder)
        let sdp = try Self.sessionDescription(clip: clip, video: video, audio: nil, in: folder)
        // `play`, and `render` (which writes what came, here nothing).
        for arguments in [["play", sdp, "--vo", "none", "--ao", "null"], ["render", sdp, "--out", "\(folder)/out"]] {
            let child = try Child(ReelCLI.executable.path, arguments)
            try Self.waitUntilBound(video)
            let start = Date()
            kill(child.pid, SIGINT)
            let status = child.waitForExit(timeout: 10)
            let elapsed = Date().timeIntervalSince(start)
            print(
                "Ctrl-C while waiting for packets (\(arguments[0])): exit \(status.map(String.init) ?? "none") after \(elapsed) s"
            )
            #expect(status == 0, "\(arguments[0])")
            // (200 ms asked; a busy machine gets some room.)
            #expect(elapsed < sanitizerSlowdown, "\(arguments[0]): exit took \(elapsed) s")
            // Unbound again before the next.
            let deadline = Date().addingTimeInterval(10)
            while !Self.isFree(video) && Date() < deadline { usleep(10_000) }
        }
    }

    /// Each bad session description, or one that asks for what is not allowed, is one
    /// line and exit 1, at once; a file that is not named .sdp is never a network session.
    @Test func badSessionsAreOneLineErrors() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let port = try Self.freePortPair()
        func write(_ text: String, _ name: String) throws -> String {
            let path = "\(folder)/\(name)"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let good = "v=0\nc=IN IP4 127.0.0.1\nm=video \(port) RTP/AVP 96\na=rtpmap:96 H264/90000\n"
        let busy = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(busy) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(busy, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        let cases: [(input: String, saying: String)] = [
            (try write("this is not SDP\n", "garbage.sdp"), "SDP"),
            (try write(good, "busy.sdp"), "in use"),
            (
                try write(good.replacingOccurrences(of: "127.0.0.1", with: "239.255.0.1"), "multicast.sdp"),
                "--rtp-allow-multicast"
            ),
            (try write(good.replacingOccurrences(of: "H264", with: "VP8"), "vp8.sdp"), "VP8"),
            (try write(good.replacingOccurrences(of: "127.0.0.1", with: "192.0.2.1"), "elsewhere.sdp"), "--bind"),
            ("\(folder)/missing.sdp", "cannot read"),
            (try write(good, "session.txt"), "session.txt"),
        ]
        for (input, saying) in cases {
            let start = Date()
            let result = try ReelCLI.run(["play", input, "--vo", "none", "--ao", "null"], timeout: 30)
            let elapsed = Date().timeIntervalSince(start)
            #expect(result.status == 1, "\(input): \(result.stderr)")
            #expect(result.stderr.contains(saying), "\(input): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(input): \(result.stderr)")
            #expect(elapsed < 5, "\(input) took \(elapsed) s")
        }
    }
}
