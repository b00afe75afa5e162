import ReelCore
import ReelFramePool

/// What a pushed frame is: its pixel layout, size and colour.
///
/// Thread-safety: Safe (a value type).
public struct FrameDescription: Hashable, Sendable {
    /// The layout of the planes; every format `PixelFormat` lists renders.
    public var format: PixelFormat
    /// The picture's size in luma samples (chroma planes are smaller as the format says).
    public var size: PixelSize
    public var color: ColorDescription
    /// The shape of a sample; 1/1 for square pixels.
    public var sampleAspectRatio: Rational

    /// `color` nil: limited range, BT.601 below 720 lines and BT.709 from there, chroma
    /// sited left (MPEG-2's), as a decoder assumes for an untagged stream.
    public init(
        format: PixelFormat, size: PixelSize, color: ColorDescription? = nil,
        sampleAspectRatio: Rational = Rational(1, 1)
    ) {
        self.format = format
        self.size = size
        self.color =
            color
            ?? ColorDescription(
                matrix: ColorDescription.defaultMatrix(forHeight: size.height), range: .limited, chromaLocation: .left)
        self.sampleAspectRatio = sampleAspectRatio
    }
}

/// A slot of the session's frame pool, lent to the application to write one frame into.
///
/// Write the planes in place (`withPlane(_:_:)`; rows are `stride(ofPlane:)` bytes
/// apart), then `submit(at:captured:)` it, or `release()` it unused. The lease is
/// `~Copyable`: it is given up by either call, so a slot cannot be submitted or released
/// twice (that does not compile), and one dropped without either returns to the pool.
///
/// Thread-safety: Unsafe; one owner at a time (it may move to another thread or task).
public struct FrameLease: ~Copyable {
    /// The slot and whoever lent it. Unmanaged (retained at creation) so that the
    /// lease's own stored properties are trivial and `submit` can give it up with
    /// `discard self`.
    private let claim: Unmanaged<SlotClaim>

    init(_ claim: SlotClaim) { self.claim = .passRetained(claim) }

    deinit { claim.takeRetainedValue().giveBack() }

    /// What the slot was lent for.
    public var description: FrameDescription { claim.takeUnretainedValue().description }

    /// Planes of the format: 3 for planar YCbCr, 2 for NV12/P010, 1 for gray.
    public var planeCount: Int { claim.takeUnretainedValue().planes.count }

    /// Bytes from one row of plane `index` to the next (a multiple of 64).
    public func stride(ofPlane index: Int) -> Int { claim.takeUnretainedValue().planes[index].stride }

    /// Rows of plane `index`.
    public func rows(ofPlane index: Int) -> Int { claim.takeUnretainedValue().planes[index].height }

    /// Bytes of picture in each row of plane `index` (the rest, up to the stride, is padding).
    public func rowBytes(ofPlane index: Int) -> Int {
        let claim = claim.takeUnretainedValue()
        let format = claim.description.format
        return claim.planes[index].width * format.samplesPerPixel(plane: index) * format.bytesPerSample
    }

    /// Lends plane `index`'s bytes (`stride(ofPlane:)` × `rows(ofPlane:)`, in place in
    /// the pool: no copy) to `body` for writing. Samples wider than a byte are
    /// little-endian.
    public mutating func withPlane<Result, Failure: Error>(
        _ index: Int, _ body: (inout MutableRawSpan) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        var bytes = claim.takeUnretainedValue().bytes(ofPlane: index).mutableBytes
        return try body(&bytes)
    }

    /// Hands the frame to the session, to be shown at `presentationTime` (media time:
    /// any time base; the session's clock starts at the first frame's). `captured`:
    /// when the frame was captured, for the push → render latency (now when nil).
    public consuming func submit(at presentationTime: MediaTime, captured: SuspendingClock.Instant? = nil)
        throws(ReelError)
    {
        let claim = claim.takeRetainedValue()
        discard self
        try claim.submit(at: presentationTime, captured: captured)
    }

    /// Gives the slot back unused.
    public consuming func release() {
        let claim = claim.takeRetainedValue()
        discard self
        claim.giveBack()
    }
}

/// Whoever lends slots: the session's own pools (`PushSource`) or a renderer in
/// another process (`ProducerConnection`).
protocol SlotLender: AnyObject, Sendable {
    /// The slot comes back unused.
    func giveBack(_ claim: SlotClaim)
    /// The slot was written: it goes to the renderer, or is given back and the call throws.
    func submit(_ claim: SlotClaim, at presentationTime: MediaTime, captured: SuspendingClock.Instant?)
        throws(ReelError)
}

/// The slot behind a `FrameLease`: whoever lent it, its memory (kept alive while the
/// lease lives), and the layout of its planes.
final class SlotClaim {
    let lender: any SlotLender
    /// The pool or mapping the slot lives in (a `FramePool` for the session's own).
    let memory: AnyObject
    let slot: Int
    let description: FrameDescription
    let planes: [PlaneLayout]
    private let slotBytes: UnsafeMutableRawBufferPointer

    init(
        lender: any SlotLender, memory: AnyObject, slot: Int, bytes: UnsafeMutableRawBufferPointer,
        planes: [PlaneLayout], description: FrameDescription
    ) {
        self.lender = lender
        self.memory = memory
        self.slot = slot
        slotBytes = bytes
        self.planes = planes
        self.description = description
    }

    func bytes(ofPlane index: Int) -> UnsafeMutableRawBufferPointer {
        let plane = planes[index]
        return UnsafeMutableRawBufferPointer(
            rebasing: slotBytes[plane.offset..<(plane.offset + plane.stride * plane.height)])
    }

    func giveBack() { lender.giveBack(self) }

    func submit(at presentationTime: MediaTime, captured: SuspendingClock.Instant?) throws(ReelError) {
        try lender.submit(self, at: presentationTime, captured: captured)
    }
}
