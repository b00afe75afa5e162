/// Where a seek goes: the media time asked for, the keyframes the demuxer may land on
/// to serve it, and whether the frames between that keyframe and the time are shown.
///
/// Keyframe seeks (the default, like ffplay's and mpv's arrow keys) start playing at
/// the keyframe nearest the time, but always on the side the user asked for: a seek
/// forward lands after the current position and a seek back before it, or a short
/// seek in a long GOP would go nowhere. Exact seeks (`--hr-seek`, and `--start`) land
/// on the keyframe at or before the time, decode from there and show nothing before it.
///
/// Pure logic. Thread-safety: Safe (a value type).
package struct SeekTarget: Sendable, Equatable {
    /// The media time (µs) asked for, within the input.
    package var time: Int64
    /// Media times (µs) of the keyframes the demuxer may land on.
    package var keyframes: ClosedRange<Int64>
    /// Whether frames (and sound) before `time` are decoded and dropped.
    package var exact: Bool

    package init(time: Int64, keyframes: ClosedRange<Int64>, exact: Bool) {
        self.time = time
        self.keyframes = keyframes
        self.exact = exact
    }

    /// A seek by `delta` µs from `position` (µs), kept within the input: from `start`
    /// to `end` (nil: unknown, no limit).
    package static func relative(
        from position: Int64, by delta: Int64, start: Int64, end: Int64?, exact: Bool
    ) -> SeekTarget {
        let time = clamp(position + delta, start: start, end: end)
        if exact { return SeekTarget(time: time, keyframes: Int64.min...time, exact: true) }
        // ffplay's margins: a keyframe at least 2 µs past where playback is.
        let keyframes = delta >= 0 ? min(position + 2, time)...Int64.max : Int64.min...max(position - 2, time)
        return SeekTarget(time: time, keyframes: keyframes, exact: false)
    }

    /// A seek to media time `time` (µs), kept within the input.
    package static func absolute(_ time: Int64, start: Int64, end: Int64?, exact: Bool) -> SeekTarget {
        let time = clamp(time, start: start, end: end)
        return SeekTarget(time: time, keyframes: Int64.min...(exact ? time : Int64.max), exact: exact)
    }

    private static func clamp(_ time: Int64, start: Int64, end: Int64?) -> Int64 {
        let late = end.map { min(time, $0) } ?? time
        return max(start, late)
    }
}
