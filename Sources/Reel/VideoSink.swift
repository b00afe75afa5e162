import ReelCore
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
    /// Shows what `ticket` rendered (a window; nothing offscreen).
    func present(_ ticket: SinkTicket) throws(PipelineError)
}

extension VideoSink {
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

    init(renderer: OffscreenRenderer, presenter: WindowPresenter) {
        self.renderer = renderer
        self.presenter = presenter
    }

    var presents: Bool { true }
    var capacity: Int { OffscreenRenderer.framesInFlight }
    var needsRecreation: Bool { presenter.needsRecreation }

    func recreate() throws(PipelineError) {
        do { try presenter.recreate(size: presenter.extent) } catch { throw .render(error) }
    }

    func submit(_ frame: ReadyFrame) throws(PipelineError) -> SinkTicket? {
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
        do { try presenter.present(image) } catch { throw .render(error) }
    }
}
