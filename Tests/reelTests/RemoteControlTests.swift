import Foundation
import ReelMedia
import ReelTestSupport
import Testing

/// `reel play --ipc`: a headless player driven over its Unix socket as a client program
/// would, and fed garbage that must not stop it.
@Suite struct RemoteControlTests {
    /// A client that sends requests and sorts what comes back into replies and events.
    final class Remote {
        let client: LineClient
        var events: [String] = []
        private var nextID = 1

        init(path: String) throws { client = try LineClient(path: path) }

        /// Sends `line` as it is and returns the reply to it (the id given, or 0).
        func raw(_ line: String, id: Int = 0) throws -> [String: Any] {
            try client.send(line)
            while let text = try client.readLine() {
                let object = try #require(
                    try JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)
                        as? [String: Any], "not JSON: \(text)")
                if let event = object["event"] as? String {
                    events.append(event)
                    continue
                }
                #expect(object["request_id"] as? Int == id, "reply \(text) to \(line.prefix(80))")
                return object
            }
            throw SupportError("the player closed the socket")
        }

        /// Sends a command with a new request id; returns the reply.
        @discardableResult
        func command(_ words: [Any]) throws -> [String: Any] {
            nextID += 1
            let data = try JSONSerialization.data(withJSONObject: ["command": words, "request_id": nextID])
            return try raw(String(decoding: data, as: UTF8.self), id: nextID)
        }

        func get(_ property: String) throws -> Any? { try command(["get", property])["data"] }

        /// Events already waited for.
        private var eventsTaken = 0

        /// Waits until the start or the last seek has its first picture on screen: at once
        /// if the player says it is no longer seeking, else for its `playback-restart`.
        func waitForPicture() throws -> Bool {
            let mark = events.count
            guard try get("phase") as? String == "seeking" else { return true }
            eventsTaken = mark
            return try wait(for: "playback-restart")
        }

        /// Waits for the next `event` line named `name` (the player's own word that it
        /// happened); false if the socket closed first.
        func wait(for name: String) throws -> Bool {
            while true {
                while eventsTaken < events.count {
                    eventsTaken += 1
                    if events[eventsTaken - 1] == name { return true }
                }
                guard let text = try client.readLine() else { return false }
                let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
                if let event = object?["event"] as? String { events.append(event) }
            }
        }

        /// Asks for the position until `condition` holds (each answer is an event of the
        /// player), at most `tries` times.
        func position(until condition: (Double) -> Bool, tries: Int = 500) throws -> Double? {
            for _ in 0..<tries {
                if let position = try get("position") as? Double, condition(position) { return position }
            }
            return nil
        }
    }

    @Test func drivesAHeadlessPlayerAndSurvivesGarbage() throws {
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let socketPath = "\(folder)/reel.sock"
        var environment = ProcessInfo.processInfo.environment
        environment["REEL_VULKAN_VALIDATION"] = "1"
        let player = try Child(
            ReelCLI.executable.path,
            [
                "play", "\(fixtures)/seek-gop1s.mp4", "--vo", "offscreen", "--ao", "null", "--ipc", socketPath,
                "--volume", "80",
            ], environment: environment)
        defer { if player.isRunning { player.stop() } }
        let remote = try Remote(path: socketPath)

        // Playing: the first picture comes, then the position moves.
        #expect(try remote.waitForPicture())
        let first = try #require(try remote.position { $0 > 0 })
        #expect(abs((try remote.get("duration") as? Double ?? 0) - 12) < 0.1)

        // Garbage: each line gets an error reply, and playback goes on.
        let garbage = [
            "not json at all", "[1, 2, 3]", #"{"command": []}"#, #"{"command": ["fly", 1]}"#,
            #"{"command": ["seek", "five"]}"#, #"{"command": ["seek", 5, "sideways"]}"#,
            #"{"command": ["set", "volume", "loud"]}"#, #"{"command": ["set", "volume", 400]}"#,
            #"{"command": ["get", "colour"]}"#, #"{"command": ["pause", 1]}"#, #"{"command": ["screenshot"]}"#,
            #"{"command": "quit"}"#, String(repeating: "x", count: 1 << 20),
        ]
        for line in garbage {
            let reply = try remote.raw(line)
            let error = reply["error"] as? String
            #expect(error != nil && error != "success", "\(line.prefix(60)) → \(reply)")
        }
        #expect(try remote.position { $0 > first } != nil, "playback stopped after the garbage")

        // Pause: the event, the property, and the picture held.
        #expect(try remote.command(["pause"])["error"] as? String == "success")
        #expect(try remote.get("paused") as? Bool == true)
        #expect(remote.events.contains("pause"))

        // Seeks while paused: to the keyframe at 5 s, then exactly to 2.5 s.
        #expect(try remote.command(["seek", 5, "absolute"])["error"] as? String == "success")
        #expect(try remote.waitForPicture())
        #expect(try remote.get("position") as? Double == 5)
        #expect(try remote.command(["seek", 2.5, "absolute", "exact"])["error"] as? String == "success")
        #expect(try remote.waitForPicture())
        #expect(try remote.get("position") as? Double == 2.5)
        #expect(remote.events.filter { $0 == "seek" }.count == 2)
        // A relative keyframe seek forward from there lands on the next keyframe (4 s).
        #expect(try remote.command(["seek", 1, "relative"])["error"] as? String == "success")
        #expect(try remote.waitForPicture())
        #expect(try remote.get("position") as? Double == 4)

        // Volume.
        #expect(try remote.get("volume") as? Int == 80)
        #expect(try remote.command(["set", "volume", 50])["error"] as? String == "success")
        #expect(try remote.get("volume") as? Int == 50)

        // A screenshot of the picture on screen: the frame at 4 s, as `render` makes it.
        let shot = "\(folder)/shot.png"
        let reply = try remote.command(["screenshot", shot])
        #expect(reply["data"] as? String == shot, "\(reply)")
        let render = try ReelCLI.run([
            "render", "\(fixtures)/seek-gop1s.mp4", "--out", "\(folder)/frames", "--frames", "121",
        ])
        #expect(render.status == 0)
        let reference = try ImageReader.readRGBA("\(folder)/frames/frame-000121.png")
        let picture = try ImageReader.readRGBA(shot)
        #expect(picture.size == reference.size)
        #expect(psnr(picture.pixels, reference.pixels) > 60)
        // Still paused, the picture held at 4 s through all of that.
        #expect(try remote.get("position") as? Double == 4)
        #expect(try remote.get("paused") as? Bool == true)

        // Quit: the reply, the end-file event, exit 0, the socket file gone.
        #expect(try remote.command(["quit"])["error"] as? String == "success")
        while let line = try remote.client.readLine() {
            if line.contains("end-file") { remote.events.append(line) }
        }
        #expect(remote.events.last?.contains(#""reason":"quit""#) == true, "\(remote.events)")
        #expect(player.waitForExit(timeout: 30) == 0)
        #expect(!FileManager.default.fileExists(atPath: socketPath))
    }
}
