import ReelCore
import Testing

@testable import ReelFramePool

@Suite struct FramePoolTests {
    @Test func layoutAlignsStridesAndSlots() {
        let layout = SlotLayout(format: .yuv420p, width: 853, height: 479)
        #expect(layout.planes.map(\.stride) == [896, 448, 448])
        #expect(layout.planes.map(\.height) == [479, 240, 240])
        #expect(layout.planes.map(\.width) == [853, 427, 427])
        #expect(layout.planes.allSatisfy { $0.offset % SlotLayout.strideAlignment == 0 })
        #expect(layout.slotSize % SlotLayout.slotAlignment == 0)
        let last = layout.planes[2]
        #expect(layout.slotSize >= last.offset + last.stride * last.height + SlotLayout.tailPadding)
    }

    @Test func slotsAreDistinctSharedMemoryAndRecycle() throws {
        let pool = try FramePool(layout: SlotLayout(format: .yuv420p, width: 64, height: 64), slotCount: 2)
        #expect(pool.byteCount == 2 * pool.layout.slotSize)
        guard case .slot(let a) = pool.acquire(), case .slot(let b) = pool.acquire() else {
            Issue.record("two free slots expected")
            return
        }
        #expect(a != b)
        #expect(pool.acquire() == .exhausted)
        pool.bytes(of: a).storeBytes(of: 0xA5A5_A5A5, as: UInt32.self)
        pool.bytes(of: b).storeBytes(of: 0x5A5A_5A5A, as: UInt32.self)
        #expect(pool.bytes(of: a).load(as: UInt32.self) == 0xA5A5_A5A5)
        // The same bytes are visible through the memfd, as another process would see them.
        var word: UInt32 = 0
        #expect(pread(pool.fileDescriptor, &word, 4, off_t(pool.layout.slotSize * b)) == 4)
        #expect(word == 0x5A5A_5A5A)
        pool.release(a)
        #expect(pool.freeCount == 1)
        #expect(pool.acquire() == .slot(a))
    }

    /// Slots are taken lowest first, so a pool bigger than its users need costs only the
    /// slots they ever held at once: `slotsUsed` counts them.
    @Test func slotsUsedIsTheHighWaterOfSlotsTaken() throws {
        let pool = try FramePool(layout: SlotLayout(format: .gray8, width: 16, height: 16), slotCount: 8)
        #expect(pool.slotsUsed == 0)
        // Three at once, then one at a time: never more than three slots written.
        var held: [Int] = []
        for _ in 0..<3 {
            guard case .slot(let slot) = pool.acquire() else {
                Issue.record("a free slot expected")
                return
            }
            held.append(slot)
        }
        for slot in held { pool.release(slot) }
        for _ in 0..<20 {
            guard case .slot(let slot) = pool.acquire() else {
                Issue.record("a free slot expected")
                return
            }
            pool.release(slot)
        }
        #expect(held == [0, 1, 2] && pool.slotsUsed == 3)
        // A slot taken by its index counts too.
        #expect(pool.acquire(slot: 6))
        #expect(pool.slotsUsed == 7)
    }
}

#if canImport(Glibc)
    import Glibc
#endif
