import Foundation
import Glibc

/// One thread of a playback session: named, started by the session, and joined by it.
///
/// The body runs until its work is done or the session stops it; stopping is the
/// session's business (every wait the body makes also wakes on a stop), so a worker
/// has no flag of its own. `join()` waits for the body to return. Dropping a worker
/// that was never joined is a programming error (swift-nio's rule: a leaked thread
/// is a bug), caught in debug builds.
///
/// Thread-safety: Confined to the thread that made it (the session's); the body runs
/// on the new thread.
final class Worker {
    /// The thread's name as `top` and `gdb` show it (at most 15 bytes are kept).
    let name: String
    private var thread: pthread_t
    private var joined = false

    /// How the scheduler treats the thread.
    enum Priority {
        /// The machine's default: shares the cores with everything else.
        case normal
        /// A thread with a deadline (the display's tick, the sound card's buffer): first
        /// `SCHED_FIFO` at `level` (1–99; higher runs first), as PipeWire and JACK run their
        /// data threads; where that is not permitted, nice −10; else normal. Such a
        /// thread must block between deadlines (the kernel still keeps 5 % of each core
        /// for the rest, `sched_rt_runtime_us`).
        case deadline(level: Int32)
    }

    /// Starts a thread named `name` that runs `body`.
    init(name: String, priority: Priority = .normal, body: @escaping @Sendable () -> Void) {
        self.name = name
        let box = Unmanaged.passRetained(
            Body(name: name) {
                if case .deadline(let level) = priority { raiseThreadPriority(to: level) }
                body()
            })
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { context in
                let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
                // Foundation names the calling thread (pthread_setname_np, 15 bytes kept).
                Thread.current.name = body.name
                body.run()
                return nil
            }, box.toOpaque())
        precondition(result == 0, "cannot start the thread \(name): error \(result)")
        self.thread = thread
    }

    /// Waits for the body to return. Call once.
    func join() {
        precondition(!joined, "\(name) joined twice")
        pthread_join(thread, nil)
        joined = true
    }

    deinit { assert(joined, "the thread \(name) was never joined") }

    /// What the new thread runs: a private box, so no package object crosses as a C context.
    private final class Body {
        let name: String
        let run: @Sendable () -> Void
        init(name: String, run: @escaping @Sendable () -> Void) {
            self.name = name
            self.run = run
        }
    }
}

/// Raises the calling thread's priority as far as the process may (`Worker.Priority.deadline`):
/// best effort, silent when refused (an unprivileged user without an rtprio limit).
private func raiseThreadPriority(to level: Int32) {
    var parameters = sched_param()
    parameters.sched_priority = level
    if pthread_setschedparam(pthread_self(), SCHED_FIFO, &parameters) == 0 { return }
    // On Linux a nice value belongs to the thread: `who` 0 is the calling one.
    _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, -10)
}
