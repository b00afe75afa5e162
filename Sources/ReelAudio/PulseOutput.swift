internal import CPulse
import ReelCore

/// `--ao pulse`: plays through PulseAudio (PipeWire desktops serve the same API),
/// with its blocking simple API: `write` waits while the server's buffer is full, and
/// the queued frames come from the server's own latency report.
///
/// Thread-safety: Confined to the audio thread.
package final class PulseOutput: AudioOutput {
    package let format: AudioFormat
    private var connection: OpaquePointer?

    /// Connects to `server` (nil: the default, from the environment), asking for a
    /// buffer of about `bufferDuration` µs. Throws when there is no server or it
    /// refuses the stream; the player then falls back to the null output.
    package init(format: AudioFormat, server: String? = nil, bufferDuration: Int64 = 100_000) throws(AudioError) {
        self.format = format
        var spec = pa_sample_spec(
            format: PA_SAMPLE_S16LE, rate: UInt32(format.sampleRate), channels: UInt8(format.channels))
        let bytes = UInt32(bufferDuration * Int64(format.sampleRate) / 1_000_000) * UInt32(format.frameBytes)
        var attributes = pa_buffer_attr(
            maxlength: UInt32.max, tlength: bytes, prebuf: UInt32.max, minreq: UInt32.max, fragsize: UInt32.max)
        var error: Int32 = 0
        connection = pa_simple_new(
            server, "Reel", PA_STREAM_PLAYBACK, nil, "playback", &spec, nil, &attributes, &error)
        guard connection != nil else {
            throw AudioError("cannot play through PulseAudio: \(Self.message(error))")
        }
        // Start the stream with a little silence and wait until it has played: a new
        // stream can take a while to start, and its latency reports are not to be
        // trusted until it has (seen: 1.7 s on a fresh server's null sink).
        let silence = [Int16](repeating: 0, count: format.sampleRate / 50 * format.channels)
        let started = silence.withUnsafeBytes { bytes in
            pa_simple_write(connection, bytes.baseAddress, bytes.count, &error) >= 0
                && pa_simple_drain(connection, &error) >= 0
        }
        guard started else {
            pa_simple_free(connection)
            connection = nil
            throw AudioError("PulseAudio would not start playing: \(Self.message(error))")
        }
    }

    deinit { if let connection { pa_simple_free(connection) } }

    package func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioError) {
        guard let connection, let base = samples.baseAddress else { return }
        var error: Int32 = 0
        if pa_simple_write(connection, base, samples.count * 2, &error) < 0 {
            throw AudioError("PulseAudio stopped playing: \(Self.message(error))")
        }
    }

    /// What the server reports it still holds (its buffer and the device's latency).
    /// The report is for the moment of the call; `now` is not needed.
    package func queuedFrames(at now: Int64) -> Int64 {
        guard let connection else { return 0 }
        var error: Int32 = 0
        let latency = pa_simple_get_latency(connection, &error)
        guard latency != UInt64.max else { return 0 }
        return Int64(latency) * Int64(format.sampleRate) / 1_000_000
    }

    package func drain() throws(AudioError) {
        guard let connection else { return }
        var error: Int32 = 0
        if pa_simple_drain(connection, &error) < 0 {
            throw AudioError("PulseAudio could not play out the end: \(Self.message(error))")
        }
    }

    /// Drops the server's buffer (wraps `pa_simple_flush`). What the device itself
    /// already holds, a few milliseconds, still plays.
    package func flush() -> Int64 {
        guard let connection else { return 0 }
        let queued = queuedFrames(at: 0)
        var error: Int32 = 0
        return pa_simple_flush(connection, &error) < 0 ? 0 : queued
    }

    package func finish() throws(AudioError) {
        guard let connection else { return }
        var error: Int32 = 0
        let drained = pa_simple_drain(connection, &error)
        pa_simple_free(connection)
        self.connection = nil
        if drained < 0 { throw AudioError("PulseAudio could not play out the end: \(Self.message(error))") }
    }

    private static func message(_ error: Int32) -> String {
        pa_strerror(error).map { String(cString: $0) } ?? "error \(error)"
    }
}
