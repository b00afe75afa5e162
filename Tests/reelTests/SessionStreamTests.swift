import Foundation
import Reel
import ReelTestSupport
import Testing

extension RTPPlaybackTests {
    /// The embedding API reads an RTP session from a real sender: every frame rendered
    /// and handed out, in order, the session ended by the sender's BYE, and each frame's
    /// latency from its first packet's arrival measured.
    @Test func sessionReadsAStream() async throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let video = try Self.freePortPair()
        let clip = try Self.encodedClip(seconds: 2, in: folder)
        let sdp = try Self.sessionDescription(clip: clip, video: video, audio: nil, in: folder)
        let session = try Session(SessionParameters(source: .stream(sdp), pacing: .everyFrame, validation: true))
        let consumer = Task {
            var times: [Int64] = []
            for try await frame in session.frames {
                times.append(frame.presentationTime?.microseconds ?? -1)
                frame.release()
            }
            return times
        }
        try Self.waitUntilBound(video)
        try ffmpeg(Self.senderArguments(clip: clip, video: video, audio: nil))
        let statistics = try await session.finished()
        let times = try await consumer.value
        #expect(times.count == 60, "2 s at 30 fps")
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 })
        #expect(statistics.framesIn == 60 && statistics.framesRendered == 60)
        let latency = try #require(statistics.pushToRender)
        #expect(latency.count == 60)
        #expect(statistics.validationErrors == [])
        print("session from a stream: 60 frames, arrival → rendered p50 \(latency.p50), p99 \(latency.p99)")
    }
}
