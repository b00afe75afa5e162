import Glibc

/// The host's monotonic clock, in nanoseconds: the one time base every thread's
/// deadlines and every timeline entry use.
///
/// Thread-safety: Safe.
package enum HostTime {
    /// Now, on `CLOCK_MONOTONIC`.
    package static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// Sleeps until the absolute monotonic time `deadline` (ns): no drift from
    /// adding up relative sleeps.
    package static func sleep(until deadline: Int64) {
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &time, nil) == EINTR {}
    }

    /// CPU time (ns) the calling thread has used so far, user and system.
    package static func threadCPU() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// This process's threads (their kernel ids) now.
    package static func threadIDs() -> Set<Int32> {
        guard let directory = opendir("/proc/self/task") else { return [] }
        defer { closedir(directory) }
        var ids = Set<Int32>()
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let id = Int32(name) { ids.insert(id) }
        }
        return ids
    }

    /// CPU time (ns) thread `id` of this process has used (its scheduler's run time),
    /// or 0 when it is gone.
    package static func threadCPU(id: Int32) -> Int64 {
        // The first of schedstat's fields: nanoseconds on a CPU.
        guard let file = fopen("/proc/self/task/\(id)/schedstat", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 96)
        guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
        return Int64(String(cString: line).prefix { $0 != " " }) ?? 0
    }

    /// CPU time (ns) this process has used so far, all threads, user and system.
    package static func processCPU() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
