import ArgumentParser
import Foundation
import ReelCore
import ReelMedia
import ReelNet

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Show an input's container and streams: codec, size, pixel format, frame rate, duration, colour.")

    @Argument(help: "A media file or URL, or an RTP session (FILE.sdp, sdp:PATH, sdp:-, rtp://ADDR:PORT).")
    var input: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        FFmpegLog.configure(verbose: false)
        if SessionDescription.names(input) {
            try describeSession()
            return
        }
        var info = try Demuxer(url: input).info
        // HDR light levels travel in the bitstream: the first picture says them.
        for (index, stream) in info.streams.enumerated()
        where ["smpte2084", "arib-std-b67"].contains(stream.video?.colorTransfer) {
            if let colour = Demuxer.firstPictureColour(url: input), colour.transfer.isHDR {
                info.streams[index].video?.hdr = HDRLevels(colour.hdr)
            }
            break
        }
        if json {
            try printJSON(info)
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
                if let hdr = video.hdr {
                    let nits = { (value: Double) in String(format: "%g", value) }
                    if let peak = hdr.masteringPeak, let black = hdr.masteringBlack {
                        line += ", mastering display \(nits(peak))–\(nits(black)) cd/m²"
                    }
                    if let most = hdr.maxCLL { line += ", MaxCLL \(nits(most))" }
                    if let average = hdr.maxFALL { line += ", MaxFALL \(nits(average))" }
                    if hdr == HDRLevels(HDRMetadata()) { line += ", no mastering display or light levels given" }
                }
            }
            if let audio = stream.audio {
                line += ", \(audio.sampleRate) Hz, \(audio.channels) ch, \(audio.sampleFormat)"
            }
            if let duration = stream.durationMicroseconds { line += ", \(seconds(duration)) s" }
            if stream.frameCount > 0 { line += ", \(stream.frameCount) frames" }
            print(line)
        }
    }

    /// An RTP session: what its description says, without opening a socket (the
    /// pictures' size and the sound's layout come with the stream itself).
    private func describeSession() throws {
        // The same words as play's: the file's own failure, else the input named.
        let text: String
        do { text = try SessionDescription.text(of: input) } catch { throw CommandError(error.description) }
        let description: SessionDescription
        do { description = try SessionDescription(parsing: text, allowMulticast: true) } catch {
            throw CommandError("'\(input)': \(error.description)")
        }
        struct Stream: Encodable {
            var index: Int
            var kind: String
            var encoding: String
            var clockRate: Int
            var payloadType: Int
            var address: String
            var port: Int
            var rtcpPort: Int
        }
        let streams = description.media.enumerated().map { index, media in
            let type = media.payloadTypes.first ?? 0
            return Stream(
                index: index, kind: media.kind.rawValue, encoding: media.encodings[type] ?? "?",
                clockRate: media.clockRate, payloadType: Int(type), address: media.address, port: Int(media.port),
                rtcpPort: Int(media.rtcpPort))
        }
        if json {
            struct Session: Encodable {
                var format = "rtp"
                var streams: [Stream]
            }
            try printJSON(Session(streams: streams))
            return
        }
        print("\(input): RTP session, \(streams.count) stream\(streams.count == 1 ? "" : "s")")
        for stream in streams {
            print(
                "  #\(stream.index) \(stream.kind): \(stream.encoding)/\(stream.clockRate) (payload type "
                    + "\(stream.payloadType)) on \(stream.address):\(stream.port), RTCP \(stream.rtcpPort)")
        }
    }

    /// Prints `value` as JSON, keys sorted, indented.
    private func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    private func seconds(_ microseconds: Int64) -> String {
        String(format: "%.3f", Double(microseconds) / 1e6)
    }
}
