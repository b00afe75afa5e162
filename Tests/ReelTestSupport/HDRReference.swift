import Foundation
import ReelCore
import ReelMedia

/// FFmpeg's libplacebo filter's picture of an HDR fixture's first frame, tone-mapped to
/// SDR BT.709 (BT.2390, no peak detection, no dithering, bilinear chroma), made once per
/// fixture with the ffmpeg CLI on the first Vulkan device: the reference Reel's colour
/// pipeline is held to.
package enum HDRReference {
    private static let made = Locked<[String: RGBAImage]>([:])

    package static func libplacebo(_ fixture: String) throws -> RGBAImage {
        if let image = made.withLock({ $0[fixture] }) { return image }
        let folder = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let png = "\(folder)/reference.png"
        try ffmpeg([
            "-init_hw_device", "vulkan=vk:0", "-filter_hw_device", "vk", "-i", "\(fixtures)/\(fixture)", "-vf",
            "hwupload,libplacebo=format=rgba:colorspace=bt709:color_primaries=bt709:color_trc=bt709:"
                + "tonemapping=bt.2390:peak_detect=0:dithering=-1:upscaler=bilinear:downscaler=bilinear,"
                + "hwdownload,format=rgba",
            "-frames:v", "1", png,
        ])
        let image = try ImageReader.readRGBA(png)
        made.withLock { $0[fixture] = image }
        return image
    }
}
