import Foundation
import ReelCore

/// `--ao pulse` that outlives its server: when the sound server goes away mid-playback
/// (killed, restarted), the sound goes on to a null output at the real rate — the
/// audio clock keeps running on the host's clock, so the picture plays on — and the
/// server is tried again once a second, on a thread of its own (a new stream takes up
/// to seconds to start; the picture must not wait for it); when it answers, the sound
/// resumes there. Each change is said once through `notice`.
///
/// Thread-safety: Confined to the audio thread (`notice` is called on it).
package final class ReconnectingOutput: AudioOutput {
    package let format: AudioFormat
    private let connect: @Sendable () throws(AudioError) -> AudioOutput
    private let notice: (String) -> Void
    private let clock: OutputClock
    /// The server's stream, or nil while it is away.
    private var server: AudioOutput?
    /// Where the sound goes while the server is away.
    private let standIn: NullOutput
    private var retryAt: Int64 = 0
    private static let retryInterval: Int64 = 1_000_000_000
    /// The attempt to connect again, while one runs or its stream waits to be taken.
    private let attempt = Attempt()

    /// `connect` opens a stream on the server (a `PulseOutput`); it is called now, and
    /// again after the server went away.
    package init(
        format: AudioFormat, clock: OutputClock = MonotonicClock(), notice: @escaping (String) -> Void,
        connect: @escaping @Sendable () throws(AudioError) -> AudioOutput
    ) throws(AudioError) {
        self.format = format
        self.connect = connect
        self.notice = notice
        self.clock = clock
        standIn = NullOutput(format: format, clock: clock)
        server = try connect()
    }

    package func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioError) {
        if server == nil { reconnectIfDue() }
        if let server {
            do throws(AudioError) {
                return try server.write(samples)
            } catch {
                lost(error)
            }
        }
        try standIn.write(samples)
    }

    package func queuedFrames(at now: Int64) -> Int64 {
        server?.queuedFrames(at: now) ?? standIn.queuedFrames(at: now)
    }

    package func drain() throws(AudioError) {
        if let server {
            do throws(AudioError) {
                return try server.drain()
            } catch {
                lost(error)
            }
        }
        try standIn.drain()
    }

    package func flush() -> Int64 {
        server?.flush() ?? standIn.flush()
    }

    package func finish() throws(AudioError) {
        // The loss, if any, was said when it happened.
        if let server { try? server.finish() }
        server = nil
        // An attempt still running is waited for; its stream is closed unused.
        if let late = attempt.finish() { try? late.finish() }
        try standIn.finish()
    }

    /// The server's stream failed: from now on the stand-in plays, from empty.
    private func lost(_ error: AudioError) {
        server = nil
        _ = standIn.flush()
        retryAt = clock.now() + Self.retryInterval
        notice("the sound server went away (\(error)); playing on without sound, trying it again each second")
    }

    /// While the server is away: once a second, an attempt to connect (on its own
    /// thread); a stream it made is taken once what the stand-in holds has played out
    /// (the clock then moves on without a jump).
    private func reconnectIfDue() {
        switch attempt.take() {
        case .running:
            return
        case .connected(let reopened):
            try? standIn.drain()
            server = reopened
            notice("the sound server is back; the sound resumes")
        case .idle:
            let now = clock.now()
            guard now >= retryAt else { return }
            retryAt = now + Self.retryInterval
            attempt.start(connect)
        }
    }
}

/// One attempt at a time to connect again, on a thread that is waited for at the end.
///
/// Thread-safety: Safe (behind a condition).
private final class Attempt: @unchecked Sendable {
    enum Outcome {
        case idle
        case running
        case connected(AudioOutput)
    }

    private let condition = NSCondition()
    private var outcome = Outcome.idle

    /// What became of the last attempt; a stream it made is handed over (once).
    func take() -> Outcome {
        condition.withLock {
            let now = outcome
            if case .connected = now { outcome = .idle }
            return now
        }
    }

    func start(_ connect: @escaping @Sendable () throws(AudioError) -> AudioOutput) {
        condition.withLock { outcome = .running }
        let thread = Thread { [self] in
            let made = try? connect()
            condition.withLock {
                outcome = made.map { .connected($0) } ?? .idle
                condition.broadcast()
            }
        }
        thread.name = "reel.audio.reconnect"
        thread.start()
    }

    /// Waits for an attempt still running to end; the stream it made, if any.
    func finish() -> AudioOutput? {
        condition.withLock {
            while case .running = outcome { condition.wait() }
            defer { outcome = .idle }
            if case .connected(let late) = outcome { return late }
            return nil
        }
    }
}
