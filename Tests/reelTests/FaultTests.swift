import Foundation
import ReelCore
import ReelTestSupport
import Testing

/// Faults from outside, while `reel play` runs: each is survived or ends the run cleanly,
/// with a line that says what happened.
@Suite struct FaultTests {
    /// The sound server killed mid-playback: the picture plays on (the sound goes to the
    /// null output, timed on the host's clock) and a line says so; the server started
    /// again at the same address: the sound resumes there, and a line says so. A quit
    /// then ends it with 0.
    @Test func soundServerKilledAndBack() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let server = try PulseServer()
        let timeline = "\(folder)/timeline.jsonl"
        let stats = "\(folder)/stats.json"
        let player = try LineProcess(
            ReelCLI.executable.path,
            [
                "play", "\(fixtures)/sync-flash-beep.mp4", "--vo", "none", "--ao", "pulse", "--timeline", timeline,
                "--stats", stats,
            ], environment: ["PULSE_SERVER": server.address, "REEL_VULKAN_VALIDATION": "1"])
        defer { player.signal(SIGKILL) }
        // Playing: 30 frames shown with sound.
        _ = try waitForTimeline(timeline) { $0.filter { $0.type == "video" }.count >= 30 }
        server.crash()
        let killedAt = HostTime.now() / 1000
        try player.waitForLine(containing: "the sound server went away")
        // The picture goes on: a second of frames shown after the kill.
        let away = try waitForTimeline(timeline) { entries in
            entries.contains { $0.type == "video" && ($0.shown ?? 0) > killedAt + 1_000_000 }
        }
        let restarted = try PulseServer(directory: server.directory)
        defer { restarted.stop() }
        try player.waitForLine(containing: "the sound server is back")
        let backAt = HostTime.now() / 1000
        // Sound written to the new server and heard for half a second.
        let entries = try waitForTimeline(timeline) { entries in
            entries.contains { $0.type == "audio" && ($0.played ?? 0) > backAt + 500_000 }
        }
        player.signal(SIGTERM)
        #expect(player.waitForExit(timeout: 30) == 0, "\(player.output)")

