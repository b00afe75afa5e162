import Foundation
import ReelCore
import ReelMedia
import ReelTestSupport
import Testing

/// The channel count and 16-bit samples of a WAV file written by `--ao wav:` (its data
/// after the 44-byte header).
func wavSamples(_ path: String) throws -> (channels: Int, samples: [Int16]) {
    let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    try #require(data.count >= 44)
    let field = { (range: Range<Int>) in data[range].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    }
    #expect(field(40..<44) == data.count - 44, "the header's data size matches the file")
    let samples = data.dropFirst(44).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
    return (field(22..<24), samples)
}

/// Keys that change where and how playback goes, sent with xdotool to the window on a
/// real X server: seeks land where they should, a screenshot is the picture shown,
/// and m mutes the sound written.
extension WindowTests {
    /// `seek-gop1s.mp4` has a keyframe every second exactly, 30 frames a second.
    static let frameInterval: Int64 = 33_333

    /// Waits (up to 20 s) until the timeline shows `count` frames: the player is past
    /// its start (the validation layer makes that slow).
    static func waitForFrames(_ count: Int, in timeline: String) throws {
        for _ in 0..<200 {
            let text = (try? String(contentsOfFile: timeline, encoding: .utf8)) ?? ""
            if text.components(separatedBy: "\"type\":\"video\"").count > count { return }
            usleep(100_000)
        }
        throw SupportError("the player showed fewer than \(count) frames in 20 s")
    }

    /// Plays `seek-gop1s.mp4`, pressing `keys` one after another a second apart (from
    /// a second into playback), then q; returns the timeline's seeks with the first frame
    /// (and first sound of the new position) after each.
    static func seeks(
        pressing keys: [String], extra: [String] = []
    ) throws -> [(seek: TimelineEntry, frame: TimelineEntry, sound: TimelineEntry?)] {
        let server = try XServer()
        defer { server.stop() }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let timeline = "\(directory)/timeline.jsonl"
        let (player, window) = try startPlayer(
            on: server, fixture: "seek-gop1s.mp4", extra: ["--timeline", timeline] + extra)
        defer { player.stop() }
        try waitForFrames(30, in: timeline)
        for (index, key) in keys.enumerated() {
            if index > 0 { usleep(1_000_000) }
            try press(key, in: window, on: server)
        }
        usleep(1_000_000)
        try press("q", in: window, on: server)
        #expect(player.waitForExit(timeout: 10) == 0)
        let entries = try TimelineEntry.read(timeline)
        var found: [(TimelineEntry, TimelineEntry, TimelineEntry?)] = []
        for (index, entry) in entries.enumerated() where entry.type == "seek" {
            let after = entries[(index + 1)...]
            // A frame rendered before the seek was served may still be presented after it.
            let frame = try #require(
                after.first { $0.type == "video" && abs($0.pts! - entry.from!) > 200_000 },
                "a frame shown after the seek")
            // Sound written just before the seek was served may still be logged after it.
            let sound = after.first { $0.type == "audio" && abs($0.pts! - entry.target!) < 1_000_000 }
            found.append((entry, frame, sound))
        }
        print(found.map { "seek \($0.0.from!) → \($0.0.target!): frame \($0.1.pts!), sound \($0.2?.pts ?? -1)" })
        return found
    }

    /// → and ← seek 5 s from the frame on screen and land on a keyframe within one GOP
    /// (1 s) of the target, on the side asked for.
    @Test func seekKeysLandOnAKeyframeWithinAGOP() throws {
        let seeks = try Self.seeks(pressing: ["Right", "Left"])
        try #require(seeks.count == 2)
        let (forward, back) = (seeks[0], seeks[1])
        #expect(forward.seek.target! == forward.seek.from! + 5_000_000)
        #expect(back.seek.target! == max(0, back.seek.from! - 5_000_000))
        for (seek, frame, _) in seeks {
            #expect(abs(frame.pts! - seek.target!) <= 1_000_000, "within one GOP of the target")
            #expect(frame.pts! % 1_000_000 == 0, "a keyframe")
        }
        #expect(forward.frame.pts! > forward.seek.from!)
        #expect(back.frame.pts! < back.seek.from!)
    }

    /// With `--hr-seek`, the first frame shown is the one on screen at the target, and
    /// the sound starts at the target to the sample.
    @Test func exactSeekShowsTheFrameAtTheTarget() throws {
        let seeks = try Self.seeks(pressing: ["Right"], extra: ["--hr-seek", "--ao", "wav:/dev/null"])
        try #require(seeks.count == 1)
        let (seek, frame, sound) = seeks[0]
        #expect(seek.exact == true)
        #expect(frame.pts! <= seek.target! && seek.target! < frame.pts! + Self.frameInterval)
        let start = try #require(sound?.pts)
        #expect(start <= seek.target! && seek.target! - start < 21, "cut to the sample (48 kHz)")
    }

    /// s writes the picture on screen as a PNG, the same as the offscreen render of the
    /// frame; m mutes: the sound written after it is silence.
    @Test func screenshotAndMuteKeys() throws {
        let server = try XServer()
        defer { server.stop() }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let wav = "\(directory)/sound.wav"
        let (player, window) = try Self.startPlayer(
            on: server, fixture: "seek-gop1s.mp4",
            extra: ["--ao", "wav:\(wav)", "--screenshot-dir", directory, "--timeline", "\(directory)/timeline.jsonl"])
        defer { player.stop() }
        try Self.waitForFrames(15, in: "\(directory)/timeline.jsonl")
        try Self.press("space", in: window, on: server)
        usleep(300_000)
        try Self.press("s", in: window, on: server)
        usleep(500_000)
        let shown = try Self.capture(window: window, display: server.display)
        try Self.press("space", in: window, on: server)
        usleep(500_000)
        try Self.press("m", in: window, on: server)
        usleep(1_000_000)
        try Self.press("q", in: window, on: server)
        #expect(player.waitForExit(timeout: 10) == 0)

        let shot = try ImageReader.readRGBA("\(directory)/reel-shot-0001.png")
        #expect(shot.size == shown.size)
        let quality = psnr(shot.pixels, shown.pixels)
        print("screenshot vs window: PSNR \(quality) dB")
        #expect(quality >= 35)

        // The tone (amplitude 1/8) plays, then the last half second written is silence.
        let (channels, samples) = try wavSamples(wav)
        let rate = 48_000 * channels
        try #require(samples.count > rate)
        let peak = samples.prefix(samples.count - rate).map { abs(Int($0)) }.max() ?? 0
        #expect(peak > 3_500 && peak < 4_500, "the tone at full volume: \(peak)")
        #expect(samples.suffix(rate / 2).allSatisfy { $0 == 0 }, "muted")
    }
}
