import Foundation
import ReelAudio
import ReelCore
import ReelMedia
import ReelTestSupport
import Testing

/// A clock that advances only when slept on: pacing without waiting.
final class SimulatedClock: OutputClock {
    var time: Int64 = 1_000_000_000
    var slept: Int64 = 0
    func now() -> Int64 { time }
    func sleep(until deadline: Int64) {
        if deadline > time {
            slept += deadline - time
            time = deadline
        }
    }
}

@Suite struct AudioTests {
    /// Decodes the fixture's audio into `output`, returning the frames decoded.
    static func play(_ fixture: String, into output: (AudioFormat) throws -> AudioOutput) throws -> Int64 {
        let demuxer = try Demuxer(url: "\(fixtures)/\(fixture)")
        let decoder = try AudioDecoder(demuxer: demuxer, streamIndex: try #require(demuxer.bestAudioStream))
        let sink = try output(decoder.output)
        decoding: while true {
            switch try decoder.receive() {
            case .chunk(let chunk): try sink.write(chunk.samples)
            case .needsInput:
                switch demuxer.readPacket() {
                case .packet(let packet): try decoder.send(packet)
                case .endOfInput: try decoder.sendEndOfInput()
                }
            case .endOfStream: break decoding
            }
        }
        try sink.finish()
        return decoder.framesDelivered
    }

    /// The WAV output holds exactly the samples decoded, with a valid header, and the
    /// 1 kHz fixture comes out at 1 kHz.
    @Test func wavIsSampleExact() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reel-audio-\(getpid()).wav").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let clock = SimulatedClock()
        let frames = try Self.play("audio-only.m4a") { try WAVOutput(path: path, format: $0, clock: clock) }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        func u32(_ at: Int) -> Int {
            Int(data[at]) | Int(data[at + 1]) << 8 | Int(data[at + 2]) << 16 | Int(data[at + 3]) << 24
        }
        func u16(_ at: Int) -> Int { Int(data[at]) | Int(data[at + 1]) << 8 }
        #expect(String(decoding: data[0..<4], as: UTF8.self) == "RIFF")
        #expect(u32(4) == data.count - 8)
        #expect(u16(20) == 1 && u16(22) == 1 && u32(24) == 48000 && u16(34) == 16)
        #expect(u32(40) == data.count - 44)
        #expect(Int64(u32(40) / 2) == frames)
        // 0.5 s of audio at 48 kHz (AAC's priming samples trimmed by the decoder).
        #expect(abs(frames - 24000) <= 1024, "\(frames) frames")
        // Paced at the real rate: the simulated clock advanced by the audio's duration.
        #expect(abs(clock.slept - frames * 1_000_000_000 / 48000) < 1_000_000)
        // A 1 kHz sine crosses zero 2000 times a second: 600 times in 0.3 s from the middle.
        let samples = data[44...].withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        let middle = samples[4800..<19200]
        let crossings = zip(middle, middle.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
        #expect(abs(crossings - 600) <= 3, "\(crossings) zero crossings")
        #expect(middle.map { abs(Int($0)) }.max()! > 3000, "the tone is there (lavfi sine: 1/8 of full scale)")
    }

    /// Every codec the player must play decodes to the fixture's 1 kHz tone, mono or
    /// stereo (5.1 AC-3 mixed down to two channels), at the stream's rate.
    @Test(arguments: [
        ("audio-only.m4a", 1, 24000), ("audio-opus.ogg", 2, 14400), ("audio-mp3.mp3", 1, 14400),
        ("audio-ac3.ac3", 2, 14400), ("audio-flac.flac", 2, 14400), ("audio-pcm.wav", 1, 14400),
    ])
    func decodesEveryCodec(fixture: String, channels: Int, expectedFrames: Int) throws {
        let demuxer = try Demuxer(url: "\(fixtures)/\(fixture)")
        let decoder = try AudioDecoder(demuxer: demuxer, streamIndex: try #require(demuxer.bestAudioStream))
        #expect(decoder.output == AudioFormat(sampleRate: 48000, channels: channels))
        var samples: [Int16] = []
        decoding: while true {
            switch try decoder.receive() {
            case .chunk(let chunk):
                #expect(chunk.samples.count == chunk.frames * channels)
                samples += chunk.samples
            case .needsInput:
                switch demuxer.readPacket() {
                case .packet(let packet): try decoder.send(packet)
                case .endOfInput: try decoder.sendEndOfInput()
                }
            case .endOfStream: break decoding
            }
        }
        let frames = samples.count / channels
        // Encoder priming may add up to two codec frames.
        #expect(
            frames >= expectedFrames && frames <= expectedFrames + 2048, "\(fixture): \(frames) of \(expectedFrames)")
        // The first channel, 0.1 s from the middle: a 1 kHz tone crosses zero 200 times.
        let first = stride(from: 0, to: samples.count, by: channels).map { samples[$0] }
        let middle = first[4800..<9600]
        let crossings = zip(middle, middle.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
        #expect(abs(crossings - 200) <= 2, "\(fixture): \(crossings) zero crossings")
        #expect(middle.map { abs(Int($0)) }.max()! > 1000, "\(fixture): the tone is there")
    }

    /// Resampled (48 kHz to 44.1 kHz), each chunk's time is where the previous one
    /// ended: the resampler's delay is accounted for.
    @Test func resampledChunksAreContiguousInTime() throws {
        let demuxer = try Demuxer(url: "\(fixtures)/audio-pcm.wav")
        let output = AudioFormat(sampleRate: 44100, channels: 1)
        let decoder = try AudioDecoder(
            demuxer: demuxer, streamIndex: try #require(demuxer.bestAudioStream), output: output)
        var chunks: [(time: Int64, frames: Int)] = []
        decoding: while true {
            switch try decoder.receive() {
            case .chunk(let chunk):
                if let time = chunk.presentationTime { chunks.append((time.microseconds, chunk.frames)) }
            case .needsInput:
                switch demuxer.readPacket() {
                case .packet(let packet): try decoder.send(packet)
                case .endOfInput: try decoder.sendEndOfInput()
                }
            case .endOfStream: break decoding
            }
        }
        #expect(chunks.count > 3)
        #expect(chunks.first?.time == 0)
        var expected: Int64 = 0
        var frames: Int64 = 0
        for chunk in chunks {
            expected = output.microseconds(ofFrames: frames)
            #expect(abs(chunk.time - expected) <= 23, "chunk at \(chunk.time) µs, expected \(expected)")
            frames += Int64(chunk.frames)
        }
        // 0.3 s at 44.1 kHz.
        #expect(abs(decoder.framesDelivered - 13230) <= 2)
    }

    /// The null output never holds more than its buffer, and drains at the real rate.
    @Test func nullOutputPacesAtTheRealRate() throws {
        let clock = SimulatedClock()
        let format = AudioFormat(sampleRate: 48000, channels: 2)
        let output = NullOutput(format: format, bufferDuration: 100_000, clock: clock)
        let chunk = [Int16](repeating: 0, count: 960 * 2)  // 20 ms
        var most: Int64 = 0
        for _ in 0..<100 {  // 2 s
            try chunk.withUnsafeBufferPointer { try output.write($0) }
            most = max(most, output.queuedFrames(at: clock.now()))
        }
        #expect(most <= 4800 + 960)
        #expect(output.queuedFrames(at: clock.now()) > 0)
        // The writer ran 100 ms ahead of the 2 s it wrote.
        #expect(abs(clock.slept - 1_900_000_000) <= 20_000_000)
        #expect(output.queuedFrames(at: clock.now() + 200_000_000) == 0)
        try output.finish()
        #expect(abs(clock.slept - 2_000_000_000) <= 1_000)
    }

    @Test func unwritableWAVIsAClearError() {
        #expect(throws: AudioError.self) {
            try WAVOutput(path: "/nonexistent/dir/out.wav", format: AudioFormat(sampleRate: 48000, channels: 2))
        }
    }
}

@Suite struct AudioChoiceTests {
    @Test func parsesTheChoices() {
        #expect(AudioOutputChoice(parsing: "pulse") == .pulse)
        #expect(AudioOutputChoice(parsing: "null") == .null)
        #expect(AudioOutputChoice(parsing: "wav:/tmp/a.wav") == .wav(path: "/tmp/a.wav"))
        #expect(AudioOutputChoice(parsing: "wav:") == nil)
        #expect(AudioOutputChoice(parsing: "alsa") == nil)
    }

    /// No PulseAudio server: playback goes on with the null output, and says why.
    @Test func missingPulseFallsBackToNull() throws {
        let opened = try AudioOutputChoice.pulse.open(
            format: AudioFormat(sampleRate: 48000, channels: 2), pulseServer: "unix:/nonexistent/native")
        #expect(opened.output is NullOutput)
        #expect(opened.warning?.contains("PulseAudio") == true)
        #expect(opened.warning?.contains("--ao null") == true)
    }

    /// The clock is the end of what was written, less what the output still holds.
    @Test func audioClockSubtractsTheQueue() {
        var clock = AudioClock(format: AudioFormat(sampleRate: 48000, channels: 2))
        #expect(clock.media(queuedFrames: 0) == nil)
        clock.wrote(frames: 4800, startingAt: 1_000_000)
        clock.wrote(frames: 4800, startingAt: nil)
        #expect(clock.writtenEnd == 1_200_000)
        #expect(clock.media(queuedFrames: 4800) == 1_100_000)
        #expect(clock.media(queuedFrames: 0) == 1_200_000)
    }
}
