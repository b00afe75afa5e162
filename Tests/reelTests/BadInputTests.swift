import Foundation
import ReelTestSupport
import Testing

/// Bad input: one clear line on stderr, a non-zero exit, no crash, no hang.
@Suite struct BadInputTests {
    func expectOneLineError(
        _ result: ReelCLI.Result, containing text: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(result.status == 1, "exit status \(result.status)", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(text), "stderr: \(result.stderr)", sourceLocation: sourceLocation)
    }

    /// The exit statuses `--help` gives, on every command: 2 for a usage error (an
    /// unknown option, a missing argument, a bad value), 1 for an input that cannot be
    /// read, 0 for help; a usage error names the command's usage.
    @Test func exitStatusesAreTheDocumentedOnes() throws {
        let missing = "/nonexistent/clip.mp4"
        let commands: [(name: String, runnable: [String])] = [
            ("probe", ["probe", missing]), ("render", ["render", missing, "--out", NSTemporaryDirectory()]),
            ("bench", ["bench", missing]), ("play", ["play", missing, "--vo", "none", "--ao", "null"]),
        ]
        for (name, runnable) in commands {
            for usage in [[name, "--no-such-option", missing], [name], [name, missing, "--device"]] {
                let result = try ReelCLI.run(usage)
                #expect(result.status == 2, "\(usage): \(result.status) \(result.stderr)")
                #expect(result.stderr.contains("Usage: reel \(name)"), "\(usage): \(result.stderr)")
            }
            let failed = try ReelCLI.run(runnable)
            #expect(failed.status == 1, "\(runnable): \(failed.status) \(failed.stderr)")
            let help = try ReelCLI.run([name, "--help"])
            #expect(help.status == 0 && help.stdout.contains("USAGE: reel \(name)"), "\(name) --help")
        }
        let top = try ReelCLI.run(["--help"])
        #expect(top.status == 0 && top.stdout.contains("2 a usage error"), "\(top.stdout)")
    }

    @Test func missingFile() throws {
        let result = try ReelCLI.run(["render", "/nonexistent/clip.mp4", "--out", NSTemporaryDirectory()])
        expectOneLineError(result, containing: "cannot open '/nonexistent/clip.mp4': No such file or directory")
    }

    @Test func notMedia() throws {
        let result = try ReelCLI.run(["render", "\(fixtures)/not-media.txt", "--out", NSTemporaryDirectory()])
        expectOneLineError(result, containing: "Invalid data found when processing input")
    }

    @Test func noVideoStream() throws {
        let result = try ReelCLI.run(["render", "\(fixtures)/audio-only.m4a", "--out", NSTemporaryDirectory()])
        expectOneLineError(result, containing: "has no video stream")
        let probe = try ReelCLI.run(["bench", "\(fixtures)/audio-only.m4a"])
        expectOneLineError(probe, containing: "has no video stream")
    }

    /// A file cut short: every frame that decodes is written, then the command fails.
    @Test func truncatedFile() throws {
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let whole = try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/testsrc2-320x240.mkv"))
        let cut = "\(out)/cut.mkv"
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: cut))
        let result = try ReelCLI.run(["render", cut, "--out", "\(out)/frames"])
        expectOneLineError(result, containing: "ends early")
        let written = try FileManager.default.contentsOfDirectory(atPath: "\(out)/frames").count
        #expect(written > 10 && written < 60, "\(written) frames written")
        #expect(result.stdout.contains("wrote \(written) frame(s)"))
    }

    @Test func noUsableVulkanDevice() throws {
        let result = try ReelCLI.run(
            ["render", "\(fixtures)/testsrc2-320x240.mp4", "--out", NSTemporaryDirectory()],
            environment: ["VK_ICD_FILENAMES": "/nonexistent/icd.json", "VK_DRIVER_FILES": "/nonexistent/icd.json"])
        expectOneLineError(result, containing: "no usable Vulkan device")
    }

    @Test func deviceNameMatchesNothing() throws {
        let result = try ReelCLI.run(["bench", "\(fixtures)/testsrc2-320x240.mp4", "--device", "no-such-gpu"])
        expectOneLineError(result, containing: "name does not match 'no-such-gpu'")
    }

    @Test func outputIsAFile() throws {
        let result = try ReelCLI.run([
            "render", "\(fixtures)/testsrc2-320x240.mp4", "--out", "\(fixtures)/not-media.txt",
        ])
        expectOneLineError(result, containing: "exists and is not a directory")
    }
}
