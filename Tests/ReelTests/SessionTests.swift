import Foundation
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

@testable import Reel

/// The session runtime on a manual clock: the display ticks only when the test says
/// so, and every wait is on an event of the session (`SessionState.wait`), so the tests
/// are the same on an idle and a busy machine. Real FFmpeg demux and decode; no window,
/// no Vulkan (`--vo none`) unless a test says otherwise.
@Suite(.serialized) struct SessionTests {
    /// A `run()` on a thread of its own, to be stopped and waited for.
    final class Running: @unchecked Sendable {
        let pipeline: PlaybackPipeline
        private let done = NSCondition()
        private var result: Result<PlaybackStatistics, Error>?
        private var worker: Worker?
        /// Host time (ns) at which `run` returned.
        private(set) var returnedAt: Int64 = 0

        init(_ pipeline: PlaybackPipeline) {
            self.pipeline = pipeline
            worker = Worker(name: "test.run") { [self] in
                let outcome = Result { try self.pipeline.run() }
                done.withLock {
                    returnedAt = HostTime.now()
                    result = outcome
                    done.broadcast()
                }
            }
        }

        deinit { worker?.join() }  // only when never waited for: a test that failed

        /// The outcome, waiting at most `timeout` seconds for it (nil: still running);
        /// once there is one, its thread is joined.
        func wait(timeout: Double = 60) -> Result<PlaybackStatistics, Error>? {
            let deadline = Date().addingTimeInterval(timeout)
            let outcome = done.withLock {
                while result == nil && done.wait(until: deadline) {}
                return result
            }
            if outcome != nil, let worker = worker.take() { worker.join() }
            return outcome
        }
    }

    /// A temporary folder with clips made by the ffmpeg CLI.
    final class Clips {
        let folder: String
        init() throws { folder = try makeTemporaryDirectory() }
        deinit { try? FileManager.default.removeItem(atPath: folder) }

        /// Video only: `frames` frames of 64×64 at 30 fps, a keyframe every frame.
        func videoOnly(frames: Int) throws -> String {
            let path = "\(folder)/video-\(frames).mkv"
            try ffmpeg([
                "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=30", "-frames:v", "\(frames)", "-c:v", "libx264",
                "-g", "1", "-pix_fmt", "yuv420p", path,
            ])
            return path
        }
    }

    static func parameters(_ input: String, audio: AudioOutputChoice? = nil) -> PlaybackParameters {
        PlaybackParameters(input: input, video: .none, audio: audio)
    }

    /// Waits (on the session's condition, at most 30 s of wall time) until `condition` holds.
    static func waitUntil(
        _ pipeline: PlaybackPipeline, _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: @escaping (SessionFields) -> Bool
    ) -> Bool {
        let reached =
            pipeline.state.wait(for: { condition($0) ? true : nil }, until: Date().addingTimeInterval(30)) ?? false
        let now = pipeline.state.read {
            "ready \($0.ready.count), video packets \($0.videoPackets?.count ?? -1), audio packets "
                + "\($0.audioPackets?.count ?? -1), generation \($0.generation), phase \($0.phase)"
        }
        #expect(reached, "timed out waiting for \(what): \(now)", sourceLocation: sourceLocation)
        return reached
    }

    /// A video-only clip looped 2000 times: each loop starts a generation, and none stalls
    /// (the old demuxer pushed loop markers to an audio queue nobody read, and stopped
    /// after about 512 loops).
    @Test func videoOnlyClipLoops2000Times() throws {
        let clips = try Clips()
        var parameters = Self.parameters(try clips.videoOnly(frames: 2))
        parameters.loop = true
        let pipeline = try PlaybackPipeline(parameters: parameters, virtualTime: true)
        let vsync = try #require(pipeline.virtualTime)
        let running = Running(pipeline)
        var ticks = 0
        while pipeline.state.read({ $0.generation }) < 2000 && ticks < 20_000 {
            vsync.advance()
            ticks += 1
        }
        let loops = pipeline.state.read { $0.generation }
        pipeline.controls.stop()
        let statistics = try #require(running.wait()).get()
        print("\(loops) loops in \(ticks) ticks")
        #expect(loops >= 2000, "\(loops) loops in \(ticks) ticks")
        // Each loop is 2 frames at 30 fps, 4 ticks of a 60 Hz display: none lost at a loop.
        #expect(ticks == 4 * 2000)
        #expect(statistics.framesDecoded >= 2 * 2000)
        #expect(statistics.presentation.presented >= 2000)
    }

