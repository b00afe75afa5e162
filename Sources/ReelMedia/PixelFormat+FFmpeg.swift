internal import CFFmpeg
import ReelCore

extension PixelFormat {
    /// The Reel format for an FFmpeg pixel format, and whether FFmpeg marks it as
    /// full range (the `yuvj` formats); nil when Reel cannot render it.
    static func from(_ format: AVPixelFormat) -> (format: PixelFormat, fullRange: Bool)? {
        switch format {
        case AV_PIX_FMT_YUV420P: (.yuv420p, false)
        case AV_PIX_FMT_YUVJ420P: (.yuv420p, true)
        case AV_PIX_FMT_YUV422P: (.yuv422p, false)
        case AV_PIX_FMT_YUVJ422P: (.yuv422p, true)
        case AV_PIX_FMT_YUV444P: (.yuv444p, false)
        case AV_PIX_FMT_YUVJ444P: (.yuv444p, true)
        case AV_PIX_FMT_NV12: (.nv12, false)
        case AV_PIX_FMT_GRAY8: (.gray8, false)
        case AV_PIX_FMT_YUV420P10LE: (.yuv420p10, false)
        case AV_PIX_FMT_P010LE: (.p010, false)
        case AV_PIX_FMT_YUV422P10LE: (.yuv422p10, false)
        case AV_PIX_FMT_YUV444P10LE: (.yuv444p10, false)
        default: nil
        }
    }

    /// The FFmpeg pixel format with this layout (the limited-range one for `yuvj` twins).
    var avFormat: AVPixelFormat {
        switch self {
        case .yuv420p: AV_PIX_FMT_YUV420P
        case .yuv422p: AV_PIX_FMT_YUV422P
        case .yuv444p: AV_PIX_FMT_YUV444P
        case .nv12: AV_PIX_FMT_NV12
        case .gray8: AV_PIX_FMT_GRAY8
        case .yuv420p10: AV_PIX_FMT_YUV420P10LE
        case .p010: AV_PIX_FMT_P010LE
        case .yuv422p10: AV_PIX_FMT_YUV422P10LE
        case .yuv444p10: AV_PIX_FMT_YUV444P10LE
        }
    }
}
