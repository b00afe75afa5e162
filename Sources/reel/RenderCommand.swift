import ArgumentParser
import Foundation
import Glibc
import Reel
import ReelAudio
import ReelCore
import ReelFramePool
import ReelMedia
import ReelNet
import ReelTiming
import ReelVulkan
import ReelWindow

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render a video's frames offscreen through Vulkan and write them as PNG files.",
        discussion: """
            Writes DIR/frame-000001.png, frame-000002.png, … in presentation order, at the
            video's display size (coded size stretched by its sample aspect ratio) unless
            --size says otherwise; the picture keeps its aspect, with black bars.
            A damaged input: every frame that decodes is written, then the command fails.
            An RTP session (FILE.sdp, sdp:PATH, sdp:-, rtp://ADDR:PORT; see `reel play \
            --help`) is written as it arrives, from its first keyframe, until the \
            sender's BYE, --rtp-timeout without packets, --frames, or Ctrl-C.

            \(ListeningInput.help) Frames are written in the order they are published.
            """)

    @Argument(
        help:
            "A media file or URL, an RTP session (FILE.sdp, sdp:PATH, sdp:-, rtp://ADDR:PORT), or unix:PATH to listen for producers."
    )
    var input: String

    @Option(
        name: .long,
        help: ArgumentHelp("Directory for the PNG files (created, with parents, if missing).", valueName: "DIR"))
    var out: String

    @Option(name: .long, help: "Render at most N frames.")
    var frames: Int?

    @Option(name: .long, help: ArgumentHelp("Output size, e.g. 640x360.", valueName: "WxH"))
    var size: String?

    @Option(name: .long, help: ArgumentHelp("Write the statistics (JSON) here at exit.", valueName: "PATH"))
    var stats: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "What the PNGs' values mean: sdr (BT.709, HDR tone-mapped; the default), hdr10 (BT.2020 PQ, 16-bit PNGs) or linear (linear light in BT.2020, 1.0 = 10000 cd/m², 16-bit PNGs).",
            valueName: "KIND"))
    var outputColour: OutputColour = .sdr

    @OptionGroup var deviceOptions: DeviceOptions

    @OptionGroup(title: "RTP (an .sdp input)") var rtpOptions: RTPOptions

    @OptionGroup(title: "Producers (a unix:PATH input)") var listenOptions: ListenOptions

    func validate() throws {
        try listenOptions.check(input: input)
        if let frames, frames < 1 { throw ValidationError("--frames must be at least 1") }
        if let size, PixelSize(parsing: size) == nil { throw ValidationError("--size must look like 640x360") }
    }

    func run() throws {
        FFmpegLog.configure(verbose: deviceOptions.verbose)
        try makeDirectory(out)
        if let path = ListeningInput.path(of: input) { return try renderListening(at: path) }
        var parameters = OffscreenParameters(
            input: input, frameLimit: frames, outputSize: size.flatMap(PixelSize.init(parsing:)),
            device: deviceOptions.parameters, rtp: rtpOptions.receiver)
        parameters.damagedPictures = rtpOptions.damagedPictures
        parameters.showsPicturesBeforeKeyframe = rtpOptions.rtpShowCorrupt
        parameters.device.colour.output = outputColour
        let pipeline = try OffscreenPipeline(parameters: parameters)
        // Ctrl-C ends a live session's receiving: what arrived is written, then it ends.
        let interrupts = (pipeline.isLive ? [SIGINT, SIGTERM] : []).map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: pipeline.receivingStopper)
            source.resume()
            return source
        }
        defer { for source in interrupts { source.cancel() } }
        let writer = try PNGWriter()
        var written = 0
        defer { print("wrote \(written) frame(s) to \(out)") }
        let statistics: PipelineStatistics
        do {
            statistics = try pipeline.run { frame in
                let path = "\(out)/frame-\(String(format: "%06d", frame.index + 1)).png"
                try frame.image.writePNG(with: writer, to: path)
                written += 1
            }
        } catch {
            // A damaged input: what was rendered is reported before the error.
            if let counted = pipeline.finalStatistics { try report(counted) }
            throw error
        }
        try pipeline.checkValidation()
        try report(statistics)
        if let end = pipeline.inputEnd { print("input ended: \(end)") }
        for stream in pipeline.rtpStatistics { print("rtp \(stream.summary)") }
    }

    /// The damaged pictures' line and the statistics file.
    private func report(_ statistics: PipelineStatistics) throws {
        if let damage = damageLine(statistics.damagedPictures) { print(damage) }
        if let stats { try write(statistics, to: stats) }
    }

    /// Frames from producer processes, written as they are rendered (on the session's
    /// display thread: a slow disk holds the producers back, nothing is dropped).
    private func renderListening(at path: String) throws {
        let listening = ListeningInput(path: path, once: listenOptions.once, device: deviceOptions)
        let out = out
        let report = try listening.run(
            output: .frames(FrameOutput(format: .rgba8, size: size.flatMap(PixelSize.init(parsing:)))),
            pacing: .everyFrame, frameLimit: frames
        ) { frame, index in
            defer { frame.release() }
            try frame.writePNG(to: "\(out)/frame-\(String(format: "%06d", index + 1)).png")
        }
        print("wrote \(min(report.framesRendered, frames ?? .max)) frame(s) to \(out)")
        print(report.text)
        if let stats { try report.write(to: stats) }
    }

    private func write(_ statistics: some Encodable, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try writeWhole(try encoder.encode(statistics), to: path) } catch {
            throw CommandError("cannot write the statistics '\(path)': \(error.localizedDescription)")
        }
    }

    /// Creates `path` and any missing parents, like `mkdir -p`; each failure names the
    /// component and the system's reason.
    private func makeDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw CommandError("cannot create '\(prefix)': \(String(cString: strerror(errno)))")
            }
            var status = stat()
            guard stat(prefix, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
                throw CommandError("'\(prefix)' exists and is not a directory")
            }
            prefix += "/"
        }
    }
}
