import Foundation
import Glibc
import ReelCore
import ReelMedia

/// Writes text straight to stderr or stdout (unbuffered).
struct FileHandleStream: TextOutputStream {
    static var standardError: FileHandleStream { FileHandleStream(descriptor: STDERR_FILENO) }
    static var standardOutput: FileHandleStream { FileHandleStream(descriptor: STDOUT_FILENO) }
    let descriptor: Int32

    func write(_ string: String) {
        var bytes = Array(string.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }
}

/// CPU time, wall time and peak memory of this process.
struct ResourceSample {
    /// Monotonic wall clock, nanoseconds.
    var wallNanoseconds: UInt64
    /// User + system CPU time of all threads, microseconds.
    var cpuMicroseconds: Int64
    /// Peak resident set size, bytes.
    var peakResidentBytes: Int64

    static func now() -> ResourceSample {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let cpu =
            (Int64(usage.ru_utime.tv_sec) + Int64(usage.ru_stime.tv_sec)) * 1_000_000
            + Int64(usage.ru_utime.tv_usec) + Int64(usage.ru_stime.tv_usec)
        return ResourceSample(
            wallNanoseconds: UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec),
            cpuMicroseconds: cpu, peakResidentBytes: Int64(usage.ru_maxrss) * 1024)
    }
}

/// Writes `data` to `path` whole or not at all: under `partialFileName(for:)` first,
/// then renamed (a device such as /dev/null is written in place); the unfinished file
/// is removed on failure.
func writeWhole(_ data: Data, to path: String) throws {
    let temporary = partialFileName(for: path)
    do {
        try data.write(to: URL(fileURLWithPath: temporary))
        if temporary != path && rename(temporary, path) != 0 {
            throw NSError(domain: NSPOSIXErrorDomain, code: Int(errno))
        }
    } catch {
        if temporary != path { unlink(temporary) }
        throw error
    }
}

/// The line that reports the damaged pictures a decoder returned; nil when there were none.
func damageLine(_ damage: DamageCounts) -> String? {
    guard damage != DamageCounts() else { return nil }
    return "damaged pictures: \(damage.concealed) concealed, \(damage.frozen) frozen, "
        + "\(damage.beforeKeyframe) before the first keyframe"
}
