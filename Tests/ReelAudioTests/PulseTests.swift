import Foundation
import ReelAudio
import ReelCore
import ReelMedia
import ReelTestSupport
import Testing

@Suite(.serialized) struct PulseTests {
    /// The 1 kHz fixture played through a real server arrives at its null sink: a
    /// recording of the sink's monitor holds the tone, and playback took real time.
    @Test func playsThroughARealServer() throws {
        let server = try PulseServer()
        defer { server.stop() }
        let recording = server.directory.appendingPathComponent("monitor.raw")
        let recorder = try Child(
            "/usr/bin/parec",
            [
                "--server=\(server.address)", "--device=reel_null.monitor", "--raw", "--format=s16le",
                "--rate=48000", "--channels=1", recording.path,
            ])
        defer { recorder.stop() }
        usleep(300_000)  // let the recorder connect

        let demuxer = try Demuxer(url: "\(fixtures)/audio-only.m4a")
        let decoder = try AudioDecoder(demuxer: demuxer, streamIndex: try #require(demuxer.bestAudioStream))
        let output = try PulseOutput(format: decoder.output, server: server.address)
        let start = HostTime.now()
        var mostQueued: Int64 = 0
        decoding: while true {
            switch try decoder.receive() {
            case .chunk(let chunk):
                try output.write(chunk.samples)
                mostQueued = max(mostQueued, output.queuedFrames(at: HostTime.now()))
            case .needsInput:
                switch demuxer.readPacket() {
                case .packet(let packet): try decoder.send(packet)
                case .endOfInput: try decoder.sendEndOfInput()
                }
            case .endOfStream: break decoding
            }
        }
        try output.finish()
        let elapsed = Double(HostTime.now() - start) / 1e9
        usleep(300_000)
        recorder.stop()

        #expect(elapsed > 0.4, "0.5 s of audio played in \(elapsed) s")
        #expect(mostQueued > 0, "the server reported what it holds")
        let data = try Data(contentsOf: recording)
        let samples = data.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        let loud = samples.indices.filter { abs(Int(samples[$0])) > 2000 }
        let first = try #require(loud.first, "the monitor recorded the tone")
        let window = samples[first..<min(samples.count, first + 9600)]  // 0.2 s
        let crossings = zip(window, window.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
        #expect(abs(crossings - 400) <= 6, "\(crossings) zero crossings in 0.2 s of the monitor")
    }

    @Test func noServerIsAClearError() {
        #expect(throws: AudioError.self) {
            try PulseOutput(format: AudioFormat(sampleRate: 48000, channels: 2), server: "unix:/nonexistent/native")
        }
    }
}
