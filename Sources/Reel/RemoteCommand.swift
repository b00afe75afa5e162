import Foundation

/// One request of the remote-control protocol (`reel play --ipc PATH`), parsed from a
/// JSON line in the spirit of mpv's `--input-ipc-server`:
///
///     {"command": ["seek", 5, "relative"], "request_id": 7}
///
/// Thread-safety: Safe (a value).
package enum RemoteCommand: Equatable {
    /// `["pause"]` toggles, like the space key; `["pause", true|false]` sets.
    case pause(Bool?)
    /// `["seek", seconds, "relative"|"absolute", "exact"?]`: relative by default.
    case seek(seconds: Double, absolute: Bool, exact: Bool)
    /// `["set", "volume", 0…100]`, `["set", "mute", Bool]`, `["set", "pause", Bool]`.
    case setVolume(Int)
    case setMute(Bool)
    /// `["get", name]`: position, duration (seconds), paused, volume, mute, stats.
    case get(Property)
    /// `["screenshot", "file.png"]`: the next picture rendered, as a PNG at that path.
    case screenshot(path: String)
    case quit

    package enum Property: String, CaseIterable {
        case position, duration, paused, volume, mute, stats, phase
    }

    /// A request: the command and the id its reply carries (0 when none was given).
    package struct Request {
        package var command: RemoteCommand
        package var id: Int
    }

    /// Why a line is not a request; `id` when the line had one.
    package struct Rejection: Error, Equatable {
        package var message: String
        package var id: Int
    }

    /// Parses one line (without its newline).
    package static func parse(_ line: Substring) -> Result<Request, Rejection> {
        guard case .object(let request)? = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)) else {
            return .failure(Rejection(message: "not a JSON object", id: 0))
        }
        var id = 0
        if case .number(let number)? = request["request_id"], let exact = Int(exactly: number) { id = exact }
        guard case .array(let words)? = request["command"], case .string(let name)? = words.first else {
            return .failure(Rejection(message: "no \"command\" array starting with a name", id: id))
        }
        switch command(name, Array(words.dropFirst())) {
        case .success(let command): return .success(Request(command: command, id: id))
        case .failure(let invalid): return .failure(Rejection(message: invalid.message, id: id))
        }
    }

    /// Why arguments do not make a command.
    struct Invalid: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    private static func command(_ name: String, _ arguments: [JSONValue]) -> Result<RemoteCommand, Invalid> {
        let count = arguments.count
        switch name {
        case "pause":
            guard count <= 1 else { return .failure(Invalid("pause takes at most one argument, true or false")) }
            guard count == 1 else { return .success(.pause(nil)) }
            guard let paused = bool(arguments[0]) else { return .failure(Invalid("pause takes true or false")) }
            return .success(.pause(paused))
        case "seek":
            guard (1...3).contains(count), let seconds = number(arguments[0]), seconds.isFinite else {
                return .failure(Invalid("seek takes seconds, then \"relative\" or \"absolute\", then \"exact\""))
            }
            let mode = count > 1 ? arguments[1].string : "relative"
            guard mode == "relative" || mode == "absolute" else {
                return .failure(Invalid("seek's mode is \"relative\" or \"absolute\""))
            }
            guard count < 3 || arguments[2].string == "exact" || arguments[2].string == "keyframes" else {
                return .failure(Invalid("seek's third argument is \"exact\" or \"keyframes\""))
            }
            return .success(
                .seek(
                    seconds: seconds, absolute: mode == "absolute", exact: count == 3 && arguments[2].string == "exact")
            )
        case "set":
            guard count == 2, let property = arguments[0].string else {
                return .failure(Invalid("set takes a property and a value"))
            }
            switch property {
            case "volume":
                guard let volume = number(arguments[1]), volume >= 0, volume <= 100 else {
                    return .failure(Invalid("volume is a number from 0 to 100"))
                }
                return .success(.setVolume(Int(volume.rounded())))
            case "mute":
                guard let muted = bool(arguments[1]) else { return .failure(Invalid("mute is true or false")) }
                return .success(.setMute(muted))
            case "pause":
                guard let paused = bool(arguments[1]) else { return .failure(Invalid("pause is true or false")) }
                return .success(.pause(paused))
            default:
                return .failure(Invalid("cannot set '\(property)': volume, mute or pause"))
            }
        case "get":
            guard count == 1, let name = arguments[0].string, let property = Property(rawValue: name) else {
                let names = Property.allCases.map(\.rawValue).joined(separator: ", ")
                return .failure(Invalid("get takes one of: \(names)"))
            }
            return .success(.get(property))
        case "screenshot":
            guard count == 1, let path = arguments[0].string, !path.isEmpty else {
                return .failure(Invalid("screenshot takes the path of the PNG to write"))
            }
            return .success(.screenshot(path: path))
        case "quit":
            guard count == 0 else { return .failure(Invalid("quit takes no argument")) }
            return .success(.quit)
        default:
            return .failure(Invalid("unknown command '\(name)'"))
        }
    }

    private static func bool(_ value: JSONValue) -> Bool? {
        if case .bool(let flag) = value { return flag }
        return nil
    }

    private static func number(_ value: JSONValue) -> Double? {
        if case .number(let number) = value { return number }
        return nil
    }
}

/// Any JSON value, as decoded: a boolean stays a boolean, a number a number.
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}
