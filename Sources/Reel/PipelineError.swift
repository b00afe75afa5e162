import ReelAudio
import ReelMedia
import ReelVulkan

/// Any failure of a Reel pipeline, by the stage it came from.
///
/// `description` is one line, fit for a CLI's error message.
package enum PipelineError: Error, CustomStringConvertible, Sendable {
    case media(MediaError)
    case render(RenderError)
    case audio(AudioError)
    /// The request cannot be met with this input (e.g. audio sync without audio).
    case unsuitable(String)

    package var description: String {
        switch self {
        case .media(let error): error.description
        case .render(let error): error.description
        case .audio(let error): error.description
        case .unsuitable(let message): message
        }
    }
}
