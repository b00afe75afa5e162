import Foundation
import ReelTestSupport
import Testing

/// What an application that writes only `import Reel` can and cannot do, checked by
/// compiling small clients against the Reel module this test run built.
@Suite struct PublicAPITests {
    /// A lease used once compiles; released twice, the compiler refuses it (the lease
    /// is `~Copyable` and `release()` consumes it); and the stages behind `import Reel`
    /// are out of sight.
    @Test func leaseOwnershipIsCheckedByTheCompiler() throws {
        let lease = """
            guard var lease = try session.tryLease(
                for: FrameDescription(format: .nv12, size: PixelSize(width: 64, height: 64))) else { return }
            lease.withPlane(0) { bytes in bytes.storeBytes(of: 16, toByteOffset: 0, as: UInt8.self) }
            """
        let once = try Self.compile(lease + "\ntry lease.submit(at: MediaTime(ticks: 0, timeBase: Rational(1, 60)))")
        #expect(once.status == 0, "one submit compiles: \(once.output)")
        let twice = try Self.compile(lease + "\nlease.release()\nlease.release()")
        #expect(twice.status != 0)
        #expect(twice.output.contains("'lease' consumed more than once"), "\(twice.output)")
        let submittedThenReleased = try Self.compile(
            lease + "\ntry lease.submit(at: MediaTime(ticks: 0, timeBase: Rational(1, 60)))\nlease.release()")
        #expect(
            submittedThenReleased.output.contains("'lease' consumed more than once"), "\(submittedThenReleased.output)")
        let stage = try Self.compile("let renderer: OffscreenRenderer? = nil\n_ = renderer")
        #expect(stage.output.contains("cannot find type 'OffscreenRenderer' in scope"), "\(stage.output)")
        print("double release: \(twice.output.split(separator: "\n").first ?? "")")
    }

    /// The documentation's tutorial ("Embedding Reel in a capture tool"): its Swift
    /// blocks, in order, are one file that compiles against `import Reel` alone.
    @Test func tutorialCompiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let article = try String(
            contentsOf: root.appendingPathComponent("Sources/Reel/Reel.docc/EmbeddingInACaptureTool.md"),
            encoding: .utf8)
        let blocks = article.split(separator: "```swift\n", omittingEmptySubsequences: false).dropFirst().map {
            $0.components(separatedBy: "\n```")[0]
        }
        #expect(blocks.count >= 4, "the tutorial's Swift blocks")
        let file = blocks.joined(separator: "\n\n") + "\n"
        #expect(file.hasPrefix("import Reel\n") && !file.contains("import Reel" + "Core"))
        let result = try Self.compile(file: file)
        #expect(result.status == 0, "the tutorial's code does not compile:\n\(result.output)\n\(file)")
    }

    /// The example capture tool runs a second of its synthetic camera through a timed
    /// session: every frame pushed is shown or counted as dropped, the counter burned
    /// into each frame reads back from the rendered pixels, nothing is copied, and the
    /// validation layer stays quiet.
    @Test func captureDemoRuns() throws {
        let build = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .deletingLastPathComponent().path
        let (status, text) = try runToEnd(
            "\(build)/CaptureDemo", ["--width", "320", "--height", "180", "--seconds", "1", "--validation"])
        #expect(status == 0, "\(text)")
        let frames = try #require(
            text.firstMatch(
                of: /frames: (\d+) pushed \((\d+) more dropped by the camera: pool full\), (\d+) shown, (\d+) dropped/),
            "\(text)")
        let (pushed, cameraDropped, shown, dropped) = (Int(frames.1)!, Int(frames.2)!, Int(frames.3)!, Int(frames.4)!)
        #expect(pushed + cameraDropped == 60 && shown + dropped == pushed && shown > 0, "\(text)")
        #expect(text.contains("counter read back wrong in 0"), "\(text)")
        #expect(text.contains("copies: 0 B per frame"), "\(text)")
        #expect(text.contains("push → render latency: p50"), "\(text)")
        print(
            text.split(separator: "\n").filter { $0.hasPrefix("frames") || $0.hasPrefix("push") }.joined(
                separator: "; "))
    }

    /// Compiles `body` inside `func use(_ session: Session) throws` in a file that
    /// imports only Reel, to SIL (where ownership is checked); the exit status and the
    /// compiler's messages.
    static func compile(_ body: String) throws -> (status: Int32, output: String) {
        let indented = body.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        return try compile(file: "import Reel\n\nfunc use(_ session: Session) throws {\n\(indented)\n}\n")
    }

    /// Compiles the Swift file `text` against the Reel module this test run built.
    static func compile(file text: String) throws -> (status: Int32, output: String) {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        // …/.build/<triple>/debug/ReelPackageTests.xctest
        let build = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .deletingLastPathComponent().path
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reel-client-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent("client.swift")
        try text.write(to: source, atomically: true, encoding: .utf8)
        var arguments = ["swiftc", "-emit-sil", "-o", "/dev/null", "-I", "\(build)/Modules"]
        for module in ["CVulkan", "CFFmpeg", "CLinux", "CPulse", "CGLFW"] {
            arguments += ["-I", "\(root)/Sources/\(module)"]
        }
        // The package's C targets (CNet, CFFmpegLog): module maps the build wrote.
        for entry in try FileManager.default.contentsOfDirectory(atPath: build) where entry.hasSuffix(".build") {
            let map = "\(build)/\(entry)/module.modulemap"
            if FileManager.default.fileExists(atPath: map) { arguments += ["-Xcc", "-fmodule-map-file=\(map)"] }
        }
        arguments.append(source.path)
        return try runToEnd("/usr/bin/env", arguments)
    }
}
