import Foundation
import ReelCore
import ReelTiming
import ReelVulkan

/// The display thread's work at each tick: pick, render, present, account.
///
/// It never waits at a tick: not for the decoder (no frame due: the one on screen is
/// repeated), nor for the GPU (a tick with every submission busy is skipped), nor for
/// I/O (the timeline and screenshots are written by other threads); it only takes the
/// session's lock for a few reads and writes.
final class DisplayWorker: @unchecked Sendable {
    /// Where frames go; nil with `--vo none` (frames are shown by being dropped at their time).
    private let sink: VideoSink?
    /// Whether the sink is a window's.
    private let presents: Bool
    private let state: SessionState
    private let clock: SessionClock
    private let timeline: TimelineWriter?
    private let sync: SyncSource
    private let hasAudio: Bool
    /// Whether a video stream plays: without one, nothing is shown and the end is the sound's.
    private let hasVideo: Bool
    let interval: Int64
    private let frameLimit: Int?
    private let renderDelay: Int64
    private let monitor: PlaybackMonitor
    private let onFrame: @Sendable (PipelineFrame) -> Void
    /// Wakes the caller's thread: a screenshot to write, or the end.
    private let onNotice: @Sendable () -> Void
    private var finished = false
    private var scheduler = FrameScheduler()
    /// The master as the display reads it: audio-clock wobble under a few ms is not chased.
    private var follower = ClockFollower()
    /// The generation of the clocks and frames the display follows (see `Clocks`).
    private var generation = 0
    private var showing: ReadyFrame?
    /// A window's picture is drawn again on a repeat only when it was lost or could
    /// not be drawn last time; offscreen, every repeat is rendered (it is the output).
    private var redrawOwed = false
    private var inFlight: [(ticket: SinkTicket, frame: ReadyFrame)] = []
    /// In a window: the frame rendered at the last tick, presented at this one (see
    /// `presentLatency`); `isNew` when it is shown for the first time.
    private var pending: Presentation?
    /// Frames handed to the window's present thread, not yet reported shown, in order,
    /// and when those reported were shown (kept: reused each tick).
    private var presenting: [Presentation] = []
    /// In a window: new frames the present thread has shown (`presented` counts them as
    /// they are chosen; a failure leaves the last few chosen but never shown).
    private var shownInWindow = 0
    private var shownTimes: [Int64] = []

    private typealias Presentation = (ticket: SinkTicket, time: Int64, received: Int64?, tick: Int64, isNew: Bool)
    /// How long (ns) after its tick a frame reaches the screen, so that each tick picks
    /// the frame due then. Offscreen, none. In a window a frame is presented at a later
    /// tick, once rendered (presenting at once would wait for the render, and with a
    /// CPU driver for the copy to the window server: ~20 ms at 1080p on lavapipe, more
    /// than a tick), so at least one refresh: measured, as a running average of when
    /// presentations return, between one and four refreshes.
    private var presentLatency: Int64
    /// A−V of every frame shown, and (a live input's) first packet received → shown (ns):
    /// histograms, in constant memory however long the run.
    private var offsets = SignedHistogram()
    private var latencies = LatencyHistogram()
    /// A−V at presentation of this generation's first frames in a window (see `alignPhase`).
    private var phase: [Int64] = []
    private var readyTimes: [Int64] = []
    private var rendered = 0
    /// Counting frames itself, without the scheduler (`runUntimed`).
    private var untimed = false
    private(set) var statistics = PlaybackStatistics()

    init(
        sink: VideoSink?, state: SessionState, clock: SessionClock,
        timeline: TimelineWriter?, sync: SyncSource, hasVideo: Bool, hasAudio: Bool, interval: Int64,
        frameLimit: Int?, renderDelay: Int64, monitor: PlaybackMonitor,
        onFrame: @escaping @Sendable (PipelineFrame) -> Void, onNotice: @escaping @Sendable () -> Void
    ) {
        self.onNotice = onNotice
        self.sink = sink
        presents = sink?.presents ?? false
        self.state = state
        self.clock = clock
        self.timeline = timeline
        self.sync = sync
        self.hasAudio = hasAudio
        self.hasVideo = hasVideo
        self.interval = interval
        self.frameLimit = frameLimit
        self.renderDelay = renderDelay
        self.monitor = monitor
        self.onFrame = onFrame
        presentLatency = presents ? interval * 1000 : 0
        readyTimes.reserveCapacity(PlaybackPipeline.readyFrames)
        publishPictureLatency()
    }

