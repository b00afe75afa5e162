internal import CVulkan
import Glibc

/// The memory a CPU driver's shader compiler leaves resident.
///
/// Mesa's lavapipe compiles each pass with LLVM, first when the pipeline is made and
/// again (a variant for the bound resources) at its first dispatch. That touches about
/// 45 MiB of LLVM's code and read-only data, which then stays resident for the whole
/// run although none of it runs again until another variant is compiled: at 1080p it is
/// a quarter of the process's resident memory. Once the passes are compiled and run,
/// those pages are handed back. Only pages that hold nothing but the library file's
/// own bytes are dropped (mappings that cannot be written and have no private copies),
/// so nothing is lost: a page needed again is read back from the page cache.
///
/// Thread-safety: Safe (it only reads `/proc/self/smaps` and advises the kernel).
package enum CompilerMemory {
    /// The shader compiler's libraries: LLVM, and the solver it loads with it.
    static let libraries = ["/libLLVM", "/libz3"]

    /// Drops the resident pages of the compiler's unwritten mappings; the bytes given back.
    @discardableResult
    package static func release() -> Int {
        guard let maps = readSmaps() else { return 0 }
        var released = 0
        // The mapping being read: its range, whether it is one of the compiler's that
        // cannot be written, and its resident bytes.
        var current: (start: UInt, end: UInt, eligible: Bool, resident: Int)?
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first else { continue }
            if !first.hasSuffix(":") {
                // "start-end perms offset device inode path"
                let bounds = first.split(separator: "-").compactMap { UInt($0, radix: 16) }
                let path = fields.count >= 6 ? fields[5] : ""
                let eligible =
                    bounds.count == 2 && fields.count >= 6 && !fields[1].contains("w")
                    && libraries.contains { path.contains($0) }
                current = bounds.count == 2 ? (bounds[0], bounds[1], eligible, 0) : nil
            } else if first == "Rss:", fields.count >= 2, let kilobytes = Int(fields[1]) {
                current?.resident = kilobytes * 1024
            } else if first == "Anonymous:", fields.count >= 2, let mapping = current, mapping.eligible,
                fields[1] == "0", mapping.resident > 0
            {
                // No private (written) pages: every resident page is the file's own.
                let start = UnsafeMutableRawPointer(bitPattern: mapping.start)
                if madvise(start, Int(mapping.end - mapping.start), MADV_DONTNEED) == 0 {
                    released += mapping.resident
                }
            }
        }
        // What the compiler freed on the C heap goes back too.
        reel_malloc_trim()
        return released
    }

    private static func readSmaps() -> String? {
        let fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