        // No frame was held up for long by the loss or the return: the largest gap
        // between frames shown from the kill to the end.
        let shown = entries.filter { $0.type == "video" }.compactMap(\.shown).filter { $0 > killedAt - 100_000 }
        let gaps = zip(shown.dropFirst(), shown).map { $0 - $1 }
        let largest = gaps.max() ?? 0
        #expect(shown.count > 30 && largest < 500_000, "largest gap \(largest) µs over \(shown.count) frames")
        #expect(away.contains { $0.type == "audio" && ($0.played ?? 0) > killedAt })
        let lines = player.output.split(separator: "\n").filter { $0.hasPrefix("reel: the sound server") }
        #expect(lines.count == 2, "\(player.output)")
        print("sound server killed: \(shown.count) frames shown from then on, largest gap \(largest / 1000) ms")
    }

    /// The X server killed under a playing window: exit 1 with one line that says the
    /// window is gone — not Xlib's exit() from whichever thread met the loss — after the
    /// session's threads were joined: the statistics and the timeline are written whole.
    @Test func xServerKilledUnderTheWindow() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let server = try XServer()
        defer { server.stop() }
        let timeline = "\(folder)/timeline.jsonl"
        let stats = "\(folder)/stats.json"
        let player = try LineProcess(
            ReelCLI.executable.path,
            [
                "play", "\(fixtures)/window-bars.mp4", "--vo", "window", "--ao", "null", "--timeline", timeline,
                "--stats", stats,
            ], environment: ["DISPLAY": server.display, "REEL_VULKAN_VALIDATION": "1"])
        defer { player.signal(SIGKILL) }
        _ = try waitForTimeline(timeline) { $0.filter { $0.type == "video" }.count >= 20 }
        server.crash()
        let status = player.waitForExit(timeout: 30)
        #expect(status == 1, "\(player.output)")
        let lines = player.output.split(separator: "\n")
        let errors = lines.filter { $0.hasPrefix("Error:") }
        #expect(errors.count == 1 && errors[0].contains("the window is gone"), "\(player.output)")
        #expect(!player.output.contains("X connection"), "Xlib's own exit: \(player.output)")
        let statistics =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats))) as? [String: Any]
        let presented = (statistics?["presentation"] as? [String: Any])?["presented"] as? Int ?? -1
        let shown = try TimelineEntry.read(timeline).filter { $0.type == "video" }.count
        #expect(presented == shown && shown >= 20, "presented \(presented), timeline \(shown)")
        print("X server killed: exit \(status ?? -1) after \(shown) frames: \(errors.first ?? "")")
    }

    /// The Vulkan device lost, or out of memory, mid-run (injected through
    /// `REEL_VULKAN_FAULT` at the 10th frame submitted, or at a memory allocation):
    /// render and play, offscreen and in a window, end with exit 1 and one line naming
    /// the result, within the run's time limit (no hang), and no validation error.
    /// The first allocation is the frame pool's import: its loss falls back to the
    /// staging copy, and the run succeeds.
    @Test(arguments: ["device-lost@submit:10", "out-of-memory@submit:10", "out-of-memory@allocate:2"])
    func vulkanFailuresEndTheRunCleanly(fault: String) throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let server = try XServer()
        defer { server.stop() }
        let clip = "\(fixtures)/testsrc2-320x240.mp4"
        let expected = fault.hasPrefix("device-lost") ? "VK_ERROR_DEVICE_LOST" : "VK_ERROR_OUT_OF_DEVICE_MEMORY"
        let runs: [[String]] = [
            ["render", clip, "--out", "\(folder)/out"],
            ["play", clip, "--vo", "offscreen", "--ao", "null"],
            ["play", "\(fixtures)/window-bars.mp4", "--vo", "window", "--ao", "null"],
        ]
        for arguments in runs {
            let result = try ReelCLI.run(
                arguments, environment: ["REEL_VULKAN_FAULT": fault, "DISPLAY": server.display], timeout: 60)
            let errors = result.stderr.split(separator: "\n")
            #expect(result.status == 1, "\(arguments): \(result.status) \(result.stderr)")
            #expect(errors.count == 1 && errors[0].contains(expected), "\(arguments): \(result.stderr)")
            #expect(!result.stderr.lowercased().contains("validation"), "\(result.stderr)")
        }
        // The pool's import refused: the frames are copied instead, and all rendered.
        let stats = "\(folder)/stats.json"
        let staged = try ReelCLI.run(
            ["render", clip, "--out", "\(folder)/staged", "--stats", stats],
            environment: ["REEL_VULKAN_FAULT": "out-of-memory@allocate:1"])
        #expect(staged.status == 0, "\(staged.stderr)")
        let statistics =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats))) as? [String: Any]
        #expect(statistics?["inputPath"] as? String == "staging" && statistics?["framesRendered"] as? Int == 60)
    }

    /// The input deleted while it plays: the player holds it open, so it plays to its
    /// end (every frame, the sound) and exits 0, as a deleted file is still there for
    /// whoever has it open.
    @Test func inputDeletedWhilePlaying() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let clip = "\(folder)/clip.mkv"
        try ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:d=3", "-f", "lavfi", "-i", "sine=f=440:d=3",
            "-c:v", "libx264", "-g", "30", "-c:a", "aac", clip,
        ])
        let timeline = "\(folder)/timeline.jsonl"
        let stats = "\(folder)/stats.json"
        let player = try LineProcess(
            ReelCLI.executable.path,
            ["play", clip, "--vo", "offscreen", "--ao", "null", "--timeline", timeline, "--stats", stats],
            environment: ["REEL_VULKAN_VALIDATION": "1"])
        defer { player.signal(SIGKILL) }
        _ = try waitForTimeline(timeline) { $0.filter { $0.type == "video" }.count >= 10 }
        try FileManager.default.removeItem(atPath: clip)
        #expect(player.waitForExit(timeout: 60) == 0, "\(player.output)")
        let statistics =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats))) as? [String: Any]
        let presentation = statistics?["presentation"] as? [String: Any] ?? [:]
        let shown = (presentation["presented"] as? Int ?? 0) + (presentation["droppedLate"] as? Int ?? 0)
        #expect(shown == 90, "\(presentation)")
        #expect((statistics?["audioFramesWritten"] as? Int ?? 0) > 2 * 48000, "\(statistics ?? [:])")
    }
}
