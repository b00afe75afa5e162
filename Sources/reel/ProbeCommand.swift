import ArgumentParser
import Foundation
import ReelMedia

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Show an input's container and streams: codec, size, pixel format, frame rate, duration, colour.")

    @Argument(help: "A media file or URL.")
    var input: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        FFmpegLog.configure(verbose: false)
        let info = try Demuxer(url: input).info
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(info), as: UTF8.self))
            return
        }
        print(
            "\(input): \(info.format)" + (info.durationMicroseconds.map { ", \(seconds($0)) s" } ?? "")
                + (info.bitRate.map { ", \($0 / 1000) kb/s" } ?? ""))
        for stream in info.streams {
            var line = "  #\(stream.index) \(stream.kind.rawValue): \(stream.codec)"
            if let video = stream.video {
                line += ", \(video.width)x\(video.height)"
                if video.displayWidth != video.width || video.displayHeight != video.height {
                    line += " (display \(video.displayWidth)x\(video.displayHeight), SAR \(video.sampleAspectRatio))"
                }
                line += ", \(video.pixelFormat)"
                if let fps = video.framesPerSecond { line += ", \(String(format: "%.3f", fps)) fps" }
                line +=
                    ", colour \(video.colorMatrix)/\(video.colorRange)/\(video.colorPrimaries)/\(video.colorTransfer)"
                line += ", chroma \(video.chromaLocation)"
            }
            if let audio = stream.audio {
                line += ", \(audio.sampleRate) Hz, \(audio.channels) ch, \(audio.sampleFormat)"
            }
            if let duration = stream.durationMicroseconds { line += ", \(seconds(duration)) s" }
            if stream.frameCount > 0 { line += ", \(stream.frameCount) frames" }
            print(line)
        }
    }

    private func seconds(_ microseconds: Int64) -> String {
        String(format: "%.3f", Double(microseconds) / 1e6)
    }
}
