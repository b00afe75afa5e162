import CNet
import Foundation
import Glibc
import ReelCore
import Synchronization

/// How an RTP session is received.
package struct ReceiverOptions: Sendable {
    /// How long (µs) a packet may wait for the ones before it (the jitter buffer's budget).
    package var latency: Int64 = 50_000
    /// Silence (µs) after which the stream is taken to have ended.
    package var timeout: Int64 = 10_000_000
    /// The local address to bind, instead of the description's connection address.
    package var bindAddress: String?
    /// Accept packets only from this source address (and port, when given: "ADDR:PORT").
    package var pinnedSource: String?
    /// Join a multicast group the description names (refused otherwise).
    package var allowMulticast = false

    package init() {}
}

/// Receives the RTP streams an SDP describes, on sockets of its own, and hands them
/// on one datagram at a time, in order, for libavformat's depacketisers.
///
/// Per stream: a UDP socket for RTP and one for RTCP, read in batches (`recvmmsg`) with
/// the kernel's arrival time of each datagram and its drop count. The stream locks to
/// the first source address and SSRC it hears from (or to `pinnedSource`); packets from
/// anyone else, and datagrams that are not RTP or RTCP of a listed payload type, are
/// counted and dropped, so a forged BYE from elsewhere ends nothing. RTP packets go
/// through a `JitterBuffer` with a deadline (`latency`). The stream ends on a BYE from
/// the locked source, after `timeout` of silence, or on `stop()`.
///
/// The receiving happens on the thread that calls `next` (the session's demux
/// thread): there is no thread of its own. `stop` and `statistics` may be called from
/// any thread.
///
/// Thread-safety: `next` and `send` from one thread; `stop`, `statistics`,
/// `endReason` from any.
package final class RTPReceiver: @unchecked Sendable {
    /// Why the stream ended.
    package enum End: Sendable, Equatable {
        /// The locked source sent an RTCP BYE.
        case bye
        /// Nothing arrived for the timeout (µs), after packets had come.
        case silence(Int64)
        /// Nothing arrived at all within the timeout.
        case nothing(Int64)
        case stopped

        package var description: String {
            switch self {
            case .bye: "the sender ended the stream (RTCP BYE)"
            case .silence(let timeout): "no packets for \(timeout / 1_000_000) s: the stream is taken to have ended"
            case .nothing(let timeout): "no RTP packets arrived in \(timeout / 1_000_000) s"
            case .stopped: "stopped"
            }
        }
    }

    private struct Lock: Equatable {
        var address: UInt32
        var port: UInt16
        var ssrc: UInt32
        /// The port its RTCP comes from: the first one that sent the source's SSRC
        /// from its address (RFC 3550's RTP port + 1 when that came first).
        var controlPort: UInt16?
    }

    /// An RTP packet on its way to libavformat.
    private struct Outgoing {
        var bytes: [UInt8]
        var stream: Int
        /// Its timestamp, the arrival of its frame's first packet, and whether it is the
        /// frame's last (the marker bit).
        var frame: (timestamp: UInt32, arrival: Int64, marker: Bool)
        /// Whether packets before it were given up on (lost).
        var afterGap = false
        /// Whether it waited behind such a gap: released at the gap's deadline, late.
        var held = false
    }

    private final class Stream {
        let media: SessionDescription.Media
        let index: Int
        /// The sockets, once bound (`listen`).
        var rtp: Int32 = -1
        var rtcp: Int32 = -1
        var lock: Lock?
        var sequences = SequenceExtender()
        var buffer: JitterBuffer<Outgoing>
        var statistics: RTPStatistics
        /// The last transit time (RTP clock units) for the jitter estimate.
        var lastTransit: Double?
        /// First arrival of each RTP timestamp lately seen (frame start times).
        var frameStarts: [UInt32: Int64] = [:]
        /// A sender report that came before the first RTP packet: kept until that packet
        /// shows whether it was the source's.
        var earlyReport: (clock: SenderClock, address: UInt32, port: UInt16, ssrc: UInt32)?
        /// The locked source's latest sender report.
        var report: SenderClock?

        init(media: SessionDescription.Media, index: Int, latency: Int64) {
            self.media = media
            self.index = index
            buffer = JitterBuffer(latency: latency)
            statistics = RTPStatistics(stream: media.kind.rawValue)
        }
    }

    private let options: ReceiverOptions
    private let streams: [Stream]
    private let pinned: (address: UInt32, port: UInt16?)?
    /// An eventfd that `stop` writes to, to wake a `poll`.
    private let wake: Int32
    private var outgoing: [Outgoing] = []
    private var outgoingHead = 0
    private var ended: End?
    private var lastPacket: Int64?
    private var startedAt = HostTime.now()
    private let shared = Locked<(statistics: [RTPStatistics], end: End?, first: Int64?)>(([], nil, nil))
    /// Per stream: the frames (RTP timestamp, first packet's arrival) handed on since
    /// the last `takeFrameStarts`, in order.
    private var frameStartsOut: [[FrameStart]]
    private var lastHanded: [UInt32?]
    private var firstHanded: [FrameStart?]
    /// Per stream: the frames (RTP timestamps) handed on with packets missing, and those
    /// held back behind a gap the jitter buffer waited for.
    private var damaged: [Set<UInt32>]
    private var held: [Set<UInt32>]
    private var lastMarker: [Bool]
    private var slots: [reel_datagram]
    private var storage: UnsafeMutableRawPointer
    private static let slotSize = 65536
    private static let batch = 32

    /// Checks the addresses; `listen` binds them. Throws a one-line `NetError` when an
    /// address is not IPv4, or the description names a multicast group without
    /// `allowMulticast`.
    package init(description: SessionDescription, options: ReceiverOptions) throws(NetError) {
        self.options = options
        if let source = options.pinnedSource {
            let parts = source.split(separator: ":")
            guard let address = IPv4(String(parts.first ?? "")), parts.count <= 2,
                parts.count == 1 || UInt16(parts[1]) != nil
            else { throw NetError("--rtp-source '\(source)' is not ADDRESS or ADDRESS:PORT (IPv4)") }
            pinned = (address.networkOrder, parts.count == 2 ? UInt16(parts[1]) : nil)
        } else {
            pinned = nil
        }
        wake = reel_net_eventfd()
        guard wake >= 0 else { throw NetError("cannot create an eventfd: \(String(cString: strerror(-wake)))") }
        var streams: [Stream] = []
        for (index, media) in description.media.enumerated() {
            let address = options.bindAddress ?? media.address
            guard let ip = IPv4(address) else {
                close(wake)
                throw NetError("'\(address)' is not an IPv4 address")
            }
            if ip.isMulticast && !options.allowMulticast {
                close(wake)
                throw NetError("\(address) is a multicast group; pass --rtp-allow-multicast to join it")
            }
            streams.append(Stream(media: media, index: index, latency: options.latency * 1000))
        }
        self.streams = streams
        frameStartsOut = Array(repeating: [], count: streams.count)
        lastHanded = Array(repeating: nil, count: streams.count)
        firstHanded = Array(repeating: nil, count: streams.count)
        damaged = Array(repeating: [], count: streams.count)
        held = Array(repeating: [], count: streams.count)
        lastMarker = Array(repeating: false, count: streams.count)
        let storage = UnsafeMutableRawPointer.allocate(byteCount: Self.slotSize * Self.batch, alignment: 16)
        self.storage = storage
        slots = (0..<Self.batch).map { index in
            reel_datagram(
                data: (storage + index * Self.slotSize).assumingMemoryBound(to: UInt8.self),
                capacity: Int32(Self.slotSize), length: 0, truncated: 0, arrival_realtime_ns: 0, kernel_drops: -1,
                source_address: 0, source_port: 0)
        }
        publish()
    }

    deinit {
        for stream in streams {
            if stream.rtp >= 0 { close(stream.rtp) }
            if stream.rtcp >= 0 { close(stream.rtcp) }
        }
        close(wake)
        storage.deallocate()
    }

    /// Binds every stream's sockets: packets are received (queued by the kernel) from
    /// now on, so a session calls this once it is ready to play them. Throws a one-line
    /// `NetError` when a port is in use or an address is not this machine's.
    package func listen() throws(NetError) {
        guard streams.contains(where: { $0.rtcp < 0 }) else { return }
        for stream in streams {
            let address = options.bindAddress ?? stream.media.address
            if stream.rtp < 0 {
                stream.rtp = try Self.bind(address, port: stream.media.port, multicast: options.allowMulticast)
            }
            stream.rtcp = try Self.bind(address, port: stream.media.rtcpPort, multicast: options.allowMulticast)
        }
        startedAt = HostTime.now()
    }

    /// A UDP socket bound to `address:port`, with arrival times and drop counts on.
    private static func bind(_ address: String, port: UInt16, multicast: Bool) throws(NetError) -> Int32 {
        guard let ip = IPv4(address) else { throw NetError("'\(address)' is not an IPv4 address") }
        if ip.isMulticast && !multicast {
            throw NetError("\(address) is a multicast group; pass --rtp-allow-multicast to join it")
        }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw NetError("cannot open a UDP socket: \(String(cString: strerror(errno)))") }
        var size: Int32 = 4 << 20
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = reel_net_enable_receive_info(fd)
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        socketAddress.sin_addr.s_addr = ip.networkOrder
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if bound != 0 {
            let code = errno
            close(fd)
            switch code {
            case EADDRINUSE: throw NetError("UDP port \(port) on \(address) is in use by another program")
            case EADDRNOTAVAIL:
                throw NetError("\(address) is not an address of this machine; pass --bind 0.0.0.0 to receive on all")
            case EACCES: throw NetError("no permission to bind UDP port \(port) on \(address)")
            default: throw NetError("cannot bind UDP \(address):\(port): \(String(cString: strerror(code)))")
            }
        }
        if ip.isMulticast {
            var request = ip_mreq()
            request.imr_multiaddr.s_addr = ip.networkOrder
            request.imr_interface.s_addr = 0
            guard
                setsockopt(fd, Int32(IPPROTO_IP), IP_ADD_MEMBERSHIP, &request, socklen_t(MemoryLayout<ip_mreq>.size))
                    == 0
            else {
                close(fd)
                throw NetError("cannot join \(address): \(String(cString: strerror(errno)))")
            }
        }
        return fd
    }

    // MARK: Any thread

    /// Ends `next` at once (it returns nil), from any thread.
    package func stop() {
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
    }

    /// Per stream, in the description's order.
    package var statistics: [RTPStatistics] { shared.withLock { $0.statistics } }

    /// When (host ns) the first RTP packet was accepted; nil before.
    package var firstArrival: Int64? { shared.withLock { $0.first } }

    /// Why the stream ended; nil while it runs.
    package var endReason: End? { shared.withLock { $0.end } }

    // MARK: The receiving thread

    /// A frame's RTP timestamp and when (host ns) its first packet arrived.
    package struct FrameStart: Sendable, Equatable {
        package var timestamp: UInt32
        package var arrival: Int64
    }

    /// Whether the last RTP packet of stream `index` handed on ended its frame (its
    /// marker bit: for video, the last packet of an access unit).
    package func lastHandedEndsFrame(ofStream index: Int) -> Bool {
        lastMarker.indices.contains(index) && lastMarker[index]
    }

    /// The first RTP packet of stream `index` handed on: its timestamp (libavformat
    /// counts the stream's timestamps from it) and arrival.
    package func firstHanded(ofStream index: Int) -> FrameStart? {
        firstHanded.indices.contains(index) ? firstHanded[index] : nil
    }

    /// The latest sender report of stream `index`'s locked source (they are not handed
    /// to libavformat: `SessionTimeline` uses them).
    package func senderClock(ofStream index: Int) -> SenderClock? {
        streams.indices.contains(index) ? streams[index].report : nil
    }

    /// Whether the frame of stream `index` with RTP `timestamp` was handed on with
    /// packets missing (asked once: the answer is forgotten).
    package func takeDamaged(_ timestamp: UInt32, ofStream index: Int) -> Bool {
        damaged.indices.contains(index) && damaged[index].remove(timestamp) != nil
    }

    /// Whether packets of the frame of stream `index` with RTP `timestamp` waited in the
    /// jitter buffer behind a gap it gave up on (they come late by up to the latency
    /// budget: the live edge does not follow them). Asked once.
    package func takeHeld(_ timestamp: UInt32, ofStream index: Int) -> Bool {
        held.indices.contains(index) && held[index].remove(timestamp) != nil
    }

    /// Packets before the one about to go out with `timestamp` were lost: its frame is
    /// damaged, and so is the frame before when its last packet (the marker) had not come.
    private func markDamaged(_ timestamp: UInt32, ofStream index: Int) {
        // Bounded: frames are asked about as they are read, a few behind at most.
        if damaged[index].count > 256 { damaged[index].removeAll(keepingCapacity: true) }
        damaged[index].insert(timestamp)
        if let last = lastHanded[index], last != timestamp, !lastMarker[index] { damaged[index].insert(last) }
    }

    /// The frames of stream `index` (the description's order) whose first packet has
    /// been handed on since the last call, oldest first.
    package func takeFrameStarts(ofStream index: Int) -> [FrameStart] {
        guard frameStartsOut.indices.contains(index) else { return [] }
        defer { frameStartsOut[index].removeAll(keepingCapacity: true) }
        return frameStartsOut[index]
    }

    /// Blocks until the next datagram for libavformat is ready and copies it into
    /// `buffer` (cut to its size); returns its length, or nil at the end.
    package func next(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        while true {
            if outgoingHead < outgoing.count {
                let item = outgoing[outgoingHead]
                outgoingHead += 1
                if outgoingHead > 256 && outgoingHead * 2 > outgoing.count {
                    outgoing.removeFirst(outgoingHead)
                    outgoingHead = 0
                }
                let frame = item.frame
                if item.afterGap { markDamaged(frame.timestamp, ofStream: item.stream) }
                if item.held {
                    // Bounded as `damaged`.
                    if held[item.stream].count > 256 { held[item.stream].removeAll(keepingCapacity: true) }
                    held[item.stream].insert(frame.timestamp)
                }
                lastMarker[item.stream] = frame.marker
                if firstHanded[item.stream] == nil {
                    firstHanded[item.stream] = FrameStart(timestamp: frame.timestamp, arrival: frame.arrival)
                }
                let startsFrame = lastHanded[item.stream] != frame.timestamp
                lastHanded[item.stream] = frame.timestamp
                // (Only video frames' starts are asked for: the sound's would only pile up.)
                if startsFrame && streams[item.stream].media.kind == .video {
                    // Bounded: a reader that never takes them keeps the latest.
                    if frameStartsOut[item.stream].count >= 1024 { frameStartsOut[item.stream].removeFirst(512) }
                    frameStartsOut[item.stream].append(FrameStart(timestamp: frame.timestamp, arrival: frame.arrival))
                }
                let count = min(buffer.count, item.bytes.count)
                item.bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: count) }
                return count
            }
            if ended != nil { return nil }
            receive()
        }
    }

    /// Sends an RTCP packet libavformat wrote (a receiver report) to the locked source
    /// of the stream it reports on; dropped when that is not known.
    package func send(_ bytes: UnsafeRawBufferPointer) {
        guard let report = RTCPPacket(bytes), let ssrc = report.reportedSSRC,
            let stream = streams.first(where: { $0.lock?.ssrc == ssrc }), let lock = stream.lock
        else { return }
        var destination = sockaddr_in()
        destination.sin_family = sa_family_t(AF_INET)
        destination.sin_port = (lock.port &+ 1).bigEndian
        destination.sin_addr.s_addr = lock.address
        _ = withUnsafePointer(to: &destination) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(
                    stream.rtcp, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0,
                    socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }

    /// Waits for datagrams (or a jitter deadline, the timeout, a stop), reads them
    /// and moves what may go out to `outgoing`.
    private func receive() {
        let now = HostTime.now()
        let silenceDeadline = (lastPacket ?? startedAt) + options.timeout * 1000
        var deadline = silenceDeadline
        for stream in streams { if let due = stream.buffer.deadline { deadline = min(deadline, due) } }
        if now >= silenceDeadline {
            finish(lastPacket == nil ? .nothing(options.timeout) : .silence(options.timeout))
            return
        }
        var fds = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        for stream in streams {
            fds.append(pollfd(fd: stream.rtp, events: Int16(POLLIN), revents: 0))
            fds.append(pollfd(fd: stream.rtcp, events: Int16(POLLIN), revents: 0))
        }
        let milliseconds = Int32(clamping: max(0, (deadline - now + 999_999) / 1_000_000))
        let ready = poll(&fds, nfds_t(fds.count), milliseconds)
        if ready > 0 {
            if fds[0].revents != 0 {
                finish(.stopped)
                return
            }
            for (index, stream) in streams.enumerated() {
                if fds[1 + 2 * index].revents != 0 { read(stream.rtp, of: stream, rtcp: false) }
                if fds[2 + 2 * index].revents != 0 { read(stream.rtcp, of: stream, rtcp: true) }
            }
        }
        let after = HostTime.now()
        for stream in streams { release(stream, at: after) }
        publish()
    }

    /// Reads every datagram waiting on `fd`.
    private func read(_ fd: Int32, of stream: Stream, rtcp: Bool) {
        while true {
            let count = reel_net_receive(fd, &slots, Int32(Self.batch))
            guard count > 0 else { return }
            // The kernel stamps arrivals on the wall clock; the session runs on the monotonic one.
            var realtime = timespec()
            clock_gettime(CLOCK_REALTIME, &realtime)
            let offset = Int64(realtime.tv_sec) * 1_000_000_000 + Int64(realtime.tv_nsec) - HostTime.now()
            for index in 0..<Int(count) {
                let datagram = slots[index]
                let arrival =
                    datagram.arrival_realtime_ns > 0 ? datagram.arrival_realtime_ns - offset : HostTime.now()
                if datagram.kernel_drops >= 0 && !rtcp { stream.statistics.kernelDrops = datagram.kernel_drops }
                let bytes = UnsafeRawBufferPointer(start: datagram.data, count: Int(datagram.length))
                if datagram.truncated != 0 {
                    stream.statistics.garbage += 1
                } else if rtcp {
                    control(bytes, from: datagram, of: stream)
                } else {
                    media(bytes, from: datagram, of: stream, arrival: arrival)
                }
            }
            if count < Self.batch { return }
        }
    }

    /// Whether a packet from `datagram` with `ssrc` belongs to the stream's source,
    /// locking the stream to it when it is the first.
    private func accepts(_ datagram: reel_datagram, ssrc: UInt32, of stream: Stream) -> Bool {
        if let lock = stream.lock {
            return lock.address == datagram.source_address && lock.port == datagram.source_port && lock.ssrc == ssrc
        }
        if let pinned {
            guard pinned.address == datagram.source_address, pinned.port.map({ $0 == datagram.source_port }) ?? true
            else { return false }
        }
        stream.lock = Lock(address: datagram.source_address, port: datagram.source_port, ssrc: ssrc)
        stream.statistics.ssrc = ssrc
        stream.statistics.source = "\(Self.dotted(datagram.source_address)):\(datagram.source_port)"
        return true
    }

    private func media(_ bytes: UnsafeRawBufferPointer, from datagram: reel_datagram, of stream: Stream, arrival: Int64)
    {
        guard let header = RTPHeader(bytes), stream.media.payloadTypes.contains(header.payloadType) else {
            stream.statistics.garbage += 1
            return
        }
        let wasLocked = stream.lock != nil
        guard accepts(datagram, ssrc: header.ssrc, of: stream) else {
            stream.statistics.foreign += 1
            return
        }
        if lastPacket == nil { shared.withLock { $0.first = arrival } }
        lastPacket = arrival
        let sequence = stream.sequences.extend(header.sequence)
        var statistics = stream.statistics
        statistics.firstSequence = min(statistics.firstSequence ?? sequence, sequence)
        statistics.highestSequence = max(statistics.highestSequence ?? sequence, sequence)
        // Interarrival jitter, in RTP clock units, then µs.
        let rate = Double(max(1, stream.media.clockRate))
        let transit = Double(arrival) / 1e9 * rate - Double(header.timestamp)
        if let last = stream.lastTransit {
            var difference = abs(transit - last)
            if difference > rate * 3600 { difference = 0 }  // a timestamp wrap
            statistics.jitter += (difference / rate * 1e6 - statistics.jitter) / 16
        }
        stream.lastTransit = transit
        if stream.frameStarts[header.timestamp] == nil {
            if stream.frameStarts.count > 256 { stream.frameStarts.removeAll(keepingCapacity: true) }
            stream.frameStarts[header.timestamp] = arrival
        }
        let item = Outgoing(
            bytes: Array(bytes), stream: stream.index,
            frame: (header.timestamp, stream.frameStarts[header.timestamp] ?? arrival, header.marker))
        switch stream.buffer.insert(item, sequence: sequence, arrival: arrival) {
        case .accepted(let reordered):
            statistics.received += 1
            if reordered { statistics.reordered += 1 }
        case .duplicate:
            statistics.duplicates += 1
        case .late:
            statistics.received += 1
            statistics.late += 1
        }
        stream.statistics = statistics
        // A sender report that came first counts once the first packet shows it was the source's.
        if !wasLocked, let report = stream.earlyReport.take(), report.address == datagram.source_address,
            report.ssrc == header.ssrc
        {
            stream.lock?.controlPort = report.port
            stream.report = report.clock
        }
    }

    private func control(_ bytes: UnsafeRawBufferPointer, from datagram: reel_datagram, of stream: Stream) {
        guard let packet = RTCPPacket(bytes) else {
            stream.statistics.garbage += 1
            return
        }
        guard let lock = stream.lock else {
            // Before the first RTP packet: a sender report waits for it; anything else goes.
            if packet.byes.isEmpty, let clock = packet.senderClock,
                pinned.map({ $0.address == datagram.source_address }) ?? true
            {
                stream.earlyReport = (clock, datagram.source_address, datagram.source_port, packet.senderSSRC)
            }
            return
        }
        // The source's RTCP port is the first that sent a report; until one has, only
        // RFC 3550's RTP port + 1 may say BYE (one forged from another port must not
        // end the session, nor become the source's RTCP port).
        let port = lock.controlPort ?? (packet.byes.isEmpty ? datagram.source_port : lock.port &+ 1)
        let fromSource =
            lock.address == datagram.source_address && packet.senderSSRC == lock.ssrc && port == datagram.source_port
        guard fromSource else {
            stream.statistics.foreign += 1
            if !packet.byes.isEmpty { stream.statistics.foreignByes += 1 }
            return
        }
        stream.lock?.controlPort = datagram.source_port
        lastPacket = HostTime.now()
        if packet.byes.contains(lock.ssrc) {
            finish(.bye)
            return
        }
        // Sender reports place the stream on the sender's clock (A/V sync).
        if let clock = packet.senderClock { stream.report = clock }
    }

    private func release(_ stream: Stream, at now: Int64) {
        var skipped = stream.statistics.skipped
        // What goes out after a gap given up on in this release waited for its deadline.
        var behindGap = false
        stream.buffer.release(at: now, skipped: &skipped) { item, afterGap in
            var item = item
            item.afterGap = afterGap
            behindGap = behindGap || afterGap
            item.held = behindGap
            outgoing.append(item)
        }
        stream.statistics.skipped = skipped
    }

    /// Ends the stream: what is held goes out first (a stop drops it).
    private func finish(_ end: End) {
        if end != .stopped {
            for stream in streams {
                var skipped = stream.statistics.skipped
                stream.buffer.flush(skipped: &skipped) { item, afterGap in
                    var item = item
                    item.afterGap = afterGap
                    outgoing.append(item)
                }
                stream.statistics.skipped = skipped
            }
        } else {
            outgoing.removeAll()
            outgoingHead = 0
        }
        ended = end
        publish()
    }

    private func publish() {
        for stream in streams { stream.statistics.count() }
        let statistics = streams.map(\.statistics)
        let end = ended
        shared.withLock {
            $0.statistics = statistics
            $0.end = end
        }
    }

    private static func dotted(_ address: UInt32) -> String {
        "\(address & 0xFF).\(address >> 8 & 0xFF).\(address >> 16 & 0xFF).\(address >> 24)"
    }
}
