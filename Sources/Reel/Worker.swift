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

    /// Starts a thread named `name` that runs `body`.
    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        let box = Unmanaged.passRetained(Body(name: name, run: body))
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

    /// What the new thread runs: a private box, so no public object crosses as a C context.
    private final class Body {
        let name: String
        let run: @Sendable () -> Void
        init(name: String, run: @escaping @Sendable () -> Void) {
            self.name = name
            self.run = run
        }
    }
}
