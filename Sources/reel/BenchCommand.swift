import ArgumentParser
import Foundation
import Reel
import ReelAudio
import ReelCore
import ReelFramePool
import ReelMedia
import ReelNet
import ReelTiming
import ReelVulkan
import ReelWindow

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Decode and render offscreen as fast as possible; report throughput, CPU and memory.",
        discussion: """
            Each frame goes decode → frame pool → Vulkan YCbCr→RGB → RGBA in host memory, as \
            the peers it is compared with (ffmpeg -f null) end with pixels in memory; the GPU \
            writes them there itself (--no-readback leaves them in device memory instead). \
            --decode-only stops after the pool; --render-only decodes the first frame once and \
            renders it again and again (--frames times, default 300), which gives the render \
            stage's own cost without the decoder sharing the cores.

            Measured from the first packet read to the last frame finished; opening the input \
            and creating the Vulkan device are reported separately as setup. CPU is user + \
            system time of all threads (getrusage), so cores used = CPU / wall.

            An RTP session (FILE.sdp, sdp:PATH, sdp:-, rtp://ADDR:PORT) is decoded and \
            rendered as it arrives, until the sender's BYE, --rtp-timeout or --frames: \
            frames/s is then the stream's rate, and CPU per frame the cost of keeping up.

            \(ListeningInput.help) Every frame published is rendered as it comes (to RGBA \
            in host memory, as above); the figures are measured from the session's start, \
            without its setup.
            """)

    @Argument(
        help:
            "A media file or URL, an RTP session (FILE.sdp, sdp:PATH, sdp:-, rtp://ADDR:PORT), or unix:PATH to listen for producers."
    )
    var input: String

    @Option(name: .long, help: "Stop after N frames.")
    var frames: Int?

    @Option(name: .long, help: ArgumentHelp("Render at this size instead of the display size.", valueName: "WxH"))
    var size: String?

    @Flag(name: .long, help: "Decode into the frame pool only; no rendering.")
    var decodeOnly = false

    @Flag(name: .long, help: "Decode the first frame only and render it --frames times (default 300).")
    var renderOnly = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --render-only: render at this rate (frames a second, on absolute deadlines) instead of back to back: the render stage's cost in real time, as a timed session pays it.",
            valueName: "HZ"))
    var rate: Int?

    @Flag(
        name: .long,
        help: "Leave the RGBA output in device memory: the render cost without the readback to host memory.")
    var noReadback = false

    @Flag(help: "Print JSON instead of text (its schema: README, \"reel bench --json\").")
    var json = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Draw the frame times over the run as an SVG chart, each frame's time split by stage.",
            valueName: "FILE.svg"
        ))
    var plot: String?

    @OptionGroup var deviceOptions: DeviceOptions

    @OptionGroup(title: "RTP (an .sdp input)") var rtpOptions: RTPOptions

    @OptionGroup(title: "Producers (a unix:PATH input)") var listenOptions: ListenOptions

    @Option(
        name: .long, help: ArgumentHelp("With a unix:PATH input: write the statistics (JSON) here.", valueName: "PATH"))
    var stats: String?

    func validate() throws {
        try listenOptions.check(input: input)
        if ListeningInput.path(of: input) != nil && (decodeOnly || renderOnly || noReadback) {
            throw ValidationError(
                "a unix:PATH input is rendered as it comes: --decode-only, --render-only and --no-readback do not apply"
            )
        }
        if stats != nil && ListeningInput.path(of: input) == nil {
            throw ValidationError("--stats applies to a unix:PATH input (use --json for the others)")
        }
        if let frames, frames < 1 { throw ValidationError("--frames must be at least 1") }
        if decodeOnly && renderOnly { throw ValidationError("--decode-only and --render-only exclude each other") }
        if let size, PixelSize(parsing: size) == nil { throw ValidationError("--size must look like 640x360") }
        if let rate {
            guard renderOnly else { throw ValidationError("--rate paces --render-only; give --render-only too") }
            guard (1...1000).contains(rate) else { throw ValidationError("--rate must be 1…1000") }
        }
    }

    func run() throws {
        FFmpegLog.configure(verbose: deviceOptions.verbose)
        if let path = ListeningInput.path(of: input) {
            let listening = ListeningInput(path: path, once: listenOptions.once, device: deviceOptions)
            let report = try listening.run(
                output: .frames(FrameOutput(format: .rgba8, size: size.flatMap(PixelSize.init(parsing:)))),
                pacing: .everyFrame, frameLimit: frames)
            if let stats { try report.write(to: stats) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(report.text)
            }
            return
        }
        let start = ResourceSample.now()
        var parameters = OffscreenParameters(
            input: input, frameLimit: frames, outputSize: size.flatMap(PixelSize.init(parsing:)),
            decodeOnly: decodeOnly, renderOnly: renderOnly, readback: !noReadback, device: deviceOptions.parameters,
            rtp: rtpOptions.receiver)
        parameters.renderRate = rate.map { Rational(Int64($0), 1) }
        parameters.damagedPictures = rtpOptions.damagedPictures
        parameters.showsPicturesBeforeKeyframe = rtpOptions.rtpShowCorrupt
        // Nothing holds a frame's pixels once it is counted: one output buffer does.
        parameters.outputBuffers = 1
        // An RTP session arrives in real time: the figures are then the cost per picture
        // of keeping up with it, not a top speed.
        let pipeline = try OffscreenPipeline(parameters: parameters)
        let ready = ResourceSample.now()
        var outputSize: PixelSize?
        let statistics = try pipeline.run { frame in outputSize = frame.image.size }
        let end = ResourceSample.now()
        try pipeline.checkValidation()

        var report = BenchReport(
            input: input, mode: decodeOnly ? "decode-only" : renderOnly ? "render-only" : "render",
            readback: !noReadback && !decodeOnly,
            device: pipeline.deviceName,
            outputSize: outputSize?.description, setup: (start, ready), measured: (ready, end),
            statistics: statistics)
        report.machine = Machine(driver: pipeline.deviceDriver)
        report.timing = FrameTimes(pipeline.frameTimings)
        report.stageCPU = StageSeconds(pipeline.stageCPU, frames: report.frames)
        if let plot { try BenchPlot(report: report, frames: pipeline.frameTimings).write(to: plot) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text)
        }
    }
}

