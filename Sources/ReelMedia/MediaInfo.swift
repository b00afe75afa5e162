import ReelCore

/// What `probe` reports about an input: container and streams.
///
/// Thread-safety: Safe (a value type).
public struct MediaInfo: Sendable, Codable {
    /// The container, as FFmpeg names it (e.g. "mov,mp4,m4a,3gp,3g2,mj2").
    public var format: String
    /// Duration in microseconds, if the container says.
    public var durationMicroseconds: Int64?
    /// Overall bit rate in bits per second, if known.
    public var bitRate: Int64?
    public var streams: [StreamInfo]
}

/// One stream of an input.
public struct StreamInfo: Sendable, Codable {
    public enum Kind: String, Sendable, Codable {
        case video, audio, subtitle, data, attachment, unknown
    }

    public var index: Int
    public var kind: Kind
    public var codec: String
    public var timeBase: String
    /// Duration in microseconds, if the stream says.
    public var durationMicroseconds: Int64?
    /// Frame count the container declares (0 when it does not).
    public var frameCount: Int64
    public var video: VideoStreamInfo?
    public var audio: AudioStreamInfo?
}

public struct VideoStreamInfo: Sendable, Codable {
    public var width: Int
    public var height: Int
    public var displayWidth: Int
    public var displayHeight: Int
    public var pixelFormat: String
    public var sampleAspectRatio: String
    /// Average frame rate as a fraction ("60/1"), if known.
    public var frameRate: String?
    public var framesPerSecond: Double?
    /// Colour metadata as tagged in the stream ("unknown" when untagged).
    public var colorMatrix: String
    public var colorRange: String
    public var colorPrimaries: String
    public var colorTransfer: String
    public var chromaLocation: String
}

public struct AudioStreamInfo: Sendable, Codable {
    public var sampleRate: Int
    public var channels: Int
    public var sampleFormat: String
}
