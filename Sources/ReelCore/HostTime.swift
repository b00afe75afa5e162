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

    /// CPU time (ns) this process has used so far, all threads, user and system.
    package static func processCPU() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
