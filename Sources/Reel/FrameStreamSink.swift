import Foundation
import ReelCore
import ReelTiming
import ReelVulkan
import Synchronization

/// The embedding API's output: each frame rendered into one of the renderer's output
/// buffers and lent, with that buffer, to the application (`RenderedFrame`), which
/// gives it back by releasing the frame. A buffer lent is not rendered into: with
/// every buffer lent, the timed display skips ticks (the frames due are dropped as
/// late) and the untimed one waits (`waitForRoom`).
///
/// Thread-safety: The `VideoSink` calls are confined to the display thread; frames are
/// given back and `stop` is called from any thread.
final class FrameStreamSink: VideoSink, @unchecked Sendable {
    private let renderer: OffscreenRenderer
    private let outputSize: PixelSize?
    private let format: FrameOutput.Format
    let channel: FrameChannel
    /// Keeps a renderer alive from a frame released on any thread (it is not used there).
    private final class Owner: @unchecked Sendable {
        let renderer: OffscreenRenderer
        init(_ renderer: OffscreenRenderer) { self.renderer = renderer }
    }

    /// What every lent frame holds: the renderer, whose buffer it is (one per sink, not
    /// an object per frame).
    private let owner: Owner
    /// Which output buffers are lent.
    private let loans: BufferLoans
    /// Signalled when a buffer comes back or the session stops (guards `stopped`).
    private let room = NSCondition()
    private var stopped = false
    /// Per output buffer: the frame being rendered into it.
    private var rendering: [(presentationTime: MediaTime?, due: Int64, received: Int64?)?]
    private var delivered = 0
    /// Push (or arrival) → rendered, ns, one per frame handed out.
    private(set) var latencies = LatencyHistogram()

    init(renderer: OffscreenRenderer, output: FrameOutput, channel: FrameChannel) {
        self.renderer = renderer
        outputSize = output.size
        format = output.format
        self.channel = channel
        owner = Owner(renderer)
        loans = BufferLoans(count: renderer.resourceCount)
        rendering = Array(repeating: nil, count: renderer.resourceCount)
        renderer.outputFormat =
            switch output.format {
            case .rgba8: .rgba8
            case .bgra8: .bgra8
            case .rgba16: .rgba16
            }
        renderer.colourTarget = output.colour
        renderer.isHeld = { [loans] index in loans.lent.withLock { $0[index] } }
    }

    var presents: Bool { false }
    var capacity: Int { OffscreenRenderer.framesInFlight }
    var needsRecreation: Bool { false }
    var canSubmit: Bool { renderer.canSubmit }
    var rendersRepeats: Bool { false }
    func recreate() {}

    func waitForRoom() -> Bool {
        room.withLock {
            while !stopped && !renderer.canSubmit { room.wait() }
            return !stopped
        }
    }

    /// Ends `waitForRoom` for good.
    func stop() {
        room.withLock {
            stopped = true
            room.broadcast()
        }
    }

    func submit(_ frame: ReadyFrame) throws(PipelineError) -> SinkTicket? {
        let descriptor = frame.frame.descriptor
        do {
            let ticket = try renderer.submit(
                descriptor, in: frame.frame.pool, slot: frame.frame.slot,
                outputSize: outputSize ?? descriptor.displaySize)
            rendering[ticket.resources] = (descriptor.presentationTime, HostTime.now(), frame.received)
            return SinkTicket(render: ticket, image: nil)
        } catch { throw .render(error) }
    }

    var deliversBetweenTicks: Bool { true }

    func finishedWithin(_ ticket: SinkTicket, nanoseconds: Int64) throws(PipelineError) -> Bool {
        do { return try renderer.isFinished(ticket.render, within: nanoseconds) } catch { throw .render(error) }
    }

    func isFinished(_ ticket: SinkTicket) throws(PipelineError) -> Bool {
        do { return try renderer.isFinished(ticket.render) } catch { throw .render(error) }
    }

    func finish(_ ticket: SinkTicket) throws(PipelineError) -> RenderedImage {
        let image: RenderedImage
        do { image = try renderer.finish(ticket.render) } catch { throw .render(error) }
        let index = ticket.render.resources
        let now = HostTime.now()
        let frame = rendering[index]!
        rendering[index] = nil
        if let received = frame.received { latencies.record(now - received) }
        loans.lent.withLock { $0[index] = true }
        // The frame keeps the renderer (its buffer's owner) alive, and not this sink: a
        // frame left in the channel would keep the channel that holds it.
        let pixels = LentPixels(bytes: image.pixels) { [owner, loans, room] in
            _ = owner
            loans.lent.withLock { $0[index] = false }
            room.withLock { room.broadcast() }
        }
        let clock = SuspendingClock.now
        let rendered = RenderedFrame(
            pixels: pixels, presentationTime: frame.presentationTime,
            due: clock.advanced(by: .nanoseconds(frame.due - now)), rendered: clock, size: image.size,
            format: format, rowBytes: image.rowBytes, index: delivered)
        delivered += 1
        channel.deliver(rendered)
        return image
    }

    func present(_ ticket: SinkTicket) {}
}

/// Which output buffers are lent to the application, shared with the renderer's `isHeld`.
private final class BufferLoans: Sendable {
    let lent: Locked<[Bool]>
    init(count: Int) { lent = Locked(Array(repeating: false, count: count)) }
}
