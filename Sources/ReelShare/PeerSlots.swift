import ReelCore
import ReelFramePool

/// The renderer's record of one producer's use of the pool: which slots the producer
/// holds (it may write them and publish them) and each slot's generation, bumped at
/// every release, so a message about an earlier use of a slot is recognised as stale.
/// Every field of a `frame` is checked here before anything reads the slot.
///
/// Thread-safety: Not safe (a value type, the renderer's connection thread's).
package struct PeerSlots: Sendable {
    package let layout: SlotLayout
    package let slotCount: Int
    package private(set) var generations: [UInt32]
    /// Whether the producer holds each slot (lent to it, not published).
    package private(set) var heldByPeer: [Bool]
    /// The renderer's shader may read this far past a plane's last row (16-byte texels).
    package static let readMargin = 64

    package init(layout: SlotLayout, slotCount: Int) {
        self.layout = layout
        self.slotCount = slotCount
        generations = Array(repeating: 1, count: slotCount)
        heldByPeer = Array(repeating: true, count: slotCount)
    }

    /// The `pool` message that lends every slot to the producer.
    package var poolMessage: PoolMessage {
        .pool(PoolMessage.Pool(layout: layout, slotCount: UInt16(slotCount), generations: generations))
    }

    /// Slots the producer holds now (reclaimed when it goes away).
    package var heldCount: Int { heldByPeer.count { $0 } }

    /// Checks a published frame against the pool and the producer's slots; on success
    /// the slot is the renderer's until `release`, and the frame's description (planes
    /// in the slot, colour, time) is returned. Throws the reason to disconnect.
    package mutating func accept(_ frame: PoolMessage.Frame) throws(PoolProtocolError) -> VideoFrameDescriptor {
        guard frame.slot < UInt32(slotCount) else {
            throw PoolProtocolError("slot \(frame.slot) is out of range (the pool has \(slotCount))")
        }
        let slot = Int(frame.slot)
        guard heldByPeer[slot] else {
            throw PoolProtocolError("slot \(slot) is not the producer's: it was published and not yet released")
        }
        guard frame.generation == generations[slot] else {
            throw PoolProtocolError(
                "slot \(slot)'s generation \(frame.generation) is stale (it is \(generations[slot]))")
        }
        guard (1...16384).contains(frame.width), (1...16384).contains(frame.height) else {
            throw PoolProtocolError("a \(frame.width)×\(frame.height) frame is out of range (1…16384 a side)")
        }
        let format = frame.format
        let (width, height) = (Int(frame.width), Int(frame.height))
        let shift = format.chromaShift
        var planes: [PlaneLayout] = []
        for (index, plane) in frame.planes.enumerated() {
            let isLuma = index == 0
            let planeWidth = isLuma ? width : (width + (1 << shift.x) - 1) >> shift.x
            let rows = isLuma ? height : (height + (1 << shift.y) - 1) >> shift.y
            let rowBytes = UInt64(planeWidth * format.samplesPerPixel(plane: index) * format.bytesPerSample)
            let stride = UInt64(plane.stride)
            guard stride >= rowBytes else {
                throw PoolProtocolError(
                    "plane \(index)'s stride \(stride) is shorter than its rows (\(rowBytes) bytes)")
            }
            guard plane.offset % 16 == 0, stride % 16 == 0 else {
                throw PoolProtocolError("plane \(index)'s offset and stride must be multiples of 16")
            }
            // offset + stride × (rows − 1) + row bytes + the shader's margin, without overflow.
            let (span, spanOverflow) = stride.multipliedReportingOverflow(by: UInt64(rows - 1))
            let (end, endOverflow) = plane.offset.addingReportingOverflow(span)
            let (last, lastOverflow) = end.addingReportingOverflow(rowBytes + UInt64(Self.readMargin))
            guard !spanOverflow, !endOverflow, !lastOverflow, last <= UInt64(layout.slotSize) else {
                throw PoolProtocolError("plane \(index) does not fit in its \(layout.slotSize)-byte slot")
            }
            planes.append(PlaneLayout(offset: Int(plane.offset), stride: Int(stride), width: planeWidth, height: rows))
        }
        heldByPeer[slot] = false
        return VideoFrameDescriptor(
            format: format, width: width, height: height, sampleAspectRatio: frame.sampleAspectRatio, planes: planes,
            color: frame.color, presentationTime: frame.presentationTime)
    }

    /// The renderer is done with `slot`: it goes back to the producer under its next
    /// generation, and this is the message that tells it so.
    package mutating func release(_ slot: Int) -> PoolMessage {
        precondition(!heldByPeer[slot], "slot \(slot) released while the producer holds it")
        generations[slot] &+= 1
        heldByPeer[slot] = true
        return .release(slot: UInt32(slot), generation: generations[slot])
    }
}
