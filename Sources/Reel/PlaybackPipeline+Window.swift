import Foundation
import ReelCore
import ReelMedia
import ReelWindow

extension PlaybackPipeline {
    /// The window's keys: space pause, ←/→ ∓5 s, ↓/↑ ∓60 s, 9/0 volume, m mute,
    /// s screenshot, f fullscreen, q/Esc (or closing it) quit.
    func answer(_ events: [WindowEvent], in window: VideoWindow) {
        let exact = parameters.exactSeeks
        for event in events {
            switch event {
            case .closeRequested, .key(.q), .key(.escape): controls.stop()
            case .key(.space): controls.togglePause()
            case .key(.left): controls.seek(by: -5_000_000, exact: exact)
            case .key(.right): controls.seek(by: 5_000_000, exact: exact)
            case .key(.down): controls.seek(by: -60_000_000, exact: exact)
            case .key(.up): controls.seek(by: 60_000_000, exact: exact)
            case .key(.nine): controls.volume -= 2
            case .key(.zero): controls.volume += 2
            case .key(.m): controls.isMuted.toggle()
            case .key(.s): controls.takeScreenshot()
            case .key(.f): window.toggleFullscreen()
            case .resized, .refreshNeeded: state.update { $0.redraw = true }
            case .displayLost: state.fail(.unsuitable(VideoWindow.displayLostMessage))
            }
        }
    }

    /// Writes the screenshots the display has kept as PNGs; returns their paths. One
    /// that cannot be written is reported on the monitor, and playback goes on.
    func writeScreenshots() -> [String] {
        let shots = state.update { fields in
            defer { fields.screenshots.removeAll() }
            return fields.screenshots
        }
        var written: [String] = []
        for var shot in shots {
            let path = shot.request.path ?? Self.freeName(parameters.screenshotTemplate)
            if shot.bgra {
                for pixel in stride(from: 0, to: shot.pixels.count, by: 4) { shot.pixels.swapAt(pixel, pixel + 2) }
            }
            let size = PixelSize(width: shot.width, height: shot.height)
            let result = shot.pixels.withUnsafeBytes { pixels in
                Result { () throws(MediaError) in
                    try PNGWriter().write(rgba: pixels, size: size, rowBytes: size.width * 4, to: path)
                }
            }
            do {
                try result.get()
                written.append(path)
                monitor.post("screenshot: \(path)")
                shot.request.done?(.success(path))
            } catch {
                monitor.post("screenshot not written: \(error)")
                shot.request.done?(.failure(ScreenshotFailure(message: "\(error)")))
            }
        }
        return written
    }

    /// Tells whoever still waits for a screenshot that none will come.
    func abandonScreenshots() {
        let waiting = state.update { fields in
            defer { fields.screenshotsWanted.removeAll() }
            return fields.screenshotsWanted
        }
        for request in waiting {
            request.done?(.failure(ScreenshotFailure(message: "playback ended before the next picture")))
        }
    }

    /// `template` with `%n` replaced by the first 4-digit number whose file does not exist.
    static func freeName(_ template: String) -> String {
        guard template.contains("%n") else { return template }
        var number = 1
        while true {
            let path = template.replacingOccurrences(of: "%n", with: String(format: "%04d", number))
            if !FileManager.default.fileExists(atPath: path) || number >= 9999 { return path }
            number += 1
        }
    }
}
