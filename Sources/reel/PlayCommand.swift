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

struct PlayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "play",
        abstract: "Play a file in real time: video in a window (or offscreen), sound to an output.",
        discussion: """
            With a display (X11 or Wayland) video goes to a window with a Vulkan swapchain, \
            the picture fitted with black bars when resized; without one, it is rendered \
            offscreen (--vo none: sound only, frames decoded and dropped at their time).

            Keys in the window: space pause/resume; ←/→ seek −/+5 s, ↓/↑ −/+60 s (to a \
            keyframe, in the direction asked; --hr-seek: to the exact time); 9/0 volume \
            −/+2 %; m mute; s screenshot (the window's picture, as reel-shot-NNNN.png in \
            --screenshot-dir); f fullscreen; q or Esc quit. Ctrl-C quits too (exit 0).

            Video is rendered at every tick of the display (--display-fps) and follows \
            the master clock: the audio output's when there is audio, else the video's own \
            timestamps. Frames whose time has passed are dropped, and the previous frame is \
            shown again when no new one is due; nothing waits for the decoder or the GPU.

            --timeline PATH writes JSON Lines on the monotonic clock (µs): \
            {"type":"video","pts_us":…,"shown_us":…} per frame shown, and \
            {"type":"audio","pts_us":…,"played_us":…} per audio chunk, with when its first \
            sample is heard by the output's own latency report, and \
            {"type":"seek","from_us":…,"target_us":…,"exact":…} where a seek took effect. \
            --stats PATH writes the \
            counters and A−V offsets as JSON at exit.

            --ipc PATH listens on a Unix socket for remote-control JSON lines, each \
            answered with {"request_id":…,"error":"success","data":…} (or the error's \
            text): {"command":["pause"]} (toggles; ["pause",true|false] sets), \
            ["seek",SECONDS,"relative"|"absolute","exact"?], ["set","volume",0–100], \
            ["set","mute",true|false], ["get","position"|"duration"|"paused"|"volume"|\
            "mute"|"stats"|"phase"], ["screenshot","FILE.png"], ["quit"]. Clients also get \
            event lines: {"event":"seek"}, {"event":"pause"}, {"event":"unpause"}, \
            {"event":"end-file","reason":"eof"|"quit"|"error"}. It works with every --vo.

            While it plays, a status line on the terminal shows the position, the latest \
            A−V offset, the dropped and repeated counts and the render rate (only when \
            stdout is a terminal). --untimed renders every frame as fast as it decodes, \
            with no clock and no sound: what `reel bench` measures.

            RTP: an input named FILE.sdp, or sdp:PATH (sdp:- reads standard input), is an \
            SDP session description (as `ffmpeg -sdp_file` writes): Reel binds its ports \
            (on the SDP's connection address, or --bind) and plays the H.264/HEVC video and \
            Opus/AAC sound live, following the video. Each stream locks to the first sender \
            it hears (--rtp-source pins one); other senders, forged BYEs and garbage are \
            dropped and counted. Packets out of order wait up to --latency ms for those \
            before them; a frame that is still incomplete then is decoded as it is \
            (concealed), or, with --rtp-loss freeze, not shown: the picture before stays \
            until the next keyframe. Joined between keyframes, the first picture is the \
            first keyframe (--rtp-show-corrupt: at once). rtp://ADDR:PORT receives MPEG-TS \
            over RTP without an SDP. It ends on the sender's RTCP BYE or after --rtp-timeout seconds \
            without packets. Per stream the received, lost, duplicate, reordered, late and \
            garbage packet counts, the jitter, the damaged pictures (concealed, frozen) and \
            the receive→present latency are printed \
            at the end and written by --stats (timeline lines gain "received_us"). Only \
            names ending in .sdp or starting with sdp: are opened as network sessions.

            \(ListeningInput.help) Frames are shown at their time on the display's ticks \
            (--untimed: as they come); there is no sound, seeking or --ipc.
            """)

    @Argument(
        help:
            "A media file or URL, an RTP session description (FILE.sdp, sdp:PATH, sdp:- for stdin), or unix:PATH to listen for producers."
    )
    var input: String

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Video output: window (the default when there is a display), offscreen, or none.",
            valueName: "VO"))
    var vo: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Window present mode: fifo, mailbox or immediate (default: mailbox when offered, else fifo).",
            valueName: "MODE"))
    var present: String?

    @Option(name: .long, help: ArgumentHelp("Audio output: pulse, null, or wav:PATH.", valueName: "AO"))
    var ao = "pulse"

    @Option(
        name: .long,
        help: ArgumentHelp("Master clock: audio, video or external (without a picture: audio).", valueName: "SOURCE"))
    var sync: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Display rate, e.g. 60, 144 or 60000/1001 (default: the screen's refresh with a window, else 60).",
            valueName: "RATE"))
    var displayFps: String?

    @Option(name: .long, help: "Stop after N frames have been shown.")
    var frames: Int?

    @Option(
        name: .long,
        help: ArgumentHelp("Start at this time: seconds (90.5) or [h:]m:ss[.s] (1:30.5); exact.", valueName: "TIME"))
    var start: String?

    @Flag(name: .long, help: "Start paused: the first frame is shown and held (space plays).")
    var pause = false

    @Flag(name: .long, help: "Play again from the start at the end, until quit.")
    var loop = false

    @Flag(name: .long, help: "Seek keys go to the exact time instead of the nearest keyframe in that direction.")
    var hrSeek = false

    @Option(name: .long, help: ArgumentHelp("Volume in percent, 0–100 (cubic, as mpv's).", valueName: "PERCENT"))
    var volume = 100

    @Flag(name: .long, help: "Start muted (m unmutes).")
    var mute = false

    @Option(
        name: .long,
        help: ArgumentHelp("Where s writes reel-shot-NNNN.png (default: the current directory).", valueName: "DIR"))
    var screenshotDir: String?

    @Option(name: .long, help: ArgumentHelp("Write the presentation timeline (JSON Lines) here.", valueName: "PATH"))
    var timeline: String?

    @Option(name: .long, help: ArgumentHelp("Write the statistics (JSON) here at exit.", valueName: "PATH"))
    var stats: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Listen for remote-control JSON lines on this Unix socket (see below).", valueName: "PATH"))
    var ipc: String?

    @Flag(name: .long, help: "Render every frame as fast as possible: no clock, no sound.")
    var untimed = false

    @Option(name: .long, help: ArgumentHelp("Debug: make every render take this long.", valueName: "MS"))
    var renderDelay: Int = 0

    @Option(name: .long, help: ArgumentHelp("Debug: make decoding each frame take this long.", valueName: "MS"))
    var decodeDelay: Int = 0

    @OptionGroup(title: "RTP (an .sdp input)") var rtpOptions: RTPOptions

    @OptionGroup var deviceOptions: DeviceOptions

    @OptionGroup(title: "Producers (a unix:PATH input)") var listenOptions: ListenOptions

    func validate() throws {
        try listenOptions.check(input: input)
        if ListeningInput.path(of: input) != nil {
            let playerOnly: [(String, Bool)] = [
                ("--start", start != nil), ("--pause", pause), ("--loop", loop), ("--ipc", ipc != nil),
                ("--timeline", timeline != nil), ("--sync", sync != nil), ("--hr-seek", hrSeek),
            ]
            if let given = playerOnly.first(where: { $0.1 }) {
                throw ValidationError("\(given.0) does not apply to a unix:PATH input (frames from producers)")
            }
        }
        if let vo, !["window", "offscreen", "none"].contains(vo) {
            throw ValidationError("--vo must be window, offscreen or none")
        }
        if let start, Self.time(start) == nil {
            throw ValidationError("--start must be seconds (90.5) or [h:]m:ss[.s] (1:30.5)")
        }
        if !(0...100).contains(volume) { throw ValidationError("--volume must be from 0 to 100") }
        if let present, PresentMode(rawValue: present) == nil {
            throw ValidationError("--present must be fifo, mailbox or immediate")
        }
        guard AudioOutputChoice(parsing: ao) != nil else {
            throw ValidationError("--ao must be pulse, null or wav:PATH")
        }
        if let sync, SyncSource(rawValue: sync) == nil {
            throw ValidationError("--sync must be audio, video or external")
        }
        if let displayFps, Self.rate(displayFps) == nil {
            throw ValidationError("--display-fps must look like 60 or 60000/1001")
        }
        if let frames, frames < 1 { throw ValidationError("--frames must be at least 1") }
        if renderDelay < 0 { throw ValidationError("--render-delay cannot be negative") }
        if decodeDelay < 0 { throw ValidationError("--decode-delay cannot be negative") }
    }

    /// "90", "90.5", "1:30.5" or "1:02:03" as microseconds.
    static func time(_ text: String) -> Int64? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { return nil }
        var total: Int64 = 0
        for (index, part) in parts.enumerated() {
            let last = index == parts.count - 1
            if last {
                guard let seconds = Double(part), seconds >= 0, seconds.isFinite, parts.count == 1 || seconds < 60
                else { return nil }
                return total * 60_000_000 + Int64((seconds * 1_000_000).rounded())
            }
            guard let whole = Int64(part), whole >= 0, index == 0 || whole < 60 else { return nil }
            total = total * 60 + whole
        }
        return nil
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
        let video: VideoOutputChoice
        var refreshRate: Rational?
        switch vo {
        case "offscreen": video = .offscreen
        case "none": video = .none
        case "window": video = .window(present.flatMap(PresentMode.init(rawValue:)))
        default:
            if VideoWindow.displayAvailable() {
                video = .window(present.flatMap(PresentMode.init(rawValue:)))
            } else {
                FileHandleStream.standardError.write("reel: no display to open a window on; playing offscreen\n")
                video = .offscreen
            }
        }
        if case .window = video, displayFps == nil {
            refreshRate = VideoWindow.screenRefreshRate.map { Rational(Int64($0), 1) }
        }
        if let path = ListeningInput.path(of: input) {
            return try playListening(
                at: path, video: video, rate: displayFps.flatMap(Self.rate) ?? refreshRate ?? Rational(60, 1))
        }
        var parameters = PlaybackParameters(
            input: input, video: video, audio: AudioOutputChoice(parsing: ao),
            sync: sync.flatMap(SyncSource.init(rawValue:)),
            displayRate: displayFps.flatMap(Self.rate) ?? refreshRate ?? Rational(60, 1), frameLimit: frames,
            timelinePath: timeline, untimed: untimed,
            renderDelay: Int64(renderDelay) * 1000, decodeDelay: Int64(decodeDelay) * 1000,
            device: deviceOptions.parameters)
        parameters.startTime = start.flatMap(Self.time)
        parameters.startPaused = pause
        parameters.loop = loop
        parameters.exactSeeks = hrSeek
        parameters.volume = volume
        parameters.muted = mute
        parameters.ipcPath = ipc
        parameters.rtp = rtpOptions.receiver
        parameters.damagedPictures = rtpOptions.damagedPictures
        parameters.showsPicturesBeforeKeyframe = rtpOptions.rtpShowCorrupt
        if let screenshotDir { parameters.screenshotTemplate = "\(screenshotDir)/reel-shot-%n.png" }
        let pipeline = try PlaybackPipeline(parameters: parameters)
        // Ctrl-C and a polite kill stop playback like q: threads joined, exit 0.
        let interrupts = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [controls = pipeline.controls] in controls.stop() }
            source.resume()
            return source
        }
        defer { for source in interrupts { source.cancel() } }
        let reporter = ProgressReporter(
            monitor: pipeline.monitor, controls: pipeline.controls, showsStatusLine: isatty(STDOUT_FILENO) == 1)
        let statistics: PlaybackStatistics
        do {
            statistics = try pipeline.run(onProgress: { reporter.report($0, final: $1) })
        } catch {
            // What played before the error is still reported.
            if let statistics = pipeline.statistics {
                try write(statistics)
                print(Self.status(statistics))
                for line in Self.liveLines(statistics) { print(line) }
            }
            throw error
        }
        if let warning = statistics.audioWarning { FileHandleStream.standardError.write("reel: \(warning)\n") }
        try write(statistics)
        print(Self.status(statistics))
        for line in Self.liveLines(statistics) { print(line) }
        try pipeline.checkValidation()
    }

    /// Frames from producer processes, shown at their time.
    private func playListening(at path: String, video: VideoOutputChoice, rate: Rational) throws {
        let output: SessionParameters.Output
        switch video {
        case .window: output = .window
        case .offscreen: output = .frames(FrameOutput(format: .rgba8))
        case .none: output = .none
        }
        if untimed, case .window = output {
            throw ValidationError("a window shows frames at their time: --untimed needs --vo offscreen or none")
        }
        let listening = ListeningInput(path: path, once: listenOptions.once, device: deviceOptions)
        let report = try listening.run(
            output: output, pacing: untimed ? .everyFrame : .timed(rate: rate), frameLimit: frames)
        print(report.text)
        if let stats { try report.write(to: stats) }
    }

    /// Writes `--stats`, when asked for.
    private func write(_ statistics: PlaybackStatistics) throws {
        guard let stats else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try writeWhole(try encoder.encode(statistics), to: stats) } catch {
            throw CommandError("cannot write the statistics '\(stats)': \(error.localizedDescription)")
        }
    }

    /// A live input's lines after the summary: how it ended, its latency, each stream's counts.
    static func liveLines(_ statistics: PlaybackStatistics) -> [String] {
        var lines: [String] = []
        if let end = statistics.inputEnd { lines.append("input ended: \(end)") }
        if let latency = statistics.receiveToPresent {
            var line = "receive→present \(latency.summary) over \(latency.count) frames"
            if let first = statistics.firstPictureAfter {
                line += String(format: "; first picture %.1f ms after the first packet", Double(first) / 1000)
            }
            lines.append(line)
        }
        lines += statistics.rtp.map { "rtp \($0.summary)" }
        if let damage = damageLine(statistics.damagedPictures) { lines.append(damage) }
        return lines
    }

    /// The one-line summary printed at the end.
    static func status(_ statistics: PlaybackStatistics) -> String {
        let p = statistics.presentation
        var line =
            "presented \(p.presented), dropped \(p.droppedLate), repeated \(p.repeated), skipped \(p.skipped)"
            + " (sync \(statistics.sync))"
        if p.resyncs > 0 { line += ", resynced \(p.resyncs)×" }
        if let offset = statistics.avOffset {
            line += String(
                format: "; A−V mean %.1f ms, p50 %.1f, p95 %.1f, max |%.1f| ms", offset.mean / 1000,
                Double(offset.p50) / 1000, Double(offset.p95) / 1000, Double(offset.maxMagnitude) / 1000)
        }
        line += String(format: "; CPU %.2f s in %.2f s", statistics.cpuSeconds, statistics.wallSeconds)
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

/// What the user sees while playback runs: the live one-line status on the terminal
/// (only when stdout is one), redrawn at each report of the session's observer thread
/// and erased at the end, and the monitor's messages (a screenshot written), one line
/// each on stderr.
///
/// Thread-safety: Confined to the session's observer thread (`report`).
final class ProgressReporter: @unchecked Sendable {
    private let monitor: PlaybackMonitor
    private let controls: PlaybackControls
    private let showsStatusLine: Bool
    private var history: [(time: Int64, rendered: Int)] = []
    private var drawn = false

    init(monitor: PlaybackMonitor, controls: PlaybackControls, showsStatusLine: Bool) {
        self.monitor = monitor
        self.controls = controls
        self.showsStatusLine = showsStatusLine
    }

    /// Prints the messages and redraws the status line; at the end, erases it.
    func report(_ progress: PlaybackProgress, final: Bool) {
        let messages = monitor.takeMessages()
        if drawn && (final || !messages.isEmpty) { FileHandleStream.standardOutput.write("\r\u{1B}[K") }
        for message in messages { FileHandleStream.standardError.write("reel: \(message)\n") }
        guard showsStatusLine, !final else { return }
        let now = HostTime.now()
        history.append((now, progress.rendered))
        history.removeAll { now - $0.time > 1_000_000_000 }
        let rate =
            history.count > 1
            ? Double(progress.rendered - history[0].rendered) * 1e9 / Double(now - history[0].time) : 0
        let controlsText =
            (controls.isPaused ? "  (paused)" : "")
            + (controls.isMuted ? "  muted" : controls.volume < 100 ? "  vol \(controls.volume)%" : "")
        FileHandleStream.standardOutput.write("\r\u{1B}[K" + Self.text(progress, renderRate: rate) + controlsText)
        drawn = true
    }

    /// "0:12.3 / 0:31.0  A−V −0.7 ms  dropped 0  repeated 12  60.0 fps", and for an RTP
    /// session "  video lost 3 late 0 jitter 2.1 ms" per stream.
    static func text(_ progress: PlaybackProgress, renderRate: Double) -> String {
        let p = progress.presentation
        var line = "\(clock(progress.position)) / \(clock(progress.duration))"
        if let offset = progress.avOffset { line += String(format: "  A−V %+.1f ms", Double(offset) / 1000) }
        line += "  dropped \(p.droppedLate)  repeated \(p.repeated)"
        if p.skipped > 0 { line += "  skipped \(p.skipped)" }
        line += String(format: "  %.1f fps", renderRate)
        // A live session: what the network did so far, per stream.
        for stream in progress.rtp {
            line += "  \(stream.stream) lost \(stream.lost) late \(stream.late)"
            line += String(format: " jitter %.1f ms", stream.jitter / 1000)
        }
        return line
    }

    /// Media time as m:ss.s ("--" when unknown).
    static func clock(_ microseconds: Int64?) -> String {
        guard let microseconds else { return "--:--" }
        let tenths = max(0, microseconds) / 100_000
        return String(format: "%d:%02d.%d", tenths / 600, tenths / 10 % 60, tenths % 10)
    }
}