/// What `reel bench` reports; the JSON form uses these field names (README: "reel
/// bench --json"). `schema` changes when a field changes meaning or goes.
struct BenchReport: Codable {
    var schema = "reel-bench/2"
    var input: String
    var mode: String
    /// Whether each frame ended with its pixels in host memory.
    var readback: Bool
    var device: String?
    var outputSize: String?
    var frames: Int
    var wallSeconds: Double
    var framesPerSecond: Double
    var cpuSeconds: Double
    var cpuSecondsPerFrame: Double
    var coresUsed: Double
    var peakRSSBytes: Int64
    var setupWallSeconds: Double
    var setupCPUSeconds: Double
    /// The scheduler's counters, as `play` reports them: bench is untimed, so every
    /// rendered frame is presented once and none is dropped, repeated or skipped.
    var presentation: PresentationStatistics
    var statistics: PipelineStatistics
    /// Where it ran.
    var machine = Machine(driver: nil)
    /// Frame times and each stage's share, percentiles over the measured frames.
    var timing: FrameTimes?
    /// CPU by stage, from thread CPU clocks.
    var stageCPU: StageSeconds?

    init(
        input: String, mode: String, readback: Bool, device: String?, outputSize: String?,
        setup: (ResourceSample, ResourceSample), measured: (ResourceSample, ResourceSample),
        statistics: PipelineStatistics
    ) {
        self.input = input
        self.mode = mode
        self.readback = readback
        self.device = device
        self.outputSize = outputSize
        self.statistics = statistics
        frames = max(statistics.framesDecoded, statistics.framesRendered)
        presentation = PresentationStatistics()
        presentation.presented = statistics.framesRendered
        wallSeconds = Double(measured.1.wallNanoseconds - measured.0.wallNanoseconds) / 1e9
        cpuSeconds = Double(measured.1.cpuMicroseconds - measured.0.cpuMicroseconds) / 1e6
        framesPerSecond = wallSeconds > 0 ? Double(frames) / wallSeconds : 0
        cpuSecondsPerFrame = frames > 0 ? cpuSeconds / Double(frames) : 0
        coresUsed = wallSeconds > 0 ? cpuSeconds / wallSeconds : 0
        peakRSSBytes = measured.1.peakResidentBytes
        setupWallSeconds = Double(setup.1.wallNanoseconds - setup.0.wallNanoseconds) / 1e9
        setupCPUSeconds = Double(setup.1.cpuMicroseconds - setup.0.cpuMicroseconds) / 1e6
    }

