import ReelCore
import ReelTiming
import Testing

/// The scheduler against virtual displays, on a simulated clock: video is master and
/// runs from the first frame, frames arrive before they are due, and every tick asks
/// the scheduler what to show.
@Suite struct SchedulerTests {
    struct Run {
        var statistics = PresentationStatistics()
        /// Per shown frame: its media time and the media time of the tick it was first shown at.
        var shown: [(pts: Int64, at: Int64)] = []
        /// Ticks each shown frame stayed on screen.
        var ticksOnScreen: [Int] = []
    }

    /// Plays `seconds` of frames at `frameRate` on a display at `displayRate`.
    static func simulate(frameRate: Rational, displayRate: Rational, seconds: Int64) -> Run {
        let display = VsyncTimeline(start: 1_000_000_000, rate: displayRate)
        var clock = MasterClock()
        clock.set(media: 0, at: display.start)
        var scheduler = FrameScheduler()
        var ready: [Int64] = []
        var nextFrame: Int64 = 0
        let frameTime = { (index: Int64) in
            MediaTime(ticks: index * frameRate.denominator, timeBase: Rational(1, frameRate.numerator)).microseconds
        }
        var run = Run()
        var onScreen = 0
        let ticks = display.tick(atOrAfter: display.start + seconds * 1_000_000_000)
        for tick in 0..<ticks {
            let master = clock.media(at: display.time(ofTick: tick))!
            // The decoder keeps a few frames ahead.
            while ready.count < 4 {
                ready.append(frameTime(nextFrame))
                nextFrame += 1
            }
            switch scheduler.tick(
                ready: ready, master: master, interval: display.intervalMicroseconds, canSubmit: true)
            {
            case .show(let index, _):
                if !run.shown.isEmpty { run.ticksOnScreen.append(onScreen) }
                run.shown.append((ready[index], master))
                ready.removeFirst(index + 1)
                onScreen = 1
            case .repeatCurrent: onScreen += 1
            case .wait, .skip: break
            }
        }
        run.statistics = scheduler.statistics
        return run
    }

    @Test(arguments: [
        Rational(24, 1), Rational(25, 1), Rational(30, 1), Rational(50, 1), Rational(60000, 1001), Rational(60, 1),
    ])
    func everyFrameOnTimeWithoutDrift(frameRate: Rational) {
        for displayRate in [Rational(60, 1), Rational(120, 1), Rational(144, 1)] {
            let run = Self.simulate(frameRate: frameRate, displayRate: displayRate, seconds: 600)
            let label = "\(frameRate) fps on \(displayRate) Hz"
            let display = VsyncTimeline(start: 0, rate: displayRate)
            let half = display.intervalMicroseconds / 2 + 1
            // Nothing dropped: the display is at least as fast as the video.
            #expect(run.statistics.droppedLate == 0, "\(label)")
            #expect(run.statistics.skipped == 0, "\(label)")
            // Every frame first appears at the tick nearest its time, after 10 minutes as
            // at the start: no drift.
            let worst = run.shown.map { abs($0.at - $0.pts) }.max() ?? .max
            #expect(worst <= half, "\(label): worst offset \(worst) µs")
            // 10 minutes of frames, every one shown once.
            let expectedFrames = Int(600 * frameRate.numerator / frameRate.denominator)
            #expect(abs(run.statistics.presented - expectedFrames) <= 1, "\(label): \(run.statistics.presented)")
            // Each frame stays for ⌊R/f⌋ or ⌈R/f⌉ ticks (24 on 60: the 3:2 cadence).
            let ratio =
                Double(displayRate.numerator * frameRate.denominator)
                / Double(displayRate.denominator * frameRate.numerator)
            let allowed = Set([Int(ratio.rounded(.down)), Int(ratio.rounded(.up))])
            #expect(run.ticksOnScreen.allSatisfy { allowed.contains($0) }, "\(label): \(Set(run.ticksOnScreen))")
        }
    }

    @Test func twentyFourOnSixtyIsThreeTwo() {
        let run = Self.simulate(frameRate: Rational(24, 1), displayRate: Rational(60, 1), seconds: 10)
        let pairs = stride(from: 0, to: run.ticksOnScreen.count - 1, by: 2).map {
            run.ticksOnScreen[$0] + run.ticksOnScreen[$0 + 1]
        }
        #expect(pairs.allSatisfy { $0 == 5 }, "\(run.ticksOnScreen.prefix(12))")
        // 60 ticks a second, 24 of them new frames: 36 repeats a second.
        #expect(abs(run.statistics.repeated - 360) <= 3)
    }

    @Test func fasterVideoThanDisplayDropsTheSurplus() {
        let run = Self.simulate(frameRate: Rational(120, 1), displayRate: Rational(60, 1), seconds: 10)
        #expect(abs(run.statistics.presented - 600) <= 1)
        #expect(abs(run.statistics.droppedLate - 600) <= 2)
        #expect(run.statistics.repeated == 0)
    }

