internal import CLinux
import Glibc

/// Why a pool received from another process was refused.
package struct SharedPoolError: Error, CustomStringConvertible, Sendable {
    package let description: String
    init(_ description: String) { self.description = description }
}

/// A frame pool another process made and shared (its memfd, received over a socket),
/// mapped here only after checking that it is what it claims: a memfd, sealed against
/// shrinking and growing, exactly `slotCount × layout.slotSize` bytes, with a layout
/// whose planes fit its slots. A peer therefore cannot make this process fault
/// (SIGBUS) by shrinking the file, nor point it outside the mapping.
///
/// Thread-safety: Safe to share; slot bytes are owned by whoever the protocol says
/// holds the slot.
package final class SharedPoolMapping: @unchecked Sendable {
    package let layout: SlotLayout
    package let slotCount: Int
    package let byteCount: Int
    /// Whether the mapping may be written (a producer's); a reader's is read-only.
    package let writable: Bool
    private let fileDescriptor: Int32
    private let base: UnsafeMutableRawPointer

    /// The seals a shared pool must carry.
    package static let requiredSeals = reel_F_SEAL_SHRINK | reel_F_SEAL_GROW | reel_F_SEAL_SEAL

    /// Maps the pool behind `fileDescriptor`, which it takes over (closed on failure too).
    package init(adopting fileDescriptor: Int32, layout: SlotLayout, slotCount: Int, writable: Bool)
        throws(SharedPoolError)
    {
        var mapped: UnsafeMutableRawPointer?
        var size = 0
        do throws(SharedPoolError) {
            size = try Self.check(fileDescriptor, layout: layout, slotCount: slotCount)
            let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
            guard let mapping = mmap(nil, size, protection, MAP_SHARED, fileDescriptor, 0), mapping != MAP_FAILED
            else { throw SharedPoolError("the shared pool cannot be mapped: \(String(cString: strerror(errno)))") }
            mapped = mapping
        } catch {
            close(fileDescriptor)
            throw error
        }
        self.layout = layout
        self.slotCount = slotCount
        self.writable = writable
        self.fileDescriptor = fileDescriptor
        byteCount = size
        base = mapped!
    }

    deinit {
        munmap(base, byteCount)
        close(fileDescriptor)
    }

    /// The seals on `fileDescriptor`, or nil when it takes none (not a memfd).
    package static func seals(of fileDescriptor: Int32) -> Int32? {
        let seals = fcntl(fileDescriptor, reel_F_GET_SEALS)
        return seals < 0 ? nil : seals
    }

    /// The pool's size in bytes once every check passed.
    private static func check(_ fd: Int32, layout: SlotLayout, slotCount: Int) throws(SharedPoolError) -> Int {
        guard (1...4096).contains(slotCount) else {
            throw SharedPoolError("a shared pool of \(slotCount) slots is out of range (1…4096)")
        }
        let slotSize = layout.slotSize
        guard slotSize > 0, slotSize % SlotLayout.slotAlignment == 0 else {
            throw SharedPoolError(
                "a slot of \(slotSize) bytes is not a whole number of \(SlotLayout.slotAlignment)-byte pages")
        }
        for (index, plane) in layout.planes.enumerated() {
            let (rowsBytes, rowsOverflow) = plane.stride.multipliedReportingOverflow(by: plane.height)
            let (end, endOverflow) = plane.offset.addingReportingOverflow(rowsBytes)
            guard plane.offset >= 0, plane.stride > 0, plane.height > 0, !rowsOverflow, !endOverflow, end <= slotSize
            else {
                throw SharedPoolError(
                    "plane \(index) of the shared pool's layout does not fit its \(slotSize)-byte slots")
            }
        }
        let (size, overflow) = slotSize.multipliedReportingOverflow(by: slotCount)
        guard !overflow else { throw SharedPoolError("a shared pool of \(slotCount) × \(slotSize) bytes overflows") }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw SharedPoolError(
                "the shared pool's descriptor cannot be examined: \(String(cString: strerror(errno)))")
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw SharedPoolError("the shared pool's descriptor is not a memory file")
        }
        guard let seals = seals(of: fd) else {
            throw SharedPoolError("the shared pool's descriptor is not a memfd (it takes no seals)")
        }
        guard seals & requiredSeals == requiredSeals else {
            throw SharedPoolError("the shared pool is not sealed against shrinking and growing")
        }
        guard Int(status.st_size) == size else {
            throw SharedPoolError("the shared pool is \(status.st_size) bytes, not the \(size) its layout says")
        }
        return size
    }

    /// A slot's bytes, to read.
    package func bytes(of slot: Int) -> UnsafeRawBufferPointer {
        precondition(slot >= 0 && slot < slotCount, "slot \(slot) out of range")
        return UnsafeRawBufferPointer(start: base + slot * layout.slotSize, count: layout.slotSize)
    }

    /// A slot's bytes, to write (a writable mapping only).
    package func mutableBytes(of slot: Int) -> UnsafeMutableRawBufferPointer {
        precondition(writable, "the shared pool is mapped read-only")
        precondition(slot >= 0 && slot < slotCount, "slot \(slot) out of range")
        return UnsafeMutableRawBufferPointer(start: base + slot * layout.slotSize, count: layout.slotSize)
    }

    /// The mapping's first byte, for tests that check its protection in /proc/self/maps.
    package var address: UInt { UInt(bitPattern: base) }
}
