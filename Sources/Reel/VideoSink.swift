import Foundation
import ReelCore
import ReelFramePool
import ReelVulkan

/// Where the display thread sends the frame it chose for a tick: rendered offscreen
/// (the pixels go to `run`'s `onFrame`), rendered into a window's swapchain and
/// presented, or nowhere (`--vo none`: no sink at all).
///
/// The display thread is the only caller. `submit` never waits for the device; a
/// render is finished later (`isFinished` polls, `finish` waits), and in a window
/// presented at a later tick, once rendered (see `DisplayWorker.presentLatency`).
///
/// Thread-safety: Confined to the display thread.
protocol VideoSink: AnyObject {
    /// Whether pictures go to a screen: presented at a later tick, and drawn again on a
    /// repeat only when lost. Offscreen, every tick's frame is the output.
    var presents: Bool { get }
    /// Renders that may be unfinished at once.
    var capacity: Int { get }
    /// Whether a render can be submitted now (besides `capacity`): false while every
    /// output buffer not in flight is held by the application (the embedding API's frames).
    var canSubmit: Bool { get }
    /// Whether a repeated frame (no new one due at a tick) is rendered again: offscreen
    /// each tick's picture is the output; a window redraws only when it must (see
    /// `presents`); the embedding API hands out new frames only.
    var rendersRepeats: Bool { get }
    /// Whether a render is handed out as soon as it finishes, between ticks
    /// (`finishedWithin`), rather than at the next tick: the embedding API's frames,
    /// whose latency the application measures.
    var deliversBetweenTicks: Bool { get }
    /// Whether the render finishes within `nanoseconds`, waiting that long at most.
    func finishedWithin(_ ticket: SinkTicket, nanoseconds: Int64) throws(PipelineError) -> Bool
    /// Untimed: waits until `canSubmit` (the application released a frame) or the
    /// session stops; false on a stop.
    func waitForRoom() -> Bool
    /// Whether the sink must be recreated (a window resized or its swapchain out of
    /// date) before the next submit, with no render in flight.
    var needsRecreation: Bool { get }
    func recreate() throws(PipelineError)
    /// Starts rendering `frame`; nil when the window had no image free.
    func submit(_ frame: ReadyFrame) throws(PipelineError) -> SinkTicket?
    func isFinished(_ ticket: SinkTicket) throws(PipelineError) -> Bool
    /// Waits for the render; its picture (for `onFrame` and screenshots).
    func finish(_ ticket: SinkTicket) throws(PipelineError) -> RenderedImage
    /// Shows what `ticket` rendered (a window; nothing offscreen). A window hands the
    /// image to its present thread and returns: `takePresented` says when it was shown.
    func present(_ ticket: SinkTicket) throws(PipelineError)
    /// Replaces `times` with when each image handed to `present` since the last call was
    /// shown (host ns), in order (the two arrays swap: nothing is allocated a tick);
    /// throws what a present failed with.
    func takePresented(into times: inout [Int64]) throws(PipelineError)
    /// Waits until every image handed to `present` was shown.
    func drainPresents()
    /// The display is over: threads of the sink's own end (their images shown).
    func shutDown()
}

extension VideoSink {
    func takePresented(into times: inout [Int64]) throws(PipelineError) { times.removeAll(keepingCapacity: true) }
    func drainPresents() {}
    func shutDown() {}
    var canSubmit: Bool { true }
    var rendersRepeats: Bool { !presents }
    func waitForRoom() -> Bool { true }
    var deliversBetweenTicks: Bool { false }
    func finishedWithin(_ ticket: SinkTicket, nanoseconds: Int64) throws(PipelineError) -> Bool {
        try isFinished(ticket)
    }
}

/// A render started by a sink.
struct SinkTicket: Equatable {
    let render: RenderTicket
    /// The window's image it renders into.
    let image: PresentableImage?

    static func == (lhs: SinkTicket, rhs: SinkTicket) -> Bool { lhs.render == rhs.render }
}

/// `--vo offscreen`: each frame rendered at its display size into the renderer's images.
final class OffscreenSink: VideoSink {
    private let renderer: OffscreenRenderer

    init(renderer: OffscreenRenderer) { self.renderer = renderer }

    var presents: Bool { false }
    var capacity: Int { OffscreenRenderer.framesInFlight }
    var needsRecreation: Bool { false }
    func recreate() {}

    func submit(_ frame: ReadyFrame) throws(PipelineError) -> SinkTicket? {
        let descriptor = frame.frame.descriptor
        do {
            let ticket = try renderer.submit(
                descriptor, in: frame.frame.pool, slot: frame.frame.slot, outputSize: descriptor.displaySize)
            return SinkTicket(render: ticket, image: nil)
        } catch { throw .render(error) }
    }

    func isFinished(_ ticket: SinkTicket) throws(PipelineError) -> Bool {
        do { return try renderer.isFinished(ticket.render) } catch { throw .render(error) }
    }

    func finish(_ ticket: SinkTicket) throws(PipelineError) -> RenderedImage {
        do { return try renderer.finish(ticket.render) } catch { throw .render(error) }
    }

    func present(_ ticket: SinkTicket) {}
}

/// `--vo window`: each frame rendered straight into the window's swapchain image
/// (letterboxed to the window), then presented.
final class WindowSink: VideoSink {
    private let renderer: OffscreenRenderer
    private let presenter: WindowPresenter
    private let presenting: PresentThread

