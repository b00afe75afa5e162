import Testing

@testable import ReelNet

/// The SDP checks made before any socket is opened: what is bound, what is refused.
@Suite struct SessionDescriptionTests {
    /// As `ffmpeg -sdp_file` writes it for H.264 + Opus.
    static let ffmpegSDP = """
        v=0
        o=- 0 0 IN IP4 127.0.0.1
        s=No Name
        t=0 0
        a=tool:libavformat LIBAVFORMAT_VERSION
        m=video 16004 RTP/AVP 96
        c=IN IP4 127.0.0.1
        a=rtpmap:96 H264/90000
        a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z2QAC6yyBRvyYCIAAAMAAgAAAwB5HihUkA==,aOvDyyLA
        m=audio 16006 RTP/AVP 97
        c=IN IP4 127.0.0.1
        b=AS:64
        a=rtpmap:97 opus/48000/2

        """

    @Test func readsWhatFFmpegWrites() throws {
        let description = try SessionDescription(parsing: Self.ffmpegSDP)
        #expect(description.media.count == 2)
        let video = description.media[0]
        #expect(video.kind == .video && video.port == 16004 && video.rtcpPort == 16005)
        #expect(video.address == "127.0.0.1" && video.payloadTypes == [96] && video.encodings[96] == "H264")
        #expect(video.clockRate == 90000)
        let audio = description.media[1]
        #expect(
            audio.kind == .audio && audio.port == 16006 && audio.encodings[97] == "OPUS" && audio.clockRate == 48000)
    }

    @Test func sessionLevelAddressAndRTCPAttribute() throws {
        let text = "v=0\r\nc=IN IP4 127.0.0.2\r\nm=video 5000 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\na=rtcp:5009\r\n"
        let description = try SessionDescription(parsing: text)
        #expect(description.media[0].address == "127.0.0.2")
        #expect(description.media[0].rtcpPort == 5009)
        #expect(description.media[0].encodings[96] == "H265")
    }

    /// Each bad description is refused with a line that names what is wrong.
    @Test(arguments: [
        ("", "v="),
        ("v=0\nm=video 5000 RTP/AVP 96\na=rtpmap:96 H264/90000\n", "connection address"),
        ("v=0\nc=IN IP4 127.0.0.1\nm=video 5000 RTP/AVP 96\na=rtpmap:96 VP8/90000\n", "VP8"),
        ("v=0\nc=IN IP4 127.0.0.1\nm=video 5000 RTP/AVP 98\n", "98"),
        ("v=0\nc=IN IP4 127.0.0.1\nm=video 70000 RTP/AVP 96\na=rtpmap:96 H264/90000\n", "port"),
        ("v=0\nc=IN IP4 not-an-address\nm=video 5000 RTP/AVP 96\na=rtpmap:96 H264/90000\n", "address"),
        (
            "v=0\nc=IN IP4 127.0.0.1\nm=video 5000 RTP/AVP 96\na=rtpmap:96 H264/90000\nm=audio 5002 RTP/AVP 96\n"
                + "a=rtpmap:96 opus/48000/2\n", "payload type"
        ),
        ("v=0\nc=IN IP4 239.1.2.3\nm=video 5000 RTP/AVP 96\na=rtpmap:96 H264/90000\n", "--rtp-allow-multicast"),
        // Clock rates that cannot turn timestamps into time (the first found by fuzzing).
        ("v=0\nc=IN IP4 127.0.0.1\nm=video 5000 RTP/AVP 96\na=rtpmap:96 H264//0000\n", "bad clock rate"),
        ("v=0\nc=IN IP4 127.0.0.1\nm=video 5000 RTP/AVP 96\na=rtpmap:96 H264/0\n", "bad clock rate"),
        ("v=0\nc=IN IP4 127.0.0.1\nm=video 5000 RTP/AVP 96\na=rtpmap:96 H264/-90000\n", "bad clock rate"),
        ("v=0\nc=IN IP4 127.0.0.1\nm=video 5000 RTP/AVP 96\na=rtpmap:96 H264/99999999999\n", "bad clock rate"),
    ])
    func refused(text: String, saying: String) {
        #expect {
            try SessionDescription(parsing: text)
        } throws: { error in
            "\(error)".contains(saying) && !"\(error)".contains("\n")
        }
    }

    @Test func multicastOnlyWhenAllowed() throws {
        let text = "v=0\nc=IN IP4 239.1.2.3/16\nm=video 5000 RTP/AVP 96\na=rtpmap:96 H264/90000\n"
        let description = try SessionDescription(parsing: text, allowMulticast: true)
        #expect(description.media[0].address == "239.1.2.3")
    }
}
