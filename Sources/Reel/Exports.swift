@_exported public import enum ReelCore.ChromaLocation
@_exported public import struct ReelCore.ColorDescription
@_exported public import enum ReelCore.ColorMatrix
@_exported public import enum ReelCore.ColorPrimaries
@_exported public import enum ReelCore.ColorRange
@_exported public import enum ReelCore.ColorTransfer
@_exported public import struct ReelCore.ColourTarget
@_exported public import enum ReelCore.GamutMapping
@_exported public import struct ReelCore.HDRMetadata
// What `import Reel` shows of the stage modules: the value types its API is made of.
// The stages themselves are implementation; the CLI and the tests, in this package,
// import them directly.
@_exported public import struct ReelCore.MediaTime
@_exported public import enum ReelCore.OutputColour
@_exported public import enum ReelCore.PixelFormat
@_exported public import struct ReelCore.PixelSize
@_exported public import struct ReelCore.Rational
@_exported public import enum ReelCore.ToneMappingCurve
