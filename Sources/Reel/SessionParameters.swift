import Logging

/// What a `Session` plays and where its pictures go.
///
/// Thread-safety: Safe (a value type).
public struct SessionParameters: Sendable {
    /// Where frames come from.
    public enum Source: Sendable {
        /// The application pushes frames (`Session.lease(for:)`, `Session.push(_:planes:at:)`).
        case pushed
        /// A file path or a URL FFmpeg can open.
        case file(String)
        /// An RTP session: an SDP file's path (`.sdp`), an SDP's text, or `rtp://` URL.
        case stream(String)
        /// Frames pushed by other processes (`RemoteProducer`): the session listens on a
        /// Unix socket at this path and lends each producer that connects a sealed shared
        /// pool (Reel's cross-process pool protocol). It ends on `Session.stop()` or
        /// `Session.finishInput()` (no more producers; frames published are shown), and
        /// with `once`, also when its first producer leaves (says bye, hangs up, dies or is
        /// cut off for a bad message).
        case listening(String, once: Bool = false)
    }

    /// Where rendered pictures go.
    public enum Output: Sendable {
        /// Rendered into host memory and handed to the application (`Session.frames`).
        case frames(FrameOutput)
        /// A window on the desktop (a capture tool's preview), with timed pacing. Make
        /// such a session on the main thread and serve its window there with
        /// `Session.runWindow()`.
        case window
        /// Nowhere: frames are timed and counted, and dropped at their time.
        case none
    }

    /// When frames are rendered.
    public enum Pacing: Sendable, Equatable {
        /// At their presentation time, on the ticks of a display refreshing `rate` times a
        /// second: a frame whose time has passed when a newer one is due is dropped (and
        /// counted), as a player does. The clock starts at the first frame.
        case timed(rate: Rational)
        /// Every frame, in order, as soon as it is ready: for converters. A slow consumer
        /// makes the session wait, and the producer with it.
        case everyFrame
    }

    /// Where the sound goes. With sound, the sound is the master clock and the pictures
    /// follow it, as in the player.
    public enum Audio: Sendable {
        /// No sound: the pictures follow their own clock.
        case none
        /// The system's sound server (PulseAudio); where there is none, the session
        /// plays on silently at the real rate and logs why.
        case system
        /// The application's own sink, at the pace of a sound card.
        case application(any AudioSink)
    }

    /// Which Vulkan device renders.
    public enum Device: Sendable, Equatable {
        /// A discrete GPU first, then an integrated one, then a CPU implementation.
        case automatic
        /// The first device whose name contains this text (case-insensitive).
        case named(String)
    }

    public var source: Source
    public var output: Output
    public var pacing: Pacing
    public var device: Device
    /// Enable the Vulkan validation layer; what it reports is in `SessionStatistics.validationErrors`.
    public var validation: Bool
    /// Pool slots per frame description of pushed frames: how many frames the producer
    /// may be ahead of the display before `Session.lease(for:)` suspends.
    public var pushedSlots: Int
    /// Where the session says what it does: its start (device, pacing, output) and its
    /// end (frames in, rendered, dropped) at `.info`, a failure at `.error`, and the
    /// Vulkan validation layer's messages (with `validation`) at `.warning` and `.error`.
    /// Never from the display thread while it ticks (a handler may write to a file). Nil:
    /// nothing is logged.
    public var logger: Logger?
    /// Where sound goes: a file's or stream's, or what the application pushes
    /// (`Session.push(audio:format:at:)`).
    public var audio: Audio
    /// The frames the application will push (`.pushed` only), one description per
    /// format and size: for each, a pool is made and the pass compiled and run once on a
    /// black picture while the session starts, so that the first frame of each is shown
    /// on time. A description not named here is prepared at its first frame, which then
    /// waits for the driver's compiler (tens of milliseconds on a CPU driver, once per
    /// description).
    public var expectedFrames: [FrameDescription] = []

    public init(
        source: Source = .pushed, output: Output = .frames(FrameOutput()), pacing: Pacing = .everyFrame,
        device: Device = .automatic, validation: Bool = false, pushedSlots: Int = 8, logger: Logger? = nil,
        audio: Audio = .none
    ) {
        self.logger = logger
        self.audio = audio
        self.source = source
        self.output = output
        self.pacing = pacing
        self.device = device
        self.validation = validation
        self.pushedSlots = pushedSlots
    }
}

/// How rendered frames are handed to the application.
///
/// Thread-safety: Safe (a value type).
public struct FrameOutput: Sendable {
    /// The pixel layout of rendered frames.
    public enum Format: String, Sendable, CaseIterable {
        /// 8 bits a channel, R first.
        case rgba8
        /// 8 bits a channel, B first (what window systems and many encoders take).
        case bgra8
        /// 16 bits a channel, native-endian, R first: keeps 10-bit sources' precision.
        case rgba16
    }

    public var format: Format
    /// The size frames are rendered at; nil: each frame's display size. A picture of
    /// another aspect is fitted inside, with black bars.
    public var size: PixelSize?
    /// Output buffers: rendered frames the application may hold at once, plus those
    /// being rendered. The memory is bounded by it whatever the consumer does.
    public var buffers: Int
    /// What the pixels mean: SDR BT.709 by default, HDR (PQ, HLG) pictures tone-mapped;
    /// or HDR10 or linear light (with `.rgba16`).
    public var colour: ColourTarget

    public init(
        format: Format = .rgba8, size: PixelSize? = nil, buffers: Int = 4, colour: ColourTarget = ColourTarget()
    ) {
        self.format = format
        self.size = size
        self.buffers = max(2, buffers)
        self.colour = colour
    }
}
