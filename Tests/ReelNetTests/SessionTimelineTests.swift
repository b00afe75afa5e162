import Testing

@testable import ReelNet

/// Two streams (90 kHz video, 48 kHz audio) placed on one timeline: by arrival until
/// the sender reports, by the sender's clock after, and never moving when the reports
/// come first.
@Suite struct SessionTimelineTests {
    /// NTP format for `seconds` past an arbitrary epoch.
    static func ntp(_ seconds: Double) -> UInt64 {
        let whole = UInt64(3_900_000_000) + UInt64(seconds)
        return whole << 32 | UInt64((seconds - seconds.rounded(.down)) * 4_294_967_296)
    }

    @Test func reportsFirstPlaceBothStreamsOnTheSendersClock() {
        var timeline = SessionTimeline(clockRates: [90_000, 48_000])
        // The sender's clock: video timestamp 1000 and audio 5000 are both at 10.0 s.
        timeline.report(SenderClock(ntp: Self.ntp(10), timestamp: 1000), ofStream: 0)
        timeline.report(SenderClock(ntp: Self.ntp(10), timestamp: 5000), ofStream: 1)
        // The video's first packet (10.0 s) arrives at 2 s host time: time 0.
        #expect(timeline.ticks(ofStream: 0, timestamp: 1000, firstArrival: 2_000_000_000) == 0)
        // The audio's first (10.1 s on the sender's clock) arrives 300 ms later than the
        // video's: placed by the sender's clock, 100 ms in, whatever its arrival.
        #expect(timeline.ticks(ofStream: 1, timestamp: 5000 + 4800, firstArrival: 2_300_000_000) == 4800)
        // Later packets follow their timestamps.
        #expect(timeline.ticks(ofStream: 0, timestamp: 1000 + 90_000, firstArrival: 2_000_000_000) == 90_000)
    }

    @Test func followsTimestampsPastTheWrap() {
        var timeline = SessionTimeline(clockRates: [90_000])
        let start = Int64(UInt32.max) - 89_999
        timeline.report(SenderClock(ntp: Self.ntp(10), timestamp: UInt32(start)), ofStream: 0)
        #expect(timeline.ticks(ofStream: 0, timestamp: start, firstArrival: 5) == 0)
        // Two seconds on, past 2³²: the report (before the wrap) still places it.
        #expect(timeline.ticks(ofStream: 0, timestamp: start + 180_000, firstArrival: 5) == 180_000)
        timeline.report(
            SenderClock(ntp: Self.ntp(12), timestamp: UInt32(truncatingIfNeeded: start + 180_000)), ofStream: 0)
        #expect(timeline.ticks(ofStream: 0, timestamp: start + 270_000, firstArrival: 5) == 270_000)
    }

    @Test func beforeAReportStreamsArePlacedByArrival() {
        var timeline = SessionTimeline(clockRates: [90_000, 48_000])
        #expect(timeline.ticks(ofStream: 0, timestamp: 7000, firstArrival: 1_000_000_000) == 0)
        // The audio's first packet came 50 ms after the video's.
        #expect(timeline.ticks(ofStream: 1, timestamp: 123, firstArrival: 1_050_000_000) == 2400)
        #expect(timeline.ticks(ofStream: 1, timestamp: 123 + 960, firstArrival: 1_050_000_000) == 2400 + 960)
        // Then the video's report: the video stays where it was (no jump) ...
        timeline.report(SenderClock(ntp: Self.ntp(20), timestamp: 7000 + 9000), ofStream: 0)
        #expect(timeline.ticks(ofStream: 0, timestamp: 7000 + 9000, firstArrival: 1_000_000_000) == 9000)
        // ... and the audio's report puts it where the sender says: its timestamp 123
        // was at 20.0 s, with the video's 16000 (100 ms in): 100 ms in, not 50.
        timeline.report(SenderClock(ntp: Self.ntp(20), timestamp: 123), ofStream: 1)
        #expect(timeline.ticks(ofStream: 1, timestamp: 123, firstArrival: 1_050_000_000) == 4800)
    }
}