    init(renderer: OffscreenRenderer, presenter: WindowPresenter) {
        self.renderer = renderer
        self.presenter = presenter
        presenting = PresentThread(presenter: presenter)
    }

    deinit { presenting.stop() }

    var presents: Bool { true }
    var capacity: Int { OffscreenRenderer.framesInFlight }
    var needsRecreation: Bool { presenter.needsRecreation }

    func recreate() throws(PipelineError) {
        // No image of the old swapchain may be on its way to the screen.
        presenting.drain()
        do { try presenter.recreate(size: presenter.extent) } catch { throw .render(error) }
    }

    func submit(_ frame: ReadyFrame) throws(PipelineError) -> SinkTicket? {
        // HDR pictures on a surface that offers HDR10 take an HDR10 swapchain (made
        // again first: this frame waits for the next tick).
        presenter.showPictures(hdr: frame.frame.descriptor.color.transfer.isHDR)
        do {
            guard
                let submitted = try renderer.submit(
                    frame.frame.descriptor, in: frame.frame.pool, slot: frame.frame.slot, renderingInto: presenter)
            else { return nil }
            return SinkTicket(render: submitted.ticket, image: submitted.image)
        } catch { throw .render(error) }
    }

    func isFinished(_ ticket: SinkTicket) throws(PipelineError) -> Bool {
        do { return try renderer.isFinished(ticket.render) } catch { throw .render(error) }
    }

    func finish(_ ticket: SinkTicket) throws(PipelineError) -> RenderedImage {
        do { return try renderer.finish(ticket.render) } catch { throw .render(error) }
    }

    func present(_ ticket: SinkTicket) throws(PipelineError) {
        guard let image = ticket.image else { return }
        presenting.enqueue(image)
    }

    func takePresented(into times: inout [Int64]) throws(PipelineError) {
        do { try presenting.take(into: &times) } catch { throw .render(error) }
    }

    func drainPresents() { presenting.drain() }

    func shutDown() { presenting.stop() }

    /// Shows a black picture of `format`, `size` and `colour` through the whole path —
    /// the pass, the copy into the swapchain image, the presentation — before playback
    /// starts: a CPU driver compiles code for each of them on first use (hundreds of ms
    /// with a cold shader cache), which would otherwise stall the first ticks. An HDR
    /// `colour` takes an HDR10 swapchain now where the surface offers one.
    func warmUp(format: PixelFormat, size: PixelSize, colour: ColorDescription) throws(PipelineError) {
        let layout = SlotLayout(format: format, width: size.width, height: size.height)
        let pool: FramePool
        do { pool = try FramePool(layout: layout, slotCount: 1) } catch { return }
        guard case .slot(let slot) = pool.acquire() else { return }
        defer { pool.release(slot) }
        pool.fillBlack(slot)
        let descriptor = pool.descriptor(color: colour, sampleAspectRatio: Rational(1, 1), presentationTime: nil)
        presenter.showPictures(hdr: colour.transfer.isHDR)
        if presenter.needsRecreation { try recreate() }
        do throws(RenderError) {
            guard let submitted = try renderer.submit(descriptor, in: pool, slot: slot, renderingInto: presenter)
            else { return }
            _ = try renderer.finish(submitted.ticket)
            try presenter.present(submitted.image)
        } catch { throw .render(error) }
    }
}

/// The window's present thread: with a CPU driver, `vkQueuePresentKHR` copies the
/// image to the window server and takes milliseconds (5 at 1080p on lavapipe under
/// Xvfb, now and then a whole refresh), so it runs here and not on the display thread,
/// which must keep its ticks. Images are shown in the order they were handed over;
/// when each was shown is kept for the display thread's accounting.
///
/// Thread-safety: Safe.
private final class PresentThread: @unchecked Sendable {
    private let presenter: WindowPresenter
    private let condition = NSCondition()
    private var queue: [PresentableImage] = []
    private var shown: [Int64] = []
    private var failure: RenderError?
    private var busy = false
    private var stopping = false
    private var worker: Worker?

    init(presenter: WindowPresenter) {
        self.presenter = presenter
        worker = Worker(name: "reel.present") { [self] in run() }
    }

    private func run() {
        while true {
            let image = condition.withLock { () -> PresentableImage? in
                while queue.isEmpty && !stopping { condition.wait() }
                guard !queue.isEmpty else { return nil }
                busy = true
                return queue.removeFirst()
            }
            guard let image else { return }
            var error: RenderError?
            do throws(RenderError) { try presenter.present(image) } catch let failed { error = failed }
            let now = HostTime.now()
            condition.withLock {
                busy = false
                if let error { failure = failure ?? error } else { shown.append(now) }
                condition.broadcast()
            }
        }
    }

    func enqueue(_ image: PresentableImage) {
        condition.withLock {
            queue.append(image)
            condition.broadcast()
        }
    }

    func take(into times: inout [Int64]) throws(RenderError) {
        times.removeAll(keepingCapacity: true)
        let error = condition.withLock { () -> RenderError? in
            swap(&times, &shown)
            return failure
        }
        if let error { throw error }
    }

    func drain() {
        condition.withLock { while (!queue.isEmpty || busy) && !stopping { condition.wait() } }
    }

    /// Shows what was handed over, then ends and joins the thread.
    func stop() {
        drain()
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
        worker?.join()
        worker = nil
    }
}
