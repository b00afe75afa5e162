import Foundation
import ReelAudio
import ReelCore
import ReelMedia
import ReelTiming

/// The audio thread: packets in, samples to the output, the audio clock out.
///
/// When another clock is master (video, external), the sound follows it: the first
/// chunk waits for the master to start and is cut, or preceded by silence, so that it
/// is heard at its time; after that, drift is taken out by stretching or squeezing a
/// few percent (`AudioDriftCorrector`), never by cutting.
///
/// Paused, it takes back what the output still holds (so that nothing plays on and
/// the clock holds where the sound stopped) and writes it again on resume. A seek
/// drops what the output holds; an exact one cuts the sound before its target. When
/// the sound of a generation ends, the audio clock runs on from its end on the host
/// clock, so that video longer than the sound still plays to its end.
///
/// It blocks on an empty packet queue, in the output's `write` (at most the output's
/// buffer), while paused, and, following another master, until that clock starts;
/// the last three also end on a seek, and all on a stop.
final class AudioWorker: @unchecked Sendable {
    private let decoder: AudioDecoder
    private let output: AudioOutput
    private var packets: PacketFeed
    private let state: SessionState
    private let timeline: TimelineWriter?
    private let followsMaster: Bool
    /// The session's clock (host time, or virtual time in tests).
    private let host: SessionClock
    private let format: AudioFormat
    private var clock: AudioClock
    private var mapper = TimestampMapper()
    private var corrector: AudioDriftCorrector
    private var generation = 0
    /// Whether the start has been lined up with the master (always, with audio master).
    private var aligned: Bool
    /// The display's last sound shift applied (`SessionFields.soundShift`).
    private var shiftsApplied = 0
    /// What is still to be cut of a move earlier than one chunk (µs, negative).
    private var owedCut: Int64 = 0
    /// Whether this generation's first sound was written.
    private var started = false
    /// After an exact seek, the sound before this media time (µs) is cut.
    private var exactFrom: Int64?
    /// What was written lately, to write again what a pause takes back.
    private var history: SampleHistory
    /// The samples at the volume asked for.
    private var scaled: [Int16] = []
    /// Silence written (positive) or frames cut (negative) to align the start.
    private(set) var framesAligned: Int64 = 0
    /// Frames added (positive) or taken out (negative) by the resampler's compensation.
    private(set) var framesStretched: Int64 = 0

    init(
        decoder: AudioDecoder, output: AudioOutput, state: SessionState, clock host: SessionClock,
        timeline: TimelineWriter?, followsMaster: Bool
    ) {
        self.host = host
        self.decoder = decoder
        self.output = output
        packets = PacketFeed(.audio, state: state)
        self.state = state
        self.timeline = timeline
        self.followsMaster = followsMaster
        aligned = !followsMaster
        format = decoder.output
        clock = AudioClock(format: decoder.output)
        corrector = AudioDriftCorrector(sampleRate: decoder.output.sampleRate)
        // Two seconds: more than any output's buffer and latency.
        history = SampleHistory(capacity: 2 * format.sampleRate * format.channels)
    }

    func run() {
        defer { state.update { $0.audioDone = true } }
        do {
            decoding: while !state.read({ $0.stopping }) {
                switch try decoder.receive() {
                case .chunk(let chunk):
                    guard chunk.samples.count > 0 else { continue }
                    try play(chunk)
                case .needsInput:
                    guard try feed() else { break decoding }
                case .endOfStream:
                    // Everything of this generation is written: let it be heard, and let
                    // the clock run on from its end.
                    try output.drain()
                    let generation = generation
                    let end = clock.writtenEnd
                    let now = host.now()
                    state.update { fields in
                        guard fields.generation == generation else { return }
                        if let end { fields.clocks.audio.set(media: end, at: now) }
                        fields.audioEnded = max(fields.audioEnded, generation)
                    }
                    guard try feed() else { break decoding }
                }
            }
            // Stopped (a quit, or the end): what is still queued is not played.
            _ = output.flush()
            try output.finish()
        } catch let error as MediaError {
            state.fail(.media(error))
        } catch let error as AudioError {
            state.fail(.audio(error))
        } catch {
            state.fail(.audio(AudioError("\(error)")))
        }
    }

    /// Feeds the decoder the next item; at a new generation, drops what the output
    /// holds and starts the clock afresh. False once the queue is closed.
    private func feed() throws(MediaError) -> Bool {
        switch try packets.feed(decoder) {
        case .closed:
            return false
        case .fed:
            return true
        case .started(let generation, let exactFrom):
            _ = output.flush()
            clock.reset()
            mapper.reset()
            history.removeAll()
            started = false
            owedCut = 0
            self.generation = generation
            self.exactFrom = exactFrom
            aligned = !followsMaster
            return true
        }
    }