    /// The first pick after a start or a seek (`reset`) is the first ready frame, even
    /// when the clock has already passed the next one: the picture asked for is shown;
    /// the tick after catches up by dropping.
    @Test func firstFrameAfterASeekIsShownThenLateOnesDrop() {
        var scheduler = FrameScheduler()
        #expect(
            scheduler.tick(ready: [0], master: 0, interval: 16_667, canSubmit: true) == .show(index: 0, dropping: 0))
        scheduler.reset()
        let ready: [Int64] = [5_000_000, 5_033_333, 5_066_667]
        #expect(
            scheduler.tick(ready: ready, master: 5_040_000, interval: 16_667, canSubmit: true)
                == .show(index: 0, dropping: 0))
        #expect(
            scheduler.tick(ready: ready.dropFirst(), master: 5_060_000, interval: 16_667, canSubmit: true)
                == .show(index: 1, dropping: 1))
    }

    @Test func busyTickIsSkippedAndTheNextShowsTheNewest() {
        var scheduler = FrameScheduler()
        #expect(
            scheduler.tick(ready: [0], master: 0, interval: 16_667, canSubmit: true) == .show(index: 0, dropping: 0))
        #expect(scheduler.tick(ready: [16_667], master: 16_667, interval: 16_667, canSubmit: false) == .skip)
        #expect(
            scheduler.tick(ready: [16_667, 33_333], master: 33_333, interval: 16_667, canSubmit: true)
                == .show(index: 1, dropping: 1))
        #expect(scheduler.tick(ready: [66_667], master: 50_000, interval: 16_667, canSubmit: true) == .repeatCurrent)
        #expect(
            scheduler.statistics
                == {
                    var s = PresentationStatistics()
                    s.presented = 2
                    s.droppedLate = 1
                    s.skipped = 1
                    s.repeated = 1
                    return s
                }())
    }

    @Test func vsyncTimelineIsExact() {
        let display = VsyncTimeline(start: 5, rate: Rational(60000, 1001))
        // 60000 ticks of 59.94 Hz (1001/60 ms each) take exactly 1001 s: no rounding adds up.
        #expect(display.time(ofTick: 60_000) == 5 + 1_001_000_000_000)
        #expect(display.time(ofTick: 1) == 5 + 16_683_333)
        #expect(display.tick(atOrAfter: 5 + 1_001_000_000_000) == 60_000)
        #expect(display.tick(atOrAfter: 6 + 1_001_000_000_000) == 60_001)
        #expect(display.tick(atOrAfter: 0) == 0)
    }
}

@Suite struct ClockTests {
    @Test func followsA33BitWrap() {
        var mapper = TimestampMapper(wrapBits: 33)
        let base = Rational(1, 90000)
        let wrap = Int64(1) << 33
        var times: [Int64] = []
        // 25 fps (3600 ticks a frame) across the wrap.
        for index in Int64(-3)..<3 {
            let ticks = (wrap + index * 3600) & (wrap - 1)
            times.append(mapper.map(MediaTime(ticks: ticks, timeBase: base)))
        }
        let steps = zip(times.dropFirst(), times).map { $0 - $1 }
        #expect(steps == Array(repeating: 40_000, count: 5))
        #expect(mapper.discontinuities == 0)
    }

    @Test func aJumpResetsTheMappingInsteadOfFreezingOrRacing() {
        var mapper = TimestampMapper()
        let base = Rational(1, 1000)
        let before = (0..<5).map { mapper.map(MediaTime(ticks: Int64($0) * 40, timeBase: base)) }
        // The source jumps an hour ahead, then an hour back.
        let ahead = (0..<3).map { mapper.map(MediaTime(ticks: 3_600_000 + Int64($0) * 40, timeBase: base)) }
        let back = (0..<3).map { mapper.map(MediaTime(ticks: 1000 + Int64($0) * 40, timeBase: base)) }
        #expect(before == [0, 40_000, 80_000, 120_000, 160_000])
        #expect(ahead == [200_000, 240_000, 280_000])
        #expect(back == [320_000, 360_000, 400_000])
        #expect(mapper.discontinuities == 2)
    }

    @Test func framesWithoutTimestampsContinueAtTheInterval() {
        var mapper = TimestampMapper()
        let base = Rational(1, 50)
        #expect(mapper.map(MediaTime(ticks: 10, timeBase: base)) == 200_000)
        #expect(mapper.map(MediaTime(ticks: 11, timeBase: base)) == 220_000)
        #expect(mapper.map(nil) == 240_000)
        #expect(mapper.map(nil) == 260_000)
        #expect(mapper.map(MediaTime(ticks: 14, timeBase: base)) == 280_000)
    }

    @Test func masterClockPausesAndResumes() {
        var clock = MasterClock()
        #expect(clock.media(at: 0) == nil)
        clock.set(media: 1_000_000, at: 10_000_000_000)
        #expect(clock.media(at: 10_500_000_000) == 1_500_000)
        clock.pause(at: 11_000_000_000)
        #expect(clock.media(at: 15_000_000_000) == 2_000_000)
        #expect(clock.host(at: 2_000_000) == nil)
        clock.resume(at: 20_000_000_000)
        #expect(clock.media(at: 20_250_000_000) == 2_250_000)
        #expect(clock.host(at: 3_000_000) == 21_000_000_000)
        clock.reset()
        #expect(!clock.isSet)
        // An audio clock stops at the end of what was written.
        clock.set(media: 0, at: 0, limit: 100_000)
        #expect(clock.media(at: 50_000_000) == 50_000)
        #expect(clock.media(at: 2_000_000_000) == 100_000)
    }
}
