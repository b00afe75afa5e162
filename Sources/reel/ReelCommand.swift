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

            Exit status, for every command: 0 success; 1 an input, device or runtime
            error (one line on stderr says what); 2 a usage error (an unknown option, a
            value out of range, options that do not go together).
            """,
        subcommands: [ProbeCommand.self, RenderCommand.self, BenchCommand.self, PlayCommand.self])

    /// The exit status of a usage error (ArgumentParser's own is EX_USAGE, 64).
    static let usageStatus: Int32 = 2

    /// Parses and runs the command; errors end the process with one of the statuses
    /// the help gives.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let status = exitCode(for: error)
            let message = fullMessage(for: error)
            if status == .success {
                // --help, --version: asked for, on stdout.
                if !message.isEmpty { print(message) }
                Glibc.exit(0)
            }
            if !message.isEmpty { FileHandleStream.standardError.write(message + "\n") }
            Glibc.exit(status == .validationFailure ? usageStatus : status.rawValue)
        }
    }
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

    @Option(
        name: .long,
        help: ArgumentHelp(
            "How HDR (PQ, HLG) highlights above the target's peak are brought in: bt2390 (ITU-R BT.2390's EETF, the default), clip, hable or none.",
            valueName: "CURVE"))
    var toneMapping: ToneMappingCurve = .bt2390

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The output's peak in cd/m² that HDR pictures are tone-mapped to (default 203, where SDR white sits).",
            valueName: "NITS"))
    var targetPeak: Double = 203

    @Option(
        name: .long,
        help: ArgumentHelp(
            "How BT.2020 colours outside BT.709 are brought in: perceptual (hue kept, in Oklab; the default) or clip (per channel).",
            valueName: "MODE"))
    var gamutMapping: GamutMapping = .perceptual

    func validate() throws {
        guard ColourTarget.peakRange.contains(targetPeak) else {
            throw ValidationError("--target-peak must be from 10 to 10000 cd/m², not \(targetPeak)")
        }
    }

    var parameters: DeviceParameters {
        let fromEnvironment = getenv("REEL_VULKAN_VALIDATION").map { String(cString: $0) == "1" } ?? false
        return DeviceParameters(
            preferredName: device, validation: vulkanValidation || fromEnvironment, forcesStagingUpload: stagingUpload,
            colour: ColourTarget(peak: targetPeak, toneMapping: toneMapping, gamutMapping: gamutMapping))
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

extension ToneMappingCurve: ExpressibleByArgument {}
extension GamutMapping: ExpressibleByArgument {}
extension OutputColour: ExpressibleByArgument {}
