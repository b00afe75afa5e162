/// Puts one stream's RTP packets back in sequence order within a time budget.
///
/// A packet in order goes out at once. After a gap, the packets behind it wait for
/// the missing ones until the first of them has waited `latency`; then the gap is
/// given up (counted in `skipped`) and they go out, so that the delay it adds is
/// bounded by `latency` whatever the network does. A packet that comes after its
/// place went out is late and dropped; a second copy of one is a duplicate.
///
/// Thread-safety: Confined to the receiving thread.
package struct JitterBuffer<Payload> {
    package struct Held {
        package var sequence: Int64
        package var arrival: Int64
        package var payload: Payload
    }

    let latency: Int64
    /// The next sequence number to go out (nil before the first packet).
    private(set) var next: Int64?
    /// Held packets, sorted by sequence number.
    package private(set) var held: [Held] = []
    /// Sequence numbers recently sent out, to tell duplicates from late packets.
    private var sent = RecentSet(capacity: 2048)

    /// `latency`: how long (ns) a packet may wait for the ones before it.
    package init(latency: Int64) { self.latency = latency }

    package enum Arrival: Equatable {
        case accepted(reordered: Bool)
        case duplicate
        case late
    }

    /// Takes packet `sequence` arrived at `arrival` (host ns).
    package mutating func insert(_ payload: Payload, sequence: Int64, arrival: Int64) -> Arrival {
        if next == nil { next = sequence }
        if sent.contains(sequence) || held.contains(where: { $0.sequence == sequence }) { return .duplicate }
        if sequence < next! { return .late }
        let reordered = held.last.map { $0.sequence > sequence } ?? false
        let index = held.firstIndex { $0.sequence > sequence } ?? held.count
        held.insert(Held(sequence: sequence, arrival: arrival, payload: payload), at: index)
        return .accepted(reordered: reordered)
    }

    /// The packets that may go out at `now`, in order, each saying whether packets
    /// before it were given up on (`afterGap`); `skipped` counts those sequence numbers.
    package mutating func release(
        at now: Int64, skipped: inout Int64, into out: (_ payload: Payload, _ afterGap: Bool) -> Void
    ) {
        while let first = held.first, let expected = next {
            let gap = first.sequence - expected
            if gap != 0 {
                // A gap: wait for it until the first packet behind it has waited long enough.
                guard now - first.arrival >= latency else { return }
                skipped += gap
            }
            held.removeFirst()
            sent.insert(first.sequence)
            next = first.sequence + 1
            out(first.payload, gap != 0)
        }
    }

    /// Everything held goes out in order, gaps and all (the end of the stream).
    package mutating func flush(skipped: inout Int64, into out: (_ payload: Payload, _ afterGap: Bool) -> Void) {
        release(at: .max / 2, skipped: &skipped, into: out)
    }

    /// When the next gap is given up on (host ns), if one is waited for.
    var deadline: Int64? {
        guard let first = held.first, first.sequence != next else { return nil }
        return first.arrival + latency
    }
}

/// The last `capacity` numbers inserted, for membership tests.
struct RecentSet {
    private var order: [Int64] = []
    private var members: Set<Int64> = []
    private var head = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func contains(_ value: Int64) -> Bool { members.contains(value) }

    mutating func insert(_ value: Int64) {
        guard members.insert(value).inserted else { return }
        if order.count < capacity {
            order.append(value)
        } else {
            members.remove(order[head])
            order[head] = value
            head = (head + 1) % capacity
        }
    }
}
