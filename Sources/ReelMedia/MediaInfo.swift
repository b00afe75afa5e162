import ReelCore

/// What `probe` reports about an input: container and streams.
///
/// Thread-safety: Safe (a value type).
package struct MediaInfo: Sendable, Codable {
    /// The container, as FFmpeg names it (e.g. "mov,mp4,m4a,3gp,3g2,mj2").
    package var format: String
    /// Duration in microseconds, if the container says.
    package var durationMicroseconds: Int64?
    /// Overall bit rate in bits per second, if known.
    package var bitRate: Int64?
    package var streams: [StreamInfo]
}

/// One stream of an input.
package struct StreamInfo: Sendable, Codable {
    package enum Kind: String, Sendable, Codable {
        case video, audio, subtitle, data, attachment, unknown
    }

    package var index: Int
    package var kind: Kind
    package var codec: String
    package var timeBase: String
    /// Duration in microseconds, if the stream says.
    package var durationMicroseconds: Int64?
    /// Frame count the container declares (0 when it does not).
    package var frameCount: Int64
    package var video: VideoStreamInfo?
    package var audio: AudioStreamInfo?
}

package struct VideoStreamInfo: Sendable, Codable {
    package var width: Int
    package var height: Int
    package var displayWidth: Int
    package var displayHeight: Int
    package var pixelFormat: String
    package var sampleAspectRatio: String
    /// Average frame rate as a fraction ("60/1"), if known.
    package var frameRate: String?
    package var framesPerSecond: Double?
    /// Colour metadata as tagged in the stream ("unknown" when untagged).
    package var colorMatrix: String
    package var colorRange: String
    package var colorPrimaries: String
    package var colorTransfer: String
    package var chromaLocation: String
    /// An HDR stream's declared light levels, from its first picture's side data.
    package var hdr: HDRLevels?
}

/// The light levels an HDR stream declares, in cd/m² (nil: not given).
package struct HDRLevels: Sendable, Codable, Equatable {
    package var masteringPeak: Double?
    package var masteringBlack: Double?
    package var maxCLL: Double?
    package var maxFALL: Double?

    package init(_ metadata: HDRMetadata) {
        masteringPeak = metadata.masteringPeak
        masteringBlack = metadata.masteringBlack
        maxCLL = metadata.maxContentLight
        maxFALL = metadata.maxFrameAverageLight
    }
}

package struct AudioStreamInfo: Sendable, Codable {
    package var sampleRate: Int
    package var channels: Int
    package var sampleFormat: String
}
