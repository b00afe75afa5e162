import Foundation
import ReelMedia
import ReelTestSupport
import Testing

/// HDR through the CLI: probe says the transfer, primaries and light levels; render
/// tone-maps by default and writes HDR10 or linear light as 16-bit PNGs on request; the
/// options refuse what makes no sense.
@Suite struct HDRCommandTests {
    @Test func probeShowsTransferPrimariesAndLightLevels() throws {
        let text = try ReelCLI.run(["probe", "\(fixtures)/hdr10-pq.mkv"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("bt2020nc/tv/bt2020/smpte2084"), "\(text.stdout)")
        #expect(text.stdout.contains("mastering display 1000–0.005 cd/m², MaxCLL 1000, MaxFALL 400"), "\(text.stdout)")
        let hlg = try ReelCLI.run(["probe", "\(fixtures)/hdr-hlg.mkv"])
        #expect(hlg.stdout.contains("arib-std-b67, chroma left, no mastering display or light levels given"))

        struct Probe: Decodable {
            struct Stream: Decodable {
                struct Video: Decodable {
                    var colorTransfer: String
                    var colorPrimaries: String
                    var hdr: Levels?
                }
                struct Levels: Decodable, Equatable {
                    var masteringPeak: Double?
                    var masteringBlack: Double?
                    var maxCLL: Double?
                    var maxFALL: Double?
                }
                var video: Video?
            }
            var streams: [Stream]
        }
        let json = try ReelCLI.run(["probe", "\(fixtures)/hdr10-pq.mkv", "--json"])
        let video = try #require(try JSONDecoder().decode(Probe.self, from: Data(json.stdout.utf8)).streams[0].video)
        #expect(video.colorTransfer == "smpte2084" && video.colorPrimaries == "bt2020")
        #expect(
            video.hdr == Probe.Stream.Levels(masteringPeak: 1000, masteringBlack: 0.005, maxCLL: 1000, maxFALL: 400))
        let sdr = try ReelCLI.run(["probe", "\(fixtures)/sdr-bt2020.mkv", "--json"])
        #expect(!sdr.stdout.contains("\"hdr\""))
    }

    /// Default render: tone-mapped 8-bit PNGs (the 1000 cd/m² grey patch white, the 0.1 one
    /// near black); --output-colour hdr10: 16-bit PNGs holding the PQ signal (1000 cd/m²
    /// at 0.7518 of full scale, ST 2084's value).
    @Test func renderWritesToneMappedOrHDRPictures() throws {
        let out = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let sdr = try ReelCLI.run(["render", "\(fixtures)/hdr10-pq.mkv", "--out", "\(out)/sdr", "--frames", "1"])
        #expect(sdr.status == 0, "\(sdr.stderr)")
        let picture = try ImageReader.readRGBA("\(out)/sdr/frame-000001.png")
        func grey(_ patch: Int) -> UInt8 { picture.pixels[(30 * 320 + patch * 20 + 10) * 4] }
        #expect(grey(15) == 255 && grey(1) < 16, "\(grey(15)), \(grey(1))")

        let hdr = try ReelCLI.run([
            "render", "\(fixtures)/hdr10-pq.mkv", "--out", "\(out)/hdr", "--frames", "1", "--output-colour", "hdr10",
        ])
        #expect(hdr.status == 0, "\(hdr.stderr)")
        try ffmpeg(["-i", "\(out)/hdr/frame-000001.png", "-f", "rawvideo", "-pix_fmt", "rgb48le", "\(out)/hdr.raw"])
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(out)/hdr.raw")))
        #expect(bytes.count == 320 * 180 * 6)
        func red(x: Int, y: Int) -> Double {
            let at = (y * 320 + x) * 6
            return Double(UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8) / 65535
        }
        // 10-bit code values: within one code (1/1023) of ST 2084's signal.
        #expect(abs(red(x: 310, y: 30) - 0.7518) < 0.001, "\(red(x: 310, y: 30))")
        #expect(abs(red(x: 170, y: 30) - 0.5806) < 0.001, "\(red(x: 170, y: 30))")
        let probe = try runToEnd(
            "/usr/bin/ffprobe",
            ["-v", "error", "-show_entries", "stream=pix_fmt", "-of", "csv=p=0", "\(out)/hdr/frame-000001.png"])
        #expect(probe.output.trimmingCharacters(in: .whitespacesAndNewlines) == "rgba64be")
    }

    @Test(arguments: [
        ["--target-peak", "5"], ["--target-peak", "20000"], ["--tone-mapping", "reinhard"],
        ["--gamut-mapping", "warn"],
    ])
    func refusesNonsense(options: [String]) throws {
        let out = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = try ReelCLI.run(["render", "\(fixtures)/hdr10-pq.mkv", "--out", out] + options)
        #expect(result.status == 2, "\(options): \(result.stderr)")
        #expect(result.stderr.contains(options[0]), "\(result.stderr)")
    }
}
