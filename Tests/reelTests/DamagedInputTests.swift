import Foundation
import ReelTestSupport
import Testing

/// Damage in the middle of a file — a zero-filled region, flipped bits, a region cut
/// out — in each container, given to `render` and to `play`: every frame libavcodec can
/// decode is shown (as many as the ffmpeg CLI decodes from the same bytes), and the
/// damage is reported: exit 1 with one line when packets were lost or the input stops
/// early, or exit 0 with the count of concealed pictures when every picture came out.
@Suite struct DamagedInputTests {
    final class Clips {
        let folder: String
        init() throws { folder = try makeTemporaryDirectory() }
        deinit { try? FileManager.default.removeItem(atPath: folder) }
    }

    static let damages = ["zeroed", "flipped", "cut"]

    /// 2 s of 320×180 at 30 fps (a keyframe each second) and a tone, in each container,
    /// whole and damaged in its middle (seeded: the same bytes every run).
    nonisolated(unsafe) static let clips = Result { () throws -> Clips in
        let clips = try Clips()
        for container in ["mp4", "mkv", "ts"] {
            let whole = "\(clips.folder)/whole.\(container)"
            try ffmpeg(
                [
                    "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:d=2", "-f", "lavfi", "-i", "sine=f=440:d=2",
                    "-c:v", "libx264", "-g", "30", "-c:a", "aac",
                ] + (container == "mp4" ? ["-movflags", "+faststart"] : []) + [whole])
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: whole)))
            let middle = bytes.count / 2
            var zeroed = bytes
            zeroed.replaceSubrange(middle..<middle + 4096, with: repeatElement(0, count: 4096))
            var flipped = bytes
            var random = SeededRandom(seed: 7)
            for _ in 0..<64 {
                let at = bytes.count / 3 + Int(random.next() % UInt64(bytes.count / 3))
                flipped[at] ^= 1 << UInt8(random.next() % 8)
            }
            let cut = Array(bytes[..<middle] + bytes[(middle + 4096)...])
            for (name, damaged) in [("zeroed", zeroed), ("flipped", flipped), ("cut", cut)] {
                try Data(damaged).write(to: URL(fileURLWithPath: "\(clips.folder)/\(name).\(container)"))
            }
        }
        return clips
    }

    /// The frames (video: `-map 0:v`, or every stream) the ffmpeg CLI decodes, each as
    /// its MD5, in order.
    static func ffmpegFrames(_ path: String, videoOnly: Bool) throws -> [String] {
        let result = try runToEnd(
            "/usr/bin/ffmpeg",
            ["-nostdin", "-v", "quiet", "-i", path, "-map", videoOnly ? "0:v" : "0", "-fps_mode", "passthrough"]
                + ["-f", "framemd5", "-"])
        return result.output.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
    }

    /// The damage is said: exit 1 with one line naming it, or exit 0 with the count of
    /// concealed pictures.
    static func reportsDamage(_ result: ReelCLI.Result) -> Bool {
        let errors = result.stderr.split(separator: "\n")
        switch result.status {
        case 1:
            return errors.count == 1
                && ["corrupt", "ends early", "truncated"].contains { errors[0].contains($0) }
        case 0: return errors.isEmpty && result.stdout.contains("damaged pictures: ")
        default: return false
        }
    }

    @Test(arguments: ["mp4", "mkv", "ts"])
    func everyGoodFrameIsShownAndTheDamageReported(container: String) throws {
        let folder = try Self.clips.get().folder
        for name in ["whole"] + Self.damages {
            let clip = "\(folder)/\(name).\(container)"
            let video = try Self.ffmpegFrames(clip, videoOnly: true)
            let everything = try Self.ffmpegFrames(clip, videoOnly: false)
            let whole = name == "whole"
            if !whole {
                // The damage hit the stream (else this case would test nothing).
                #expect(everything != (try Self.ffmpegFrames("\(folder)/whole.\(container)", videoOnly: false)))
            }

            // render: one PNG per picture decoded.
            let out = "\(folder)/out-\(name)-\(container)"
            let stats = "\(folder)/render-\(name)-\(container).json"
            let rendered = try ReelCLI.run(["render", clip, "--out", out, "--stats", stats], timeout: 120)
            let pictures = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".png") }
            #expect(pictures.count == video.count, "\(name).\(container): \(rendered.stderr)")
            let renderStatistics = try Self.json(stats)
            #expect(renderStatistics["framesRendered"] as? Int == video.count)
            if whole {
                #expect(rendered.status == 0 && rendered.stderr.isEmpty, "\(rendered.stderr)")
            } else if video != (try Self.ffmpegFrames("\(folder)/whole.\(container)", videoOnly: true)) {
                #expect(Self.reportsDamage(rendered), "\(name).\(container): \(rendered.status) \(rendered.stderr)")
            }

            // play: every picture reaches the display, the sound is written, it ends by itself.
            let played = try ReelCLI.run(
                ["play", clip, "--vo", "none", "--ao", "null", "--stats", stats], timeout: 60)
            let statistics = try Self.json(stats)
            let presentation = statistics["presentation"] as? [String: Any] ?? [:]
            let shown = (presentation["presented"] as? Int ?? 0) + (presentation["droppedLate"] as? Int ?? 0)
            #expect(shown == video.count, "\(name).\(container): \(presentation) \(played.stderr)")
            #expect((statistics["audioFramesWritten"] as? Int ?? 0) > 48000 / 2, "\(name).\(container)")
            if whole {
                #expect(played.status == 0 && played.stderr.isEmpty, "\(played.stderr)")
            } else {
                #expect(Self.reportsDamage(played), "\(name).\(container): \(played.status) \(played.stderr)")
            }
            print(
                "\(name).\(container): ffmpeg \(video.count) pictures; render \(pictures.count), exit \(rendered.status); play \(shown), exit \(played.status): \(played.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
            )
        }
    }

    static func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any] ?? [:]
    }
}

/// SplitMix64: the same numbers every run.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
