public import ReelCore

/// The `--ao` choice: `pulse`, `null` or `wav:PATH`.
///
/// Thread-safety: Safe (a value type).
public enum AudioOutputChoice: Equatable, Sendable, CustomStringConvertible {
    case pulse
    case null
    case wav(path: String)

    /// Parses `pulse`, `null` or `wav:PATH`; nil for anything else.
    public init?(parsing text: String) {
        switch text {
        case "pulse": self = .pulse
        case "null": self = .null
        default:
            guard text.hasPrefix("wav:"), text.count > 4 else { return nil }
            self = .wav(path: String(text.dropFirst(4)))
        }
    }

    public var description: String {
        switch self {
        case .pulse: "pulse"
        case .null: "null"
        case .wav(let path): "wav:\(path)"
        }
    }

    /// Opens the output for `format`. When PulseAudio is missing or refuses, playback
    /// goes on with the null output and `warning` says why; a WAV file that cannot be
    /// written is an error (the user asked for that file).
    public func open(
        format: AudioFormat, pulseServer: String? = nil
    ) throws(AudioError) -> (output: AudioOutput, warning: String?) {
        switch self {
        case .null: return (NullOutput(format: format), nil)
        case .wav(let path): return (try WAVOutput(path: path, format: format), nil)
        case .pulse:
            do {
                return (try PulseOutput(format: format, server: pulseServer), nil)
            } catch {
                return (NullOutput(format: format), "\(error.description); playing on without sound (--ao null)")
            }
        }
    }
}

/// The audio clock: where playback is, from what was written and what the output
/// still holds. Media time of the last frame written's end, minus the queued frames'
/// duration, at the moment the output is asked.
///
/// Thread-safety: Unsafe; the audio thread owns it (it hands anchors to the master clock).
public struct AudioClock: Sendable {
    public let format: AudioFormat
    /// Media time (µs) just after the last frame written.
    public private(set) var writtenEnd: Int64?

    public init(format: AudioFormat) { self.format = format }

    /// Records a chunk of `frames` frames starting at media time `start` (µs; nil:
    /// right after the previous chunk).
    public mutating func wrote(frames: Int, startingAt start: Int64?) {
        let begin = start ?? writtenEnd ?? 0
        writtenEnd = begin + format.microseconds(ofFrames: Int64(frames))
    }

    /// Media time (µs) being heard when the output holds `queuedFrames`; nil before
    /// anything was written.
    public func media(queuedFrames: Int64) -> Int64? {
        writtenEnd.map { $0 - format.microseconds(ofFrames: queuedFrames) }
    }
}
