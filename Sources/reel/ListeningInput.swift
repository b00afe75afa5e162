import ArgumentParser
import Foundation
import Glibc
import Reel
import ReelCore
import ReelMedia
import Synchronization

/// Options of a `unix:PATH` input.
struct ListenOptions: ParsableArguments {
    @Flag(
        name: .long,
        help: "With a unix:PATH input: end when the first producer leaves, instead of listening until Ctrl-C.")
    var once = false

    /// Refuses `--once` for another input.
    func check(input: String) throws {
        if once && ListeningInput.path(of: input) == nil {
            throw ValidationError("--once applies to a unix:PATH input only")
        }
    }
}

/// A `unix:PATH` input: Reel listens on a Unix socket at PATH and renders the frames
/// producer processes write into pools it lends them (`RemoteProducer`, the capture
/// demo's `--connect`). `play`, `render` and `bench` take one; this runs the session
/// and reports what the producers did.
struct ListeningInput {
    /// PATH of a `unix:PATH` input, or nil for any other input.
    static func path(of input: String) -> String? {
        guard input.hasPrefix("unix:") else { return nil }
        return String(input.dropFirst("unix:".count))
    }

    /// The help text the commands share.
    static let help = """
        unix:PATH listens on a Unix socket at PATH for producer processes (Reel's \
        cross-process pool: a producer asks for a pool, Reel makes it, seals it and lends \
        it; frames are written in place and never copied). Frames are rendered as they \
        are published; a producer that misbehaves is cut off, one that dies has its \
        slots taken back, and others stream on. It listens until Ctrl-C (--once: until \
        the first producer leaves); --stats PATH writes what the producers did as JSON.
        """

    let path: String
    let once: Bool
    let device: DeviceOptions

    /// What a listening session did: the text at the end and the `--stats` JSON.
    struct Report: Codable {
        var input: String
        var device: String?
        var producers: Int
        var producersRefused: [String]
        var framesIn: Int
        var framesRendered: Int
        var framesDropped: Int
        var bytesCopied: Int
        var bytesCopiedPerFrame: Int
        var slotsLent: Int
        var slotsFreeAtEnd: Int
        var slotsReclaimed: Int
        var wallSeconds: Double
        var cpuSeconds: Double
        var cpuSecondsPerFrame: Double
        /// Frames rendered a second, from the first frame's render to the last's (the
        /// time spent listening before a producer came is not in it); 0 without a
        /// `.frames` output.
        var framesPerSecond: Double
        var setupCPUSeconds: Double
        var peakRSSBytes: Int64
        var pushToRenderP50Milliseconds: Double?
        var pushToRenderP99Milliseconds: Double?

        init(
            input: String, statistics: SessionStatistics,
            renderSpan: (first: ContinuousClock.Instant, last: ContinuousClock.Instant, count: Int)?
        ) {
            let seconds = { (duration: Duration) in
                Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            }
            self.input = input
            device = statistics.device
            producers = statistics.producers
            producersRefused = statistics.producersRefused
            framesIn = statistics.framesIn
            framesRendered = statistics.framesRendered
            framesDropped = statistics.framesDropped
            bytesCopied = statistics.bytesCopied
            bytesCopiedPerFrame = statistics.framesIn > 0 ? statistics.bytesCopied / statistics.framesIn : 0
            slotsLent = statistics.producerSlots
            slotsFreeAtEnd = statistics.producerSlotsFreeAtEnd
            slotsReclaimed = statistics.slotsReclaimed
            wallSeconds = seconds(statistics.wallTime)
            cpuSeconds = seconds(statistics.cpuTime)
            cpuSecondsPerFrame = framesRendered > 0 ? cpuSeconds / Double(framesRendered) : 0
            framesPerSecond = 0
            if let span = renderSpan, span.count > 1 {
                framesPerSecond = Double(span.count - 1) / seconds(span.last - span.first)
            }
            setupCPUSeconds = seconds(statistics.setupCPUTime)
            peakRSSBytes = ResourceSample.now().peakResidentBytes
            pushToRenderP50Milliseconds = statistics.pushToRender.map { seconds($0.p50) * 1000 }
            pushToRenderP99Milliseconds = statistics.pushToRender.map { seconds($0.p99) * 1000 }
        }

