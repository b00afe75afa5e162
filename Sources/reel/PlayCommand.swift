import ArgumentParser
import Foundation
import Reel

struct PlayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "play",
        abstract: "Play a file in real time: video rendered offscreen on a virtual display, sound to an output.",
        discussion: """
            Video is rendered at every tick of a virtual display (--display-fps) and follows \\
            the master clock: the audio output's when there is audio, else the video's own \\
            timestamps. Frames whose time has passed are dropped, and the previous frame is \\
            shown again when no new one is due; nothing waits for the decoder or the GPU.

            --timeline PATH writes JSON Lines on the monotonic clock (µs): \\
            {"type":"video","pts_us":…,"shown_us":…} per frame shown, and \\
            {"type":"audio","pts_us":…,"played_us":…} per audio chunk, with when its first \\
            sample is heard by the output's own latency report. --stats PATH writes the \\
            counters and A−V offsets as JSON at exit.
            """)

    @Argument(help: "A media file or URL.")
    var input: String

    @Option(name: .long, help: ArgumentHelp("Video output: offscreen (the window comes later).", valueName: "VO"))
    var vo = "offscreen"

    @Option(name: .long, help: ArgumentHelp("Audio output: pulse, null, or wav:PATH.", valueName: "AO"))
    var ao = "pulse"

    @Option(name: .long, help: ArgumentHelp("Master clock: audio, video or external.", valueName: "SOURCE"))
    var sync: String?

    @Option(name: .long, help: ArgumentHelp("Virtual display rate, e.g. 60, 144 or 60000/1001.", valueName: "RATE"))
    var displayFps = "60"

    @Option(name: .long, help: "Stop after N frames have been shown.")
    var frames: Int?

    @Option(name: .long, help: ArgumentHelp("Write the presentation timeline (JSON Lines) here.", valueName: "PATH"))
    var timeline: String?

    @Option(name: .long, help: ArgumentHelp("Write the statistics (JSON) here at exit.", valueName: "PATH"))
    var stats: String?

    @Option(name: .long, help: ArgumentHelp("Debug: make every render take this long.", valueName: "MS"))
    var renderDelay: Int = 0

    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        guard vo == "offscreen" else { throw ValidationError("--vo must be offscreen (the window output comes later)") }
        guard AudioOutputChoice(parsing: ao) != nil else {
            throw ValidationError("--ao must be pulse, null or wav:PATH")
        }
        if let sync, SyncSource(rawValue: sync) == nil {
            throw ValidationError("--sync must be audio, video or external")
        }
        guard Self.rate(displayFps) != nil else {
            throw ValidationError("--display-fps must look like 60 or 60000/1001")
        }
        if let frames, frames < 1 { throw ValidationError("--frames must be at least 1") }
        if renderDelay < 0 { throw ValidationError("--render-delay cannot be negative") }
    }

    /// "60", "59.94" or "60000/1001" as a rational rate.
    static func rate(_ text: String) -> Rational? {
        if let slash = text.firstIndex(of: "/") {
            guard let numerator = Int64(text[..<slash]), let denominator = Int64(text[text.index(after: slash)...]),
                numerator > 0, denominator > 0
            else { return nil }
            return Rational(numerator, denominator)
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = Int64(parts[0]) else { return nil }
        guard parts.count == 2 else { return whole > 0 ? Rational(whole, 1) : nil }
        let fraction = parts[1]
        guard !fraction.isEmpty, fraction.count <= 6, let digits = Int64(fraction) else { return nil }
        var scale: Int64 = 1
        for _ in 0..<fraction.count { scale *= 10 }
        let value = Rational(whole * scale + digits, scale)
        return value.isValid ? value : nil
    }

    func run() throws {
        FFmpegLog.configure(verbose: deviceOptions.verbose)
        let pipeline = try PlaybackPipeline(
            parameters: PlaybackParameters(
                input: input, audio: AudioOutputChoice(parsing: ao), sync: sync.flatMap(SyncSource.init(rawValue:)),
                displayRate: Self.rate(displayFps)!, frameLimit: frames, timelinePath: timeline,
                renderDelay: Int64(renderDelay) * 1000, device: deviceOptions.parameters))
        let statistics = try pipeline.run()
        if let warning = statistics.audioWarning { FileHandleStream.standardError.write("reel: \(warning)\n") }
        if let stats {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            do { try encoder.encode(statistics).write(to: URL(fileURLWithPath: stats)) } catch {
                throw CommandError("cannot write the statistics '\(stats)': \(error.localizedDescription)")
            }
        }
        print(Self.status(statistics))
        try pipeline.checkValidation()
    }

    /// The one-line summary printed at the end.
    static func status(_ statistics: PlaybackStatistics) -> String {
        let p = statistics.presentation
        var line =
            "presented \(p.presented), dropped \(p.droppedLate), repeated \(p.repeated), skipped \(p.skipped)"
            + " (sync \(statistics.sync))"
        if let offset = statistics.avOffset {
            line += String(
                format: "; A−V mean %.1f ms, p50 %.1f, p95 %.1f, max |%.1f| ms", offset.mean / 1000,
                Double(offset.p50) / 1000, Double(offset.p95) / 1000, Double(offset.maxMagnitude) / 1000)
        }
        return line
    }
}

extension PlaybackPipeline {
    /// Fails the command if the validation layer reported errors, listing them on stderr.
    func checkValidation() throws {
        let errors = validationErrors
        guard !errors.isEmpty else { return }
        for error in errors { FileHandleStream.standardError.write("vulkan validation: \(error)\n") }
        throw CommandError("the Vulkan validation layer reported \(errors.count) error(s)")
    }
}