    /// Plays one decoded chunk: cut or aligned as the seek and the master ask, at the
    /// volume asked for.
    private func play(_ chunk: AudioChunk) throws {
        let generation = generation
        let (current, volume, muted, latency, shift) = state.read {
            ($0.generation, $0.volume, $0.muted, $0.pictureLatency, $0.soundShift)
        }
        guard generation == current else { return }
        var start = chunk.presentationTime.map { mapper.map($0) }
        var samples = chunk.samples
        if let target = exactFrom, let from = start {
            let cut = min(Int64(chunk.frames), max(0, (target - from) * Int64(format.sampleRate) / 1_000_000))
            if cut == Int64(chunk.frames) { return }
            exactFrom = nil
            samples = UnsafeBufferPointer(rebasing: samples[(Int(cut) * format.channels)...])
            start = from + format.microseconds(ofFrames: cut)
        }
        if !aligned {
            guard let kept = try alignStart(&start, samples) else { return }
            samples = kept
        }
        // Audio master, in a window: the first sound waits for the first picture to be
        // presented; later the display may ask for the sound to move by a few ms.
        var lead = (started || followsMaster ? 0 : latency) + owedCut
        owedCut = 0
        if shift.request != shiftsApplied {
            shiftsApplied = shift.request
            lead += shift.microseconds
            // What the corrector averaged was before the move.
            corrector.reset()
        }
        started = true
        if lead != 0, let chunkStart = start {
            // A cut longer than this chunk goes on into the next ones.
            if lead < 0 {
                owedCut = min(0, lead + format.microseconds(ofFrames: Int64(samples.count / format.channels)))
            }
            guard let kept = try shiftSound(by: lead, chunkStart: chunkStart, samples, start: &start) else { return }
            samples = kept
        }
        let gain = Self.gain(volume: volume, muted: muted)
        if gain == 1 << 16 {
            try write(samples, startingAt: start)
            return
        }
        scaled.removeAll(keepingCapacity: true)
        for sample in samples { scaled.append(Int16(truncatingIfNeeded: (Int32(sample) * gain) >> 16)) }
        try scaled.withUnsafeBufferPointer { try write($0, startingAt: start) }
    }

    /// Moves the sound `lead` µs later (silence before the chunk, its time moved back so
    /// the clock stays true) or earlier (the chunk's beginning cut); the samples to write.
    private func shiftSound(
        by lead: Int64, chunkStart: Int64, _ samples: UnsafeBufferPointer<Int16>, start: inout Int64?
    ) throws -> UnsafeBufferPointer<Int16>? {
        let leadFrames = lead * Int64(format.sampleRate) / 1_000_000
        if leadFrames > 0 {
            let silence = [Int16](repeating: 0, count: Int(leadFrames) * format.channels)
            // Not in the timeline: no sound of the input is heard then.
            try silence.withUnsafeBufferPointer { try write($0, startingAt: chunkStart - lead, logged: false) }
            framesAligned += leadFrames
            return samples
        }
        let cut = min(Int64(samples.count / format.channels), -leadFrames)
        framesAligned -= cut
        guard cut * Int64(format.channels) < samples.count else { return nil }
        start = chunkStart + format.microseconds(ofFrames: cut)
        return UnsafeBufferPointer(rebasing: samples[(Int(cut) * format.channels)...])
    }

    /// The gain for a volume in percent, 16.16 fixed point: mpv's cubic curve
    /// ((volume/100)³), so that equal steps sound about equally loud.
    static func gain(volume: Int, muted: Bool) -> Int32 {
        guard !muted else { return 0 }
        let level = Double(min(100, max(0, volume))) / 100
        return Int32((level * level * level * 65536).rounded())
    }

    private func write(_ samples: UnsafeBufferPointer<Int16>, startingAt start: Int64?, logged: Bool = true) throws {
        if state.read({ $0.paused }) {
            guard try holdWhilePaused(before: start) else { return }
        }
        let frames = samples.count / format.channels
        try output.write(samples)
        history.append(samples)
        clock.wrote(frames: frames, startingAt: start)
        let now = host.now()
        let queued = output.queuedFrames(at: now)
        let heard = clock.media(queuedFrames: queued)
        let (generation, writtenEnd, followsMaster) = (generation, clock.writtenEnd, followsMaster)
        let master = state.update { fields -> Int64? in
            fields.audioFramesWritten += Int64(frames)
            if let writtenEnd { fields.soundEnd = max(fields.soundEnd ?? .min, writtenEnd) }
            guard fields.generation == generation else { return nil }
            if let heard { fields.clocks.audio.set(media: heard, at: now, limit: writtenEnd) }
            return followsMaster ? fields.clocks.master.media(at: now) : nil
        }
        guard let heard else { return }
        if let master {
            let extra = corrector.correction(difference: heard - master, frames: frames)
            if extra != 0 {
                try decoder.compensate(by: extra, over: frames + extra)
                framesStretched += Int64(extra)
            }
        }
        guard logged else { return }
        // This chunk's first frame is heard once the frames before it are.
        let before = max(0, queued - Int64(frames))
        timeline?.audio(
            pts: clock.writtenEnd! - format.microseconds(ofFrames: Int64(frames)),
            played: now / 1000 + format.microseconds(ofFrames: before))
    }

