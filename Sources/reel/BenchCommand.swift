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

    @Flag(help: "Print JSON instead of text.")
    var json = false

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
        // An RTP session arrives in real time: the figures are then the cost per picture
        // of keeping up with it, not a top speed.
        let pipeline = try OffscreenPipeline(parameters: parameters)
        let ready = ResourceSample.now()
        var outputSize: PixelSize?
        let statistics = try pipeline.run { frame in outputSize = frame.image.size }
        let end = ResourceSample.now()
        try pipeline.checkValidation()

        let report = BenchReport(
            input: input, mode: decodeOnly ? "decode-only" : renderOnly ? "render-only" : "render",
            readback: !noReadback && !decodeOnly,
            device: pipeline.deviceName,
            outputSize: outputSize?.description, setup: (start, ready), measured: (ready, end),
            statistics: statistics)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text)
        }
    }
}

/// What `reel bench` reports; the JSON form uses these field names.
struct BenchReport: Codable {
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
            frame pool   \(s.poolSlots) slots × \(s.poolSlotBytes) B = \(s.poolBytes) B
            """
    }
}
