import Foundation
import ReelTestSupport
import Testing

extension RTPPlaybackTests {
    /// The network gone while a stream plays: in a network namespace of its own
    /// (`unshare -n`, as root; only `lo`, and nothing leaves the machine), the sender
    /// streams over loopback, and once ten frames were shown `lo` is taken down. The
    /// player shows what arrived, ends by itself after --rtp-timeout with a line that
    /// says so, and exits 0 (as when a sender vanishes without a BYE).
    @Test func networkGoneWhilePlaying() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let video: UInt16 = 5004
        let clip = try Self.encodedClip(seconds: 6, in: folder)
        let sdp = try Self.sessionDescription(clip: clip, video: video, audio: nil, in: folder)
        let sender = (["/usr/bin/ffmpeg"] + Self.senderArguments(clip: clip, video: video, audio: nil))
            .map { "'\($0)'" }.joined(separator: " ")
        let script = """
            ip link set lo up
            "$REEL" play "$SDP" --vo offscreen --ao null --rtp-timeout 1 \\
                --timeline "$FOLDER/timeline.jsonl" --stats "$FOLDER/stats.json" > "$FOLDER/play.log" 2>&1 &
            player=$!
            for i in $(seq 600); do ss -Hlun | grep -q ':\(video) ' && break; sleep 0.05; done
            \(sender) &
            sender=$!
            for i in $(seq 1200); do
                [ "$(grep -c '"video"' "$FOLDER/timeline.jsonl" 2>/dev/null)" -ge 10 ] && break
                sleep 0.05
            done
            ip link set lo down
            date +%s%N > "$FOLDER/down"
            wait $player
            echo $? > "$FOLDER/status"
            date +%s%N > "$FOLDER/ended"
            kill $sender 2>/dev/null
            wait $sender 2>/dev/null
            exit 0
            """
        let result = try ReelCLI.runProgram(
            "/usr/bin/unshare", ["-n", "bash", "-c", script],
            environment: [
                "REEL": ReelCLI.executable.path, "SDP": sdp, "FOLDER": folder, "REEL_VULKAN_VALIDATION": "1",
            ],
            timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let read = { (name: String) in
            (try? String(contentsOfFile: "\(folder)/\(name)", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        }
        let log = read("play.log")
        #expect(read("status") == "0", "\(log)")
        #expect(log.contains("input ended: no packets for 1 s"), "\(log)")
        let shown = try TimelineEntry.read("\(folder)/timeline.jsonl").filter { $0.type == "video" }.count
        #expect(shown >= 10, "\(shown) frames shown")
        // Ended by itself, about the timeout after the network went.
        let after = Double((Int64(read("ended")) ?? 0) - (Int64(read("down")) ?? 0)) / 1e9
        #expect(after > 0.9 && after < 15, "ended \(after) s after the network went")
        print("network gone: \(shown) frames shown, ended \(after) s after, exit \(read("status"))")
    }
}
