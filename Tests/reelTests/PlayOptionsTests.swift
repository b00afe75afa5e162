import Foundation
import ReelTestSupport
import Testing

/// `reel play`'s start, loop, volume and exit options, run headless (offscreen or no
/// video) with the sound written to WAV files and the frames to the timeline.
@Suite struct PlayOptionsTests {
    /// `--pause` shows the first frame and holds it; Ctrl-C then stops cleanly: exit 0,
    /// the WAV file finished (nothing was heard), the statistics written.
    @Test func startsPausedAndCtrlCExitsCleanly() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (timeline, wav, stats) = ("\(directory)/t.jsonl", "\(directory)/a.wav", "\(directory)/s.json")
        let player = try Child(
            ReelCLI.executable.path,
            [
                "play", "\(fixtures)/seek-gop1s.mp4", "--vo", "offscreen", "--ao", "wav:\(wav)", "--pause",
                "--timeline", timeline, "--stats", stats,
            ],
            environment: ProcessInfo.processInfo.environment.merging(["REEL_VULKAN_VALIDATION": "1"]) { $1 })
        defer { player.stop() }
        try WindowTests.waitForFrames(1, in: timeline)
        usleep(1_000_000)
        #expect(player.isRunning, "paused, it waits")
        kill(player.pid, SIGINT)
        #expect(player.waitForExit(timeout: 10) == 0)

        let frames = try TimelineEntry.read(timeline).filter { $0.type == "video" }
        #expect(frames.map(\.pts) == [0], "the first frame, held")
        #expect(try wavSamples(wav).samples.isEmpty, "no sound while paused")
        let json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats))) as? [String: Any]
        #expect((json?["presentation"] as? [String: Any])?["presented"] as? Int == 1)
    }

    /// `--start` is exact: the first frame shown is the one on screen at that time, and
    /// the sound starts there to the sample.
    @Test func startsAtTheTimeAsked() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let timeline = "\(directory)/t.jsonl"
        let result = try ReelCLI.run([
            "play", "\(fixtures)/seek-gop1s.mp4", "--vo", "offscreen", "--ao", "wav:\(directory)/a.wav", "--start",
            "0:03.51", "--frames", "3", "--timeline", timeline,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let entries = try TimelineEntry.read(timeline)
        #expect(entries.first { $0.type == "video" }?.pts == 3_500_000)
        let sound = try #require(entries.first { $0.type == "audio" }?.pts)
        #expect(sound <= 3_510_000 && 3_510_000 - sound < 21, "\(sound)")
    }

    /// `--loop` plays the file again from its start at the end, with no frame lost.
    @Test func loopsBackToTheStart() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let timeline = "\(directory)/t.jsonl"
        // 2 s, 30 fps: 60 frames, then the first ones again.
        let result = try ReelCLI.run([
            "play", "\(fixtures)/testsrc2-320x240.mkv", "--vo", "offscreen", "--ao", "null", "--loop", "--frames",
            "75", "--timeline", timeline,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("presented 75, dropped 0"), "\(result.stdout)")
        let shown = try TimelineEntry.read(timeline).filter { $0.type == "video" }.map { $0.pts! }
        let back = try #require(shown.indices.dropLast().first { shown[$0 + 1] < shown[$0] }, "a jump back")
        #expect(back == 59, "all 60 frames, then the start")
        #expect(shown[back + 1] == shown[0])
    }

    /// `--volume 50` scales the sound by (0.5)³ (mpv's cubic curve); `--vo none` plays it
    /// with no picture at all.
    @Test func volumeScalesTheSound() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func peak(_ extra: [String]) throws -> Int {
            let wav = "\(directory)/a.wav"
            let result = try ReelCLI.run(
                ["play", "\(fixtures)/seek-gop1s.mp4", "--vo", "none", "--ao", "wav:\(wav)", "--frames", "20"] + extra)
            #expect(result.status == 0, "\(result.stderr)")
            return try wavSamples(wav).samples.map { abs(Int($0)) }.max() ?? 0
        }
        let full = try peak([])
        let half = try peak(["--volume", "50"])
        print("peak at 100 %: \(full), at 50 %: \(half)")
        #expect(full > 3_500)
        #expect(abs(half * 8 - full) <= 8, "an eighth")
        #expect(try peak(["--mute"]) == 0)
    }
}
