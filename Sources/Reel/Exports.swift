// The Reel library is what applications embed: it re-exports the value types and
// stage parameters that appear in its API, so one `import Reel` is enough.
@_exported public import ReelAudio
@_exported public import ReelCore
@_exported public import ReelMedia
@_exported public import ReelNet
@_exported public import ReelTiming
@_exported public import ReelVulkan
@_exported public import ReelWindow
