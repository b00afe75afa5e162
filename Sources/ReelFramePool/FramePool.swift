internal import CLinux
import Glibc
import ReelCore
import Synchronization

/// Why the pool could not be created.
package struct FramePoolError: Error, CustomStringConvertible, Sendable {
    /// The system call that failed and its `errno`.
    package let call: String
    package let code: Int32

    package var description: String {
        "frame pool: \(call) failed: \(String(cString: strerror(code)))"
    }
}

/// The outcome of asking for a free slot: running out is flow control, not an error.
package enum PoolAcquire: Sendable, Equatable {
    case slot(Int)
    case exhausted
}

/// A shared-memory region (memfd, `MAP_SHARED`) divided into equal slots, each
/// holding one decoded frame laid out by `layout`.
///
/// Slots are reference-counted: `acquire()` hands out a free slot with one
/// reference, `retain(_:)` adds a holder (a decoder keeps reference pictures while
/// the renderer shows them), and `release(_:)` drops one; the last release frees the
/// slot. In debug builds a freed slot is filled with `poison` so a use after
/// release shows. The memfd is sealed against shrinking, growing and further sealing
/// from the start, so it can be given to another process (`SharedPoolMapping` maps it
/// there, after checking it), which sees the same bytes.
/// Thread-safety: Safe; slot bytes are owned by whoever holds the slot.
package final class FramePool: @unchecked Sendable {
    package let layout: SlotLayout
    package let slotCount: Int
    /// Size of the whole mapping in bytes: `slotCount × layout.slotSize`.
    package let byteCount: Int
    /// The memfd behind the mapping; owned by the pool, closed in `deinit`.
    package let fileDescriptor: Int32
    private let base: UnsafeMutableRawPointer
    /// Holders of each slot; 0 means free.
    private let holders: Locked<[Int]>
    /// One past the highest slot ever taken: slots are taken lowest first, so only these
    /// have ever been written, and only their pages are resident.
    private let used = Atomic(0)
    /// The byte a freed slot is filled with in debug builds.
    package static let poison: UInt8 = 0xA5

    /// Called (outside the pool's lock, on the releasing thread) with each slot that
    /// becomes free: whoever waits for one is told without polling.
    private let onFree: (@Sendable (_ slot: Int) -> Void)?

    /// Maps `slotCount` slots of `layout.slotSize` bytes. Throws `FramePoolError`.
    package init(
        layout: SlotLayout, slotCount: Int, onFree: (@Sendable (_ slot: Int) -> Void)? = nil
    ) throws(FramePoolError) {
        precondition(slotCount > 0, "a pool needs at least one slot")
        self.onFree = onFree
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
        // Sealed before anyone else can see it: its size is fixed for good, so a process
        // it is shared with cannot shrink it under the renderer (SIGBUS) or grow it.
        guard fcntl(fd, reel_F_ADD_SEALS, reel_F_SEAL_SHRINK | reel_F_SEAL_GROW | reel_F_SEAL_SEAL) == 0 else {
            let code = errno
            close(fd)
            throw FramePoolError(call: "fcntl(F_ADD_SEALS)", code: code)
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
        holders = Locked(Array(repeating: 0, count: slotCount))
    }

    deinit {
        munmap(base, byteCount)
        close(fileDescriptor)
    }

    /// Takes a free slot for writing, with one reference, or reports that none is free.
    package func acquire() -> PoolAcquire {
        holders.withLock { holders in
            guard let index = holders.firstIndex(of: 0) else { return .exhausted }
            holders[index] = 1
            noteUsed(index)
            return .slot(index)
        }
    }

    /// Takes a free slot only if more than `reserve` are free, keeping `reserve` slots
    /// for others: a decoder allocating reference pictures must leave the receiver room.
    package func acquire(leavingFree reserve: Int) -> PoolAcquire {
        holders.withLock { holders in
            guard holders.count(where: { $0 == 0 }) > reserve, let index = holders.firstIndex(of: 0) else {
                return .exhausted
            }
            holders[index] = 1
            noteUsed(index)
            return .slot(index)
        }
    }

    /// Takes `slot` itself, with one reference, if it is free (a slot lent to another
    /// process's producer is held on its behalf); false when someone holds it.
    package func acquire(slot: Int) -> Bool {
        holders.withLock { holders in
            guard holders[slot] == 0 else { return false }
            holders[slot] = 1
            noteUsed(slot)
            return true
        }
    }

    /// Adds a holder to a slot that is in use.
    package func retain(_ slot: Int) {
        holders.withLock { holders in
            precondition(holders[slot] > 0, "slot \(slot) retained while free")
            holders[slot] += 1
        }
    }

    /// Drops one holder; the last one frees the slot, after which no one may touch its bytes.
    package func release(_ slot: Int) {
        let freed = holders.withLock { holders in
            precondition(holders[slot] > 0, "slot \(slot) released while free")
            holders[slot] -= 1
            #if DEBUG
                // Poison before the slot can be acquired again, so a late reader sees 0xA5s.
                if holders[slot] == 0 { bytes(of: slot).initializeMemory(as: UInt8.self, repeating: Self.poison) }
            #endif
            return holders[slot] == 0
        }
        if freed { onFree?(slot) }
    }

    /// Whether `slot` has no holder.
    package func isFree(_ slot: Int) -> Bool { holders.withLock { $0[slot] == 0 } }

    private func noteUsed(_ slot: Int) {
        var seen = used.load(ordering: .relaxed)
        while seen <= slot {
            let (exchanged, original) = used.compareExchange(
                expected: seen, desired: slot + 1, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
    }

    /// Slots ever taken (from the lowest): what the pool has cost in memory, of `slotCount`.
    package var slotsUsed: Int { used.load(ordering: .relaxed) }

    /// Number of slots currently free.
    package var freeCount: Int { holders.withLock { $0.count { $0 == 0 } } }

    /// Whether every byte of `slot` is `poison` (what a freed slot holds in debug builds).
    package func isPoisoned(_ slot: Int) -> Bool {
        bytes(of: slot).allSatisfy { $0 == Self.poison }
    }

    /// The slot whose bytes contain `address`, if it lies inside the pool.
    package func slot(containing address: UnsafeRawPointer) -> Int? {
        let offset = address - UnsafeRawPointer(base)
        guard offset >= 0, offset < byteCount else { return nil }
        return offset / layout.slotSize
    }

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
    /// Fills `slot` with limited-range black (Y 16, Cb and Cr 128, in the samples' own
    /// scale): a picture to run a pass on before real frames come.
    package func fillBlack(_ slot: Int) {
        let bytes = bytes(of: slot)
        let format = layout.format
        for (index, plane) in layout.planes.enumerated() {
            let code = index == 0 ? 16 : 128
            let value = UInt16(code << (format.bitDepth - 8)) << format.sampleShift
            let samples = plane.width * format.samplesPerPixel(plane: index)
            for y in 0..<plane.height {
                let row = bytes.baseAddress! + plane.offset + y * plane.stride
                if format.bytesPerSample == 2 {
                    row.initializeMemory(as: UInt16.self, repeating: value, count: samples)
                } else {
                    row.initializeMemory(as: UInt8.self, repeating: UInt8(value), count: samples)
                }
            }
        }
    }

    package func descriptor(
        color: ColorDescription, sampleAspectRatio: Rational, presentationTime: MediaTime?
    ) -> VideoFrameDescriptor {
        VideoFrameDescriptor(
            format: layout.format, width: layout.width, height: layout.height,
            sampleAspectRatio: sampleAspectRatio, planes: layout.planes, color: color,
            presentationTime: presentationTime)
    }
}
