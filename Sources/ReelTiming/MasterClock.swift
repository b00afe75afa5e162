/// Which clock the others follow (`--sync audio|video|external`).
package enum SyncSource: String, Sendable, CaseIterable {
    /// The audio output's clock: PTS of the last sample written minus what it still holds.
    case audio
    /// The video stream's own timestamps, paced by the display.
    case video
    /// The monotonic wall clock, started at the first frame.
    case external

    /// The default: audio when there is audio, else video.
    package static func automatic(hasAudio: Bool) -> SyncSource { hasAudio ? .audio : .video }
}

/// The master clock: media time as a function of host (monotonic) time.
///
/// It is set from an anchor — media time `m` at host time `h` — and runs at rate 1
/// from there; an audio output re-anchors it each time it reports where playback is.
/// Paused, it holds its time. All times are integers: media time in microseconds,
/// host time in nanoseconds. Pure logic: the caller passes the host time.
///
/// Thread-safety: Unsafe (a value type); the scheduler thread owns it.
package struct MasterClock: Sendable, Equatable {
    private var anchor: (media: Int64, host: Int64)?
    private var pausedAt: Int64?
    /// A media time the clock does not run past: for the audio clock, the end of what
    /// was written, so that a stalled output holds the picture instead of leaving it.
    private var limit: Int64?

    package init() {}

    package static func == (a: Self, b: Self) -> Bool {
        a.anchor?.media == b.anchor?.media && a.anchor?.host == b.anchor?.host && a.pausedAt == b.pausedAt
            && a.limit == b.limit
    }

    /// Whether the clock has been set since it was made or reset.
    package var isSet: Bool { anchor != nil }
    package var isPaused: Bool { pausedAt != nil }

    /// Media time `media` (µs) is now, at host time `host` (ns); the clock will not run
    /// past `limit` (µs) until set again.
    package mutating func set(media: Int64, at host: Int64, limit: Int64? = nil) {
        anchor = (media, host)
        self.limit = limit
        if pausedAt != nil { pausedAt = host }
    }

    /// The media time (µs) at host time `host` (ns); nil before the clock is set.
    package func media(at host: Int64) -> Int64? {
        guard let anchor else { return nil }
        let now = pausedAt.map { min($0, host) } ?? host
        let media = anchor.media + Self.microseconds(fromNanoseconds: now - anchor.host)
        return limit.map { min(media, $0) } ?? media
    }

    /// The host time (ns) at which media time `media` (µs) comes; nil before the
    /// clock is set or while it is paused.
    package func host(at media: Int64) -> Int64? {
        guard let anchor, pausedAt == nil else { return nil }
        return anchor.host + (media - anchor.media) * 1000
    }

    package mutating func pause(at host: Int64) {
        guard pausedAt == nil else { return }
        pausedAt = host
    }

    /// Resumes from where it was paused: the paused interval does not count.
    package mutating func resume(at host: Int64) {
        guard let pausedAt, anchor != nil else {
            self.pausedAt = nil
            return
        }
        self.anchor = (media(at: pausedAt)!, host)
        self.pausedAt = nil
    }

    /// Forgets the time (a seek, a restart): the next `set` starts it again.
    package mutating func reset() {
        anchor = nil
        pausedAt = nil
        limit = nil
    }

    /// Nanoseconds to microseconds, rounded to nearest (ties away from zero).
    static func microseconds(fromNanoseconds nanoseconds: Int64) -> Int64 {
        nanoseconds >= 0 ? (nanoseconds + 500) / 1000 : -((-nanoseconds + 500) / 1000)
    }
}
