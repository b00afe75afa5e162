import Foundation
import ReelFramePool
import ReelMedia

/// The repository's `Fixtures/` folder (made by `tools/make-fixtures`).
package let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures").path

/// Decodes up to `limit` pictures of a fixture, handing each to `body` while its slot
/// is held (released when `body` returns), together with the pool it lives in.
package func decodeFixture(
    _ name: String, limit: Int = .max, _ body: (DecodedFrame, FramePool) throws -> Void
) throws {
    let demuxer = try Demuxer(url: "\(fixtures)/\(name)")
    let decoder = try VideoDecoder(demuxer: demuxer, streamIndex: try demuxer.requireVideoStream())
    var count = 0
    while count < limit {
        switch try decoder.receive() {
        case .frame(let frame):
            defer { frame.release() }
            try body(frame, frame.pool)
            count += 1
        case .needsInput:
            switch demuxer.readPacket() {
            case .packet(let packet): try decoder.send(packet)
            case .endOfInput(let error):
                if let error { throw error }
                try decoder.sendEndOfInput()
            }
        case .waitingForSlot: preconditionFailure("decodeFixture releases every slot before taking the next")
        case .endOfStream: return
        }
    }
}

/// Peak signal-to-noise ratio of two RGBA8 pictures over R, G and B, in dB.
package func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double { rgbPSNR(a, b) }

/// Peak signal-to-noise ratio of two RGBA16 pictures over R, G and B, in dB of the
/// 16-bit range.
package func psnr16(_ a: [UInt16], _ b: [UInt16]) -> Double { rgbPSNR(a, b) }

/// PSNR over R, G and B of RGBA samples, the peak being the sample type's maximum.
private func rgbPSNR<Sample: FixedWidthInteger & UnsignedInteger>(_ a: [Sample], _ b: [Sample]) -> Double {
    precondition(a.count == b.count, "pictures differ in size")
    var squared = 0.0
    var samples = 0
    for index in stride(from: 0, to: a.count, by: 4) {
        for channel in 0..<3 {
            let difference = Double(Int(a[index + channel]) - Int(b[index + channel]))
            squared += difference * difference
        }
        samples += 3
    }
    guard squared > 0 else { return .infinity }
    let peak = Double(Sample.max)
    return 10 * (log10(peak * peak) - log10(squared / Double(samples)))
}

/// How many times longer a bounded wait may take in this run: 1, or more when the
/// suite runs under a sanitizer (`tools/test --asan|--tsan` sets `REEL_SANITIZER`),
/// which makes Reel's own code several times slower (ThreadSanitizer 5–15×). Only
/// bounds on how soon something happens are scaled; what happens is checked as ever.
package let sanitizerSlowdown: Double =
    switch ProcessInfo.processInfo.environment["REEL_SANITIZER"] {
    case "thread": 4
    case "address": 2
    default: 1
    }

/// Whether the suite runs under a sanitizer.
package var underSanitizer: Bool { sanitizerSlowdown > 1 }
