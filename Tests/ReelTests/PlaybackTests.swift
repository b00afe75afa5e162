import Foundation
import Reel
import ReelAudio
import ReelCore
import ReelFramePool
import ReelMedia
import ReelNet
import ReelTestSupport
import ReelTiming
import ReelVulkan
import Synchronization
import Testing

/// Plays the sync fixtures in real time, headless, and measures A−V from what was
/// shown and heard: flashes found in the rendered pixels, beeps at their known media
/// instants, both placed on the host clock by the timeline.
@Suite(.serialized) struct PlaybackTests {
    /// One line of `--timeline` JSON Lines.
    struct Line: Decodable {
        var type: String
        var pts: Int64
        var shown: Int64?
        var played: Int64?

        enum CodingKeys: String, CodingKey {
            case type
            case pts = "pts_us"
            case shown = "shown_us"
            case played = "played_us"
        }
    }

    /// A−V offsets (ms) at each flash: when the flash was shown minus when the nearest
    /// beep was heard. With a WAV output the beeps are found in the samples written;
    /// otherwise they are taken at their media instants, `beepDelay` after each flash.
    static func measure(
        _ fixture: String, audio: AudioOutputChoice, beepDelay: Int64 = 0, pulseServer: String? = nil,
        sync: SyncSource? = nil, frameLimit: Int? = nil, renderDelay: Int64 = 0, decodeDelay: Int64 = 0,
        audioLinesSeen: (([Line]) -> Void)? = nil, videoLinesSeen: (([Line]) -> Void)? = nil
    ) throws -> (offsets: [Double], statistics: PlaybackStatistics) {
        let timelinePath = FileManager.default.temporaryDirectory
            .appendingPathComponent("reel-timeline-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: timelinePath) }
        let pipeline = try PlaybackPipeline(
            parameters: PlaybackParameters(
                input: "\(fixtures)/\(fixture)", audio: audio, pulseServer: pulseServer, sync: sync,
                frameLimit: frameLimit, timelinePath: timelinePath, renderDelay: renderDelay,
                decodeDelay: decodeDelay, device: DeviceParameters(validation: true)))
        let flashes = Locked<Set<Int64>>([])
        let statistics = try pipeline.run { frame in
            // Mean red over the picture: white flash ≈ 255, black ≈ 16.
            let pixels = frame.image.copyPixels()
            var sum = 0
            for index in stride(from: 0, to: pixels.count, by: 4) { sum += Int(pixels[index]) }
            if sum / max(1, pixels.count / 4) > 128, let time = frame.presentationTime?.microseconds {
                flashes.withLock { _ = $0.insert(time) }
            }
        }
        let lines = try String(contentsOfFile: timelinePath, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(Line.self, from: Data($0.utf8))
        }
        var shown: [Int64: Int64] = [:]
        for line in lines where line.type == "video" { shown[line.pts] = shown[line.pts] ?? line.shown }
        let audioLines = lines.filter { $0.type == "audio" }.sorted { $0.pts < $1.pts }
        audioLinesSeen?(audioLines)
        videoLinesSeen?(lines.filter { $0.type == "video" })
        func heard(_ media: Int64) -> Int64? {
            guard let line = audioLines.last(where: { $0.pts <= media }) else { return nil }
            return line.played! + (media - line.pts)
        }
        let flashTimes = flashes.withLock { $0 }.sorted()
        var beeps = flashTimes.map { $0 + beepDelay }
        if case .wav(let path) = audio, let first = audioLines.first {
            beeps = try beepOnsets(inWAV: path).map { first.pts + $0 }
        }
        let offsets = flashTimes.compactMap { flash -> Double? in
            guard let shownAt = shown[flash],
                let beep = beeps.min(by: { abs($0 - flash) < abs($1 - flash) }), abs(beep - flash) < 500_000,
                let heardAt = heard(beep)
            else { return nil }
            return Double(shownAt - heardAt) / 1000
        }
        return (offsets, statistics)
    }

    /// Media offsets (µs from the file's first sample) where a beep starts: the first
    /// loud sample after at least 0.5 s of silence.
    static func beepOnsets(inWAV path: String) throws -> [Int64] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let samples = data[44...].withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        var onsets: [Int64] = []
        var quietSince = 0
        for (index, sample) in samples.enumerated() {
            if abs(Int(sample)) > 3000 {
                if index - quietSince > 24000 { onsets.append(Int64(index) * 1_000_000 / 48000) }
                quietSince = index
            }
        }
        return onsets
    }

