import ReelCore
import ReelTiming
import Testing

/// The sync thresholds: jitter under a few ms is not chased, jumps beyond 10 s resync,
/// and audio follows a video master by a few percent of stretch.
@Suite struct SyncPolicyTests {
    /// 60 fps on a 60 Hz display, each frame 8 ms after its tick: right at the half-tick
    /// boundary, where an audio clock wobbling by ±3 ms decides the frame's tick.
    /// Returns the scheduler's counts over 10 simulated minutes.
    static func jitteryAudioClock(follower: ClockFollower?) -> PresentationStatistics {
        let display = VsyncTimeline(start: 0, rate: Rational(60, 1))
        var follower = follower
        var scheduler = FrameScheduler()
        var ready: [Int64] = []
        var next: Int64 = 0
        var noise: UInt64 = 0x9E37_79B9_7F4A_7C15
        for tick in 0..<Int64(36_000) {
            let host = display.time(ofTick: tick)
            // A deterministic wobble in −3000…+3000 µs.
            noise = noise &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let wobble = Int64(noise >> 33) % 6001 - 3000
            let master = host / 1000 + wobble
            let read =
                follower.map { f in
                    var f = f
                    let value = f.follow(master, at: host)
                    follower = f
                    return value
                } ?? master
            while ready.count < 3 {
                ready.append(next * 1_000_000 / 60 + 8_000)
                next += 1
            }
            if case .show(let index, _) = scheduler.tick(
                ready: ready, master: read, interval: display.intervalMicroseconds, canSubmit: true)
            {
                ready.removeFirst(index + 1)
            }
        }
        return scheduler.statistics
    }

    @Test func wobbleUnderAFewMillisecondsIsNotChased() {
        let direct = Self.jitteryAudioClock(follower: nil)
        let followed = Self.jitteryAudioClock(follower: ClockFollower())
        // Read directly, the wobble makes frames miss and double up.
        #expect(direct.droppedLate > 1000 && direct.repeated > 1000, "\(direct)")
        // Followed, every frame is shown once, each on its own tick (but for a correction
        // that may move the phase across the boundary once).
        #expect(followed.droppedLate + followed.repeated <= 2, "\(followed)")
        #expect(abs(followed.presented - 36_000) <= 1)
    }

    @Test func aRealStepIsFollowedAtOnce() {
        var follower = ClockFollower(tolerance: 4_000)
        #expect(follower.follow(1_000_000, at: 0) == 1_000_000)
        // 3 ms off after 10 ms: ignored, the follower runs on at rate 1.
        #expect(follower.follow(1_013_000, at: 10_000_000) == 1_010_000)
        // A 50 ms step (a stall, a seek): taken.
        #expect(follower.follow(1_070_000, at: 20_000_000) == 1_070_000)
        #expect(follower.corrections == 1)
        // A steady 8 ms difference (drift built up) is taken up within half a second.
        var readings = 0
        var read: Int64 = 0
        repeat {
            readings += 1
            let host = 20_000_000 + Int64(readings) * 16_666_667
            read = follower.follow(1_078_000 + host / 1000 - 20_000, at: host)
            read -= host / 1000 - 20_000
        } while read < 1_074_000 && readings < 100
        #expect(readings < 30, "\(readings) readings")  // within half a second at 60 Hz
    }

    /// Video that jumps 5 s ahead of the master is held until its time; 20 s ahead, it
    /// resyncs and carries on at its pace.
    @Test func jumpsWithinTenSecondsHoldBeyondResync() {
        for (jump, expectResync) in [(Int64(5_000_000), false), (20_000_000, true)] {
            var scheduler = FrameScheduler()
            var shownAt: [Int64: Int64] = [:]
            var ready: [Int64] = []
            var next = 0
            let frameTime = { (index: Int) -> Int64 in Int64(index) * 40_000 + (index >= 50 ? jump : 0) }
            for tick in 0..<Int64(1200) {
                let master = tick * 1_000_000 / 60
                while ready.count < 3 {
                    ready.append(frameTime(next))
                    next += 1
                }
                if case .show(let index, _) = scheduler.tick(
                    ready: ready, master: master, interval: 16_667, canSubmit: true)
                {
                    shownAt[ready[index]] = master
                    ready.removeFirst(index + 1)
                }
            }
            let jumped = shownAt[frameTime(50)]
            #expect(scheduler.statistics.resyncs == (expectResync ? 1 : 0))
            #expect(scheduler.statistics.droppedLate == 0)
            if expectResync {
                // Shown one frame after the one before it, then every 40 ms.
                #expect(jumped == 2_000_000)
                #expect(shownAt[frameTime(60)] == 2_400_000)
            } else {
                // Held until the master reaches it.
                #expect(jumped.map { abs($0 - 7_000_000) <= 8_334 } == true, "\(jumped ?? -1)")
            }
        }
    }

    /// Audio 30 ms ahead of a video master, chunks of 1024 frames at 48 kHz: the
    /// corrector waits for 20 measurements, then stretches by at most 4 % until the
    /// difference is under its threshold, and never overshoots past it.
    @Test func driftIsStretchedAwayWithinFewPercent() {
        var corrector = AudioDriftCorrector(sampleRate: 48_000)
        var difference: Int64 = 30_000
        var added: [Int] = []
        for _ in 0..<200 {
            let extra = corrector.correction(difference: difference, frames: 1024)
            added.append(extra)
            // Playing extra frames delays the audio by their duration.
            difference -= Int64(extra) * 1_000_000 / 48_000
        }
        #expect(added.prefix(20).allSatisfy { $0 == 0 })
        #expect(added.allSatisfy { abs($0) <= 1024 * 4 / 100 }, "\(added.max() ?? 0)")
        #expect(abs(difference) < 5_000, "left \(difference) µs")
        #expect(added.allSatisfy { $0 >= 0 }, "it overshot: \(added.filter { $0 < 0 })")
        // Ten seconds and more apart: the streams do not belong together; no correction.
        var apart = AudioDriftCorrector(sampleRate: 48_000)
        #expect((0..<40).allSatisfy { _ in apart.correction(difference: 12_000_000, frames: 1024) == 0 })
    }
}
