import Foundation
import ReelTestSupport
import Testing

/// The fuzz targets (`tools/fuzz`), built without the fuzzer, replay their seeds and
/// every input kept under `Fixtures/fuzz/TARGET/` (crashes found, once fixed): each
/// runs through its target with the target's invariants holding.
@Suite struct FuzzReplayTests {
    static let program = ReelCLI.executable.deletingLastPathComponent().appendingPathComponent("reel-fuzz").path
    static let targets = ["pool", "rtp", "sdp", "ipc", "media"]

    @Test func seedsAndKeptInputsRunClean() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let made = try ReelCLI.runProgram(Self.program, ["seeds", folder, fixtures])
        #expect(made.status == 0, "\(made.stderr)")
        for target in Self.targets {
            var inputs = ["\(folder)/\(target)"]
            let kept = "\(fixtures)/fuzz/\(target)"
            if FileManager.default.fileExists(atPath: kept) { inputs.append(kept) }
            let seeds = try FileManager.default.contentsOfDirectory(atPath: "\(folder)/\(target)")
            #expect(!seeds.isEmpty, "\(target) has seeds")
            let replay = try ReelCLI.runProgram(Self.program, [target] + inputs)
            #expect(replay.status == 0, "\(target): \(replay.stderr)")
            #expect(replay.stdout.contains("reel-fuzz \(target):"), "\(replay.stdout)")
        }
        // A target it does not have is a usage error.
        let unknown = try ReelCLI.runProgram(Self.program, ["nothing", folder])
        #expect(unknown.status == 2 && unknown.stderr.contains("usage: reel-fuzz"), "\(unknown.stderr)")
    }
}