    private var destination: String { readback ? "RGBA in host memory" : "RGBA left in device memory" }

    private func rgbaOut(_ bytesPerFrame: Int) -> String {
        if mode == "decode-only" { return "none (no rendering)" }
        if !readback { return "not read back (--no-readback)" }
        return "\(bytesPerFrame) B/frame (written by the GPU into host-visible memory; no copy)"
    }

    var modeDescription: String {
        switch mode {
        case "decode-only": "decode-only: decode → pool"
        case "render-only": "render-only: one decoded frame, rendered again and again → \(destination)"
        default: "render: decode → pool → Vulkan YCbCr→RGB → \(destination)"
        }
    }

    var text: String {
        let perFrame = { (bytes: Int) in frames > 0 ? bytes / frames : 0 }
        let s = statistics
        return """
            input        \(input)
            mode         \(modeDescription)
            device       \(device ?? "none")\(outputSize.map { ", output \($0)" } ?? "")
            frames       \(frames)
            presented    \(presentation.presented), dropped 0, repeated 0, skipped 0 (untimed: every frame once)
            wall         \(String(format: "%.3f", wallSeconds)) s
            throughput   \(String(format: "%.1f", framesPerSecond)) frames/s
            CPU          \(String(format: "%.3f", cpuSeconds)) s, \(String(format: "%.2f", cpuSecondsPerFrame * 1000)) ms/frame, \(String(format: "%.2f", coresUsed)) cores
            peak RSS     \(String(format: "%.1f", Double(peakRSSBytes) / 1_048_576)) MiB
            setup        \(String(format: "%.3f", setupWallSeconds)) s wall, \(String(format: "%.3f", setupCPUSeconds)) s CPU (not in the figures above)
            input path   \(s.inputPath?.rawValue ?? "none (no rendering)")\(s.importFailure.map { " (import failed: \($0))" } ?? "")
            CPU copies   \(perFrame(s.inputBytesCopied)) B/frame on the input path (decoder→pool \(perFrame(s.decoderToPoolBytes)), pool→GPU \(perFrame(s.poolToGPUBytes)))
            RGBA out     \(rgbaOut(perFrame(s.readbackBytes)))
            frame pool   \(s.poolSlots) slots × \(s.poolSlotBytes) B = \(s.poolBytes) B reserved; \(s.poolSlotsUsed) used (\(s.poolSlotsUsed * s.poolSlotBytes) B resident)
            """ + timingText
    }

