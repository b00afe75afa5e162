import Testing

@testable import ReelNet

/// The jitter buffer orders packets within its budget and never holds one longer.
@Suite struct JitterBufferTests {
    /// ns
    static let ms: Int64 = 1_000_000

    @Test func inOrderGoesOutAtOnce() {
        var buffer = JitterBuffer<Int64>(latency: 50 * Self.ms)
        var out: [Int64] = []
        var skipped: Int64 = 0
        for sequence in Int64(10)..<15 {
            #expect(
                buffer.insert(sequence, sequence: sequence, arrival: sequence * Self.ms) == .accepted(reordered: false))
            buffer.release(at: sequence * Self.ms, skipped: &skipped) { payload, _ in out.append(payload) }
        }
        #expect(out == [10, 11, 12, 13, 14] && skipped == 0 && buffer.deadline == nil)
    }

    @Test func reordersWithinTheBudgetAndGivesUpAtIt() {
        var buffer = JitterBuffer<Int64>(latency: 50 * Self.ms)
        var out: [Int64] = []
        var skipped: Int64 = 0
        _ = buffer.insert(1, sequence: 1, arrival: 0)
        _ = buffer.insert(3, sequence: 3, arrival: 10 * Self.ms)  // 2 is missing
        buffer.release(at: 10 * Self.ms, skipped: &skipped) { payload, _ in out.append(payload) }
        #expect(out == [1] && buffer.deadline == 60 * Self.ms)
        #expect(buffer.insert(2, sequence: 2, arrival: 20 * Self.ms) == .accepted(reordered: true))
        buffer.release(at: 20 * Self.ms, skipped: &skipped) { payload, _ in out.append(payload) }
        #expect(out == [1, 2, 3])
        // 5 never comes: 6 waits 50 ms, no more.
        _ = buffer.insert(4, sequence: 4, arrival: 30 * Self.ms)
        _ = buffer.insert(6, sequence: 6, arrival: 40 * Self.ms)
        buffer.release(at: 89 * Self.ms, skipped: &skipped) { payload, _ in out.append(payload) }
        #expect(out == [1, 2, 3, 4] && skipped == 0)
        var gaps: [Bool] = []
        buffer.release(at: 90 * Self.ms, skipped: &skipped) { payload, afterGap in
            out.append(payload)
            gaps.append(afterGap)
        }
        #expect(out == [1, 2, 3, 4, 6] && skipped == 1 && gaps == [true])
        // 5 comes after all: late. 6 again: a duplicate.
        #expect(buffer.insert(5, sequence: 5, arrival: 95 * Self.ms) == .late)
        #expect(buffer.insert(6, sequence: 6, arrival: 96 * Self.ms) == .duplicate)
    }

    @Test func duplicatesWhileHeld() {
        var buffer = JitterBuffer<Int64>(latency: 50 * Self.ms)
        _ = buffer.insert(1, sequence: 1, arrival: 0)
        var skipped: Int64 = 0
        buffer.release(at: 0, skipped: &skipped) { _, _ in }
        _ = buffer.insert(3, sequence: 3, arrival: 0)
        #expect(buffer.insert(3, sequence: 3, arrival: 1) == .duplicate)
        var out: [Int64] = []
        buffer.flush(skipped: &skipped) { payload, _ in out.append(payload) }
        #expect(out == [3] && skipped == 1)
    }
}