    /// Paused with every queue full (the packet queue, the ready frames), a seek is served
    /// at once: its frame is ready without a tick, and shown at the next one.
    @Test func seekWhilePausedWithFullQueuesIsServedWithinOneTick() throws {
        var parameters = Self.parameters("\(fixtures)/seek-gop1s.mp4")
        parameters.startPaused = true
        let pipeline = try PlaybackPipeline(parameters: parameters, virtualTime: true, queuedPackets: 16)
        let vsync = try #require(pipeline.virtualTime)
        let running = Running(pipeline)
        defer {
            pipeline.controls.stop()
            _ = running.wait()
        }
        // The first frame is shown paused; then the read-ahead fills every queue.
        guard Self.waitUntil(pipeline, "the first frame", { !$0.ready.isEmpty }) else { return }
        vsync.advance()
        #expect(pipeline.monitor.progress.position == 0)
        guard Self.waitUntil(pipeline, "full queues", { $0.ready.isFull && $0.videoPackets!.isFull }) else { return }
        pipeline.controls.seek(to: 5_000_000, exact: false)
        guard
            Self.waitUntil(
                pipeline, "the seek's first frame", { $0.generation == 1 && $0.ready.first?.generation == 1 })
        else { return }
        vsync.advance()
        #expect(pipeline.monitor.progress.position == 5_000_000)
        #expect(pipeline.controls.isPaused)
        // And an exact seek, back, while still paused.
        pipeline.controls.seek(to: 2_500_000, exact: true)
        guard Self.waitUntil(pipeline, "the exact seek's frame", { $0.ready.first?.generation == 2 }) else { return }
        vsync.advance()
        #expect(pipeline.monitor.progress.position == 2_500_000)
    }

    /// The end of a video-only clip ends the session on virtual time, every frame shown.
    @Test func endOfStreamEndsTheSession() throws {
        let clips = try Clips()
        let pipeline = try PlaybackPipeline(
            parameters: Self.parameters(try clips.videoOnly(frames: 12)), virtualTime: true)
        let vsync = try #require(pipeline.virtualTime)
        let running = Running(pipeline)
        var ticks = 0
        while vsync.advance() && ticks < 10_000 { ticks += 1 }
        let statistics = try #require(running.wait()).get()
        #expect(statistics.presentation.presented == 12)
        #expect(statistics.presentation.droppedLate == 0)
    }

    /// Plays `parameters` on virtual time to its end, a tick at a time, with a timeline;
    /// returns the counters and the timeline's lines.
    static func playToEnd(_ parameters: PlaybackParameters) throws -> (PlaybackStatistics, [TimelineEntry]) {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var parameters = parameters
        parameters.timelinePath = "\(folder)/timeline.jsonl"
        let pipeline = try PlaybackPipeline(parameters: parameters, virtualTime: true)
        let time = try #require(pipeline.virtualTime)
        let running = Running(pipeline)
        var ticks = 0
        while time.advance() && ticks < 100_000 { ticks += 1 }
        let statistics = try #require(running.wait()).get()
        return (statistics, try TimelineEntry.read(parameters.timelinePath!))
    }

    /// Gaps (µs) between audio chunks as heard: each chunk's start minus the end of the
    /// one before, on the host clock less the media clock.
    static func audioGaps(_ lines: [TimelineEntry]) -> [Int64] {
        let chunks = lines.filter { $0.type == "audio" }
        return zip(chunks, chunks.dropFirst()).map { ($1.played! - $0.played!) - ($1.pts! - $0.pts!) }
    }

    /// Rendering slower than the display (40 ms a frame against 16.7 ms ticks), on
    /// virtual time: frames are dropped and ticks missed, the sound is never interrupted,
    /// and every frame shown is within a frame interval of the sound.
    @Test func slowRenderDropsFramesNotSound() throws {
        var parameters = Self.parameters("\(fixtures)/sync-flash-beep.mp4", audio: .null)
        parameters.renderDelay = 40_000
        parameters.frameLimit = 300
        let (statistics, lines) = try Self.playToEnd(parameters)
        print("render 40 ms (virtual time): \(statistics.presentation), missed ticks \(statistics.missedTicks)")
        // Each render takes 40 ms: 2 of every 3 ticks are missed, and so are about
        // half of the 30 fps frames.
        #expect(statistics.presentation.droppedLate > 100, "\(statistics.presentation)")
        #expect(statistics.missedTicks > 2 * statistics.presentation.presented - 10, "\(statistics.missedTicks)")
        let gaps = Self.audioGaps(lines)
        #expect(gaps.count > 100)
        #expect(gaps.allSatisfy { abs($0) < 1_000 }, "largest gap \(gaps.map(abs).max() ?? 0) µs")
        let offset = try #require(statistics.avOffset)
        #expect(offset.maxMagnitude <= 33_333, "max |A−V| \(offset.maxMagnitude) µs")
    }

