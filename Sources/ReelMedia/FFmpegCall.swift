internal import CFFmpeg
internal import CFFmpegLog
import Foundation
import ReelCore
import Synchronization

/// What went wrong in the media stage, with the FFmpeg call and code behind it.
///
/// `description` is one line, fit for a CLI's error message.
package struct MediaError: Error, CustomStringConvertible, Sendable {
    package enum Kind: String, Sendable {
        /// The input could not be opened or is not a media file FFmpeg recognises.
        case cannotOpen
        /// The input has no stream of the kind asked for.
        case noVideoStream
        /// The stream uses something Reel cannot render yet.
        case unsupported
        /// Reading the input stopped on an error before its end: truncated or corrupt.
        case truncated
        /// The input cannot move to the time asked for (a live stream, no keyframe there).
        case cannotSeek
        /// A codec refused to open, decode or encode.
        case codec
        /// Writing an output file failed.
        case output
        /// Memory for frames could not be had.
        case resources
    }

    package let kind: Kind
    /// What Reel was doing, e.g. "cannot open 'clip.mp4'".
    package let context: String
    /// The FFmpeg function that failed, and its return code, when one did.
    package let call: String?
    package let code: Int32?

    package init(_ kind: Kind, _ context: String, call: String? = nil, code: Int32? = nil) {
        self.kind = kind
        self.context = context
        self.call = call
        self.code = code
    }

    /// Every slot of a pool is held by the decoder itself: the pool cannot make progress.
    package static func poolTooSmall(_ slots: Int) -> MediaError {
        MediaError(.resources, "the frame pool's \(slots) slots are all held by the decoder; it needs more")
    }

    package var description: String {
        guard let code else { return context }
        return "\(context): \(FFmpegCall.errorString(code))"
    }
}

/// The one place where FFmpeg return codes become Swift errors.
enum FFmpegCall {
    /// `av_strerror` for a negative FFmpeg return code.
    static func errorString(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(reel_AV_ERROR_MAX_STRING_SIZE))
        if av_strerror(code, &buffer, buffer.count) != 0 {
            return "FFmpeg error \(code)"
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Returns `result` when it is non-negative, else throws `MediaError(kind, context)`.
    @discardableResult
    static func check(
        _ result: Int32, _ call: String, _ kind: MediaError.Kind, _ context: @autoclosure () -> String
    ) throws(MediaError) -> Int32 {
        guard result < 0 else { return result }
        throw MediaError(kind, context(), call: call, code: result)
    }

    /// Whether a decoder's error is about the data (a damaged packet or picture, which
    /// is skipped and counted, as the ffmpeg CLI does) rather than the decoder itself:
    /// every error but "again", "end", and memory running out.
    static func isDamage(_ code: Int32) -> Bool {
        code < 0 && code != tryAgain && code != endOfFile && code != -ENOMEM
    }

    static let endOfFile = reel_AVERROR_EOF
    static let tryAgain = reel_AVERROR_EAGAIN
    static let noTimestamp = reel_AV_NOPTS_VALUE
}

/// FFmpeg's own logging, which writes to stderr: quiet unless asked for, or routed to
/// the handlers an embedding application's sessions register.
package enum FFmpegLog {
    /// Sets libav*'s log level: errors and warnings when `verbose`, nothing otherwise.
    package static func configure(verbose: Bool) {
        av_log_set_level(verbose ? AV_LOG_WARNING : AV_LOG_QUIET)
    }

    /// How severe an FFmpeg message is, from its `AV_LOG_*` level.
    package enum Level: Int, Sendable, Comparable {
        case trace, debug, info, warning, error, critical

        init(_ level: Int32) {
            switch level {
            case ...AV_LOG_FATAL: self = .critical
            case ...AV_LOG_ERROR: self = .error
            case ...AV_LOG_WARNING: self = .warning
            case ...AV_LOG_INFO: self = .info
            case ...AV_LOG_DEBUG: self = .debug
            default: self = .trace
            }
        }

        package static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    package typealias Handler = @Sendable (Level, String) -> Void

    /// The handlers registered, by token. FFmpeg's log is one per process and its
    /// messages name no session: each goes to every handler registered.
    private static let handlers = Locked<(next: Int, all: [Int: (Level, Handler)])>((0, [:]))

    /// Routes FFmpeg's messages at `minimum` or above to `handler` (on whichever thread
    /// FFmpeg logs from) until `removeHandler` with the token returned.
    package static func addHandler(minimum: Level, _ handler: @escaping Handler) -> Int {
        handlers.withLock { handlers in
            defer { handlers.next += 1 }
            handlers.all[handlers.next] = (minimum, handler)
            if handlers.all.count == 1 { reel_route_ffmpeg_log(forward) }
            av_log_set_level(threshold(handlers.all.values.map(\.0)))
            return handlers.next
        }
    }

    /// Stops routing to a handler; with none left, FFmpeg logs to stderr again, quietly.
    package static func removeHandler(_ token: Int) {
        handlers.withLock { handlers in
            handlers.all[token] = nil
            if handlers.all.isEmpty {
                reel_route_ffmpeg_log(nil)
                av_log_set_level(AV_LOG_QUIET)
            } else {
                av_log_set_level(threshold(handlers.all.values.map(\.0)))
            }
        }
    }

    /// The `AV_LOG_*` level that lets through what the most talkative handler wants.
    private static func threshold(_ levels: [Level]) -> Int32 {
        switch levels.min() ?? .warning {
        case .trace: AV_LOG_TRACE
        case .debug: AV_LOG_DEBUG
        case .info: AV_LOG_INFO
        case .warning: AV_LOG_WARNING
        case .error: AV_LOG_ERROR
        case .critical: AV_LOG_FATAL
        }
    }

    /// Each line FFmpeg logs, formatted as it prints it ("[h264 @ …] …"), from CFFmpegLog.
    private static let forward: @convention(c) (Int32, UnsafePointer<CChar>?) -> Void = { level, line in
        guard let line else { return }
        let message = String(cString: line).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !message.isEmpty else { return }
        let severity = Level(level)
        let targets = handlers.withLock { $0.all.values.filter { severity >= $0.0 }.map(\.1) }
        for handler in targets { handler(severity, message) }
    }
}

extension UnsafeMutablePointer where Pointee == AVFrame {
    /// `frame->data[index]`.
    func plane(_ index: Int) -> UnsafeMutablePointer<UInt8>? {
        withUnsafeBytes(of: pointee.data) {
            $0.load(
                fromByteOffset: index * MemoryLayout<UnsafeMutableRawPointer?>.stride,
                as: UnsafeMutablePointer<UInt8>?.self)
        }
    }

    /// `frame->linesize[index]`.
    func lineSize(_ index: Int) -> Int {
        withUnsafeBytes(of: pointee.linesize) { Int($0.load(fromByteOffset: index * 4, as: Int32.self)) }
    }
}

extension Rational {
    init(_ value: AVRational) { self.init(Int64(value.num), Int64(value.den)) }
}