    private var timingText: String {
        var lines = [
            "", "machine      \(machine.cpu), \(machine.cores) cores; \(machine.vulkanDriver ?? "no Vulkan driver")",
        ]
        if let timing {
            let t = timing.frameTime
            lines.append(
                String(
                    format: "frame time   p50 %.2f, p95 %.2f, p99 %.2f, max %.2f ms; 1%% low %.1f frames/s",
                    t.p50, t.p95, t.p99, t.max, timing.onePercentLowFPS))
            for (name, stage) in [
                ("demux", timing.demux), ("decode", timing.decode), ("submit", timing.submit), ("wait", timing.wait),
            ] {
                let label = "  " + name + String(repeating: " ", count: max(1, 11 - name.count))
                lines.append(
                    label
                        + String(
                            format: "p50 %.2f, p95 %.2f, p99 %.2f, max %.2f ms a frame (pipeline thread)", stage.p50,
                            stage.p95, stage.p99, stage.max))
            }
        }
        if let cpu = stageCPU {
            lines.append(
                String(
                    format:
                        "stage CPU    demux %.2f, decode %.2f, render %.2f, present %.2f, other %.2f ms/frame (thread CPU clocks)",
                    cpu.demuxPerFrame * 1000, cpu.decodePerFrame * 1000, cpu.renderPerFrame * 1000,
                    cpu.presentPerFrame * 1000, cpu.otherPerFrame * 1000))
        }
        return lines.joined(separator: "\n")
    }
}

/// The machine a bench ran on.
struct Machine: Codable {
    var cpu: String
    var cores: Int
    /// The Vulkan driver and its version (nil with --decode-only).
    var vulkanDriver: String?
    var kernel: String

