import ReelCore

/// Maps one stream's timestamps onto the media timeline, in microseconds.
///
/// Feed it each frame's PTS (or, when the container gave none, its DTS, or nothing)
/// in the order frames leave the decoder. It unwraps timestamps that wrap around (MPEG-TS counts 33 bits
/// of a 90 kHz clock, about 26.5 hours), and treats a jump larger than
/// `discontinuityThreshold` as a discontinuity: the mapping is reset so the frame
/// after the jump lands one frame interval after the frame before it, rather than the
/// timeline freezing (a jump back) or racing (a jump ahead). A frame with no
/// timestamp at all is placed one frame interval after the previous one.
///
/// Pure logic: no clocks are read. Thread-safety: Unsafe (a value type with state;
/// owned by the stream's decoding thread).
package struct TimestampMapper: Sendable {
    /// How many bits the container's timestamps have before they wrap (33 for
    /// MPEG-TS; nil when they do not wrap).
    package let wrapBits: Int?
    /// A jump (forward or back) larger than this, in microseconds, is a discontinuity.
    package let discontinuityThreshold: Int64
    /// The interval assumed between frames when none can be measured (µs).
    package var nominalInterval: Int64

    /// The last unwrapped timestamp in stream ticks, and the wrap offset applied to it.
    private var lastTicks: Int64?
    private var wrapOffset: Int64 = 0
    /// Added to unwrapped stream time to give media time; changes at discontinuities.
    private var shift: Int64 = 0
    /// The last media time produced.
    package private(set) var last: Int64?
    /// Discontinuities followed so far.
    package private(set) var discontinuities = 0

    package init(wrapBits: Int? = nil, discontinuityThreshold: Int64 = 10_000_000, nominalInterval: Int64 = 40_000) {
        precondition(wrapBits.map { $0 > 1 && $0 < 63 } ?? true, "wrap bits out of range")
        self.wrapBits = wrapBits
        self.discontinuityThreshold = discontinuityThreshold
        self.nominalInterval = nominalInterval
    }

    /// The media time, in microseconds, of a frame with timestamp `time` (nil when
    /// the frame has none).
    package mutating func map(_ time: MediaTime?) -> Int64 {
        guard let time else { return advanceWithoutTimestamp() }
        let ticks = unwrap(time.ticks)
        let streamTime = MediaTime(ticks: ticks, timeBase: time.timeBase).microseconds
        guard let last else {
            self.last = streamTime
            shift = 0
            return streamTime
        }
        var media = streamTime + shift
        if abs(media - last) > discontinuityThreshold {
            // A discontinuity: continue one interval after the last frame.
            shift = last + nominalInterval - streamTime
            media = last + nominalInterval
            discontinuities += 1
        } else if media > last {
            nominalInterval = min(max(media - last, 1), discontinuityThreshold)
        }
        self.last = media
        return media
    }

    /// Forgets the mapping (after a seek, or when a live source restarts): the next
    /// timestamp starts it again.
    package mutating func reset() {
        lastTicks = nil
        wrapOffset = 0
        shift = 0
        last = nil
    }

    private mutating func advanceWithoutTimestamp() -> Int64 {
        let media = (last ?? -nominalInterval) + nominalInterval
        last = media
        return media
    }

    /// The wrapped `ticks` as the value nearest the previous timestamp.
    private mutating func unwrap(_ ticks: Int64) -> Int64 {
        guard let bits = wrapBits else { return ticks }
        let period = Int64(1) << bits
        let raw = ticks & (period - 1)
        guard let previous = lastTicks else {
            lastTicks = raw
            return raw
        }
        var candidate = raw + wrapOffset
        if candidate - previous > period / 2 {
            candidate -= period  // a late frame from before a wrap
        } else if previous - candidate > period / 2 {
            wrapOffset += period  // wrapped forward
            candidate += period
        }
        // Track the newest timestamp so reordered frames unwrap against it.
        if candidate > previous { lastTicks = candidate }
        return candidate
    }
}
