import Foundation
import FoundationXML
import ReelTestSupport
import Testing

@Suite struct BenchAndProbeTests {
    struct Report: Decodable {
        var mode: String
        var readback: Bool
        var frames: Int
        var wallSeconds: Double
        var framesPerSecond: Double
        var cpuSecondsPerFrame: Double
        var peakRSSBytes: Int64
        var device: String?
        var statistics: Statistics
        struct Statistics: Decodable {
            var framesRendered: Int
            var decoderToPoolBytes: Int
            var poolToGPUBytes: Int
            var readbackBytes: Int
            var poolSlots: Int
            var poolBytes: Int
        }
    }

    @Test func benchReportsEveryFrameWithCounts() throws {
        let result = try ReelCLI.run(["bench", "\(fixtures)/testsrc2-320x240.mp4", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        #expect(report.mode == "render")
        #expect(report.readback)
        #expect(report.frames == 60)
        #expect(report.statistics.framesRendered == 60)
        #expect(report.framesPerSecond > 0 && report.cpuSecondsPerFrame > 0)
        #expect(
            abs(Double(report.frames) / report.wallSeconds - report.framesPerSecond) < 0.01 * report.framesPerSecond)
        #expect(report.peakRSSBytes > 1_000_000)
        // libavcodec decodes into the pool and the GPU reads it in place: no CPU copy.
        #expect(report.statistics.decoderToPoolBytes == 0)
        #expect(report.statistics.poolToGPUBytes == 0)
        // 320x240 RGBA out is 307200 bytes a frame.
        #expect(report.statistics.readbackBytes == 60 * 307_200)
        #expect(report.statistics.poolBytes > 0 && report.statistics.poolSlots > 0)
        #expect(report.device?.isEmpty == false)
    }

    /// The report people quote: its schema, the machine, frame-time percentiles with the
    /// 1 % low, each stage's time a frame and its CPU from thread clocks, and `--plot`'s
    /// chart (an SVG with a column per frame).
    @Test func benchReportsTimesByStageAndPlotsThem() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try ReelCLI.run([
            "bench", "\(fixtures)/testsrc2-320x240.mp4", "--frames", "30", "--json", "--plot", "\(folder)/times.svg",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["schema"] as? String == "reel-bench/2")
        let machine = try #require(report["machine"] as? [String: Any])
        #expect((machine["cores"] as? Int ?? 0) > 0 && (machine["vulkanDriver"] as? String)?.isEmpty == false)
        let timing = try #require(report["timing"] as? [String: Any])
        let frameTime = try #require(timing["frameTime"] as? [String: Double])
        let (p50, p95, p99, maximum) = (
            frameTime["p50"] ?? 0, frameTime["p95"] ?? 0, frameTime["p99"] ?? 0, frameTime["max"] ?? 0
        )
        #expect(p50 > 0 && p50 <= p95 && p95 <= p99 && p99 <= maximum, "\(frameTime)")
        let low = timing["onePercentLowFPS"] as? Double ?? 0
        #expect(low > 0 && low <= 1000 / p50 + 0.001, "the 1 % low is no faster than the median frame")
        let cpu = try #require(report["stageCPU"] as? [String: Double])
        #expect((cpu["decode"] ?? 0) > 0 && (cpu["render"] ?? 0) > 0, "\(cpu)")
        let total = ["demux", "decode", "render", "present", "other"].reduce(0.0) { $0 + (cpu[$1] ?? 0) }
        let measured = report["cpuSeconds"] as? Double ?? 0
        #expect(abs(total - measured) <= 0.05 * measured + 0.02, "stages \(total) s of \(measured) s")
        let svg = try String(contentsOfFile: "\(folder)/times.svg", encoding: .utf8)
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "a well-formed SVG")
        #expect(svg.components(separatedBy: "<rect").count - 1 >= 30, "a column for each frame")
    }

    @Test func decodeOnlyRendersNothing() throws {
        let result = try ReelCLI.run([
            "bench", "\(fixtures)/testsrc2-320x240.mp4", "--decode-only", "--frames", "20", "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        #expect(report.mode == "decode-only")
        #expect(report.frames == 20)
        #expect(report.statistics.framesRendered == 0)
        #expect(report.statistics.poolToGPUBytes == 0)
        #expect(report.device == nil)
        let text = try ReelCLI.run(["bench", "\(fixtures)/testsrc2-320x240.mp4", "--decode-only", "--frames", "3"])
        #expect(text.stdout.contains("RGBA out     none (no rendering)"))
    }

    @Test func renderOnlyRendersOneFrameRepeatedly() throws {
        let result = try ReelCLI.run([
            "bench", "\(fixtures)/testsrc2-320x240.mp4", "--render-only", "--frames", "12", "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        #expect(report.mode == "render-only")
        #expect(report.frames == 12)
        #expect(report.statistics.framesRendered == 12)
        #expect(report.statistics.readbackBytes == 12 * 307_200)

        let both = try ReelCLI.run(["bench", "\(fixtures)/testsrc2-320x240.mp4", "--render-only", "--decode-only"])
        #expect(both.status == 2)
        #expect(both.stderr.contains("exclude each other"))
    }

    /// `--render-only --rate HZ` starts each render on its tick: 12 renders at 100 Hz take
    /// at least the 11 intervals between the first and the last; `--rate` alone is a
    /// usage error.
    @Test func renderOnlyAtARate() throws {
        let result = try ReelCLI.run([
            "bench", "\(fixtures)/testsrc2-320x240.mp4", "--render-only", "--rate", "100", "--frames", "12", "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        #expect(report.statistics.framesRendered == 12)
        #expect(report.wallSeconds >= 0.11, "12 renders 10 ms apart in \(report.wallSeconds) s")
        let alone = try ReelCLI.run(["bench", "\(fixtures)/testsrc2-320x240.mp4", "--rate", "60"])
        #expect(alone.status == 2 && alone.stderr.contains("--rate paces --render-only"), "\(alone.stderr)")
    }

    @Test func noReadbackLeavesPixelsOnTheDevice() throws {
        let result = try ReelCLI.run([
            "bench", "\(fixtures)/testsrc2-320x240.mp4", "--no-readback", "--frames", "10", "--json",
            "--vulkan-validation",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        #expect(report.mode == "render")
        #expect(!report.readback)
        #expect(report.statistics.framesRendered == 10)
        #expect(report.statistics.readbackBytes == 0)
        let text = try ReelCLI.run(["bench", "\(fixtures)/testsrc2-320x240.mp4", "--no-readback", "--frames", "3"])
        #expect(text.stdout.contains("RGBA left in device memory"))
        #expect(text.stdout.contains("not read back"))
    }

    @Test func probeDescribesStreams() throws {
        let result = try ReelCLI.run(["probe", "\(fixtures)/hdbars-bt709-center.mkv", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let info = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let video = (info?["streams"] as? [[String: Any]])?.first?["video"] as? [String: Any]
        #expect(video?["width"] as? Int == 640)
        #expect(video?["height"] as? Int == 360)
        #expect(video?["pixelFormat"] as? String == "yuv420p")
        #expect(video?["colorMatrix"] as? String == "bt709")
        #expect(video?["chromaLocation"] as? String == "center")
        #expect(video?["frameRate"] as? String == "25/1")

        let text = try ReelCLI.run(["probe", "\(fixtures)/anamorphic-480x360.mp4"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("480x360 (display 640x360, SAR 4/3)"))
    }
}
