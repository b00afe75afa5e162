import Foundation
import ReelCore
import ReelTestSupport
import Testing

/// Every way an input can end, given to `reel play`: the streams of different lengths,
/// a stream with no packets, sound only, and an interrupted download. Each plays what
/// decodes and then exits by itself: 0 when the input is whole, 1 with one line when not.
@Suite struct PlayEndingTests {
    /// Clips made by the ffmpeg CLI in a temporary folder.
    final class Clips {
        let folder: String
        init() throws { folder = try makeTemporaryDirectory() }
        deinit { try? FileManager.default.removeItem(atPath: folder) }

        /// 160×90 at 30 fps for `video` seconds, a 440 Hz tone for `audio` seconds;
        /// `audio` 0: an audio stream with no packets at all.
        func clip(video: Double, audio: Double, name: String) throws -> String {
            let path = "\(folder)/\(name)"
            try ffmpeg(
                [
                    "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30:d=\(video)", "-f", "lavfi", "-i",
                    "sine=f=440:sample_rate=48000:d=\(max(audio, 1))", "-c:v", "libx264", "-c:a", "aac",
                ] + (audio == 0 ? ["-frames:a", "0"] : []) + [path])
            return path
        }
    }

    struct Played {
        var result: ReelCLI.Result
        var timeline: [TimelineEntry]
        var statistics: [String: Any]
        /// Host time (µs, the timeline's clock) at which the process had exited.
        var exitedAt: Int64
    }

    static func play(_ input: String, in folder: String, _ options: [String] = []) throws -> Played {
        let timeline = "\(folder)/timeline-\(UUID().uuidString).jsonl"
        let stats = "\(folder)/stats-\(UUID().uuidString).json"
        let result = try ReelCLI.run(
            ["play", input, "--ao", "null", "--timeline", timeline, "--stats", stats] + options, timeout: 60)
        let exitedAt = HostTime.now() / 1000
        let statistics =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats))) as? [String: Any]
        return Played(
            result: result, timeline: try TimelineEntry.read(timeline), statistics: statistics ?? [:],
            exitedAt: exitedAt)
    }

    /// The clips of different lengths, made once for every test case (swift_once makes
    /// a static's first use thread-safe): name, seconds of video, seconds of sound.
    static let lengthCases: [(name: String, video: Double, audio: Double)] = [
        ("video-longer.mkv", 2, 1), ("audio-longer.mkv", 1, 2), ("no-audio-packets.mkv", 1, 0),
        ("same-length.mp4", 1, 1),
    ]
    nonisolated(unsafe) static let lengthClips = Result { () throws -> Clips in
        let clips = try Clips()
        for (name, video, audio) in lengthCases { _ = try clips.clip(video: video, audio: audio, name: name) }
        return clips
    }

    /// An interrupted download: an MP4 with its index at the front, cut in its media data.
    nonisolated(unsafe) static let interrupted = Result { () throws -> (Clips, String) in
        let clips = try Clips()
        let whole = "\(clips.folder)/whole.mp4"
        try ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:d=4", "-f", "lavfi", "-i", "sine=f=440:d=4",
            "-c:v", "libx264", "-g", "30", "-c:a", "aac", "-movflags", "+faststart", whole,
        ])
        let data = try Data(contentsOf: URL(fileURLWithPath: whole))
        let cut = "\(clips.folder)/interrupted.mp4"
        try data.prefix(data.count * 6 / 10).write(to: URL(fileURLWithPath: cut))
        return (clips, cut)
    }

    /// Streams of different lengths and an empty stream: every frame through, all the sound
    /// written, exit 0, whatever the output.
    @Test(arguments: ["none", "offscreen"])
    func endsWhateverTheStreamsLengths(vo: String) throws {
        let clips = try Self.lengthClips.get()
        for (name, video, audio) in Self.lengthCases {
            let clip = "\(clips.folder)/\(name)"
            let played = try Self.play(clip, in: clips.folder, ["--vo", vo])
            #expect(played.result.status == 0, "\(name): \(played.result.stderr)")
            // Every frame reached the display: shown, or (a busy machine) dropped as late.
            let presentation = played.statistics["presentation"] as? [String: Any] ?? [:]
            let shown = presentation["presented"] as? Int ?? -1
            let dropped = presentation["droppedLate"] as? Int ?? -1
            #expect(shown + dropped == Int(video * 30) && shown >= Int(video * 30) - 3, "\(name): \(presentation)")
            #expect(played.timeline.filter { $0.type == "video" }.count == shown)
            let written = (played.statistics["audioFramesWritten"] as? Int) ?? -1
            // The tone at 48 kHz, give or take the AAC encoder's priming and last frame.
            #expect(abs(written - Int(audio * 48000)) <= 2048, "\(name): \(written) audio frames written")
        }
    }

    /// An interrupted download: an MP4 with its index at the front, cut in its media
    /// data. Everything before the cut plays, then one line and exit 1 within 2 s of the
    /// last frame — with any output, and with either clock.
    @Test(arguments: [["--vo", "none"], ["--vo", "offscreen"], ["--vo", "none", "--sync", "video"]])
    func interruptedDownloadWithAudioEndsWithAnError(options: [String]) throws {
        let (clips, cut) = try Self.interrupted.get()
        let played = try Self.play(cut, in: clips.folder, options)
        #expect(played.result.status == 1)
        let lines = played.result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && played.result.stderr.contains("truncated or corrupt"), "\(played.result.stderr)")
        let shown = played.timeline.filter { $0.type == "video" }
        #expect(shown.count > 30, "only \(shown.count) frames shown before the cut")
        let last = try #require(shown.compactMap(\.shown).max())
        let after = Double(played.exitedAt - last) / 1e6
        #expect(after < 2, "exited \(after) s after the last frame")
        print("interrupted download \(options): \(shown.count) frames, exit 1 \(after) s after the last one")
        // The statistics are written all the same.
        #expect((played.statistics["presentation"] as? [String: Any])?["presented"] as? Int == shown.count)
    }

    /// Sound only: played to its end, with or without a picture output, and when asked
    /// to follow a video or external clock (without a picture the sound is the master;
    /// those clocks, never started, hung it).
    @Test(arguments: [
        ["--vo", "none"], ["--vo", "offscreen"], ["--vo", "none", "--sync", "video"], ["--sync", "external"],
    ])
    func audioOnlyFilePlays(options: [String]) throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let wav = "\(folder)/out.wav"
        let result = try ReelCLI.run(
            ["play", "\(fixtures)/audio-only.m4a", "--ao", "wav:\(wav)", "--stats", "\(folder)/s.json"] + options,
            timeout: 60)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("(sync audio)"), "\(result.stdout)")
        // 0.5 s of a tone (24 000 frames at 48 kHz, 16-bit), with the decoder's priming.
        let data = try Data(contentsOf: URL(fileURLWithPath: wav))
        let channels = Int(data[22]) | Int(data[23]) << 8
        let frames = (data.count - 44) / (2 * max(1, channels))
        #expect(abs(frames - 24000) <= 1024, "\(frames) frames of sound")
    }
}
