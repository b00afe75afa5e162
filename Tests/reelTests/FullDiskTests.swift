import Foundation
import ReelCore
import ReelMedia
import ReelTestSupport
import Testing

/// A full disk under each file `reel` writes: a tmpfs of a few KiB, mounted in a mount
/// namespace of the command's own (`unshare -m`, as root; it goes with the command).
/// Each time: exit 1, one line naming the file it could not write, and nothing left
/// under a name that claims a complete file.
@Suite struct FullDiskTests {
    /// Runs `reel arguments…` (`DISK` in them: the small disk's folder) with a tmpfs of
    /// `kibibytes` at DISK, then copies what is on it to `keep`, and returns the result.
    static func onAFullDisk(kibibytes: Int, keep: String, _ arguments: [String]) throws -> ReelCLI.Result {
        let disk = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: disk) }
        let quoted = arguments.map { "'\($0.replacingOccurrences(of: "DISK", with: disk))'" }.joined(separator: " ")
        let script = """
            mount -t tmpfs -o size=\(kibibytes)k tmpfs '\(disk)' || exit 99
            \(ReelCLI.executable.path) \(quoted); status=$?
            cp -a '\(disk)/.' '\(keep)/'
            exit $status
            """
        return try ReelCLI.runProgram("/usr/bin/unshare", ["-m", "sh", "-c", script])
    }

    /// Every entry under `folder`, hidden ones included, recursively.
    static func entries(_ folder: String) -> [String] {
        (FileManager.default.enumerator(atPath: folder)?.allObjects as? [String] ?? []).sorted()
    }

    /// A device named as an output (/dev/null for the statistics, the sound, the plot)
    /// is written in place: the finished-file rename never replaces it.
    @Test func devicesAreWrittenInPlace() throws {
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let clip = "\(fixtures)/testsrc2-320x240.mp4"
        for arguments in [
            ["render", clip, "--frames", "2", "--out", out, "--stats", "/dev/null"],
            ["play", clip, "--vo", "none", "--ao", "wav:/dev/null", "--stats", "/dev/null"],
            ["bench", clip, "--frames", "5", "--plot", "/dev/null"],
        ] {
            let result = try ReelCLI.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            var status = stat()
            #expect(stat("/dev/null", &status) == 0 && status.st_mode & S_IFMT == S_IFCHR, "\(arguments)")
        }
    }

    /// PNGs: those written are whole (each decodes at the picture's size), the one that
    /// did not fit is named, and no partial one is left.
    @Test func framesThatDoNotFit() throws {
        let keep = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: keep) }
        let result = try Self.onAFullDisk(
            kibibytes: 160, keep: keep, ["render", "\(fixtures)/testsrc2-320x240.mp4", "--out", "DISK/frames"])
        #expect(result.status == 1, "\(result.status): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && result.stderr.contains("No space left on device"), "\(result.stderr)")
        #expect(result.stderr.contains("/frames/frame-0000"), "names the file: \(result.stderr)")
        let written = Self.entries("\(keep)/frames")
        #expect(written.allSatisfy { $0.hasPrefix("frame-") && $0.hasSuffix(".png") }, "\(written)")
        #expect(!written.isEmpty && written.count < 48, "\(written.count) frames fit")
        for name in written {
            let image = try ImageReader.readRGBA("\(keep)/frames/\(name)")
            #expect(image.size == PixelSize(width: 320, height: 240), "\(name) is whole")
        }
        print("full disk, PNGs: \(written.count) whole frames written; \(result.stderr)")
    }

    /// The sound written to a WAV file: no file at all rather than a cut one.
    @Test func soundThatDoesNotFit() throws {
        let keep = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: keep) }
        let result = try Self.onAFullDisk(
            kibibytes: 64, keep: keep,
            ["play", "\(fixtures)/testsrc2-320x240.mp4", "--vo", "none", "--ao", "wav:DISK/sound.wav"])
        #expect(result.status == 1, "\(result.status): \(result.stderr)")
        #expect(result.stderr.contains("sound.wav"), "names the file: \(result.stderr)")
        #expect(Self.entries(keep).isEmpty, "left: \(Self.entries(keep))")
        print("full disk, WAV: \(result.stderr)")
    }

    /// The timeline: what was written is kept under `.partial`, and the statistics
    /// written beside it at the end are whole or absent.
    @Test func timelineThatDoesNotFit() throws {
        let keep = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: keep) }
        let result = try Self.onAFullDisk(
            kibibytes: 4, keep: keep,
            [
                "play", "\(fixtures)/testsrc2-320x240.mp4", "--vo", "offscreen", "--ao", "null", "--timeline",
                "DISK/timeline.jsonl", "--stats", "DISK/stats.json",
            ])
        #expect(result.status == 1, "\(result.status): \(result.stderr)")
        #expect(result.stderr.contains("timeline.jsonl"), "names the file: \(result.stderr)")
        let left = Self.entries(keep)
        #expect(!left.contains("timeline.jsonl"), "left: \(left)")
        if left.contains("stats.json") {
            let stats = try Data(contentsOf: URL(fileURLWithPath: "\(keep)/stats.json"))
            #expect((try? JSONSerialization.jsonObject(with: stats)) != nil, "the statistics are whole")
        }
        print("full disk, timeline: left \(left); \(result.stderr)")
    }
}
