import ReelCore
import ReelFramePool

/// Why a peer's message was refused: one line, logged and counted by the renderer,
/// sent to the peer before it is disconnected.
package struct PoolProtocolError: Error, CustomStringConvertible, Sendable, Equatable {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// The messages of Reel's cross-process pool protocol (version 2), on a
/// `SOCK_SEQPACKET` socket: one message per packet, its type in the first byte, every
/// field little-endian and of fixed width, nothing optional, so each type has exactly
/// one length and a packet of any other length is refused.
///
/// A producer connects and says `hello` (the frames it will send); the renderer, which
/// owns the memory, answers `pool` with the pool's memfd (`SCM_RIGHTS`), its layout and
/// every slot's generation: all slots start out lent to the producer. The producer
/// writes a slot and sends `frame`; once the renderer is done with it, it sends
/// `release` with the slot's next generation and the slot is the producer's again.
/// `refused` carries the reason before the renderer hangs up; `bye` ends a stream.
///
/// Version 2 added each frame's transfer, primaries and HDR light levels (version 1
/// frames were all taken as SDR BT.709); a peer of another version is refused at its
/// hello or pool.
///
/// Thread-safety: Safe (a value type).
package enum PoolMessage: Sendable, Equatable {
    case hello(Hello)
    case pool(Pool)
    case frame(Frame)
    case release(slot: UInt32, generation: UInt32)
    case refused(String)
    case bye

    package static let version: UInt16 = 2
    package static let magic: [UInt8] = Array("REELPOOL".utf8)
    /// No message is longer (a pool of 4096 slots' generations is the longest).
    package static let maximumLength = 1 + 2 + 1 + 12 + 2 + 4 + 1 + 3 * 16 + 4096 * 4

    package struct Hello: Sendable, Equatable {
        package var version: UInt16
        package var format: PixelFormat
        package var width: UInt32
        package var height: UInt32
        package var slots: UInt16
        package init(
            version: UInt16 = PoolMessage.version, format: PixelFormat, width: UInt32, height: UInt32, slots: UInt16
        ) {
            self.version = version
            self.format = format
            self.width = width
            self.height = height
            self.slots = slots
        }
    }

    package struct Pool: Sendable, Equatable {
        package var layout: SlotLayout
        package var slotCount: UInt16
        package var generations: [UInt32]
        package init(layout: SlotLayout, slotCount: UInt16, generations: [UInt32]) {
            self.layout = layout
            self.slotCount = slotCount
            self.generations = generations
        }
    }

    package struct Frame: Sendable, Equatable {
        package var slot: UInt32
        package var generation: UInt32
        package var format: PixelFormat
        package var width: UInt32
        package var height: UInt32
        /// Per plane: byte offset from the slot's start, and bytes from row to row.
        package var planes: [(offset: UInt64, stride: UInt32)]
        package var color: ColorDescription
        package var presentationTime: MediaTime
        /// When the frame was captured, on the producer's `CLOCK_MONOTONIC` (ns).
        package var captured: Int64
        package var sampleAspectRatio: Rational

        package init(
            slot: UInt32, generation: UInt32, format: PixelFormat, width: UInt32, height: UInt32,
            planes: [(offset: UInt64, stride: UInt32)], color: ColorDescription, presentationTime: MediaTime,
            captured: Int64, sampleAspectRatio: Rational = Rational(1, 1)
        ) {
            self.slot = slot
            self.generation = generation
            self.format = format
            self.width = width
            self.height = height
            self.planes = planes
            self.color = color
            self.presentationTime = presentationTime
            self.captured = captured
            self.sampleAspectRatio = sampleAspectRatio
        }

        package static func == (lhs: Frame, rhs: Frame) -> Bool {
            lhs.slot == rhs.slot && lhs.generation == rhs.generation && lhs.format == rhs.format
                && lhs.width == rhs.width && lhs.height == rhs.height
                && lhs.planes.map(\.offset) == rhs.planes.map(\.offset)
                && lhs.planes.map(\.stride) == rhs.planes.map(\.stride) && lhs.color == rhs.color
                && lhs.presentationTime == rhs.presentationTime && lhs.captured == rhs.captured
                && lhs.sampleAspectRatio == rhs.sampleAspectRatio
        }
    }

    private enum Kind: UInt8 {
        case hello = 1
        case pool = 2
        case frame = 3
        case release = 4
        case refused = 5
        case bye = 6
    }

    // MARK: Encoding

    package func encoded() -> [UInt8] {
        var out = WireWriter()
        switch self {
        case .hello(let hello):
            out.byte(Kind.hello.rawValue)
            out.bytes(Self.magic)
            out.u16(hello.version)
            out.byte(Self.code(of: hello.format))
            out.u32(hello.width)
            out.u32(hello.height)
            out.u16(hello.slots)
        case .pool(let pool):
            out.byte(Kind.pool.rawValue)
            out.u16(Self.version)
            out.byte(Self.code(of: pool.layout.format))
            out.u32(UInt32(pool.layout.width))
            out.u32(UInt32(pool.layout.height))
            out.u32(UInt32(pool.layout.allocatedWidth))
            out.u32(UInt32(pool.layout.allocatedHeight))
            out.u16(pool.slotCount)
            out.u32(UInt32(pool.layout.slotSize))
            for generation in pool.generations { out.u32(generation) }
        case .frame(let frame):
            out.byte(Kind.frame.rawValue)
            out.u32(frame.slot)
            out.u32(frame.generation)
            out.byte(Self.code(of: frame.format))
            out.u32(frame.width)
            out.u32(frame.height)
            for plane in frame.planes {
                out.u64(plane.offset)
                out.u32(plane.stride)
            }
            out.byte(UInt8(ColorMatrix.allCases.firstIndex(of: frame.color.matrix)!))
            out.byte(UInt8(ColorRange.allCases.firstIndex(of: frame.color.range)!))
            out.byte(UInt8(ChromaLocation.allCases.firstIndex(of: frame.color.chromaLocation)!))
            out.byte(UInt8(ColorTransfer.allCases.firstIndex(of: frame.color.transfer)!))
            out.byte(UInt8(ColorPrimaries.allCases.firstIndex(of: frame.color.primaries)!))
            let hdr = frame.color.hdr
            for level in [hdr.masteringPeak, hdr.masteringBlack, hdr.maxContentLight, hdr.maxFrameAverageLight] {
                out.u32(Self.lightCode(level))
            }
            out.u64(UInt64(bitPattern: frame.presentationTime.ticks))
            out.u32(UInt32(bitPattern: Int32(truncatingIfNeeded: frame.presentationTime.timeBase.numerator)))
            out.u32(UInt32(bitPattern: Int32(truncatingIfNeeded: frame.presentationTime.timeBase.denominator)))
            out.u64(UInt64(bitPattern: frame.captured))
            out.u32(UInt32(truncatingIfNeeded: frame.sampleAspectRatio.numerator))
            out.u32(UInt32(truncatingIfNeeded: frame.sampleAspectRatio.denominator))
        case .release(let slot, let generation):
            out.byte(Kind.release.rawValue)
            out.u32(slot)
            out.u32(generation)
        case .refused(let reason):
            out.byte(Kind.refused.rawValue)
            let text = Array(reason.utf8.prefix(1000))
            out.u16(UInt16(text.count))
            out.bytes(text)
        case .bye:
            out.byte(Kind.bye.rawValue)
        }
        return out.bytes
    }

    /// A light level on the wire: ten-thousandths of a cd/m² (0…10 000 cd/m²), or
    /// `absentLight`. A level outside that range, or not a number, is sent as absent —
    /// as the renderer would ignore it anyway (`HDRMetadata.peak(for:)`).
    static let absentLight = UInt32.max
    static func lightCode(_ level: Double?) -> UInt32 {
        guard let level, level >= 0, level <= 10_000 else { return absentLight }
        return UInt32((level * 10_000).rounded())
    }
    static func lightLevel(_ code: UInt32) throws(PoolProtocolError) -> Double? {
        if code == absentLight { return nil }
        guard code <= 100_000_000 else {
            throw PoolProtocolError("a frame whose light level (\(code) × 0.0001 cd/m²) is over 10 000 cd/m²")
        }
        return Double(code) / 10_000
    }

    // MARK: Decoding (nothing trusted)

    /// Decodes one packet. Anything malformed — an unknown type or version, a length
    /// that is not exactly the type's, an unknown format or colour code, a zero time
    /// base — throws; no field is interpreted beyond its bounds.
    package static func decode(_ packet: [UInt8]) throws(PoolProtocolError) -> PoolMessage {
        try decode(packet[...])
    }

    /// `decode` on part of a receive buffer (no copy).
    package static func decode(_ packet: ArraySlice<UInt8>) throws(PoolProtocolError) -> PoolMessage {
        var input = WireReader(packet)
        guard let kindByte = input.byte(), let kind = Kind(rawValue: kindByte) else {
            throw PoolProtocolError("an unknown message (type \(packet.first.map(String.init) ?? "none"))")
        }
        let message: PoolMessage
        switch kind {
        case .hello:
            guard let magic = input.bytes(8), magic == Self.magic, let version = input.u16() else {
                throw PoolProtocolError("a hello without Reel's magic")
            }
            guard version == Self.version else {
                throw PoolProtocolError("protocol version \(version) is not spoken here (version \(Self.version) is)")
            }
            guard let format = try input.format(), let width = input.u32(), let height = input.u32(),
                let slots = input.u16()
            else { throw PoolProtocolError("a truncated hello") }
            message = .hello(Hello(version: version, format: format, width: width, height: height, slots: slots))
        case .pool:
            guard let version = input.u16(), version == Self.version else {
                throw PoolProtocolError("a pool of another protocol version")
            }
            guard let format = try input.format(), let width = input.u32(), let height = input.u32(),
                let allocatedWidth = input.u32(), let allocatedHeight = input.u32(), let slotCount = input.u16(),
                let slotSize = input.u32()
            else { throw PoolProtocolError("a truncated pool") }
            guard (1...16384).contains(width), (1...16384).contains(height), allocatedWidth >= width,
                allocatedHeight >= height, allocatedWidth <= 16384, allocatedHeight <= 16384, slotCount > 0
            else { throw PoolProtocolError("a pool of \(width)×\(height) in \(slotCount) slots is out of range") }
            let layout = SlotLayout(
                format: format, width: Int(width), height: Int(height), allocatedWidth: Int(allocatedWidth),
                allocatedHeight: Int(allocatedHeight))
            guard layout.slotSize == Int(slotSize) else {
                throw PoolProtocolError("a pool whose slot size (\(slotSize)) is not its layout's (\(layout.slotSize))")
            }
            var generations: [UInt32] = []
            for _ in 0..<slotCount {
                guard let generation = input.u32() else { throw PoolProtocolError("a truncated pool") }
                generations.append(generation)
            }
            message = .pool(Pool(layout: layout, slotCount: slotCount, generations: generations))
        case .frame:
            guard let slot = input.u32(), let generation = input.u32(), let format = try input.format(),
                let width = input.u32(), let height = input.u32()
            else { throw PoolProtocolError("a truncated frame") }
            var planes: [(offset: UInt64, stride: UInt32)] = []
            for _ in 0..<format.planeCount {
                guard let offset = input.u64(), let stride = input.u32() else {
                    throw PoolProtocolError("a truncated frame")
                }
                planes.append((offset, stride))
            }
            guard let matrix = input.byte(), let range = input.byte(), let chroma = input.byte(),
                let transfer = input.byte(), let primaries = input.byte(), let masteringPeak = input.u32(),
                let masteringBlack = input.u32(), let maxContentLight = input.u32(),
                let maxFrameAverageLight = input.u32(), let ticks = input.u64(), let numerator = input.u32(),
                let denominator = input.u32(), let captured = input.u64(), let sarNumerator = input.u32(),
                let sarDenominator = input.u32()
            else { throw PoolProtocolError("a truncated frame") }
            guard Int(matrix) < ColorMatrix.allCases.count, Int(range) < ColorRange.allCases.count,
                Int(chroma) < ChromaLocation.allCases.count, Int(transfer) < ColorTransfer.allCases.count,
                Int(primaries) < ColorPrimaries.allCases.count
            else { throw PoolProtocolError("a frame with an unknown colour description") }
            let levels = try [masteringPeak, masteringBlack, maxContentLight, maxFrameAverageLight].map {
                (code) throws(PoolProtocolError) in try Self.lightLevel(code)
            }
            let timeBase = Rational(Int64(Int32(bitPattern: numerator)), Int64(Int32(bitPattern: denominator)))
            guard timeBase.isValid else { throw PoolProtocolError("a frame whose time base is \(timeBase)") }
            let aspect = Rational(Int64(sarNumerator), Int64(sarDenominator))
            guard aspect.isValid, sarNumerator <= 1000, sarDenominator <= 1000 else {
                throw PoolProtocolError("a frame whose sample aspect ratio is \(sarNumerator):\(sarDenominator)")
            }
            message = .frame(
                Frame(
                    slot: slot, generation: generation, format: format, width: width, height: height, planes: planes,
                    color: ColorDescription(
                        matrix: ColorMatrix.allCases[Int(matrix)], range: ColorRange.allCases[Int(range)],
                        chromaLocation: ChromaLocation.allCases[Int(chroma)],
                        transfer: ColorTransfer.allCases[Int(transfer)],
                        primaries: ColorPrimaries.allCases[Int(primaries)],
                        hdr: HDRMetadata(
                            masteringPeak: levels[0], masteringBlack: levels[1], maxContentLight: levels[2],
                            maxFrameAverageLight: levels[3])),
                    presentationTime: MediaTime(ticks: Int64(bitPattern: ticks), timeBase: timeBase),
                    captured: Int64(bitPattern: captured), sampleAspectRatio: aspect))
        case .release:
            guard let slot = input.u32(), let generation = input.u32() else {
                throw PoolProtocolError("a truncated release")
            }
            message = .release(slot: slot, generation: generation)
        case .refused:
            guard let count = input.u16(), let text = input.bytes(Int(count)) else {
                throw PoolProtocolError("a truncated refusal")
            }
            message = .refused(String(decoding: text, as: UTF8.self))
        case .bye:
            message = .bye
        }
        guard input.isAtEnd else {
            throw PoolProtocolError("a \(kind) message with \(input.remaining) bytes too many")
        }
        return message
    }

    /// A pixel format's code on the wire: its place in `PixelFormat.allCases`.
    static func code(of format: PixelFormat) -> UInt8 { UInt8(PixelFormat.allCases.firstIndex(of: format)!) }
}

/// Little-endian fields appended to a packet.
private struct WireWriter {
    var bytes: [UInt8] = []
    mutating func byte(_ value: UInt8) { bytes.append(value) }
    mutating func bytes(_ values: [UInt8]) { bytes += values }
    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
}

/// Little-endian fields read from a packet; nil past its end.
private struct WireReader {
    let packet: ArraySlice<UInt8>
    var position: Int
    init(_ packet: ArraySlice<UInt8>) {
        self.packet = packet
        position = packet.startIndex
    }

    var isAtEnd: Bool { position == packet.endIndex }
    var remaining: Int { packet.endIndex - position }

    mutating func bytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, count <= remaining else { return nil }
        defer { position += count }
        return Array(packet[position..<(position + count)])
    }
    mutating func byte() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { position += 1 }
        return packet[position]
    }
    mutating func unsigned(_ count: Int) -> UInt64? {
        guard count >= 0, count <= remaining else { return nil }
        var value: UInt64 = 0
        for index in 0..<count { value |= UInt64(packet[position + index]) << (8 * UInt64(index)) }
        position += count
        return value
    }
    mutating func u16() -> UInt16? { unsigned(2).map { UInt16($0) } }
    mutating func u32() -> UInt32? { unsigned(4).map { UInt32($0) } }
    mutating func u64() -> UInt64? { unsigned(8) }
    mutating func format() throws(PoolProtocolError) -> PixelFormat? {
        guard let code = byte() else { return nil }
        guard Int(code) < PixelFormat.allCases.count else {
            throw PoolProtocolError("an unknown pixel format (code \(code))")
        }
        return PixelFormat.allCases[Int(code)]
    }
}
