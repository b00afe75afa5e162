import Foundation
import Glibc
import ReelAudio

/// Writes `--timeline` JSON Lines, one object per line, all times in microseconds on
/// the host's monotonic clock (`shown_us`, `played_us`) or the media timeline (`pts_us`):
///
///     {"type":"video","pts_us":1000000,"shown_us":52345678901}
///     {"type":"audio","pts_us":1000000,"played_us":52345679012}
///     {"type":"seek","from_us":1000000,"target_us":6000000,"exact":false}
///
/// A video line is written when a frame is first shown (the tick's deadline); an
/// audio line when a chunk is handed to the output, with the time its first sample
/// is heard by the output's own latency report; a seek line when the demux thread
/// serves a seek (what follows is of the new position, bar a chunk of sound written
/// just before).
///
/// The threads that make lines only append them to a buffer in memory (no I/O on the
/// display or audio thread); the session's observer thread writes the buffer out with
/// `flush()`, several times a second, so the file can be followed while playback runs.
///
/// Thread-safety: Safe: the display, audio and demux threads add lines, the observer
/// writes them. (Its errors are `AudioError`s: one line for the user, like every output's.)
final class TimelineWriter: @unchecked Sendable {
    private let lock = NSLock()
    private var file: UnsafeMutablePointer<FILE>?
    /// Lines not yet written, and a second buffer to swap in while they are.
    private var pending: [UInt8] = []
    private var spare: [UInt8] = []
    let path: String

    init(path: String) throws(AudioError) {
        self.path = path
        guard let opened = fopen(path, "w") else {
            throw AudioError("cannot write the timeline '\(path)': \(String(cString: strerror(errno)))")
        }
        file = opened
    }

    /// A frame shown; a live input's frame also says when its first packet was received.
    func video(pts: Int64, shown: Int64, received: Int64? = nil) {
        if let received {
            write("{\"type\":\"video\",\"pts_us\":\(pts),\"shown_us\":\(shown),\"received_us\":\(received)}\n")
        } else {
            write("{\"type\":\"video\",\"pts_us\":\(pts),\"shown_us\":\(shown)}\n")
        }
    }

    /// A seek served: from the frame on screen to the target (`exact`: nothing before it shown).
    func seek(from: Int64, target: Int64, exact: Bool) {
        write("{\"type\":\"seek\",\"from_us\":\(from),\"target_us\":\(target),\"exact\":\(exact)}\n")
    }

    func audio(pts: Int64, played: Int64) {
        write("{\"type\":\"audio\",\"pts_us\":\(pts),\"played_us\":\(played)}\n")
    }

    private func write(_ line: String) {
        lock.withLock { pending.append(contentsOf: line.utf8) }
    }

    /// Writes the lines added so far to the file: whole lines, readable while playback
    /// runs (tail -f). Called by one thread at a time (the observer, then the session).
    func flush() {
        var lines = lock.withLock { () -> [UInt8] in
            var taken: [UInt8] = []
            swap(&taken, &spare)
            swap(&taken, &pending)
            return taken
        }
        guard !lines.isEmpty, let file else { return }
        lines.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, file) }
        fflush(file)
        lines.removeAll(keepingCapacity: true)
        lock.withLock { spare = lines }
    }

    /// Writes what is left, and closes the file; throws if anything was lost.
    func close() throws(AudioError) {
        flush()
        let failed = lock.withLock { () -> Bool in
            guard let open = file else { return false }
            file = nil
            let errorSeen = ferror(open) != 0
            return fclose(open) != 0 || errorSeen
        }
        // Lines were lost (a full disk): the file keeps what was written, under a name
        // that says it is not the whole timeline.
        if failed {
            let partial = "\(path).partial"
            let kept = rename(path, partial) == 0
            throw AudioError(
                "cannot finish the timeline '\(path)': lines were lost (disk full or removed)"
                    + (kept ? "; what was written is in '\(partial)'" : ""))
        }
    }

    deinit { try? close() }
}