    /// One tick at host time `deadline` (ns); false when playback is over.
    func tick(deadline: Int64) -> Bool {
        do throws(PipelineError) {
            try collectFinished(waiting: false)
            try accountPresented()
            try presentPending(waiting: false)
            followGeneration()
            if isOver() { return finishUp() }
            // The frame chosen now is on screen one present latency later.
            guard var master = masterTime(at: deadline + presentLatency) else { return true }
            let generation = generation
            guard hasVideo else {
                // Sound only: nothing to show; the position is the sound's.
                report(offset: nil, soundAt: master)
                state.update { $0.shownGeneration = generation }
                return true
            }
            readyTimes.removeAll(keepingCapacity: true)
            let pausedBeforeFirst = state.read { fields in
                for frame in fields.ready.all { readyTimes.append(frame.time) }
                return fields.paused && fields.shownGeneration != generation
            }
            // Paused after a seek (or at the start): the frame it landed on is shown, even
            // when the sound (the clock) starts a little before it.
            if pausedBeforeFirst, let first = readyTimes.first { master = max(master, first) }
            let canSubmit = inFlight.count < (sink?.capacity ?? 1) && (sink?.canSubmit ?? true)
            let decision = scheduler.tick(ready: readyTimes, master: master, interval: interval, canSubmit: canSubmit)
            var offset: Int64?
            switch decision {
            case .show(let index, _):
                // The late ones are dropped (an array only when there are some).
                let (frame, dropped) = state.update { fields -> (ReadyFrame?, [ReadyFrame]) in
                    let dropped = index == 0 ? [] : (0..<index).compactMap { _ in fields.ready.popFirst() }
                    return (fields.ready.popFirst(), dropped)
                }
                state.release(dropped)
                guard let frame else { return true }
                if let previous = showing { state.release(previous) }
                showing = frame
                if !presents {
                    offset = record(frame.time, received: frame.received, shownAt: deadline, master: master)
                }
                try render(frame, isNew: true, tick: deadline)
            case .repeatCurrent:
                if let showing, needsRepeatRender() { try render(showing, isNew: false, tick: deadline) }
            case .wait, .skip:
                break
            }
            statistics.presentation = scheduler.statistics
            report(offset: offset)
            // After the report: whoever hears that this generation has its picture finds
            // the position there.
            if case .show = decision { state.update { $0.shownGeneration = generation } }
            return true
        } catch {
            state.fail(error)
            return finishUp()
        }
    }

    /// After a tick, with a sink that hands frames out between ticks: waits for the
    /// renders in flight, at most until host time `deadline` (ns; before the next
    /// tick, so no tick is late for it), and hands out each as it finishes — a
    /// frame goes out when rendered, not a tick later.
    func deliverRendered(before deadline: Int64) {
        guard let sink, sink.deliversBetweenTicks, !finished else { return }
        do throws(PipelineError) {
            while let first = inFlight.first {
                let remaining = deadline - clock.now()
                guard remaining > 0, try sink.finishedWithin(first.ticket, nanoseconds: remaining) else { return }
                try collectOldest()
            }
        } catch {
            state.fail(error)
        }
    }

