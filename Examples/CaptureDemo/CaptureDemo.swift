import ArgumentParser
import Foundation
import Reel

/// A capture tool in miniature: a synthetic camera pushes NV12 frames into Reel's pool
/// (written in place: no copy), Reel renders them timed to RGBA, and the tool takes
/// them out and reports what happened.
@main
struct CaptureDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture-demo",
        abstract: "Push a synthetic camera's NV12 frames into Reel and take rendered RGBA frames out.",
        discussion: """
            The camera draws a moving pattern with the frame number burned in, at the
            frame rate, straight into pool slots leased from the session; the session
            renders each frame at its time (late ones are dropped, as a player does) and
            hands it out; this tool reads one pixel of each and releases it. At the end it
            prints frames pushed, shown and dropped, bytes copied per frame, push → render
            latency percentiles, and CPU time per frame.

            With --connect unix:PATH the camera runs here and the renderer is another
            process listening at PATH (`reel play unix:PATH`, `reel render unix:PATH
            --out DIR`, or any session made with `.listening(PATH)`): the renderer lends
            this process a sealed shared pool, the camera writes each frame into it in
            place, and the renderer shows it — no copy in either process. The output
            options are then the renderer's.
            """)

    @Option(help: "Frame width in pixels (even).") var width = 1920
    @Option(help: "Frame height in pixels (even).") var height = 1080
    @Option(help: "Frames per second, and the display's rate.") var rate = 60
    @Option(help: "How long the camera runs, in seconds.") var seconds = 30.0
    @Option(help: "How many frames the camera takes (instead of --seconds).") var frames: Int?
    @Flag(
        help:
            "Take frames as fast as the session frees slots (each waits for one) instead of at the rate, dropping those that find the pool full."
    )
    var unpaced = false
    @Option(
        help: ArgumentHelp(
            "Feed the renderer listening at unix:PATH (another process) instead of a session here.",
            valueName: "unix:PATH"))
    var connect: String?
    @Option(help: ArgumentHelp("Write each rendered frame as DIR/frame-NNNNNN.png.", valueName: "DIR"))
    var out: String?
    @Flag(help: "Show the frames in a window instead of taking them out.") var window = false
    @Flag(help: "Render every frame as it comes instead of at its time (a converter's mode).")
    var everyFrame = false
    @Option(help: "Output buffers the session renders into and lends (2 or more).") var buffers = 4
    @Option(help: "Pool slots the camera may fill ahead of the display (2 or more).") var slots = 8
    @Flag(help: "Take frames in a callback on the session's display thread instead of `for try await`.")
    var callback = false
    @Flag(help: "Turn on the Vulkan validation layer.") var validation = false

    func validate() throws {
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0, width <= 16384, height <= 16384 else {
            throw ValidationError("--width and --height must be even, 2…16384")
        }
        guard (1...240).contains(rate) else { throw ValidationError("--rate must be 1…240") }
        guard buffers >= 2, slots >= 2 else { throw ValidationError("--buffers and --slots must be 2 or more") }
        guard seconds > 0, seconds <= 86_400 else { throw ValidationError("--seconds must be positive") }
        if let frames, frames < 1 { throw ValidationError("--frames must be at least 1") }
        if let connect {
            guard connect.hasPrefix("unix:"), connect.count > 5 else {
                throw ValidationError("--connect takes unix:PATH, the socket a renderer listens at")
            }
            guard !window, out == nil, !callback else {
                throw ValidationError(
                    "with --connect the renderer shows the frames: --window, --out and --callback do not apply")
            }
        }
        if out != nil && window { throw ValidationError("--out writes rendered frames; a --window shows them instead") }
    }

    /// Frames the camera takes.
    private var count: Int { frames ?? Int((seconds * Double(rate)).rounded()) }

    func run() async throws {
        if let connect { return try await produce(for: String(connect.dropFirst("unix:".count))) }
        if let out {
            do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
                FileHandle.standardError.write(
                    Data("capture-demo: cannot create \(out): \(error.localizedDescription)\n".utf8))
                throw ExitCode.failure
            }
        }
        let description = FrameDescription(format: .nv12, size: PixelSize(width: width, height: height))
        var parameters = SessionParameters(
            output: window ? .window : .frames(FrameOutput(format: .rgba8, buffers: buffers)),
            pacing: everyFrame ? .everyFrame : .timed(rate: Rational(Int64(rate), 1)), validation: validation,
            pushedSlots: slots)
        // The camera's frames: their pass is ready before the first one.
        parameters.expectedFrames = [description]
        // The application's side of the output: take each frame, look at it, give it back
        // — in a callback on the display thread, or below from `session.frames`.
        let inspector = FrameInspector(folder: out)
        let session: Session
        var onFrame: (@Sendable (RenderedFrame) -> Void)?
        if callback { onFrame = { @Sendable frame in inspector.inspect(frame) } }
        do { session = try Session(parameters, onFrame: onFrame) } catch {
            FileHandle.standardError.write(Data("capture-demo: \(error)\n".utf8))
            throw ExitCode.failure
        }
        let synthetic = SyntheticCamera(width: width, height: height)
        let count = count
        print(
            "capture-demo: \(width)x\(height) NV12 at \(rate) Hz for \(seconds) s, \(everyFrame ? "every frame" : "timed") → \(window ? "a window" : "RGBA8 frames") on \(session.deviceName)"
        )

        let consumer = Task {
            for try await frame in session.frames { inspector.inspect(frame) }
        }

        // The camera: a thread of its own, as a capture driver's, that wakes once a
        // period, takes a free slot (or drops the frame when the pool is full, as a
        // camera does), draws into it and submits it.
        let camera = CameraThread(
            producer: session, synthetic: synthetic, description: description, rate: rate, paced: !unpaced, count: count
        )
        // A window is served on the thread that made it, until the session ends.
        if window { try session.runWindow() }
        let cameraResult = await camera.finished()
        session.finishInput()
        if let error = cameraResult.error {
            FileHandle.standardError.write(Data("capture-demo: the camera stopped: \(error)\n".utf8))
            throw ExitCode.failure
        }
        let cameraCPU = cameraResult.applicationCPU
        let statistics = try await session.finished()
        try await consumer.value
        let (taken, mismatches, consumerCPU) = inspector.counts.withLock { ($0.taken, $0.mismatches, $0.busy) }

        let shown = statistics.framesRendered
        let dropped = statistics.framesDropped
        print(
            "frames: \(statistics.framesIn) pushed (\(cameraResult.dropped) more dropped by the camera: pool full), \(shown) shown, \(dropped) dropped (\(Self.percent(dropped, of: statistics.framesIn)); \(statistics.framesDroppedForBuffers) for want of an output buffer)"
        )
        if !window {
            print("taken out: \(taken); burned-in counter read back wrong in \(mismatches)")
        }
        if let failure = inspector.failure.withLock({ $0 }) {
            FileHandle.standardError.write(Data("capture-demo: \(failure)\n".utf8))
            throw ExitCode.failure
        }
        print(
            "copies: \(statistics.framesIn > 0 ? statistics.bytesCopied / statistics.framesIn : 0) B per frame (\(statistics.framesCopied) frames copied; leased slots are written in place)"
        )
        if let latency = statistics.pushToRender {
            print(
                "push → render latency: p50 \(Self.ms(latency.p50)), p95 \(Self.ms(latency.p95)), p99 \(Self.ms(latency.p99)), max \(Self.ms(latency.max)) ms (\(latency.count) frames; frame interval \(String(format: "%.2f", 1000 / Double(rate))) ms)"
            )
        }
        // The application's own work (drawing, looking at frames) is not Reel's.
        let applicationCPU = cameraCPU + consumerCPU
        let perFrame = shown > 0 ? statistics.cpuTime / shown : .zero
        let reelPerFrame = shown > 0 ? (statistics.cpuTime - applicationCPU) / shown : .zero
        print(
            "CPU: \(Self.ms(reelPerFrame)) ms per frame shown for Reel (the whole process \(Self.ms(perFrame)) ms, less the camera thread's own work \(Self.ms(count > 0 ? cameraCPU / count : .zero)) ms and the consumer's \(Self.ms(taken > 0 ? consumerCPU / taken : .zero)) ms; \(Self.ms(statistics.cpuTime)) ms CPU in \(Self.ms(statistics.wallTime)) ms; setup \(Self.ms(statistics.setupCPUTime)) ms CPU, not counted)"
        )
        if !statistics.validationErrors.isEmpty {
            print("validation: \(statistics.validationErrors.count) errors")
            throw ExitCode(1)
        }
    }

    /// The camera in this process, the renderer in another: connects, streams, says bye.
    private func produce(for path: String) async throws {
        let description = FrameDescription(format: .nv12, size: PixelSize(width: width, height: height))
        let begin = processCPUTime()
        let producer: RemoteProducer
        do { producer = try RemoteProducer(connectingTo: path, for: description, slots: slots) } catch {
            FileHandle.standardError.write(Data("capture-demo: \(error)\n".utf8))
            throw ExitCode.failure
        }
        print(
            "capture-demo: \(width)x\(height) NV12 at \(unpaced ? "the renderer's pace" : "\(rate) Hz"), \(count) frames → the renderer at \(path) (a shared pool of \(producer.slotCount) slots)"
        )
        fflush(nil)  // Now: whoever started this process may be waiting for the line.
        let camera = CameraThread(
            producer: producer, synthetic: SyntheticCamera(width: width, height: height), description: description,
            rate: rate, paced: !unpaced, count: count)
        let result = await camera.finished()
        producer.finish()
        let cpu = processCPUTime() - begin
        print(
            "frames: \(result.submitted) submitted (\(result.dropped) dropped by the camera: pool full); slots held at the end \(producer.freeSlots) of \(producer.slotCount)"
        )
        print(
            "CPU: \(Self.ms(result.submitted > 0 ? cpu / result.submitted : .zero)) ms per frame submitted for the whole producer process (\(Self.ms(cpu)) ms; connecting not counted)"
        )
        if let error = result.error {
            FileHandle.standardError.write(Data("capture-demo: the camera stopped: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    static func ms(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(format: "%.2f", Double(seconds) * 1000 + Double(attoseconds) / 1e15)
    }

    static func percent(_ part: Int, of whole: Int) -> String {
        whole > 0 ? String(format: "%.2f %%", 100 * Double(part) / Double(whole)) : "0 %"
    }
}

/// This process's CPU time (user + system, every thread).
func processCPUTime() -> Duration {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
}

/// The calling thread's CPU time (user + system).
func threadCPUTime() -> Duration {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
}

/// What the application does with each rendered frame: reads the burned-in counter back
/// from the pixels, compares it with the frame's time, and releases the frame.
///
/// Thread-safety: Safe (its counts are behind a lock).
final class FrameInspector: Sendable {
    let counts = Guarded<(taken: Int, mismatches: Int, busy: Duration)>((0, 0, .zero))
    /// Where each frame is written as a PNG (`--out`), and the first failure to.
    let folder: String?
    let failure = Guarded<String?>(nil)

    init(folder: String?) { self.folder = folder }

    func inspect(_ frame: RenderedFrame) {
        if let folder {
            do throws(ReelError) {
                try frame.writePNG(to: "\(folder)/frame-\(String(format: "%06d", frame.index + 1)).png")
            } catch { failure.withLock { $0 = $0 ?? "cannot write a frame: \(error)" } }
        }
        let begin = threadCPUTime()
        var mismatch = false
        if let time = frame.presentationTime,
            let number = frame.withPixels({ SyntheticCamera.readCounter($0, rowBytes: frame.rowBytes) }),
            number != Int(time.ticks) % SyntheticCamera.counterModulus
        {
            mismatch = true
        }
        frame.release()
        let busy = threadCPUTime() - begin
        counts.withLock { counts in
            counts.taken += 1
            if mismatch { counts.mismatches += 1 }
            counts.busy += busy
        }
    }
}

/// The synthetic camera's thread: paced on the monotonic clock with absolute deadlines.
///
/// Thread-safety: Safe (the thread owns its state; the result is handed over once).
final class CameraThread: Sendable {
    struct Result: Sendable {
        var submitted = 0
        var dropped = 0
        /// The thread's CPU time outside Reel's calls: waking, drawing, pacing.
        var applicationCPU = Duration.zero
        var error: String?
    }

    private let result = Guarded<(result: Result?, waiter: CheckedContinuation<Result, Never>?)>((nil, nil))

    /// `paced`: a frame every 1/`rate` s, dropped when the pool is full (a camera);
    /// otherwise each frame waits for a free slot (a converter's source).
    init(
        producer: any FrameProducer, synthetic: SyntheticCamera, description: FrameDescription, rate: Int,
        paced: Bool, count: Int
    ) {
        guard paced else {
            Task { finish(await Self.runUnpaced(producer, synthetic, description, rate, count)) }
            return
        }
        let thread = Thread { [self] in finish(Self.run(producer, synthetic, description, rate, count)) }
        thread.name = "camera"
        thread.start()
    }

    private func finish(_ outcome: Result) {
        let waiter = result.withLock { state in
            state.result = outcome
            return state.waiter.take()
        }
        waiter?.resume(returning: outcome)
    }

    private static func runUnpaced(
        _ producer: any FrameProducer, _ synthetic: SyntheticCamera, _ description: FrameDescription, _ rate: Int,
        _ count: Int
    ) async -> Result {
        var outcome = Result()
        for index in 0..<count {
            do {
                var lease = try await producer.lease(for: description)
                synthetic.draw(into: &lease, frame: index)
                try lease.submit(at: MediaTime(ticks: Int64(index), timeBase: Rational(1, Int64(rate))))
                outcome.submitted += 1
            } catch {
                outcome.error = "\(error)"
                break
            }
        }
        return outcome
    }

    func finished() async -> Result {
        await withCheckedContinuation { continuation in
            let done = result.withLock { state -> Result? in
                if let done = state.result { return done }
                state.waiter = continuation
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    private static func run(
        _ session: any FrameProducer, _ synthetic: SyntheticCamera, _ description: FrameDescription, _ rate: Int,
        _ count: Int
    ) -> Result {
        var outcome = Result()
        var inReel = Duration.zero
        let threadStart = threadCPUTime()
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let startNanoseconds = Int64(start.tv_sec) * 1_000_000_000 + Int64(start.tv_nsec)
        for index in 0..<count {
            let deadline = startNanoseconds + Int64(index) * 1_000_000_000 / Int64(rate)
            var wake = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
            while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &wake, nil) == EINTR {}
            do {
                var callStart = threadCPUTime()
                guard var lease = try session.tryLease(for: description) else {
                    inReel += threadCPUTime() - callStart
                    outcome.dropped += 1
                    continue
                }
                inReel += threadCPUTime() - callStart
                synthetic.draw(into: &lease, frame: index)
                callStart = threadCPUTime()
                try lease.submit(at: MediaTime(ticks: Int64(index), timeBase: Rational(1, Int64(rate))))
                inReel += threadCPUTime() - callStart
                outcome.submitted += 1
            } catch {
                outcome.error = "\(error)"
                break
            }
        }
        outcome.applicationCPU = threadCPUTime() - threadStart - inReel
        return outcome
    }
}

/// A value behind an `NSLock`. (`Synchronization.Mutex` would do, but on Linux it locks
/// with futex calls ThreadSanitizer cannot see, and Reel's suite runs this demo under it.)
final class Guarded<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