    /// Decoding slower than the video's rate (45 ms a frame of a 30 fps film), on
    /// virtual time: the display repeats the frame on screen meanwhile, shows each new
    /// one at the tick after it is decoded, and the sound plays on without a gap.
    @Test func slowDecodeRepeatsFramesAndNeverStalls() throws {
        var parameters = Self.parameters("\(fixtures)/sync-flash-beep.mp4", audio: .null)
        parameters.decodeDelay = 45_000
        parameters.frameLimit = 120
        let (statistics, lines) = try Self.playToEnd(parameters)
        print("decode 45 ms (virtual time): \(statistics.presentation)")
        #expect(statistics.presentation.presented == 120)
        // About 2.7 ticks of 16.7 ms per 45 ms frame: well over one repeat per frame.
        #expect(statistics.presentation.repeated > 150, "\(statistics.presentation)")
        // A new frame at least every 45 ms rounded up to ticks (with the frames held in
        // the ready queue, often sooner): never a stall.
        let shown = lines.filter { $0.type == "video" }.map { $0.shown! }
        let steps = zip(shown, shown.dropFirst()).map { $1 - $0 }
        #expect(steps.allSatisfy { $0 <= 50_001 }, "longest wait for a new frame \(steps.max() ?? 0) µs")
        let gaps = Self.audioGaps(lines)
        #expect(gaps.count > 50)
        #expect(gaps.allSatisfy { abs($0) < 1_000 }, "largest audio gap \(gaps.map(abs).max() ?? 0) µs")
    }

    /// A pause of a second of virtual time, with sound: the picture and the sound's
    /// clock hold, nothing is shown meanwhile, and on resume both go on from where they
    /// were, together.
    @Test func pauseHoldsPictureAndSoundAndResumesTogether() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var parameters = Self.parameters("\(fixtures)/sync-flash-beep.mp4", audio: .null)
        parameters.timelinePath = "\(folder)/timeline.jsonl"
        let pipeline = try PlaybackPipeline(parameters: parameters, virtualTime: true)
        let time = try #require(pipeline.virtualTime)
        let running = Running(pipeline)
        for _ in 0..<60 { time.advance() }
        pipeline.controls.setPaused(true)
        time.settle()
        let held = try #require(pipeline.monitor.progress.position)
        let pausedAt = time.now()
        for _ in 0..<60 { time.advance() }
        #expect(pipeline.monitor.progress.position == held)
        let resumedAt = time.now()
        pipeline.controls.setPaused(false)
        for _ in 0..<60 { time.advance() }
        let after = try #require(pipeline.monitor.progress.position)
        pipeline.controls.stop()
        let statistics = try #require(running.wait()).get()
        // About a second played on after the resume (60 ticks less a frame or two).
        #expect(after - held > 900_000 && after - held <= 1_000_000, "\(held) → \(after)")
        let lines = try TimelineEntry.read(parameters.timelinePath!)
        let shownWhilePaused = lines.filter {
            $0.type == "video" && $0.shown! * 1000 > pausedAt + time.interval && $0.shown! * 1000 < resumedAt
        }
        #expect(shownWhilePaused.isEmpty, "\(shownWhilePaused.count) frames shown while paused")
        // Every frame shown (before and after) is within a frame interval of the sound.
        let offset = try #require(statistics.avOffset)
        #expect(offset.maxMagnitude <= 33_333, "max |A−V| \(offset.maxMagnitude) µs")
        print("pause: held at \(held) µs, \(after) µs a second after the resume; A−V max \(offset.maxMagnitude) µs")
    }

    /// The tests that count the process's threads and descriptors run alone in a child
    /// test process (`IsolatedSessionTests`): in this one, other suites start and stop
    /// threads and open files at the same time.
    @Test func threadsAndDescriptorsInAQuietProcess() throws {
        let (status, text) = try runToEnd(
            try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
            ["--testing-library", "swift-testing", "--filter", "IsolatedSessionTests"],
            environment: ["REEL_ISOLATED_TESTS": "1"])
        for line in text.split(separator: "\n")
        where line.contains("joined") || line.contains("100 sessions") || line.contains("memory in use")
            || line.contains("✘")
            || line.contains("Test run")
        {
            print("child: \(line)")
        }
        #expect(status == 0, "\(text.suffix(3000))")
        #expect(
            text.contains("stop while paused") && text.contains("100 sessions") && text.contains("consumer cancelled")
                && text.contains("slow consumer, memory in use") && text.contains("window joined"),
            "\(text.suffix(3000))")
    }
}

