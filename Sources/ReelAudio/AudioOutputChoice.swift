import ReelCore

/// The `--ao` choice: `pulse`, `null` or `wav:PATH`.
///
/// Thread-safety: Safe (a value type).
package enum AudioOutputChoice: Equatable, Sendable, CustomStringConvertible {
    case pulse
    case null
    case wav(path: String)

    /// Parses `pulse`, `null` or `wav:PATH`; nil for anything else.
    package init?(parsing text: String) {
        switch text {
        case "pulse": self = .pulse
        case "null": self = .null
        default:
            guard text.hasPrefix("wav:"), text.count > 4 else { return nil }
            self = .wav(path: String(text.dropFirst(4)))
        }
    }

    package var description: String {
        switch self {
        case .pulse: "pulse"
        case .null: "null"
        case .wav(let path): "wav:\(path)"
        }
    }

    /// Opens the output for `format`. When PulseAudio is missing or refuses, playback
    /// goes on with the null output and `warning` says why; a WAV file that cannot be
    /// written is an error (the user asked for that file).
    /// `clock` paces the null and WAV outputs (a test's virtual time); a sound server
    /// keeps its own. Should the server go away later, the sound goes on to the null
    /// output until it is back (`ReconnectingOutput`), and `notice` says so (on the
    /// audio thread).
    package func open(
        format: AudioFormat, pulseServer: String? = nil, clock: OutputClock = MonotonicClock(),
        notice: @escaping (String) -> Void = { _ in }
    ) throws(AudioError) -> (output: AudioOutput, warning: String?) {
        switch self {
        case .null: return (NullOutput(format: format, clock: clock), nil)
        case .wav(let path): return (try WAVOutput(path: path, format: format, clock: clock), nil)
        case .pulse:
            do {
                let output = try ReconnectingOutput(format: format, notice: notice) { () throws(AudioError) in
                    try PulseOutput(format: format, server: pulseServer)
                }
                return (output, nil)
            } catch {
                return (NullOutput(format: format), "\(error.description); playing on without sound (--ao null)")
            }
        }
    }
}
