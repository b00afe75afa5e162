import Glibc
import ReelCore

/// `--ao wav:PATH`: writes exactly the samples that would be played, paced like the
/// null output, to a 16-bit PCM WAV file. The header's sizes are filled in at
/// `finish`; a file that was not finished says so by its zero sizes.
///
/// Thread-safety: Confined to the audio thread.
package final class WAVOutput: PacedOutput {
    package let path: String
    /// Where the sound is written until `close` renames it to `path` (`partialFileName`).
    private let temporaryPath: String
    private var file: UnsafeMutablePointer<FILE>?
    private var dataBytes: Int64 = 0
    /// Whether frames were taken back, so that the file may hold stale bytes past the
    /// data to cut off at the end.
    private var discardedTail = false

    package init(
        path: String, format: AudioFormat, bufferDuration: Int64 = 100_000, clock: OutputClock = MonotonicClock()
    ) throws(AudioError) {
        self.path = path
        temporaryPath = partialFileName(for: path)
        guard let file = fopen(temporaryPath, "wb") else {
            throw AudioError("cannot write '\(path)': \(String(cString: strerror(errno)))")
        }
        self.file = file
        super.init(format: format, bufferDuration: bufferDuration, clock: clock)
        try writeHeader()
    }

    deinit { if let file { fclose(file) } }

    /// Removes the unfinished file (never a device written in place).
    private func discardTemporary() { if temporaryPath != path { unlink(temporaryPath) } }

    override func consume(_ samples: UnsafeBufferPointer<Int16>) throws(AudioError) {
        guard let file else { throw AudioError("'\(path)' is already closed") }
        // WAV is little-endian, as is every host Reel runs on.
        let count = fwrite(samples.baseAddress, 2, samples.count, file)
        guard count == samples.count else {
            // The file cannot be finished: it goes now, not left behind cut short.
            self.file = nil
            fclose(file)
            discardTemporary()
            throw AudioError("cannot write '\(path)': disk full or removed")
        }
        dataBytes += Int64(samples.count * 2)
    }

    /// Takes the frames back out of the file: it holds what was heard.
    override func discard(frames: Int64) {
        guard let file, frames > 0 else { return }
        dataBytes = max(0, dataBytes - frames * Int64(format.frameBytes))
        fflush(file)
        fseeko(file, off_t(44 + dataBytes), SEEK_SET)
        discardedTail = true
    }

    override func close() throws(AudioError) {
        guard let file else { return }
        do { try writeHeader() } catch {
            self.file = nil
            fclose(file)
            discardTemporary()
            throw error
        }
        if discardedTail {
            // Bytes written past the data before frames were taken back.
            fflush(file)
            _ = ftruncate(fileno(file), off_t(44 + dataBytes))
        }
        self.file = nil
        let failed = ferror(file) != 0
        guard fclose(file) == 0, !failed, temporaryPath == path || rename(temporaryPath, path) == 0 else {
            let reason = failed ? "disk full or removed" : String(cString: strerror(errno))
            discardTemporary()
            throw AudioError("cannot finish '\(path)': \(reason)")
        }
    }

    /// The 44-byte RIFF header, with the data size known so far.
    private func writeHeader() throws(AudioError) {
        guard let file else { return }
        var header: [UInt8] = []
        func append(_ text: String) { header += Array(text.utf8) }
        func append32(_ value: Int64) {
            withUnsafeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian) { header += $0 }
        }
        func append16(_ value: Int) { withUnsafeBytes(of: UInt16(value).littleEndian) { header += $0 } }
        append("RIFF")
        append32(36 + dataBytes)
        append("WAVEfmt ")
        append32(16)
        append16(1)  // PCM
        append16(format.channels)
        append32(Int64(format.sampleRate))
        append32(Int64(format.sampleRate * format.frameBytes))
        append16(format.frameBytes)
        append16(16)
        append("data")
        append32(dataBytes)
        let end = ftell(file)
        fseek(file, 0, SEEK_SET)
        let written = fwrite(header, 1, header.count, file)
        if end > 0 { fseek(file, end, SEEK_SET) }
        guard written == header.count else { throw AudioError("cannot write '\(path)'") }
    }
}
