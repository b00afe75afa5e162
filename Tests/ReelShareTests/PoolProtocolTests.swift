import ReelCore
import ReelFramePool
import ReelShare
import Testing

/// The cross-process pool's messages: exact encodings, and nothing a peer sends taken
/// on trust.
@Suite struct PoolProtocolTests {
    static let layout = SlotLayout(format: .nv12, width: 320, height: 180)

    /// A well-formed frame for `slot` of the NV12 pool, planes where the layout puts them.
    static func frame(slot: UInt32 = 0, generation: UInt32 = 1) -> PoolMessage.Frame {
        PoolMessage.Frame(
            slot: slot, generation: generation, format: .nv12, width: 320, height: 180,
            planes: layout.planes.map { (UInt64($0.offset), UInt32($0.stride)) },
            color: ColorDescription(matrix: .bt709, range: .limited, chromaLocation: .left),
            presentationTime: MediaTime(ticks: 1234, timeBase: Rational(1, 90_000)), captured: 987_654_321,
            sampleAspectRatio: Rational(4, 3))
    }

    /// An HDR10 frame: transfer, primaries and light levels travel with it.
    static var hdrFrame: PoolMessage.Frame {
        var frame = frame(slot: 2)
        frame.color = ColorDescription(
            matrix: .bt2020, range: .limited, chromaLocation: .topLeft, transfer: .pq, primaries: .bt2020,
            hdr: HDRMetadata(masteringPeak: 1000, masteringBlack: 0.005, maxContentLight: 1234.5678))
        return frame
    }

    static var messages: [PoolMessage] {
        [
            .hello(PoolMessage.Hello(format: .p010, width: 1920, height: 1080, slots: 8)),
            .pool(PoolMessage.Pool(layout: layout, slotCount: 3, generations: [1, 7, 4_000_000_000])),
            .frame(frame()),
            .frame(hdrFrame),
            .release(slot: 2, generation: 9),
            .refused("slot 9 is out of range"),
            .bye,
        ]
    }

    @Test func everyMessageRoundTrips() throws {
        for message in Self.messages {
            #expect(try PoolMessage.decode(message.encoded()) == message)
        }
        for format in PixelFormat.allCases {
            let layout = SlotLayout(format: format, width: 64, height: 48)
            var frame = Self.frame()
            frame.format = format
            frame.planes = layout.planes.map { (UInt64($0.offset), UInt32($0.stride)) }
            #expect(try PoolMessage.decode(PoolMessage.frame(frame).encoded()) == .frame(frame))
        }
    }

    /// Every shorter prefix of every message, and every message with a byte more, is
    /// refused; so are unknown types, versions, magic, format and colour codes, and a
    /// zero time base.
    @Test func malformedPacketsAreRefused() {
        for message in Self.messages {
            let bytes = message.encoded()
            for length in 0..<bytes.count {
                #expect(throws: PoolProtocolError.self) { try PoolMessage.decode(Array(bytes.prefix(length))) }
            }
            #expect(throws: PoolProtocolError.self) { try PoolMessage.decode(bytes + [0]) }
        }
        func refusal(_ bytes: [UInt8]) -> String {
            do {
                _ = try PoolMessage.decode(bytes)
                return "accepted"
            } catch { return error.description }
        }
        #expect(refusal([0]).contains("unknown message"))
        #expect(refusal([77]).contains("unknown message"))
        var hello = PoolMessage.hello(PoolMessage.Hello(format: .nv12, width: 64, height: 64, slots: 4)).encoded()
        hello[9] = 1  // version 1: frames without their transfer
        #expect(refusal(hello).contains("version 1 is not spoken here (version 2 is)"))
        hello[9] = 2
        hello[1] = UInt8(ascii: "X")
        #expect(refusal(hello).contains("magic"))
        var frame = PoolMessage.frame(Self.frame()).encoded()
        frame[9] = 200  // the format code
        #expect(refusal(frame).contains("unknown pixel format"))
        frame = PoolMessage.frame(Self.frame()).encoded()
        let colour = 1 + 4 + 4 + 1 + 4 + 4 + 2 * 12
        frame[colour] = 9
        #expect(refusal(frame).contains("colour"))
        frame = PoolMessage.frame(Self.frame()).encoded()
        frame[colour + 3] = 3  // the transfer code
        #expect(refusal(frame).contains("colour"))
        frame = PoolMessage.frame(Self.frame()).encoded()
        frame[colour + 4] = 2  // the primaries code
        #expect(refusal(frame).contains("colour"))
        frame = PoolMessage.frame(Self.frame()).encoded()
        let levels = colour + 5
        frame.replaceSubrange(levels..<(levels + 4), with: [0x01, 0xe1, 0xf5, 0x05])  // 100 000 001: over 10 000 cd/m²
        #expect(refusal(frame).contains("light level"))
        frame = PoolMessage.frame(Self.frame()).encoded()
        let time = levels + 16
        for index in (time + 8 + 4)..<(time + 8 + 8) { frame[index] = 0 }  // time base denominator 0
        #expect(refusal(frame).contains("time base"))
    }

