import Foundation
import ReelAudio
import ReelCore
import ReelMedia
import ReelNet
import ReelTiming
import ReelVulkan

/// Where video goes (`--vo`).
package enum VideoOutputChoice: Sendable, Equatable {
    /// Rendered into host memory at each tick (tests, headless machines).
    case offscreen
    /// A window with a Vulkan swapchain; nil mode: mailbox when offered, else FIFO.
    case window(PresentMode?)
    /// No picture: frames are decoded and timed, and dropped at their time (sound only).
    case none
}

/// What a timed playback should do.
package struct PlaybackParameters: Sendable {
    package var input: String
    package var video: VideoOutputChoice
    /// Where sound goes; nil plays no sound even when the input has some.
    package var audio: AudioOutputChoice?
    /// The PulseAudio server for `.pulse` (nil: the default one).
    package var pulseServer: String?
    /// The clock the others follow; nil: audio when there is audio, else video.
    package var sync: SyncSource?
    /// The virtual display's refresh rate.
    package var displayRate: Rational
    /// Stop after this many frames have been shown.
    package var frameLimit: Int?
    /// Write one JSON line per presented frame and per audio chunk here.
    package var timelinePath: String?
    /// Render every frame as soon as it is decoded, with no clock and no sound: the
    /// pipeline's own speed (what `bench` measures).
    package var untimed: Bool
    /// Debug: spend this long (µs) in every render, to show frames being dropped.
    package var renderDelay: Int64
    /// Debug: spend this long (µs) after decoding each frame, to show frames repeated.
    package var decodeDelay: Int64
    package var device: DeviceParameters
    /// Where playback starts (µs on the media timeline); nil: the beginning. Exact: the
    /// frame at that time is the first shown.
    package var startTime: Int64?
    /// Start paused (`--pause`): the first frame is shown and held.
    package var startPaused = false
    /// Start again at the end (`--loop`), until stopped.
    package var loop = false
    /// Whether the window's seek keys seek exactly (`--hr-seek`) rather than to a keyframe.
    package var exactSeeks = false
    /// Volume in percent (0–100) and mute at the start; the keys change them.
    package var volume = 100
    package var muted = false
    /// Listen for remote-control JSON lines on a Unix socket here (`--ipc`); see `RemoteCommand`.
    package var ipcPath: String?
    /// How an RTP session (an `.sdp` input) is received: latency, timeout, addresses.
    package var rtp = ReceiverOptions()
    /// A live stream's damaged pictures: shown concealed, or frozen until a keyframe.
    package var damagedPictures = DamagedPictures.concealed
    /// A live stream joined between keyframes: its pictures are shown at once (broken
    /// until the next keyframe) instead of from the first keyframe.
    package var showsPicturesBeforeKeyframe = false
    /// Screenshot file names: `%n` becomes the first 4-digit number not yet taken.
    package var screenshotTemplate = "reel-shot-%n.png"
    /// The embedding API's output: with `.offscreen`, rendered frames are lent to the
    /// application through this channel (`Session.frames`) instead of `onFrame`.
    var frames: (output: FrameOutput, channel: FrameChannel)?
    /// The embedding API's sound: with `audio` set, the sound goes to this sink instead.
    var applicationAudio: (any AudioSink)?

    package init(
        input: String, video: VideoOutputChoice = .offscreen, audio: AudioOutputChoice? = .pulse,
        pulseServer: String? = nil, sync: SyncSource? = nil,
        displayRate: Rational = Rational(60, 1), frameLimit: Int? = nil, timelinePath: String? = nil,
        untimed: Bool = false, renderDelay: Int64 = 0, decodeDelay: Int64 = 0,
        device: DeviceParameters = DeviceParameters()
    ) {
        self.input = input
        self.video = video
        self.audio = audio
        self.pulseServer = pulseServer
        self.sync = sync
        self.displayRate = displayRate
        self.frameLimit = frameLimit
        self.timelinePath = timelinePath
        self.untimed = untimed
        self.renderDelay = renderDelay
        self.decodeDelay = decodeDelay
        self.device = device
    }
}
