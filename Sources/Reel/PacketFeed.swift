import ReelMedia

/// A decoder that takes packets: the video and the audio one.
protocol PacketDecoder: AnyObject {
    func send(_ packet: Packet) throws(MediaError)
    func sendEndOfInput() throws(MediaError)
    func flush()
}

extension VideoDecoder: PacketDecoder {}
extension AudioDecoder: PacketDecoder {}

/// What the next item of a packet queue did to its decoder.
enum FeedStep {
    /// A packet was sent, the end of input told, or a stale item dropped.
    case fed
    /// A new generation started: the decoder was flushed; the thread resets the rest.
    case started(generation: Int, exactFrom: Int64?)
    /// The session stops, or the demux thread is done and the queue empty: the thread is done.
    case closed
}

/// Feeds one decoder from its packet queue in the session.
struct PacketFeed {
    let stream: PacketStream
    let state: SessionState
    /// Whether the end of input was told to the decoder in this generation.
    private var ended = false

    init(_ stream: PacketStream, state: SessionState) {
        self.stream = stream
        self.state = state
    }

    /// Waits for the next item (or a stop) and hands it to `decoder`: a packet is sent,
    /// the end of input drains it (once), a start flushes it. Items of a generation older
    /// than the session's are dropped.
    mutating func feed(_ decoder: some PacketDecoder) throws(MediaError) -> FeedStep {
        let stream = stream
        let next = state.wait { fields -> (item: PacketItem?, current: Int)? in
            if fields.stopping { return (nil, fields.generation) }
            if let item = fields.withPackets(stream, { $0.popFirst() }) ?? nil { return (item, fields.generation) }
            return fields.packetsClosed ? (nil, fields.generation) : nil
        }
        guard let item = next.item else { return .closed }
        guard item.generation >= next.current else { return .fed }
        switch item {
        case .packet(let packet, _):
            try decoder.send(packet)
        case .start(let generation, let exactFrom):
            decoder.flush()
            ended = false
            return .started(generation: generation, exactFrom: exactFrom)
        case .endOfInput:
            if !ended {
                ended = true
                try decoder.sendEndOfInput()
            }
        }
        return .fed
    }
}