    /// Random bytes never crash the decoder: each packet is refused, or is a message
    /// that encodes back to the same bytes.
    @Test func randomBytesAreHarmless() {
        var generator = SeededGenerator(seed: 0x5EED)
        var accepted = 0
        for round in 0..<20_000 {
            let length = Int.random(in: 0...120, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // A valid type byte half the time, so the bodies are exercised too.
            if round % 2 == 0, !bytes.isEmpty { bytes[0] = UInt8.random(in: 1...6, using: &generator) }
            if let message = try? PoolMessage.decode(bytes) {
                accepted += 1
                #expect(message.encoded() == bytes)
            }
        }
        print("random packets: \(accepted) of 20000 decoded (each re-encodes to its bytes)")
    }

    /// What a hostile producer can send in a frame, each refused with its reason, and
    /// the slot table unchanged by a refusal; a good frame is accepted once, released
    /// under the next generation, and its old generation is stale afterwards.
    @Test func framesAreCheckedBeforeUse() throws {
        var slots = PeerSlots(layout: Self.layout, slotCount: 4)
        func refusal(_ change: (inout PoolMessage.Frame) -> Void) -> String {
            var frame = Self.frame(slot: 1)
            change(&frame)
            do {
                _ = try slots.accept(frame)
                return "accepted"
            } catch { return error.description }
        }
        #expect(refusal { $0.slot = 4 }.contains("out of range"))
        #expect(refusal { $0.slot = UInt32(bitPattern: -1) }.contains("out of range"))
        #expect(refusal { $0.generation = 0 }.contains("stale"))
        #expect(refusal { $0.planes[0].offset = UInt64.max - 15 }.contains("does not fit"))
        #expect(refusal { $0.planes[1].stride = UInt32.max - 15 }.contains("does not fit"))
        #expect(refusal { $0.planes[0].stride = 304 }.contains("shorter than its rows"))
        #expect(refusal { $0.planes[0].offset = 8 }.contains("multiples of 16"))
        #expect(refusal { ($0.width, $0.height) = (0, 0) }.contains("out of range"))
        #expect(refusal { ($0.width, $0.height) = (100_000, 100_000) }.contains("out of range"))
        #expect(
            refusal {
                ($0.width, $0.height) = (4096, 4096)
                $0.planes = [(0, 4096), (4096 * 4096, 4096)]
            }.contains("does not fit"), "a picture bigger than the slot")
        #expect(refusal { $0.planes[1].offset = UInt64(Self.layout.slotSize) - 64 }.contains("does not fit"))
        #expect(slots.heldCount == 4, "refusals change nothing")

        let descriptor = try slots.accept(Self.frame(slot: 1))
        #expect(descriptor.planes == Self.layout.planes)
        #expect(descriptor.presentationTime == MediaTime(ticks: 1234, timeBase: Rational(1, 90_000)))
        #expect(slots.heldCount == 3)
        #expect(refusal { _ in }.contains("not the producer's"), "a slot published twice")
        #expect(slots.release(1) == .release(slot: 1, generation: 2))
        #expect(refusal { _ in }.contains("stale"), "the old generation, after the release")
        _ = try slots.accept(Self.frame(slot: 1, generation: 2))
    }
}

/// A deterministic generator (SplitMix64) for reproducible random packets.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
