import Foundation
import Glibc
import ReelCore
import Synchronization
import Testing

@testable import ReelFramePool

/// The pool as another process sees it: sealed from the start, and mapped there only
/// after every check.
@Suite struct SharedPoolTests {
    static let layout = SlotLayout(format: .nv12, width: 320, height: 180)
    // fcntl.h's values (as the C shim spells them).
    static let (addSeals, getSeals) = (Int32(1033), Int32(1034))
    static let (sealSeal, sealShrink, sealGrow, sealWrite) = (Int32(1), Int32(2), Int32(4), Int32(8))

    /// A pool's memfd carries the shrink, grow and seal seals before it is shared:
    /// shrinking, growing and adding a write seal are all refused.
    @Test func poolIsSealedFromTheStart() throws {
        let pool = try FramePool(layout: Self.layout, slotCount: 3)
        let fd = pool.fileDescriptor
        let seals = fcntl(fd, Self.getSeals)
        #expect(
            seals & (Self.sealSeal | Self.sealShrink | Self.sealGrow) == Self.sealSeal | Self.sealShrink | Self.sealGrow
        )
        #expect(ftruncate(fd, off_t(pool.byteCount / 2)) == -1 && errno == EPERM, "shrinking is refused")
        #expect(ftruncate(fd, off_t(pool.byteCount * 2)) == -1 && errno == EPERM, "growing is refused")
        #expect(fcntl(fd, Self.addSeals, Self.sealWrite) == -1 && errno == EPERM, "no further seal can be added")
        var status = stat()
        #expect(fstat(fd, &status) == 0 && Int(status.st_size) == pool.byteCount)
    }

    /// Mapped from a duplicate of its descriptor (as a peer receives it), the pool shows
    /// the same bytes both ways; a reader's mapping is read-only.
    @Test func sharedMappingSeesTheSameBytes() throws {
        let pool = try FramePool(layout: Self.layout, slotCount: 2)
        let writer = try SharedPoolMapping(
            adopting: dup(pool.fileDescriptor), layout: Self.layout, slotCount: 2, writable: true)
        let reader = try SharedPoolMapping(
            adopting: dup(pool.fileDescriptor), layout: Self.layout, slotCount: 2, writable: false)
        pool.bytes(of: 1)[100] = 42
        #expect(writer.bytes(of: 1)[100] == 42 && reader.bytes(of: 1)[100] == 42)
        writer.mutableBytes(of: 0)[7] = 99
        #expect(pool.bytes(of: 0)[7] == 99 && reader.bytes(of: 0)[7] == 99)
        // The kernel writing into the reader's mapping (read(2) into it) fails with
        // EFAULT: it is read-only; into the writer's it succeeds.
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { for end in ends { close(end) } }
        func readInto(_ address: UInt) -> (Int, Int32) {
            var byte: UInt8 = 5
            _ = write(ends[1], &byte, 1)
            let count = read(ends[0], UnsafeMutableRawPointer(bitPattern: address + 64), 1)
            let code = errno
            if count < 0 { _ = read(ends[0], &byte, 1) }  // the byte left in the pipe
            return (count, code)
        }
        let intoReader = readInto(reader.address)
        #expect(intoReader.0 == -1 && intoReader.1 == EFAULT, "the reader's mapping is read-only")
        #expect(readInto(writer.address).0 == 1 && pool.bytes(of: 0)[64] == 5)
    }

    /// The pool says which slot came free, and a particular free slot can be taken (the
    /// renderer holds a remote producer's slots on its behalf).
    @Test func freedSlotsAreNamedAndCanBeTakenBack() throws {
        let freed = Locked<[Int]>([])
        let pool = try FramePool(layout: Self.layout, slotCount: 3) { slot in freed.withLock { $0.append(slot) } }
        #expect(pool.acquire(slot: 2) && !pool.acquire(slot: 2))
        #expect(pool.acquire() == .slot(0))
        pool.release(2)
        pool.release(0)
        #expect(freed.withLock { $0 } == [2, 0])
        #expect(pool.acquire(slot: 2) && pool.freeCount == 2)
    }

    /// Anything that is not a sealed memfd of exactly the layout's size is refused with
    /// a one-line reason, and the descriptor handed over is closed either way.
    @Test func refusesWhatItCannotTrust() throws {
        let pool = try FramePool(layout: Self.layout, slotCount: 2)
        // Closed means: the number no longer names the file it named. (Other tests run
        // in this process, so a closed number may already name something they opened.)
        func identity(_ fd: Int32) -> (dev_t, ino_t)? {
            var status = stat()
            return fstat(fd, &status) == 0 ? (status.st_dev, status.st_ino) : nil
        }
        func refusal(_ fd: Int32, slots: Int = 2) -> String? {
            let before = identity(fd)
            defer {
                let after = identity(fd)
                #expect(before != nil && (after == nil || after! != before!), "the descriptor was closed")
            }
            do {
                _ = try SharedPoolMapping(adopting: fd, layout: Self.layout, slotCount: slots, writable: true)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(refusal(dup(pool.fileDescriptor), slots: 3)?.contains("not the") == true, "a size that does not match")
        #expect(refusal(dup(pool.fileDescriptor), slots: 0)?.contains("out of range") == true)
        // Shared memory that was never sealed (a POSIX shm file: tmpfs takes no seals
        // but the one forbidding more).
        let name = "/dev/shm/reel-unsealed-\(UUID())"
        defer { unlink(name) }
        let unsealed = open(name, O_RDWR | O_CREAT | O_EXCL, 0o600)
        #expect(unsealed >= 0 && ftruncate(unsealed, off_t(pool.byteCount)) == 0)
        #expect(refusal(unsealed)?.contains("not sealed") == true)
        // A regular file of the right size, on disk (no seals at all), or on a tmpfs.
        let folder = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .deletingLastPathComponent().path
        let path = "\(folder)/reel-pool-\(UUID())"
        defer { unlink(path) }
        let file = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        #expect(file >= 0 && ftruncate(file, off_t(pool.byteCount)) == 0)
        let fileRefusal = refusal(file) ?? "accepted"
        #expect(fileRefusal.contains("not a memfd") || fileRefusal.contains("not sealed"), "\(fileRefusal)")
        // Not a file at all.
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        close(ends[1])
        #expect(refusal(ends[0])?.contains("not a memory file") == true)
    }
}
