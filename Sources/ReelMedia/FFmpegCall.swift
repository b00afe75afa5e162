internal import CFFmpeg
import ReelCore

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

    static let endOfFile = reel_AVERROR_EOF
    static let tryAgain = reel_AVERROR_EAGAIN
    static let noTimestamp = reel_AV_NOPTS_VALUE
}

/// FFmpeg's own logging, which writes to stderr: quiet unless asked for.
package enum FFmpegLog {
    /// Sets libav*'s log level: errors and warnings when `verbose`, nothing otherwise.
    package static func configure(verbose: Bool) {
        av_log_set_level(verbose ? AV_LOG_WARNING : AV_LOG_QUIET)
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
