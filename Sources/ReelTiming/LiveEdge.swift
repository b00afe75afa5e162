/// Keeps a live stream's pictures near the edge of what has arrived, on a video
/// master clock.
///
/// A file's frames are all there: the clock starts at the first and runs. A live
/// stream's frames come when the network brings them, and where the clock stands
/// against them is set by chance at the start (the first frame may wait for the
/// next one to be complete, the sender's clock mapping may move the timestamps once
/// its first report comes). Each frame, as it becomes ready to show, says how far
/// ahead of the clock it is (its slack). Over a window of frames the smallest slack
/// is what the stream needs; when it strays from `margin` by more than `tolerance`,
/// the clock is moved by the difference: forward when every frame waited longer than
/// needed (frames already late are then dropped, counted, to catch up), back when
/// frames came late. One that comes later than `lateAtOnce` moves the clock back at
/// once: a sender that sends its sound in bursts (ffmpeg's AAC packs 0.7 s into one
/// packet) would otherwise play that late, out of sync, until the window ends. Latency
/// thus stays near the network's own jitter, and never grows.
///
/// Pure logic. Thread-safety: Unsafe (a value type); owned by the video thread.
package struct LiveEdge: Sendable {
    /// How far ahead of its time (µs) a frame should be ready.
    package let margin: Int64
    /// How far (µs) the smallest slack may stray from `margin` before the clock moves.
    package let tolerance: Int64
    /// Frames per window; the first window is shorter, to settle soon after the start.
    package let window: Int
    package let firstWindow: Int
    /// How late (µs) a frame or sound may be before the clock moves back at once.
    package let lateAtOnce: Int64
    private var minimum = Int64.max
    private var minimumOfSound = false
    private var count = 0
    /// Windows completed, and the corrections made.
    package private(set) var windows = 0
    package private(set) var corrections = 0

    package init(
        margin: Int64 = 4_000, tolerance: Int64 = 8_000, window: Int = 60, firstWindow: Int = 10,
        lateAtOnce: Int64 = 100_000
    ) {
        self.margin = margin
        self.tolerance = tolerance
        self.window = window
        self.firstWindow = firstWindow
        self.lateAtOnce = lateAtOnce
    }

    /// A move of the clock: `by` µs forward (negative: back); `forSound` when the
    /// smallest slack was the sound's.
    package struct Move: Equatable, Sendable {
        package var by: Int64
        package var forSound: Bool

        package init(by: Int64, forSound: Bool) {
            self.by = by
            self.forSound = forSound
        }
    }

    /// A frame (or, `ofSound`, a piece of the sound) became ready `slack` µs before its
    /// time on the clock (negative: after). Returns how to move the clock, at the end of
    /// a window that calls for it.
    package mutating func observe(slack: Int64, ofSound: Bool = false) -> Move? {
        if slack < -lateAtOnce {
            // The window starts again on the moved clock.
            minimum = .max
            count = 0
            corrections += 1
            return Move(by: slack - margin, forSound: ofSound)
        }
        if slack < minimum {
            minimum = slack
            minimumOfSound = ofSound
        }
        count += 1
        guard count >= (windows == 0 ? firstWindow : window) else { return nil }
        let correction = minimum - margin
        minimum = .max
        count = 0
        windows += 1
        guard abs(correction) > tolerance else { return nil }
        corrections += 1
        return Move(by: correction, forSound: minimumOfSound)
    }

    /// Starts over (a new generation).
    package mutating func reset() {
        minimum = .max
        count = 0
        windows = 0
    }
}
