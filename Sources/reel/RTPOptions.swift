import ArgumentParser
import Reel
import ReelAudio
import ReelCore
import ReelFramePool
import ReelMedia
import ReelNet
import ReelTiming
import ReelVulkan
import ReelWindow

/// How an RTP session (an `.sdp` input) is received: `play`'s options.
struct RTPOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "RTP: how long a packet may wait for those before it (reordering budget; default 50).",
            valueName: "MS"))
    var latency: Int = 50

    @Option(
        name: .customLong("rtp-timeout"),
        help: ArgumentHelp("RTP: end after this long without packets (default 10).", valueName: "SECONDS"))
    var rtpTimeout: Double = 10

    @Option(
        name: .long,
        help: ArgumentHelp(
            "RTP: bind this local address instead of the SDP's connection address (0.0.0.0: all).",
            valueName: "ADDR"))
    var bind: String?

    @Option(
        name: .customLong("rtp-source"),
        help: ArgumentHelp("RTP: accept packets only from this sender.", valueName: "ADDR[:PORT]"))
    var rtpSource: String?

    @Flag(name: .customLong("rtp-allow-multicast"), help: "RTP: join the multicast group the SDP names.")
    var rtpAllowMulticast = false

    @Option(
        name: .customLong("rtp-loss"),
        help: ArgumentHelp(
            "RTP: a picture with packets lost is shown with the gaps concealed (conceal), or the picture "
                + "before stays until the next keyframe (freeze).",
            valueName: "conceal|freeze"))
    var rtpLoss: String = "conceal"

    @Flag(
        name: .customLong("rtp-show-corrupt"),
        help: "RTP: joined between keyframes, show pictures at once instead of from the first keyframe.")
    var rtpShowCorrupt = false

    func validate() throws {
        if !(0...10_000).contains(latency) { throw ValidationError("--latency must be from 0 to 10000 ms") }
        if DamagedPictures(rawValue: rtpLoss) == nil {
            throw ValidationError("--rtp-loss must be conceal or freeze, not '\(rtpLoss)'")
        }
        if !(rtpTimeout > 0 && rtpTimeout <= 86_400) {
            throw ValidationError("--rtp-timeout must be more than 0 and at most 86400 s")
        }
    }

    var receiver: ReceiverOptions {
        var options = ReceiverOptions()
        options.latency = Int64(latency) * 1000
        options.timeout = Int64((rtpTimeout * 1e6).rounded())
        options.bindAddress = bind
        options.pinnedSource = rtpSource
        options.allowMulticast = rtpAllowMulticast
        return options
    }

    /// What becomes of damaged pictures.
    var damagedPictures: DamagedPictures { DamagedPictures(rawValue: rtpLoss) ?? .concealed }
}
