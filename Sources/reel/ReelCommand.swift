import ArgumentParser
import Glibc
import Reel
import ReelAudio
import ReelCore
import ReelFramePool
import ReelMedia
import ReelNet
import ReelTiming
import ReelVulkan
import ReelWindow

@main
struct ReelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reel",
        abstract: "A headless audio/video pipeline: FFmpeg decode → frame pool → Vulkan YCbCr→RGB, timed playback.",
        discussion: """
            Vulkan picks a discrete GPU first, then an integrated one, then a CPU
            implementation (Mesa's lavapipe); --device chooses by name.
            """,
        subcommands: [ProbeCommand.self, RenderCommand.self, BenchCommand.self, PlayCommand.self])
}

/// Options every command that renders shares.
struct DeviceOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("Use the Vulkan device whose name contains NAME (case-insensitive).", valueName: "NAME"))
    var device: String?

    @Flag(
        name: .long,
        help: "Enable the Vulkan validation layer; its errors fail the command (also REEL_VULKAN_VALIDATION=1).")
    var vulkanValidation = false

    @Flag(
        name: .long,
        help: "Copy each frame into a staging buffer even when the GPU can read the frame pool in place.")
    var stagingUpload = false

    @Flag(name: .long, help: "Let FFmpeg print its warnings to stderr.")
    var verbose = false

    var parameters: DeviceParameters {
        let fromEnvironment = getenv("REEL_VULKAN_VALIDATION").map { String(cString: $0) == "1" } ?? false
        return DeviceParameters(
            preferredName: device, validation: vulkanValidation || fromEnvironment, forcesStagingUpload: stagingUpload)
    }
}

/// A one-line error for conditions the CLI itself detects.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension OffscreenPipeline {
    /// Fails the command if the validation layer reported errors, listing them on stderr.
    func checkValidation() throws {
        let errors = validationErrors
        guard !errors.isEmpty else { return }
        for error in errors { FileHandleStream.standardError.write("vulkan validation: \(error)\n") }
        throw CommandError("the Vulkan validation layer reported \(errors.count) error(s)")
    }
}