        var text: String {
            var lines = [
                "producers    \(producers) served, \(producersRefused.count) cut off for a bad message",
                "frames       \(framesIn) in, \(framesRendered) rendered, \(framesDropped) dropped",
                "copies       \(bytesCopiedPerFrame) B/frame (\(bytesCopied) B in all)",
                "pool slots   \(slotsFreeAtEnd) of \(slotsLent) returned (\(slotsReclaimed) taken back from producers as they left)",
                String(
                    format:
                        "CPU          %.3f s in %.3f s (listening included), %.2f ms/frame, %.1f frames/s from the first to the last (setup %.3f s CPU, not counted)",
                    cpuSeconds, wallSeconds, cpuSecondsPerFrame * 1000, framesPerSecond, setupCPUSeconds),
            ]
            if let p50 = pushToRenderP50Milliseconds, let p99 = pushToRenderP99Milliseconds {
                lines.append(String(format: "latency      publish → rendered p50 %.2f ms, p99 %.2f ms", p50, p99))
            }
            for reason in producersRefused { lines.append("cut off      \(reason)") }
            return lines.joined(separator: "\n")
        }

        func write(to path: String) throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            do { try writeWhole(try encoder.encode(self), to: path) } catch {
                throw CommandError("cannot write the statistics '\(path)': \(error.localizedDescription)")
            }
        }
    }

    /// Runs a session listening at `path` until its end (Ctrl-C, the first producer's
    /// departure with `once`, or `frameLimit` frames rendered). `onFrame` takes each
    /// rendered frame on the display thread (a `.frames` output) and releases it; it
    /// throws to end the session with that error.
    func run(
        output: SessionParameters.Output, pacing: SessionParameters.Pacing, frameLimit: Int?,
        onFrame: @escaping @Sendable (RenderedFrame, Int) throws -> Void = { frame, _ in frame.release() }
    ) throws -> Report {
        let settings = device.parameters
        var parameters = SessionParameters(
            source: .listening(path, once: once), output: output, pacing: pacing,
            device: settings.preferredName.map { .named($0) } ?? .automatic, validation: settings.validation)
        parameters.pushedSlots = 8
        let failure = Locked<(any Error)?>(nil)
        let rendered = Locked(0)
        let span = Locked<(first: ContinuousClock.Instant, last: ContinuousClock.Instant, count: Int)?>(nil)
        let stopper = Locked<Session?>(nil)
        let frameHandler: @Sendable (RenderedFrame) -> Void = { frame in
            let index = rendered.withLock { count -> Int? in
                if let frameLimit, count >= frameLimit { return nil }
                count += 1
                return count - 1
            }
            guard let index else { return frame.release() }
            let now = ContinuousClock.now
            span.withLock { span in span = (span?.first ?? now, now, (span?.count ?? 0) + 1) }
            do { try onFrame(frame, index) } catch {
                frame.release()
                failure.withLock { $0 = $0 ?? error }
                stopper.withLock { $0 }?.stop()
                return
            }
            if let frameLimit, index + 1 == frameLimit { stopper.withLock { $0 }?.finishInput() }
        }
        let session: Session
        do {
            var handler: (@Sendable (RenderedFrame) -> Void)?
            if case .frames = output { handler = frameHandler }
            session = try Session(parameters, onFrame: handler)
        } catch { throw CommandError(error.description) }
        stopper.withLock { $0 = session }
        // At once, unbuffered: a producer may wait for this line.
        FileHandleStream.standardOutput.write("listening at \(path) on \(session.deviceName)\n")
        // Ctrl-C and a polite kill end the input: what was published is shown.
        let interrupts = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { stopper.withLock { $0 }?.finishInput() }
            source.resume()
            return source
        }
        defer { for source in interrupts { source.cancel() } }
        if case .window = output { try? session.runWindow() }
        let outcome = Self.finished(session)
        stopper.withLock { $0 = nil }
        if let error = failure.withLock({ $0 }) { throw error }
        let statistics: SessionStatistics
        switch outcome {
        case .success(let value): statistics = value
        case .failure(let error): throw CommandError(error.description)
        }
        if !statistics.validationErrors.isEmpty {
            for error in statistics.validationErrors {
                FileHandleStream.standardError.write("vulkan validation: \(error)\n")
            }
            throw CommandError("the Vulkan validation layer reported \(statistics.validationErrors.count) error(s)")
        }
        return Report(input: "unix:\(path)", statistics: statistics, renderSpan: span.withLock { $0 })
    }

    /// Waits from synchronous code for `session` to end.
    private static func finished(_ session: Session) -> Result<SessionStatistics, ReelError> {
        let done = DispatchSemaphore(value: 0)
        let result = Locked<Result<SessionStatistics, ReelError>?>(nil)
        // Weakly: the session must go on the main thread, with its Vulkan device, not
        // on the task's once the command is exiting.
        Task { [weak session] in
            let outcome: Result<SessionStatistics, ReelError>
            do throws(ReelError) {
                guard let session else { preconditionFailure("the session lives until this task signals") }
                outcome = .success(try await session.finished())
            } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }
}