    @Test func flashesMeetBeepsWithNullAudio() throws {
        let (offsets, statistics) = try Self.measure("sync-flash-beep.mp4", audio: .null, beepDelay: 0)
        print("A−V (null): \(offsets.count) flashes, \(summary(offsets)); \(statistics.presentation)")
        #expect(offsets.count >= 25, "\(offsets.count) flashes matched (a flash frame can be dropped under load)")
        let mean = offsets.reduce(0, +) / Double(max(1, offsets.count))
        #expect(abs(mean) <= 10, "mean A−V \(mean) ms")
        // Within a frame interval, but for a tick or two that a busy machine wakes late.
        #expect(offsets.filter { abs($0) > 1000.0 / 30 }.count <= 2, "offsets \(offsets)")
        #expect(offsets.allSatisfy { abs($0) <= 100 }, "max |A−V| \(offsets.map(abs).max() ?? 0) ms")
        // About 1 % on an idle machine; a CPU-heavy process beside it wakes more ticks late.
        #expect(statistics.presentation.droppedLate <= 18)
        #expect(statistics.sync == "audio")
    }

    /// The same through the WAV output, the beeps found in what was written; and the
    /// fixture with its audio muxed 200 ms late plays 200 ms late.
    @Test func wavOutputAndLateAudio() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reel-sync-\(getpid()).wav").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (onTime, _) = try Self.measure("sync-flash-beep.mp4", audio: .wav(path: path))
        print("A−V (wav): \(onTime.count) flashes, \(summary(onTime))")
        #expect(onTime.count >= 25)
        #expect(abs(onTime.reduce(0, +) / Double(max(1, onTime.count))) <= 10)
        #expect(onTime.allSatisfy { abs($0) <= 1000.0 / 30 })

        let (late, _) = try Self.measure("sync-audio-200ms-late.mp4", audio: .wav(path: path))
        print("A−V (wav, audio 200 ms late): \(late.count) flashes, \(summary(late))")
        #expect(late.count >= 25)
        let mean = late.reduce(0, +) / Double(max(1, late.count))
        #expect(abs(mean + 200) <= 10, "mean A−V \(mean) ms, expected −200")
    }

    /// Through a real PulseAudio server (started here, on a null sink): the same bound,
    /// with the server's own latency report placing what is heard.
    @Test func flashesMeetBeepsThroughPulseAudio() throws {
        let server = try PulseServer()
        defer { server.stop() }
        let (offsets, statistics) = try Self.measure(
            "sync-flash-beep.mp4", audio: .pulse, pulseServer: server.address)
        print("A−V (pulse): \(offsets.count) flashes, \(summary(offsets)); \(statistics.presentation)")
        #expect(statistics.audioWarning == nil, "\(statistics.audioWarning ?? "")")
        #expect(offsets.count >= 25, "\(offsets.count) flashes matched (a flash frame can be dropped under load)")
        #expect(abs(offsets.reduce(0, +) / Double(max(1, offsets.count))) <= 10)
        // Within a frame interval, but for a flash or two that a busy machine decodes
        // late (seen beside a CPU-heavy encode: one at 50 ms of 31).
        #expect(offsets.filter { abs($0) > 1000.0 / 30 }.count <= 2, "offsets \(offsets)")
        #expect(offsets.allSatisfy { abs($0) <= 100 }, "max |A−V| \(offsets.map(abs).max() ?? 0) ms")
    }

    /// Video as master: the sound follows it. The fixture with audio muxed 200 ms late
    /// starts with silence and plays 200 ms late (timestamps honoured); audio whose
    /// timestamps run 2 % fast is stretched by libswresample, about 2 %, and stays on
    /// the picture.
    @Test func videoMasterLeadsTheSound() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reel-vsync-\(getpid()).wav").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (late, lateStatistics) = try Self.measure(
            "sync-audio-200ms-late.mp4", audio: .wav(path: path), sync: .video, frameLimit: 300)
        print("A−V (video master, audio 200 ms late): \(late.count) flashes, \(summary(late))")
        #expect(lateStatistics.sync == "video")
        #expect(late.count >= 8)
        let mean = late.reduce(0, +) / Double(max(1, late.count))
        #expect(abs(mean + 200) <= 10, "mean A−V \(mean) ms, expected −200")
        // About 200 ms of silence went first (less what the clock ran before the sound began).
        #expect(lateStatistics.audioFramesAligned > 48_000 / 10, "\(lateStatistics.audioFramesAligned)")

        let (_, drift) = try Self.measure("sync-audio-drift-2pct.mkv", audio: .wav(path: path), sync: .video)
        let written = Double(drift.audioFramesWritten)
        print("drifting audio: stretched \(drift.audioFramesStretched) of \(drift.audioFramesWritten) frames")
        #expect(
            Double(drift.audioFramesStretched) > 0.015 * written && Double(drift.audioFramesStretched) < 0.025 * written
        )
        let offset = try #require(drift.avOffset)
        #expect(abs(offset.mean) <= 10_000, "mean A−V \(offset.mean) µs")
        #expect(offset.maxMagnitude <= 33_333, "max |A−V| \(offset.maxMagnitude) µs")
    }

    func summary(_ offsets: [Double]) -> String {
        let mean = offsets.reduce(0, +) / Double(max(1, offsets.count))
        return String(format: "mean %.2f ms, max |%.2f| ms", mean, offsets.map(abs).max() ?? 0)
    }
}
