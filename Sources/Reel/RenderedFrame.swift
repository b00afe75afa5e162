import Foundation
import ReelCore
import ReelMedia
import Synchronization

/// A rendered picture, lent to the application: its pixels stay in the session's
/// output buffer (no copy) until the frame is released.
///
/// Read the pixels inside `withPixels(_:)`. `release()` (or dropping the last
/// reference) returns the buffer to the session: while the application holds every
/// output buffer, a timed session drops frames (counted) and an every-frame session
/// waits.
///
/// Thread-safety: Safe; `withPixels` may be called from any thread until `release()`.
public final class RenderedFrame: Sendable {
    /// The pushed or decoded frame's presentation time.
    public let presentationTime: MediaTime?
    /// The display tick it was chosen at (timed), or when it was taken to render
    /// (every frame).
    public let due: SuspendingClock.Instant
    /// When it was rendered and handed out.
    public let rendered: SuspendingClock.Instant
    public let size: PixelSize
    public let format: FrameOutput.Format
    /// Bytes from one row of pixels to the next (at least `size.width` × bytes per pixel).
    public let rowBytes: Int
    /// 0-based, in the order frames were rendered.
    public let index: Int
    private let lent: Locked<LentPixels?>

    init(
        pixels: LentPixels, presentationTime: MediaTime?, due: SuspendingClock.Instant,
        rendered: SuspendingClock.Instant, size: PixelSize, format: FrameOutput.Format, rowBytes: Int, index: Int
    ) {
        self.presentationTime = presentationTime
        self.due = due
        self.rendered = rendered
        self.size = size
        self.format = format
        self.rowBytes = rowBytes
        self.index = index
        lent = Locked(pixels)
    }

    deinit { release() }

    /// Lends the pixels, `rowBytes` × `size.height` bytes, to `body`. The span is valid
    /// inside the closure only. Calling it after `release()` is a programming error.
    public func withPixels<Result, Failure: Error>(_ body: (RawSpan) throws(Failure) -> Result) throws(Failure)
        -> Result
    {
        // The buffer cannot go back while the lock is held.
        try lent.withLock { lent throws(Failure) -> Result in
            guard let lent else { preconditionFailure("withPixels after the frame was released") }
            return try body(lent.bytes.bytes)
        }
    }

    /// Writes the picture as a PNG file at `path` (8 bits a channel, RGBA): for an
    /// `.rgba8` output. Throws for another format, or when the file cannot be written.
    public func writePNG(to path: String) throws(ReelError) {
        guard format == .rgba8 else {
            throw ReelError(.unsuitable, "a PNG is written from RGBA8 frames; this one is \(format.rawValue)")
        }
        do throws(MediaError) {
            let writer = try PNGWriter()
            try withPixels { pixels throws(MediaError) in
                try pixels.withUnsafeBytes { bytes throws(MediaError) in
                    try writer.write(rgba: bytes, size: size, rowBytes: rowBytes, to: path)
                }
            }
        } catch { throw ReelError(.media, error.description) }
    }

    /// Whether the frame was released.
    public var isReleased: Bool { lent.withLock { $0 == nil } }

    /// Returns the output buffer to the session. Idempotent.
    public func release() {
        let pixels = lent.withLock { lent in
            defer { lent = nil }
            return lent
        }
        pixels?.giveBack()
    }
}

/// An output buffer's pixels lent with a frame, and how to give them back.
struct LentPixels: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer
    /// Also keeps the renderer (whose buffer it is) alive.
    let giveBack: @Sendable () -> Void
}

/// The rendered frames of a session, in order, as they come: `for try await frame in
/// session.frames`. The sequence ends when the session ends; it throws what ended it
/// badly. Cancelling the task that iterates stops the session.
///
/// One consumer at a time. At most `FrameOutput.buffers` frames are ever lent, so a
/// consumer that falls behind bounds memory: the session drops (timed) or waits
/// (every frame) instead of queueing.
///
/// Thread-safety: Safe.
public struct RenderedFrames: AsyncSequence, Sendable {
    public typealias Element = RenderedFrame
    let channel: FrameChannel
    let stop: @Sendable () -> Void

    public func makeAsyncIterator() -> Iterator { Iterator(channel: channel, stop: stop) }

    /// Thread-safety: Unsafe; used by one task.
    public struct Iterator: AsyncIteratorProtocol {
        let channel: FrameChannel
        let stop: @Sendable () -> Void

        public mutating func next() async throws -> RenderedFrame? {
            try await next(isolation: nil)
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(ReelError) -> RenderedFrame? {
            let channel = channel
            let stop = stop
            let result = await withTaskCancellationHandler {
                do throws(ReelError) {
                    return Result<RenderedFrame?, ReelError>.success(try await channel.next())
                } catch {
                    return .failure(error)
                }
            } onCancel: {
                stop()
                channel.cancel()
            }
            return try result.get()
        }
    }
}

/// Rendered frames on their way from the display thread to the application: a
/// queue as long as the output buffers (frames hold them), or a callback.
///
/// Thread-safety: Safe.
final class FrameChannel: Sendable {
    private struct Inner {
        var frames: [RenderedFrame] = []
        var waiting: CheckedContinuation<RenderedFrame?, any Error>?
        var end: Result<Void, ReelError>?
    }
    private let inner = Locked(Inner())
    /// When set, frames go to it on the display thread instead of the queue.
    let handler: (@Sendable (RenderedFrame) -> Void)?

    init(handler: (@Sendable (RenderedFrame) -> Void)?) { self.handler = handler }

    /// From the display thread.
    func deliver(_ frame: RenderedFrame) {
        if let handler {
            handler(frame)
            return
        }
        let waiting = inner.withLock { inner -> CheckedContinuation<RenderedFrame?, any Error>? in
            if inner.end != nil { return nil }
            if let waiting = inner.waiting.take() { return waiting }
            inner.frames.append(frame)
            return nil
        }
        waiting?.resume(returning: frame)
    }

    /// The session ended (with `error` when badly): frames queued are still handed out.
    func finish(_ error: ReelError?) {
        let waiting = inner.withLock { inner in
            if inner.end == nil { inner.end = error.map { .failure($0) } ?? .success(()) }
            return inner.frames.isEmpty ? inner.waiting.take() : nil
        }
        if let error { waiting?.resume(throwing: error) } else { waiting?.resume(returning: nil) }
    }

    /// The consumer's task was cancelled: its wait ends with nil, and the frames queued
    /// (and any delivered later) are released.
    func cancel() {
        let (waiting, dropped) = inner.withLock { inner in
            if inner.end == nil { inner.end = .success(()) }
            defer { inner.frames.removeAll() }
            return (inner.waiting.take(), inner.frames)
        }
        for frame in dropped { frame.release() }
        waiting?.resume(returning: nil)
    }

    func next() async throws(ReelError) -> RenderedFrame? {
        do {
            return try await withCheckedThrowingContinuation { continuation in
                let now = inner.withLock { inner -> Result<RenderedFrame?, ReelError>? in
                    if !inner.frames.isEmpty { return .success(inner.frames.removeFirst()) }
                    if let end = inner.end { return end.map { nil } }
                    if Task.isCancelled { return .success(nil) }
                    precondition(inner.waiting == nil, "rendered frames are read by one task at a time")
                    inner.waiting = continuation
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        } catch let error as ReelError {
            throw error
        } catch {
            throw ReelError(.unsuitable, "\(error)")
        }
    }
}
