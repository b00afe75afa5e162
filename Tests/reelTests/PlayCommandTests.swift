import Foundation
import ReelTestSupport
import Testing

@Suite struct PlayCommandTests {
    /// `play` to a WAV file writes the timeline, the statistics and the sound.
    @Test func playsToWAVWithTimelineAndStats() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reel-play-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let wav = directory.appendingPathComponent("out.wav").path
        let timeline = directory.appendingPathComponent("timeline.jsonl").path
        let stats = directory.appendingPathComponent("stats.json").path
        let result = try ReelCLI.run([
            "play", "\(fixtures)/sync-flash-beep.mp4", "--ao", "wav:\(wav)", "--frames", "30", "--timeline", timeline,
            "--stats", stats, "--display-fps", "60000/1001",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        // 30 shown; a frame or two may be dropped when the machine is busy (real time).
        let dropped = result.stdout.split(separator: ",").dropFirst().first.flatMap {
            Int($0.replacingOccurrences(of: "dropped", with: "").trimmingCharacters(in: .whitespaces))
        }
        #expect(result.stdout.hasPrefix("presented 30, dropped ") && (dropped ?? 99) <= 2, "\(result.stdout)")
        let lines = try String(contentsOfFile: timeline, encoding: .utf8).split(separator: "\n")
        #expect(lines.filter { $0.contains("\"type\":\"video\"") }.count == 30)
        #expect(lines.contains { $0.contains("\"type\":\"audio\"") && $0.contains("\"played_us\":") })
        let json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats))) as? [String: Any]
        #expect((json?["presentation"] as? [String: Any])?["presented"] as? Int == 30)
        #expect(json?["sync"] as? String == "audio")
        // About a second of sound (30 frames at 30 fps, plus the audio buffer).
        let size = try FileManager.default.attributesOfItem(atPath: wav)[.size] as? Int ?? 0
        #expect(size > 44 + 48000 * 2 * 8 / 10 && size < 44 + 48000 * 2 * 2, "\(size) bytes")
    }

    /// `--untimed`: every frame rendered, none dropped or repeated, no clock.
    @Test func untimedRendersEveryFrame() throws {
        let result = try ReelCLI.run(["play", "\(fixtures)/sync-flash-beep.mp4", "--untimed", "--frames", "90"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout.hasPrefix("presented 90, dropped 0, repeated 0, skipped 0 (sync none)"), "\(result.stdout)")
    }

    /// On a terminal (a pty from `script`) a status line is redrawn in place while it
    /// plays; into a pipe, only the final summary is written.
    @Test func statusLineOnlyOnATerminal() throws {
        let command = [
            ReelCLI.executable.path, "play", "\(fixtures)/sync-flash-beep.mp4", "--ao", "null", "--frames", "45",
        ]
        let onTerminal = try ReelCLI.runProgram(
            "/usr/bin/script", ["-qefc", command.joined(separator: " "), "/dev/null"])
        #expect(onTerminal.status == 0, "\(onTerminal.stderr)")
        let redraws = onTerminal.stdout.components(separatedBy: "\r\u{1B}[K").filter { $0.contains(" / 0:31.0") }
        #expect(redraws.count >= 2, "\(onTerminal.stdout.debugDescription)")
        // (How many frames are dropped depends on the machine's load; the line names them.)
        #expect(
            redraws.contains { $0.contains("A−V") && $0.contains("dropped ") && $0.contains("fps") },
            "\(redraws)")
        #expect(onTerminal.stdout.contains("presented 45"))
        let piped = try ReelCLI.run(["play", "\(fixtures)/sync-flash-beep.mp4", "--ao", "null", "--frames", "45"])
        #expect(!piped.stdout.contains("\u{1B}[K"), "\(piped.stdout.debugDescription)")
    }

    /// In a real terminal (tmux), the status line reads like a player's while it plays.
    @Test func statusLineInTmux() throws {
        let socket = "reel-test-\(getpid())"
        let command =
            "\(ReelCLI.executable.path) play \(fixtures)/window-bars.mp4 --vo offscreen --ao null; sleep 10"
        defer { _ = try? Child("/usr/bin/tmux", ["-L", socket, "kill-server"]).waitForExit(timeout: 10) }
        // Through /dev/null: the tmux server it starts must not hold a pipe of ours open.
        let started = try Child("/usr/bin/tmux", ["-L", socket, "new-session", "-d", "-x", "120", "-y", "5", command])
        #expect(started.waitForExit(timeout: 10) == 0)
        // The pane, read until the player is a second in (on a busy machine its start can
        // take several seconds), or a minute passes.
        var screen = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            usleep(100_000)
            screen = try ReelCLI.runProgram("/usr/bin/tmux", ["-L", socket, "capture-pane", "-p"]).stdout
            if screen.contains("0:01.") { break }
        }
        let line = screen.split(separator: "\n").first { $0.contains(" / 0:08.0") }
        #expect(line != nil, "\(screen)")
        // (How many frames are dropped depends on the machine's load; the line names them.)
        #expect(
            line?.contains("A−V") == true && line?.contains("dropped ") == true && line?.contains("fps") == true,
            "\(line ?? "")")
    }

    @Test func withoutAPulseServerItPlaysOnSilently() throws {
        let result = try ReelCLI.run(
            ["play", "\(fixtures)/sync-flash-beep.mp4", "--frames", "5"],
            environment: ["PULSE_SERVER": "unix:/nonexistent/native"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("PulseAudio") && result.stderr.contains("--ao null"), "\(result.stderr)")
    }

    @Test func badRequestsAreOneLineErrors() throws {
        let noAudio = try ReelCLI.run(["play", "\(fixtures)/hdbars-bt709-center.mkv", "--sync", "audio"])
        #expect(noAudio.status == 1)
        #expect(noAudio.stderr.contains("needs an audio stream"))
        let badOutput = try ReelCLI.run(["play", "\(fixtures)/sync-flash-beep.mp4", "--ao", "alsa"])
        #expect(badOutput.status == 2)
        #expect(badOutput.stderr.contains("--ao must be"))
        let badRate = try ReelCLI.run(["play", "\(fixtures)/sync-flash-beep.mp4", "--display-fps", "fast"])
        #expect(badRate.status == 2)
        #expect(badRate.stderr.contains("--display-fps"))
    }
}