    init(driver: String?) {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        cpu =
            info.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        vulkanDriver = driver
        var name = utsname()
        uname(&name)
        kernel = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

/// Percentiles of a set of durations, in milliseconds.
struct Percentiles: Codable {
    var p50: Double
    var p95: Double
    var p99: Double
    var max: Double

    /// From durations in ns (the player's latency percentiles, in ms).
    init(_ nanoseconds: [Int64]) {
        let summary = LatencySummary(nanoseconds)
        let milliseconds = { (microseconds: Int64?) in Double(microseconds ?? 0) / 1000 }
        p50 = milliseconds(summary?.p50)
        p95 = milliseconds(summary?.p95)
        p99 = milliseconds(summary?.p99)
        max = milliseconds(summary?.max)
    }
}

/// Frame times (each frame's finish to the next's) and the pipeline thread's time in
/// each stage a frame.
struct FrameTimes: Codable {
    var frameTime: Percentiles
    /// Frames a second over the slowest 1 % of frames.
    var onePercentLowFPS: Double
    var demux: Percentiles
    var decode: Percentiles
    var submit: Percentiles
    var wait: Percentiles

    init?(_ frames: [FrameTiming]) {
        guard frames.count > 1 else { return nil }
        let times = zip(frames.dropFirst(), frames).map { $0.finishedAt - $1.finishedAt }
        frameTime = Percentiles(times)
        let slowest = times.sorted(by: >).prefix(Swift.max(1, times.count / 100))
        let mean = Double(slowest.reduce(0, +)) / Double(slowest.count)
        onePercentLowFPS = mean > 0 ? 1e9 / mean : 0
        demux = Percentiles(frames.map(\.demux))
        decode = Percentiles(frames.map(\.decode))
        submit = Percentiles(frames.map(\.submit))
        wait = Percentiles(frames.map(\.wait))
    }
}

/// CPU seconds by stage, in all and a frame.
struct StageSeconds: Codable {
    var demux: Double
    var decode: Double
    var render: Double
    var present: Double
    var other: Double
    var demuxPerFrame: Double
    var decodePerFrame: Double
    var renderPerFrame: Double
    var presentPerFrame: Double
    var otherPerFrame: Double

    init(_ cpu: StageCPU, frames: Int) {
        let seconds = { (nanoseconds: Int64) in Double(nanoseconds) / 1e9 }
        let count = Double(Swift.max(1, frames))
        (demux, decode, render, present, other) = (
            seconds(cpu.demux), seconds(cpu.decode), seconds(cpu.render), seconds(cpu.present), seconds(cpu.other)
        )
        (demuxPerFrame, decodePerFrame, renderPerFrame, presentPerFrame, otherPerFrame) = (
            demux / count, decode / count, render / count, present / count, other / count
        )
    }
}

/// `--plot`: the frame times over the run as an SVG, each frame a column split into the
/// pipeline thread's stages (demux, decode, submit, waiting for the GPU, the rest), with
/// the p50 and p99 frame times marked: readable without the terminal.
struct BenchPlot {
    let report: BenchReport
    let frames: [FrameTiming]

    func write(to path: String) throws {
        let width = 1000.0
        let height = 360.0
        let (left, right, top, bottom) = (60.0, 20.0, 40.0, 50.0)
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let totals = frames.map { Double($0.total) / 1e6 }
        let ceiling = max(1, (totals.sorted().last ?? 1) * 1.1)
        let column = plotWidth / Double(max(1, frames.count))
        let stages: [(String, String, KeyPath<FrameTiming, Int64>)] = [
            ("demux", "#8c564b", \.demux), ("decode", "#1f77b4", \.decode), ("submit", "#ff7f0e", \.submit),
            ("wait for the GPU", "#2ca02c", \.wait), ("other", "#7f7f7f", \.other),
        ]
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="18" font-size="14">reel bench \(escape(report.input)) — \(report.frames) frames, \(String(format: "%.1f", report.framesPerSecond)) frames/s, \(escape(report.device ?? "no device"))</text>

            """
        for (index, frame) in frames.enumerated() {
            var y = top + plotHeight
            let x = left + Double(index) * column
            for (_, colour, part) in stages {
                let h = Double(frame[keyPath: part]) / 1e6 / ceiling * plotHeight
                guard h > 0 else { continue }
                y -= h
                svg +=
                    "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(max(column, 0.5)))\" height=\"\(f(h))\" fill=\"\(colour)\"/>\n"
            }
        }
        if let timing = report.timing {
            for (label, value) in [("p50", timing.frameTime.p50), ("p99", timing.frameTime.p99)] {
                let y = top + plotHeight - value / ceiling * plotHeight
                svg +=
                    "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(f(y))\" y2=\"\(f(y))\" stroke=\"black\" stroke-dasharray=\"4 3\"/>\n"
                svg +=
                    "<text x=\"\(width - right - 90)\" y=\"\(f(y - 3))\">\(label) \(String(format: "%.2f", value)) ms</text>\n"
            }
        }
        // Axes: milliseconds up, frames along.
        svg += "<line x1=\"\(left)\" x2=\"\(left)\" y1=\"\(top)\" y2=\"\(top + plotHeight)\" stroke=\"black\"/>\n"
        svg +=
            "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(top + plotHeight)\" y2=\"\(top + plotHeight)\" stroke=\"black\"/>\n"
        for step in 0...4 {
            let value = ceiling * Double(step) / 4
            let y = top + plotHeight - Double(step) / 4 * plotHeight
            svg +=
                "<text x=\"\(left - 6)\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(String(format: "%.1f", value))</text>\n"
        }
        svg +=
            "<text x=\"14\" y=\"\(f(top + plotHeight / 2))\" transform=\"rotate(-90 14 \(f(top + plotHeight / 2)))\" text-anchor=\"middle\">ms per frame</text>\n"
        svg +=
            "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 28))\" text-anchor=\"middle\">frame (1 … \(frames.count))</text>\n"
        var legendX = left
        for (name, colour, _) in stages {
            svg += "<rect x=\"\(f(legendX))\" y=\"\(f(height - 16))\" width=\"10\" height=\"10\" fill=\"\(colour)\"/>"
            svg += "<text x=\"\(f(legendX + 14))\" y=\"\(f(height - 7))\">\(name)</text>\n"
            legendX += 26 + Double(name.count) * 7
        }
        svg += "</svg>\n"
        do { try writeWhole(Data(svg.utf8), to: path) } catch {
            throw CommandError("cannot write the plot '\(path)': \(error.localizedDescription)")
        }
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