    /// Untimed: every frame rendered as soon as it is ready, waiting for the GPU only
    /// when all submissions are busy. Runs on its own thread until the end.
    func runUntimed() {
        untimed = true
        do throws(PipelineError) {
            while frameLimit.map({ statistics.presentation.presented < $0 }) ?? true {
                followGeneration()
                if isOver() { break }
                // The next frame, or a change that may end playback (a stop, a seek, an end).
                let (generation, hasAudio) = (generation, hasAudio)
                let decide = { (fields: inout SessionFields) -> ReadyFrame?? in
                    if fields.stopping || fields.generation != generation { return .some(nil) }
                    if let frame = fields.ready.popFirst() { return frame }
                    let ended = fields.videoEnded == generation && (!hasAudio || fields.audioEnded == generation)
                    return ended ? .some(nil) : nil
                }
                let next: ReadyFrame?
                if let decided = state.update(decide) {
                    next = decided
                } else {
                    // Nothing ready: the frames rendered go out before the wait (the
                    // next frame may wait for their slots or output buffers).
                    try collectFinished(waiting: true)
                    next = state.wait(for: decide)
                }
                guard let frame = next else { continue }
                try collectFinished(waiting: false)
                while inFlight.count >= (sink?.capacity ?? 1) || (!(sink?.canSubmit ?? true) && !inFlight.isEmpty) {
                    try collectOldest()
                }
                // Every output buffer held by the application: wait for one (or a stop).
                if let sink, !sink.canSubmit, !sink.waitForRoom() {
                    state.release(frame)
                    break
                }
                if let previous = showing { state.release(previous) }
                showing = frame
                statistics.presentation.presented += 1
                let now = clock.now()
                if !presents {
                    timeline?.video(pts: frame.time, shown: now / 1000, received: frame.received.map { $0 / 1000 })
                }
                try render(frame, isNew: true, tick: now)
                report(offset: nil)
            }
        } catch {
            state.fail(error)
        }
        _ = finishUp()
    }

    /// Drops frames of generations before the clocks' one; at a new generation (a
    /// seek, a loop), starts following the new clocks from their first frame.
    private func followGeneration() {
        let (current, stale) = state.update { fields in
            var stale: [ReadyFrame] = []
            while let first = fields.ready.first, first.generation < fields.generation {
                stale.append(fields.ready.popFirst()!)
            }
            return (fields.generation, stale)
        }
        state.release(stale)
        if current != generation {
            generation = current
            scheduler.reset()
            follower.reset()
            phase.removeAll(keepingCapacity: true)
        }
    }

    /// Whether playback is over: stopped, at the frame limit, or this generation played
    /// through (all frames shown, all sound heard) with no loop to follow.
    private func isOver() -> Bool {
        let atLimit = frameLimit.map { statistics.presentation.presented >= $0 } ?? false
        let (generation, hasVideo, hasAudio) = (generation, hasVideo, hasAudio)
        return state.update { fields in
            if fields.stopping || atLimit { return true }
            let videoEnded = !hasVideo || fields.videoEnded == generation
            let audioEnded = !hasAudio || fields.audioEnded == generation
            guard videoEnded && audioEnded && fields.ready.isEmpty, fields.generation == generation else {
                return false
            }
            fields.playedThrough = generation
            fields.playedToEnd = !fields.looping
            return !fields.looping
        }
    }

    /// Whether a repeat must be rendered: always offscreen; in a window, only when its
    /// picture was lost, it was resized, a screenshot is wanted, or the last render
    /// found no image.
    private func needsRepeatRender() -> Bool {
        guard let sink else { return true }
        guard sink.presents else { return sink.rendersRepeats }
        let (redraw, screenshotWanted) = state.update { fields in
            defer { fields.redraw = false }
            return (fields.redraw, !fields.screenshotsWanted.isEmpty)
        }
        if redraw { redrawOwed = true }
        return redrawOwed || sink.needsRecreation || screenshotWanted
    }

    /// Publishes the progress for a status line.
    /// `soundAt`: without video, the media time of the sound heard now.
    private func report(offset: Int64?, soundAt: Int64? = nil) {
        let presentation = statistics.presentation
        let position = soundAt ?? showing?.time
        let rendered = rendered
        let generation = soundAt != nil ? generation : showing?.generation ?? -1
        monitor.update {
            $0.presentation = presentation
            $0.position = position
            $0.generation = generation
            $0.rendered = rendered
            if let offset { $0.avOffset = offset }
        }
    }

    /// The master clock's media time at `deadline`, as the display follows it; nil
    /// until it is set. Without audio sync the first frame's arrival starts it.
    private func masterTime(at deadline: Int64) -> Int64? {
        let (generation, sync, hasAudio) = (generation, sync, hasAudio)
        let time = state.update { fields -> Int64? in
            guard fields.generation == generation else { return nil }
            let clocks = fields.clocks
            if sync == .audio, let heard = clocks.audio.media(at: deadline) { return heard }
            if let master = clocks.master.media(at: deadline) { return master }
            // Audio master: wait for the sound, unless this generation's has ended
            // without any (a stream with no packets): then as video.
            if sync == .audio && hasAudio && fields.audioEnded != generation { return nil }
            // Video or external: start the clock at the first frame.
            guard let first = fields.ready.first?.time else { return nil }
            fields.clocks.master.set(media: first, at: deadline)
            if fields.paused { fields.clocks.master.pause(at: deadline) }
            return first
        }
        return time.map { follower.follow($0, at: deadline) }
    }

