import Foundation
import ReelCore
import ReelMedia
import ReelTestSupport
import Testing

/// `reel play` in a real window, on a real X server (Xvfb) started here: the window's
/// pixels, read back from the server with `xwd`, match the offscreen render of the
/// same frame; a resize keeps playing at the new size with the aspect kept; keys sent
/// by `xdotool` reach the player. The player runs with the validation layer on, and
/// exits non-zero if it reported an error.
@Suite(.serialized) struct WindowTests {
    /// Runs a helper program, returning its standard output.
    static func output(_ program: String, _ arguments: [String], display: String) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["DISPLAY": display]) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return data
    }

    /// The X window whose title contains `name`, waiting up to 15 s for it to appear.
    static func findWindow(named name: String, display: String) throws -> String {
        for _ in 0..<150 {
            let found = String(
                decoding: try output("/usr/bin/xdotool", ["search", "--name", name], display: display), as: UTF8.self
            ).split(separator: "\n").first
            if let found { return String(found) }
            usleep(100_000)
        }
        throw SupportError("no window named '\(name)' appeared")
    }

    /// The window's pixels as RGBA, read with `xwd` (a ZPixmap at 32 bits a pixel).
    static func capture(window: String, display: String) throws -> RGBAImage {
        let data = try output("/usr/bin/xwd", ["-silent", "-id", window], display: display)
        func field(_ index: Int) -> Int {
            data[(index * 4)..<(index * 4 + 4)].reduce(0) { $0 << 8 | Int($1) }
        }
        let headerSize = field(0)
        let (width, height) = (field(4), field(5))
        let byteOrder = field(7)
        let bitsPerPixel = field(11)
        let bytesPerLine = field(12)
        let redMask = field(14)
        let colours = field(19)
        guard bitsPerPixel == 32, redMask == 0xFF0000, byteOrder == 0 else {
            throw SupportError(
                "unexpected xwd pixel layout: \(bitsPerPixel) bits, red mask \(redMask), order \(byteOrder)")
        }
        let start = headerSize + colours * 12
        var pixels = [UInt8](repeating: 255, count: width * height * 4)
        let bytes = [UInt8](data)
        for y in 0..<height {
            for x in 0..<width {
                let source = start + y * bytesPerLine + x * 4
                let target = (y * width + x) * 4
                pixels[target] = bytes[source + 2]
                pixels[target + 1] = bytes[source + 1]
                pixels[target + 2] = bytes[source]
            }
        }
        return RGBAImage(size: PixelSize(width: width, height: height), pixels: pixels)
    }

    /// `reel render`'s first frame of `fixture` at `size`: the reference.
    static func reference(_ fixture: String, size: PixelSize) throws -> RGBAImage {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try ReelCLI.run([
            "render", "\(fixtures)/\(fixture)", "--out", directory, "--frames", "1", "--size", "\(size)",
        ])
        guard result.status == 0 else { throw SupportError("reel render failed: \(result.stderr)") }
        return try ImageReader.readRGBA("\(directory)/frame-000001.png")
    }

    /// Starts `reel play FIXTURE` in a window on `server` (sound to the null output unless
    /// `extra` says otherwise) and returns it with its window.
    static func startPlayer(
        on server: XServer, fixture: String = "window-bars.mp4", extra: [String] = []
    ) throws -> (player: Child, window: String) {
        let audio = extra.contains("--ao") ? [] : ["--ao", "null"]
        let player = try Child(
            ReelCLI.executable.path,
            ["play", "\(fixtures)/\(fixture)", "--vo", "window"] + audio + extra,
            environment: ProcessInfo.processInfo.environment.merging([
                "DISPLAY": server.display, "REEL_VULKAN_VALIDATION": "1",
            ]) { $1 })
        let window = try findWindow(named: fixture, display: server.display)
        return (player, window)
    }

    static func press(_ key: String, in window: String, on server: XServer) throws {
        _ = try output("/usr/bin/xdotool", ["key", "--window", window, key], display: server.display)
    }

    /// The window's pixels against `reel render` at the same size: (capture, PSNR).
    static func compareWithOffscreen(
        window: String, on server: XServer, fixture: String = "window-bars.mp4"
    ) throws -> (RGBAImage, Double) {
        let shown = try capture(window: window, display: server.display)
        let expected = try reference(fixture, size: shown.size)
        let quality = psnr(shown.pixels, expected.pixels)
        print("window \(shown.size) vs offscreen: PSNR \(quality) dB")
        return (shown, quality)
    }

    /// Captures the window until it shows the bars at `size` as the offscreen render
    /// does (PSNR ≥ 35 dB), or 30 s have passed: the last capture and its PSNR.
    static func waitForPicture(
        window: String, on server: XServer, size: PixelSize, fixture: String = "window-bars.mp4"
    ) throws -> (RGBAImage, Double) {
        let deadline = Date().addingTimeInterval(30)
        while true {
            let (shown, quality) = try compareWithOffscreen(window: window, on: server, fixture: fixture)
            if shown.size == size && quality >= 35 || Date() > deadline { return (shown, quality) }
            usleep(100_000)
        }
    }

    @Test func windowShowsTheFrameFollowsResizesAndQuitsOnQ() throws {
        let server = try XServer()
        defer { server.stop() }
        let (player, window) = try Self.startPlayer(on: server)
        defer { player.stop() }

        // The window opens at the video's size and shows the bars as the offscreen render does.
        let (shown, quality) = try Self.waitForPicture(
            window: window, on: server, size: PixelSize(width: 320, height: 180))
        #expect(shown.size == PixelSize(width: 320, height: 180))
        #expect(quality >= 35)

        // Wider: the picture keeps its aspect, centred between black bars.
        _ = try Self.output("/usr/bin/xdotool", ["windowsize", window, "480", "180"], display: server.display)
        let (resized, resizedQuality) = try Self.waitForPicture(
            window: window, on: server, size: PixelSize(width: 480, height: 180))
        #expect(resized.size == PixelSize(width: 480, height: 180))
        #expect(resizedQuality >= 35)
        #expect(resized.pixels[0..<4] == [0, 0, 0, 255], "the left bar is black")
        #expect(player.isRunning, "playback went on through the resize")

        // q quits, cleanly.
        try Self.press("q", in: window, on: server)
        #expect(player.waitForExit(timeout: 10) == 0)
    }

    /// An HDR10 clip in a window whose surface offers no HDR colour space (Xvfb's, with
    /// `VK_EXT_swapchain_colorspace` asked for): tone-mapped as `reel render` draws it
    /// (its pixels within 35 dB of the offscreen render's, which HDRTests holds against
    /// libplacebo), not its PQ code values shown as SDR.
    @Test func hdrInAWindowWithoutHDRIsToneMapped() throws {
        let server = try XServer()
        defer { server.stop() }
        let fixture = "hdr10-pq.mkv"
        let (player, window) = try Self.startPlayer(on: server, fixture: fixture, extra: ["--loop"])
        defer { player.stop() }
        let (shown, quality) = try Self.waitForPicture(
            window: window, on: server, size: PixelSize(width: 320, height: 180), fixture: fixture)
        #expect(shown.size == PixelSize(width: 320, height: 180))
        #expect(quality >= 35, "the window's HDR picture is \(quality) dB from the offscreen render")
        try Self.press("q", in: window, on: server)
        #expect(player.waitForExit(timeout: 10) == 0)
    }

    /// Space pauses and resumes: no new frame is shown while paused, and playback goes
    /// on from the frame after the one held (the paused time does not count).
    @Test func spacePausesAndResumes() throws {
        let server = try XServer()
        defer { server.stop() }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let timeline = "\(directory)/timeline.jsonl"
        let (player, window) = try Self.startPlayer(on: server, extra: ["--timeline", timeline])
        defer { player.stop() }
        _ = try waitForTimeline(timeline) { $0.filter { $0.type == "video" }.count >= 10 }
        try Self.press("space", in: window, on: server)
        usleep(1_500_000)
        try Self.press("space", in: window, on: server)
        usleep(500_000)
        try Self.press("q", in: window, on: server)
        #expect(player.waitForExit(timeout: 10) == 0)

        let shown = try TimelineEntry.read(timeline).filter { $0.type == "video" }
        let steps = zip(shown, shown.dropFirst()).map {
            (wall: $1.shown! - $0.shown!, media: $1.pts! - $0.pts!)
        }
        let pause = try #require(steps.max { $0.wall < $1.wall })
        print("longest wait between new frames: \(pause.wall) µs, media step \(pause.media) µs")
        #expect(pause.wall > 1_200_000, "the picture held while paused")
        #expect(pause.media <= 34_000, "the next frame after the pause is the next one, none skipped")
        #expect(steps.filter { $0.wall > 100_000 }.count == 1, "only the pause stopped the frames")
    }
}
