import ReelCore

/// The audio clock: where playback is, from what was written and what the output
/// still holds. Media time of the last frame written's end, minus the queued frames'
/// duration, at the moment the output is asked.
///
/// Thread-safety: Unsafe; the audio thread owns it (it hands anchors to the master clock).
package struct AudioClock: Sendable {
    package let format: AudioFormat
    /// Media time (µs) just after the last frame written.
    package private(set) var writtenEnd: Int64?

    package init(format: AudioFormat) { self.format = format }

    /// Records a chunk of `frames` frames starting at media time `start` (µs; nil:
    /// right after the previous chunk).
    package mutating func wrote(frames: Int, startingAt start: Int64?) {
        let begin = start ?? writtenEnd ?? 0
        writtenEnd = begin + format.microseconds(ofFrames: Int64(frames))
    }

    /// The output dropped the last `frames` frames written: they will not be heard.
    package mutating func unwrite(frames: Int64) {
        writtenEnd = writtenEnd.map { $0 - format.microseconds(ofFrames: frames) }
    }

    /// Forgets what was written (a seek): the next chunk's time starts it again.
    package mutating func reset() { writtenEnd = nil }

    /// Media time (µs) being heard when the output holds `queuedFrames`; nil before
    /// anything was written.
    package func media(queuedFrames: Int64) -> Int64? {
        writtenEnd.map { $0 - format.microseconds(ofFrames: queuedFrames) }
    }
}
