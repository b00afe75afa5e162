import Foundation

/// Carries out remote-control requests with the session's controls.
///
/// Thread-safety: Safe; called on the remote control's thread.
struct RemoteAnswers: Sendable {
    let controls: PlaybackControls
    let monitor: PlaybackMonitor
    let state: SessionState

    /// Carries out a request and replies (at once, or once a screenshot is written).
    func answer(_ request: RemoteCommand.Request, reply: @escaping @Sendable (String) -> Void) {
        let id = request.id
        let success = RemoteControl.reply(id: id)
        switch request.command {
        case .pause(let paused):
            if let paused { controls.setPaused(paused) } else { controls.togglePause() }
            reply(success)
        case .seek(let seconds, let absolute, let exact):
            let microseconds = Int64((seconds * 1_000_000).rounded())
            if absolute {
                controls.seek(to: microseconds, exact: exact)
            } else {
                controls.seek(by: microseconds, exact: exact)
            }
            reply(success)
        case .setVolume(let volume):
            controls.volume = volume
            reply(success)
        case .setMute(let muted):
            controls.isMuted = muted
            reply(success)
        case .get(let property):
            reply(RemoteControl.reply(id: id, data: value(of: property)))
        case .screenshot(let path):
            controls.takeScreenshot(to: path) { result in
                switch result {
                case .success(let written): reply(RemoteControl.reply(id: id, data: RemoteControl.jsonString(written)))
                case .failure(let failure): reply(RemoteControl.reply(id: id, error: failure.message))
                }
            }
        case .quit:
            reply(success)
            controls.stop()
        }
    }

    /// A property's value as JSON text: times in seconds, null when unknown.
    private func value(of property: RemoteCommand.Property) -> String {
        let progress = monitor.progress
        let seconds = { (microseconds: Int64?) in microseconds.map { "\(Double($0) / 1e6)" } ?? "null" }
        switch property {
        case .position: return seconds(progress.position)
        case .duration: return seconds(progress.duration)
        case .paused: return "\(controls.isPaused)"
        case .volume: return "\(controls.volume)"
        case .mute: return "\(controls.isMuted)"
        case .phase: return RemoteControl.jsonString(state.read { $0.phase.rawValue })
        case .stats:
            let p = progress.presentation
            return #"{"presented":\#(p.presented),"dropped":\#(p.droppedLate),"repeated":\#(p.repeated),"#
                + #""skipped":\#(p.skipped),"rendered":\#(progress.rendered),"position":\#(seconds(progress.position)),"#
                + #""av_ms":\#(progress.avOffset.map { "\(Double($0) / 1000)" } ?? "null")}"#
        }
    }
}