/// Run only in a child process of their own (see
/// `SessionTests.threadsAndDescriptorsInAQuietProcess`), where nothing else runs.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["REEL_ISOLATED_TESTS"] == "1"))
struct IsolatedSessionTests {
    /// A stop while every thread is blocked — the demux on a full queue, the decoder on
    /// full ready frames, the display waiting for a tick, the audio thread paused or
    /// waiting for the master clock to start — joins every thread promptly.
    @Test(arguments: ["paused", "clock not started", "queues full", "pool full"])
    func stopDuringEveryWaitJoinsEveryThread(_ situation: String) throws {
        _ = try Self.stop(while: situation)  // first use: the libraries' one-time set-up
        let before = threadAndDescriptorCounts()
        let joinedAfter = try Self.stop(while: situation)
        #expect(joinedAfter < 100, "run returned \(joinedAfter) ms after the stop")
        print("stop while \(situation): every thread joined \(String(format: "%.1f", joinedAfter)) ms after the stop")
        let after = threadAndDescriptorCounts()
        #expect(after.threads == before.threads)
        #expect(after.descriptors == before.descriptors)
    }

    /// Plays the flash/beep clip into the blocking waits of `situation`, stops, and
    /// returns how long after the stop (ms) `run` returned with every thread joined.
    static func stop(while situation: String) throws -> Double {
        var parameters = SessionTests.parameters("\(fixtures)/sync-flash-beep.mp4", audio: .null)
        switch situation {
        case "paused": parameters.startPaused = true
        case "clock not started": parameters.sync = .video  // the sound waits for the display's first frame
        default: break
        }
        // A pool smaller than the ready frames: the decoder waits for a slot first.
        let pipeline = try PlaybackPipeline(
            parameters: parameters, virtualTime: true, queuedPackets: 8, poolSlots: situation == "pool full" ? 4 : nil)
        let vsync = try #require(pipeline.virtualTime)
        let running = SessionTests.Running(pipeline)
        if situation == "paused" { vsync.advance() }
        if situation == "pool full" {
            // The decoder waits for a slot, with room for more ready frames.
            vsync.settle()
            #expect(pipeline.state.read { $0.waitingForSlot && !$0.ready.isFull })
        } else {
            // The decoder waits for room for frames, the demux thread for room for packets
            // (of either stream: the sound waits too, paused or for the clock, or is paced).
            _ = SessionTests.waitUntil(pipeline, "full queues") {
                ($0.videoPackets!.isFull || $0.audioPackets!.isFull) && ($0.ready.isFull || $0.videoPackets!.isEmpty)
                    && !$0.ready.isEmpty
            }
        }
        if situation == "clock not started" { #expect(pipeline.state.read { !$0.clocks.master.isSet }) }
        let stop = HostTime.now()
        pipeline.controls.stop()
        let outcome = try #require(running.wait(timeout: 10))
        _ = try outcome.get()
        return Double(running.returnedAt - stop) / 1e6
    }

    /// Threads and file descriptors: back to the same numbers after a session, and after
    /// 100 sessions in a row.
    @Test func sessionsLeaveNoThreadOrDescriptorBehind() throws {
        let clips = try SessionTests.Clips()
        let clip = try clips.videoOnly(frames: 4)
        func playOnce() throws {
            let pipeline = try PlaybackPipeline(parameters: SessionTests.parameters(clip), virtualTime: true)
            let vsync = try #require(pipeline.virtualTime)
            let running = SessionTests.Running(pipeline)
            while running.wait(timeout: 0) == nil { vsync.advance() }
            _ = try #require(running.wait()).get()
        }
        try playOnce()  // first use: FFmpeg's and the runtime's one-time set-up
        let before = threadAndDescriptorCounts()
        try playOnce()
        #expect(threadAndDescriptorCounts() == before)
        for _ in 0..<100 { try playOnce() }
        let after = threadAndDescriptorCounts()
        print(
            "100 sessions: threads \(before.threads) → \(after.threads), descriptors \(before.descriptors) → \(after.descriptors)"
        )
        #expect(
            after == before,
            "threads \(before.threads) → \(after.threads), fds \(before.descriptors) → \(after.descriptors)")
    }
}
