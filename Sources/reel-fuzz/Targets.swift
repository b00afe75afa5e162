internal import CLinux
import Foundation
import Glibc
import Reel
import ReelCore
import ReelFramePool
import ReelMedia
import ReelNet
import ReelShare
import ReelVulkan

/// What each fuzz target feeds the bytes to, and what it checks besides "no crash":
/// the invariants the code around the parsers relies on. A broken invariant traps,
/// which libFuzzer reports as a crash.
enum FuzzTarget: String, CaseIterable {
    /// The cross-process pool protocol: a hello, then messages as a renderer gets them.
    case pool
    /// RTP and RTCP datagrams into header parsing, sequence extension and the jitter buffer.
    case rtp
    /// Session description text.
    case sdp
    /// The remote-control (IPC) protocol's JSON lines.
    case ipc
    /// A media file: demux, decode into the pool, and the render's dispatch plan.
    case media

    func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .pool: Self.pool(bytes)
        case .rtp: Self.rtp(bytes)
        case .sdp: Self.sdp(bytes)
        case .ipc: Self.ipc(bytes)
        case .media: Self.media(bytes)
        }
    }

    /// Splits `bytes` into packets, each led by its length (one byte): how several
    /// messages or datagrams ride in one input.
    static func packets(_ bytes: UnsafeRawBufferPointer) -> [UnsafeRawBufferPointer] {
        var packets: [UnsafeRawBufferPointer] = []
        var offset = 0
        while offset < bytes.count {
            let length = min(Int(bytes[offset]), bytes.count - offset - 1)
            packets.append(UnsafeRawBufferPointer(rebasing: bytes[(offset + 1)..<(offset + 1 + length)]))
            offset += 1 + length
        }
        return packets
    }

    static func check(_ condition: Bool, _ what: @autoclosure () -> String) {
        if !condition { fatalError("fuzz invariant broken: \(what())") }
    }

    // MARK: The targets

    static func pool(_ bytes: UnsafeRawBufferPointer) {
        let messages = packets(bytes)
        guard let first = messages.first, case .hello(let hello)? = try? PoolMessage.decode(Array(first)) else {
            return
        }
        // The renderer's limits for a pool (PoolServer): a slot layout for the hello.
        guard (1...4096).contains(hello.width), (1...4096).contains(hello.height), (2...64).contains(hello.slots)
        else { return }
        let layout = SlotLayout(format: hello.format, width: Int(hello.width), height: Int(hello.height))
        var slots = PeerSlots(layout: layout, slotCount: Int(hello.slots))
        for packet in messages.dropFirst() {
            guard let message = try? PoolMessage.decode(Array(packet)) else { continue }
            // What decodes encodes back to the same message.
            check((try? PoolMessage.decode(message.encoded())) == message, "round trip of \(message)")
            guard case .frame(let frame) = message, let accepted = try? slots.accept(frame) else { continue }
            // Every plane of an accepted frame lies in its slot, the shader's margin included.
            for (index, plane) in accepted.planes.enumerated() {
                let rowBytes =
                    plane.width * accepted.format.samplesPerPixel(plane: index)
                    * accepted.format.bytesPerSample
                let end = plane.offset + plane.stride * (plane.height - 1) + rowBytes + PeerSlots.readMargin
                check(plane.stride >= rowBytes && end <= layout.slotSize, "plane \(index) of \(frame) outside its slot")
            }
            checkPlan(accepted)
            // The renderer is done with it: the producer gets it back.
            _ = slots.release(Int(frame.slot))
        }
    }

    static func rtp(_ bytes: UnsafeRawBufferPointer) {
        var buffer = JitterBuffer<Int>(latency: 50)
        var extender = SequenceExtender()
        var lastOut: Int64?
        var skipped: Int64 = 0
        var clock: Int64 = 0
        let out = { (sequence: Int, _: Bool) in
            check(lastOut.map { Int64(sequence) > $0 } ?? true, "sequence \(sequence) out after \(lastOut ?? -1)")
            lastOut = Int64(sequence)
        }
        for datagram in packets(bytes) {
            clock += Int64(datagram.count)  // time moves by the bytes: a seeded, repeatable clock
            if let rtcp = RTCPPacket(datagram) {
                check(rtcp.byes.count <= datagram.count / 4, "more BYEs than words")
                continue
            }
            guard let header = RTPHeader(datagram) else { continue }
            let sequence = extender.extend(header.sequence)
            _ = buffer.insert(Int(sequence), sequence: sequence, arrival: clock)
            buffer.release(at: clock, skipped: &skipped) { out($0, $1) }
        }
        buffer.flush(skipped: &skipped) { out($0, $1) }
        check(buffer.held.isEmpty && skipped >= 0, "a flushed buffer holds packets")
    }

    static func sdp(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        for multicast in [false, true] {
            guard let description = try? SessionDescription(parsing: text, allowMulticast: multicast) else { continue }
            for media in description.media {
                check(media.port > 0 && media.rtcpPort > 0 && media.clockRate > 0, "\(media) accepted")
            }
        }
    }

    static func ipc(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            guard case .success(let request) = RemoteCommand.parse(line) else { continue }
            if case .seek(let seconds, _, _) = request.command { check(seconds.isFinite, "seek to \(seconds)") }
            if case .setVolume(let volume) = request.command { check((0...100).contains(volume), "volume \(volume)") }
        }
    }

    /// A dispatch plan for `frame` into its own size and into a smaller box covers each
    /// destination pixel once and stays inside it.
    static func checkPlan(_ frame: VideoFrameDescriptor) {
        let size = frame.displaySize
        for output in [size, PixelSize(width: max(1, size.width / 3), height: max(1, size.height / 2))] {
            let box = OffscreenRenderer.aspectFit(size, into: output)
            let plan = DispatchPlan(frame: frame, destination: box, outputWidth: output.width, nativeAvailable: true)
            var covered = 0
            if let blocks = plan.nativeBlocks {
                let block = DispatchPlan.nativeBlock
                let width = blocks.columns * block.width
                let height = blocks.rows * block.height
                check(width <= box.width && height <= box.height, "native blocks outside \(box)")
                covered += width * height
            }
            for region in plan.general {
                let inside = region.x0 >= 0 && region.y0 >= 0 && region.x1 <= box.width && region.y1 <= box.height
                let ordered = region.x0 <= region.x1 && region.y0 <= region.y1
                check(inside && ordered, "region \(region) outside \(box)")
                let area: Int = (region.x1 - region.x0) * (region.y1 - region.y0)
                covered += area
            }
            check(covered == box.width * box.height, "plan covers \(covered) of \(box.width)×\(box.height)")
        }
    }

    static func media(_ bytes: UnsafeRawBufferPointer) {
        // The bytes as a file FFmpeg opens by name (a memfd, seen through /proc).
        let fd = reel_memfd_create("reel-fuzz")
        guard fd >= 0 else { return }
        defer { close(fd) }
        guard write(fd, bytes.baseAddress, bytes.count) == bytes.count else { return }
        guard let demuxer = try? Demuxer(url: "/proc/self/fd/\(fd)"), let stream = try? demuxer.requireVideoStream(),
            let decoder = try? VideoDecoder(demuxer: demuxer, streamIndex: stream)
        else { return }
        var frames = 0
        var steps = 0
        while frames < 8 && steps < 2000 {
            steps += 1
            guard let received = try? decoder.receive() else { return }
            switch received {
            case .frame(let frame):
                frames += 1
                let slotSize = frame.pool.layout.slotSize
                for (index, plane) in frame.descriptor.planes.enumerated() {
                    let rowBytes =
                        plane.width * frame.descriptor.format.samplesPerPixel(plane: index)
                        * frame.descriptor.format.bytesPerSample
                    check(
                        plane.offset + plane.stride * (plane.height - 1) + rowBytes <= slotSize,
                        "decoded plane \(index) outside its slot")
                }
                checkPlan(frame.descriptor)
                frame.release()
            case .needsInput:
                switch demuxer.readPacket() {
                case .packet(let packet): if (try? decoder.send(packet)) == nil { return }
                case .endOfInput: if (try? decoder.sendEndOfInput()) == nil { return }
                }
            case .waitingForSlot, .endOfStream: return
            }
        }
    }
}