    /// Paused: takes back what the output holds, holds the clock where the sound
    /// stopped (or, after a seek, at the chunk about to play), waits, and on resume
    /// writes the taken-back samples again. False when a seek or a stop came instead.
    private func holdWhilePaused(before start: Int64?) throws -> Bool {
        let dropped = output.flush()
        clock.unwrite(frames: dropped)
        let replay = history.removeLast(Int(dropped) * format.channels)
        let now = host.now()
        let generation = generation
        let heard = clock.media(queuedFrames: 0) ?? start
        state.update { fields in
            if let heard, fields.generation == generation { fields.clocks.audio.set(media: heard, at: now) }
        }
        let resumed = state.wait { fields -> Bool? in
            if fields.stopping || fields.generation != generation { return false }
            return fields.paused ? nil : true
        }
        guard resumed else { return false }
        if !replay.isEmpty {
            try replay.withUnsafeBufferPointer { try write($0, startingAt: nil) }
        }
        return true
    }

    /// Lines the first chunk up with the master: waits for the master to start, then
    /// writes silence before the chunk when it is due later than it would be heard, or
    /// cuts its beginning when that has already passed. Returns the samples to write
    /// (nil: all of this chunk has passed, or a seek or a stop came; take the next).
    private func alignStart(
        _ start: inout Int64?, _ samples: UnsafeBufferPointer<Int16>
    ) throws -> UnsafeBufferPointer<Int16>? {
        guard let chunkStart = start else {
            aligned = true
            return samples
        }
        // The display starts the master at its first frame.
        let generation = generation
        let started = state.wait { fields -> Bool? in
            if fields.stopping || fields.generation != generation { return false }
            return fields.clocks.master.isSet ? true : nil
        }
        guard started else { return nil }
        let now = host.now()
        guard let master = state.read({ $0.generation == generation ? $0.clocks.master.media(at: now) : nil })
        else { return nil }
        let heardAt = master + format.microseconds(ofFrames: output.queuedFrames(at: now))
        let lead = chunkStart - heardAt
        let leadFrames = lead * Int64(format.sampleRate) / 1_000_000
        let frames = Int64(samples.count / format.channels)
        if leadFrames > 0 {
            let silence = [Int16](repeating: 0, count: Int(leadFrames) * format.channels)
            try silence.withUnsafeBufferPointer { try write($0, startingAt: chunkStart - lead) }
            framesAligned += leadFrames
        } else if leadFrames < 0 {
            let cut = min(frames, -leadFrames)
            framesAligned -= cut
            if cut == frames { return nil }
            start = chunkStart + format.microseconds(ofFrames: cut)
            aligned = true
            return UnsafeBufferPointer(rebasing: samples[(Int(cut) * format.channels)...])
        }
        aligned = true
        return samples
    }
}

/// The last samples written, up to a capacity: a ring.
///
/// Thread-safety: Unsafe (a value type); the audio thread owns it.
struct SampleHistory {
    private var ring: [Int16]
    /// Where the next sample goes.
    private var next = 0
    private(set) var count = 0

    init(capacity: Int) { ring = [Int16](repeating: 0, count: max(1, capacity)) }

    mutating func append(_ samples: UnsafeBufferPointer<Int16>) {
        for sample in samples.suffix(ring.count) {
            ring[next] = sample
            next = next + 1 == ring.count ? 0 : next + 1
        }
        count = min(ring.count, count + samples.count)
    }

    /// Takes out the last `wanted` samples (as many as are kept), oldest first.
    mutating func removeLast(_ wanted: Int) -> [Int16] {
        let taken = min(wanted, count)
        var samples = [Int16](repeating: 0, count: taken)
        for offset in 0..<taken {
            samples[taken - 1 - offset] = ring[(next - 1 - offset + 2 * ring.count) % ring.count]
        }
        next = (next - taken + ring.count) % ring.count
        count -= taken
        return samples
    }

    mutating func removeAll() {
        next = 0
        count = 0
    }
}
