import ReelTiming
import Testing

/// The live edge moves the clock only when a window of frames says so, by what it says.
@Suite struct LiveEdgeTests {
    @Test func movesForwardWhenEveryFrameWaitedLonger() {
        var edge = LiveEdge(margin: 4_000, tolerance: 8_000, window: 30, firstWindow: 6)
        // Frames ready 60–75 ms ahead: after the first window, the clock moves 56 ms on.
        let slacks: [Int64] = [75_000, 60_000, 70_000, 61_000, 66_000]
        for slack in slacks { #expect(edge.observe(slack: slack) == nil) }
        #expect(edge.observe(slack: 72_000) == LiveEdge.Move(by: 56_000, forSound: false))
        // Then within tolerance of the margin: no move, window after window.
        for index in 0..<90 { #expect(edge.observe(slack: 4_000 + Int64(index % 7) * 1_000) == nil) }
        #expect(edge.corrections == 1 && edge.windows == 4)
    }

    @Test func movesBackWhenFramesComeLate() {
        var edge = LiveEdge(margin: 4_000, tolerance: 8_000, window: 10, firstWindow: 10)
        var moves: [LiveEdge.Move] = []
        for index in 0..<10 {
            if let move = edge.observe(slack: index == 3 ? -20_000 : 10_000, ofSound: index == 3) { moves.append(move) }
        }
        #expect(moves == [LiveEdge.Move(by: -24_000, forSound: true)])
    }

    /// A sound far later than the window would wait for (a sender's burst) moves the
    /// clock back at once, and the window starts again on the moved clock.
    @Test func muchLaterMovesBackAtOnce() {
        var edge = LiveEdge(margin: 4_000, tolerance: 8_000, window: 10, firstWindow: 10, lateAtOnce: 100_000)
        #expect(edge.observe(slack: 10_000) == nil)
        #expect(edge.observe(slack: -99_000) == nil)
        #expect(edge.observe(slack: -700_000, ofSound: true) == LiveEdge.Move(by: -704_000, forSound: true))
        // The -99 ms seen before the move is forgotten: ten more on time, no move.
        for _ in 0..<10 { #expect(edge.observe(slack: 5_000) == nil) }
        #expect(edge.corrections == 1 && edge.windows == 1)
    }
}
