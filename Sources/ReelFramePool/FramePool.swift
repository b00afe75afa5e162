internal import CLinux
import Glibc
public import ReelCore
import Synchronization

/// Why the pool could not be created.
public struct FramePoolError: Error, CustomStringConvertible, Sendable {
    /// The system call that failed and its `errno`.
    public let call: String
    public let code: Int32

    public var description: String {
        "frame pool: \(call) failed: \(String(cString: strerror(code)))"
    }
}

/// The outcome of asking for a free slot: running out is flow control, not an error.
public enum PoolAcquire: Sendable, Equatable {
    case slot(Int)
    case exhausted
}

/// A shared-memory region (memfd, `MAP_SHARED`) divided into equal slots, each
/// holding one decoded frame laid out by `layout`.
///
/// A slot cycles free → writing → ready → presenting → free; `acquire()` hands out
/// free slots and `release(_:)` returns them. The memfd can be given to another
/// process, which maps the same bytes.
/// Thread-safety: Safe; slot bytes are owned by whoever holds the slot.
public final class FramePool: @unchecked Sendable {
    public let layout: SlotLayout
    public let slotCount: Int
    /// Size of the whole mapping in bytes: `slotCount × layout.slotSize`.
    public let byteCount: Int
    /// The memfd behind the mapping; owned by the pool, closed in `deinit`.
    package let fileDescriptor: Int32
    private let base: UnsafeMutableRawPointer
    private let free: Mutex<[Bool]>

    /// Maps `slotCount` slots of `layout.slotSize` bytes. Throws `FramePoolError`.
    public init(layout: SlotLayout, slotCount: Int) throws(FramePoolError) {
        precondition(slotCount > 0, "a pool needs at least one slot")
        self.layout = layout
        self.slotCount = slotCount
        byteCount = layout.slotSize * slotCount
        let fd = reel_memfd_create("reel-frame-pool")
        guard fd >= 0 else { throw FramePoolError(call: "memfd_create", code: errno) }
        guard ftruncate(fd, off_t(byteCount)) == 0 else {
            let code = errno
            close(fd)
            throw FramePoolError(call: "ftruncate", code: code)
        }
        guard let mapping = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
            mapping != MAP_FAILED
        else {
            let code = errno
            close(fd)
            throw FramePoolError(call: "mmap", code: code)
        }
        fileDescriptor = fd
        base = mapping
        free = Mutex(Array(repeating: true, count: slotCount))
    }

    deinit {
        munmap(base, byteCount)
        close(fileDescriptor)
    }

    /// Takes a free slot for writing, or reports that none is free.
    public func acquire() -> PoolAcquire {
        free.withLock { free in
            guard let index = free.firstIndex(of: true) else { return .exhausted }
            free[index] = false
            return .slot(index)
        }
    }

    /// Returns a slot to the free list; the caller must no longer touch its bytes.
    public func release(_ slot: Int) {
        free.withLock { free in
            precondition(!free[slot], "slot \(slot) released twice")
            free[slot] = true
        }
    }

    /// Number of slots currently free.
    public var freeCount: Int { free.withLock { $0.count { $0 } } }

    /// The whole mapping: every slot, `byteCount` bytes from a page-aligned base.
    /// Valid while the pool lives; for importing into a GPU API in one piece.
    package var mapping: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base, count: byteCount)
    }

    /// The bytes of one slot. Valid while the pool lives; only the slot's holder
    /// may write them.
    package func bytes(of slot: Int) -> UnsafeMutableRawBufferPointer {
        precondition(slot >= 0 && slot < slotCount, "slot \(slot) out of range")
        return UnsafeMutableRawBufferPointer(start: base + slot * layout.slotSize, count: layout.slotSize)
    }

    /// A descriptor for a frame stored in `slot` with this pool's layout.
    public func descriptor(
        color: ColorDescription, sampleAspectRatio: Rational, presentationTime: MediaTime?
    ) -> VideoFrameDescriptor {
        VideoFrameDescriptor(
            format: layout.format, width: layout.width, height: layout.height,
            sampleAspectRatio: sampleAspectRatio, planes: layout.planes, color: color,
            presentationTime: presentationTime)
    }
}