    /// The A−V offset of a frame at media time `time` on screen at host time `shown`
    /// (ns), against the audio clock then (the master without audio), recorded with the
    /// frame's timeline line.
    @discardableResult
    private func record(_ time: Int64, received: Int64?, shownAt shown: Int64, master: Int64?) -> Int64? {
        let generation = generation
        let heard =
            hasAudio ? state.read { $0.generation == generation ? $0.clocks.audio.media(at: shown) : nil } : master
        let offset = heard.map { time - $0 }
        if let offset { offsets.record(offset) }
        if statistics.firstShown == nil { statistics.firstShown = shown }
        if let received { latencies.record(shown - received) }
        timeline?.video(pts: time, shown: shown / 1000, received: received.map { $0 / 1000 })
        return offset
    }

    /// In a window, hands the frame rendered at an earlier tick to the present thread:
    /// once its render has finished, or at once with `waiting` (the presentation then
    /// waits for it on the GPU, not here).
    private func presentPending(waiting: Bool) throws(PipelineError) {
        guard let pending, let sink else { return }
        if !waiting, inFlight.contains(where: { $0.ticket == pending.ticket }) {
            guard try sink.isFinished(pending.ticket) else { return }
        }
        self.pending = nil
        try sink.present(pending.ticket)
        presenting.append(pending)
    }

    /// Accounts for the frames the present thread has shown since: the present latency,
    /// and A−V at the moment each reached the screen.
    private func accountPresented() throws(PipelineError) {
        guard let sink, !presenting.isEmpty else { return }
        try sink.takePresented(into: &shownTimes)
        for shownAt in shownTimes {
            guard !presenting.isEmpty else { break }
            let presented = presenting.removeFirst()
            guard presented.isNew else { continue }
            shownInWindow += 1
            let latency = min(max(shownAt - presented.tick, interval * 1000), 4 * interval * 1000)
            presentLatency = (7 * presentLatency + latency) / 8
            let (generation, sync) = (generation, sync)
            let master = state.read { fields -> Int64? in
                guard fields.generation == generation else { return nil }
                return sync == .audio ? fields.clocks.audio.media(at: shownAt) : fields.clocks.master.media(at: shownAt)
            }
            let offset = record(presented.time, received: presented.received, shownAt: shownAt, master: master)
            if let offset {
                monitor.update { $0.avOffset = offset }
                alignPhase(offset)
            }
            publishPictureLatency()
        }
    }

    /// How long after the clock starts a generation's first picture comes out, on
    /// average: the present latency, and half a refresh for the tick the clock starts
    /// in (the sound's start waits that long; see `SessionFields.pictureLatency`).
    private func publishPictureLatency() {
        let latency = presents ? presentLatency / 1000 + interval / 2 : 0
        state.update { $0.pictureLatency = latency }
    }

    /// Frames presented to measure the phase over, after the first few (the present
    /// latency settles first).
    static let phaseFrames = (skip: 10, measured: 30)

    /// Lines the sound up with the display's ticks, once per generation, in a window with
    /// audio master. A picture can only change at a tick, so each frame appears up to
    /// half a refresh before or after its time, and since the ticks and the media clock
    /// run at fixed rates, by the same amount for the whole run (measured externally with
    /// `tools/av-glass`: a constant −1…+11 ms from run to run at 60 Hz). Delaying (or
    /// advancing) the sound by the mean A−V of the first frames cancels it: the ticks
    /// then fall on the frames' times. The audio thread writes that much silence, or cuts
    /// that much sound, once.
    private func alignPhase(_ offset: Int64) {
        guard sync == .audio, hasAudio, phase.count < Self.phaseFrames.skip + Self.phaseFrames.measured else {
            return
        }
        phase.append(offset)
        guard phase.count == Self.phaseFrames.skip + Self.phaseFrames.measured else { return }
        let measured = phase.dropFirst(Self.phaseFrames.skip)
        // Offset: picture minus sound media time; negative when the picture is late.
        let shift = -measured.reduce(0, +) / Int64(measured.count)
        guard abs(shift) >= 1000, abs(shift) <= interval else { return }
        state.update { $0.soundShift = ($0.soundShift.request + 1, shift) }
    }

