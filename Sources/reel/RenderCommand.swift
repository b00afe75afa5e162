import ArgumentParser
import Foundation
import Glibc
import Reel
import ReelCore
import ReelMedia

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render a video's frames offscreen through Vulkan and write them as PNG files.",
        discussion: """
            Writes DIR/frame-000001.png, frame-000002.png, … in presentation order, at the
            video's display size (coded size stretched by its sample aspect ratio) unless
            --size says otherwise; the picture keeps its aspect, with black bars.
            A damaged input: every frame that decodes is written, then the command fails.
            """)

    @Argument(help: "A media file or URL.")
    var input: String

    @Option(
        name: .long,
        help: ArgumentHelp("Directory for the PNG files (created, with parents, if missing).", valueName: "DIR"))
    var out: String

    @Option(name: .long, help: "Render at most N frames.")
    var frames: Int?

    @Option(name: .long, help: ArgumentHelp("Output size, e.g. 640x360.", valueName: "WxH"))
    var size: String?

    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        if let frames, frames < 1 { throw ValidationError("--frames must be at least 1") }
        if let size, PixelSize(parsing: size) == nil { throw ValidationError("--size must look like 640x360") }
    }

    func run() throws {
        FFmpegLog.configure(verbose: deviceOptions.verbose)
        try makeDirectory(out)
        let pipeline = try OffscreenPipeline(
            parameters: OffscreenParameters(
                input: input, frameLimit: frames, outputSize: size.flatMap(PixelSize.init(parsing:)),
                device: deviceOptions.parameters))
        let writer = try PNGWriter()
        var written = 0
        defer { print("wrote \(written) frame(s) to \(out)") }
        _ = try pipeline.run { frame in
            let path = "\(out)/frame-\(String(format: "%06d", frame.index + 1)).png"
            try frame.image.writePNG(with: writer, to: path)
            written += 1
        }
        try pipeline.checkValidation()
    }

    /// Creates `path` and any missing parents, like `mkdir -p`; each failure names the
    /// component and the system's reason.
    private func makeDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw CommandError("cannot create '\(prefix)': \(String(cString: strerror(errno)))")
            }
            var status = stat()
            guard stat(prefix, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
                throw CommandError("'\(prefix)' exists and is not a directory")
            }
            prefix += "/"
        }
    }
}