    /// Renders a frame chosen at the tick at host time `tick` (ns).
    /// The debug `--render-delay` stalls here, with or without a renderer.
    private func render(_ frame: ReadyFrame, isNew: Bool, tick: Int64) throws(PipelineError) {
        defer { if renderDelay > 0 { clock.sleep(until: clock.now() + renderDelay * 1000) } }
        guard sink != nil else { return }
        frame.frame.pool.retain(frame.frame.slot)
        let ticket: SinkTicket?
        do {
            ticket = try submit(frame, isNew: isNew, tick: tick)
        } catch {
            state.release(frame)
            throw error
        }
        if let ticket {
            inFlight.append((ticket, frame))
            redrawOwed = false
        } else {
            state.release(frame)
            statistics.imagesUnavailable += 1
            redrawOwed = true
        }
    }

    /// Submits the frame to the sink (in a window: after presenting the image before,
    /// and recreating the swapchain after a resize); nil when no image was free.
    private func submit(_ frame: ReadyFrame, isNew: Bool, tick: Int64) throws(PipelineError) -> SinkTicket? {
        guard let sink else { return nil }
        if sink.needsRecreation {
            // The image waiting is of the old swapchain: it goes first; the frames in
            // flight use the old images too.
            try presentPending(waiting: true)
            sink.drainPresents()
            try accountPresented()
            try collectFinished(waiting: true)
            try sink.recreate()
        }
        // One image waits for presentation at a time. The new frame is submitted
        // first, then the one before goes to the present thread: its copy to the
        // screen runs while this thread waits for the next tick.
        let previous = pending
        pending = nil
        let ticket = try sink.submit(frame)
        if let previous {
            pending = previous
            try presentPending(waiting: true)
        }
        guard let ticket else { return nil }
        if sink.presents { pending = (ticket, frame.time, frame.received, tick, isNew) }
        return ticket
    }

    /// Finishes the submissions the GPU is done with (all of them with `waiting`).
    private func collectFinished(waiting: Bool) throws(PipelineError) {
        while let first = inFlight.first, let sink {
            if !waiting {
                guard try sink.isFinished(first.ticket) else { return }
            }
            try collectOldest()
        }
    }

    /// Finishes the oldest submission, waiting for the GPU if need be; keeps its
    /// picture when a screenshot is wanted.
    private func collectOldest() throws(PipelineError) {
        guard let first = inFlight.first, let sink else { return }
        let image = try sink.finish(first.ticket)
        do {
            let wanted = state.update { fields in
                fields.screenshotsWanted.isEmpty ? nil : fields.screenshotsWanted.removeFirst()
            }
            if let wanted {
                let shot = Screenshot(
                    request: wanted, pixels: image.copyPixels(), width: image.size.width, height: image.size.height,
                    bgra: image.format == .bgra8)
                state.update { $0.screenshots.append(shot) }
                onNotice()
            }
            onFrame(
                PipelineFrame(
                    index: rendered, presentationTime: first.frame.frame.descriptor.presentationTime, image: image))
        }
        rendered += 1
        state.release(first.frame)
        inFlight.removeFirst()
    }

    /// The ticks ended without the display ending playback (a stop woke it).
    func stopped() { _ = finishUp() }

    private func finishUp() -> Bool {
        guard !finished else { return false }
        finished = true
        try? presentPending(waiting: true)
        sink?.drainPresents()
        try? accountPresented()
        sink?.shutDown()
        try? collectFinished(waiting: true)
        if let frame = showing.take() { state.release(frame) }
        if !untimed { statistics.presentation = scheduler.statistics }
        // After a failure in a window, the frames chosen but never shown do not count.
        if presents && state.read({ $0.failure != nil }) { statistics.presentation.presented = shownInWindow }
        statistics.avOffset = OffsetSummary(offsets)
        statistics.receiveToPresent = LatencySummary(latencies)
        state.update { fields in
            fields.stopping = true
            fields.displayDone = true
        }
        onNotice()
        return false
    }
}
