internal import CGLFW
import ReelCore
import Synchronization

/// Why a window could not be made: one line, for the user.
package struct WindowError: Error, CustomStringConvertible, Sendable {
    package let description: String
    init(_ description: String) { self.description = description }
}

/// The keys the player answers.
package enum WindowKey: Sendable, Equatable {
    case space, left, right, up, down, nine, zero, m, f, s, q, escape
}

/// What happened to the window since the last look.
package enum WindowEvent: Sendable, Equatable {
    case key(WindowKey)
    /// The framebuffer's new size in pixels (zero when minimized).
    case resized(PixelSize)
    /// The window's content was lost (uncovered, restored) and must be drawn again.
    case refreshNeeded
    /// The user closed the window.
    case closeRequested
    /// The connection to the display was lost (the X server went away): the window is
    /// gone, and nothing more can be shown.
    case displayLost
}

/// A GLFW window for Vulkan output (no OpenGL context): X11 or Wayland, whichever GLFW
/// finds. It makes the Vulkan surface the swapchain presents to, and turns key presses,
/// resizes and close requests into `WindowEvent`s.
///
/// Thread-safety: GLFW's rule: create it, `pollEvents` and `toggleFullscreen` on the
/// main thread only. `makeSurface` and `framebufferSize` may be called from any thread.
package final class VideoWindow: @unchecked Sendable {
    private let window: OpaquePointer
    private var pending: [WindowEvent] = []
    private var windowedFrame: (x: Int32, y: Int32, width: Int32, height: Int32)?

    /// Whether GLFW can reach a display (an X server or a Wayland compositor).
    package static func displayAvailable() -> Bool {
        glfwInit() == GLFW_TRUE && glfwVulkanSupported() == GLFW_TRUE
    }

    /// The Vulkan instance extensions presenting to a window needs here.
    package static var requiredInstanceExtensions: [String] {
        guard glfwInit() == GLFW_TRUE else { return [] }
        var count: UInt32 = 0
        guard let names = glfwGetRequiredInstanceExtensions(&count) else { return [] }
        return (0..<Int(count)).compactMap { names[$0].map { String(cString: $0) } }
    }

    /// Opens a window whose content is `size` pixels, shrunk (aspect kept) to fit the
    /// screen, titled `title`.
    package init(title: String, contentSize size: PixelSize) throws(WindowError) {
        guard glfwInit() == GLFW_TRUE else {
            throw WindowError("no display: cannot open a window (is DISPLAY or WAYLAND_DISPLAY set?)")
        }
        guard glfwVulkanSupported() == GLFW_TRUE else {
            throw WindowError("the window system offers no Vulkan surface (no Vulkan loader or driver)")
        }
        var width = size.width
        var height = size.height
        if let monitor = glfwGetPrimaryMonitor(), let mode = glfwGetVideoMode(monitor) {
            let screen = (Int(mode.pointee.width), Int(mode.pointee.height))
            if width > screen.0 || height > screen.1 {
                let scale = min(Double(screen.0) / Double(width), Double(screen.1) / Double(height))
                width = max(1, Int(Double(width) * scale))
                height = max(1, Int(Double(height) * scale))
            }
        }
        glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API)
        glfwWindowHint(GLFW_RESIZABLE, GLFW_TRUE)
        guard let window = glfwCreateWindow(Int32(width), Int32(height), title, nil, nil) else {
            throw WindowError("cannot open a \(width)x\(height) window")
        }
        self.window = window
        glfwSetWindowUserPointer(window, Unmanaged.passUnretained(self).toOpaque())
        glfwSetKeyCallback(window) { window, key, _, action, _ in
            guard action != GLFW_RELEASE, let me = VideoWindow.owner(of: window), let key = VideoWindow.key(key)
            else { return }
            me.pending.append(.key(key))
        }
        glfwSetFramebufferSizeCallback(window) { window, width, height in
            VideoWindow.owner(of: window)?.pending.append(
                .resized(PixelSize(width: Int(max(0, width)), height: Int(max(0, height)))))
        }
        glfwSetWindowRefreshCallback(window) { window in
            VideoWindow.owner(of: window)?.pending.append(.refreshNeeded)
        }
        glfwSetWindowCloseCallback(window) { window in VideoWindow.owner(of: window)?.pending.append(.closeRequested) }
        Self.watchDisplay()
    }

    /// The line for a lost display.
    package static let displayLostMessage =
        "the window is gone (its display went away): nothing more can be shown"

    /// Set once the X connection was lost; from then on every look at the events says so.
    private static let displayLost = Atomic<Bool>(false)

    /// Losing the X connection becomes `.displayLost` instead of Xlib's exit(): its
    /// handlers only take note (Xlib then treats the connection as dead), and the
    /// session ends as for any other failure, its threads joined and its files written.
    private static func watchDisplay() {
        guard let display = glfwGetX11Display() else { return }
        _ = XSetIOErrorHandler { _ in 0 }
        _ = XSetIOErrorExitHandler(
            display, { _, _ in VideoWindow.displayLost.store(true, ordering: .sequentiallyConsistent) }, nil)
    }

    /// The events since the last look, and `.displayLost` when the connection is gone.
    private func takeEvents() -> [WindowEvent] {
        defer { pending.removeAll(keepingCapacity: true) }
        return pending + (Self.displayLost.load(ordering: .sequentiallyConsistent) ? [.displayLost] : [])
    }

    deinit {
        glfwDestroyWindow(window)
    }

    private static func owner(of window: OpaquePointer?) -> VideoWindow? {
        guard let window, let pointer = glfwGetWindowUserPointer(window) else { return nil }
        return Unmanaged<VideoWindow>.fromOpaque(pointer).takeUnretainedValue()
    }

    private static func key(_ code: Int32) -> WindowKey? {
        switch code {
        case GLFW_KEY_SPACE: .space
        case GLFW_KEY_LEFT: .left
        case GLFW_KEY_RIGHT: .right
        case GLFW_KEY_UP: .up
        case GLFW_KEY_DOWN: .down
        case GLFW_KEY_9: .nine
        case GLFW_KEY_0: .zero
        case GLFW_KEY_M: .m
        case GLFW_KEY_F: .f
        case GLFW_KEY_S: .s
        case GLFW_KEY_Q: .q
        case GLFW_KEY_ESCAPE: .escape
        default: nil
        }
    }

    /// Makes the window's Vulkan surface for `instance` (a `VkInstance`); returns the
    /// `VkSurfaceKHR`, owned by the caller, or nil.
    package func makeSurface(instance: OpaquePointer) -> OpaquePointer? {
        var surface: VkSurfaceKHR?
        guard glfwCreateWindowSurface(instance, window, nil, &surface) == VK_SUCCESS else { return nil }
        return surface
    }

    /// The framebuffer's size in pixels.
    package var framebufferSize: PixelSize {
        var width: Int32 = 0
        var height: Int32 = 0
        glfwGetFramebufferSize(window, &width, &height)
        return PixelSize(width: Int(width), height: Int(height))
    }

    /// The primary screen's refresh rate in Hz, when the window system says.
    package static var screenRefreshRate: Int? {
        guard glfwInit() == GLFW_TRUE else { return nil }
        guard let monitor = glfwGetPrimaryMonitor(), let mode = glfwGetVideoMode(monitor),
            mode.pointee.refreshRate > 0
        else { return nil }
        return Int(mode.pointee.refreshRate)
    }

    /// Waits up to `timeout` seconds for events and returns what happened.
    package func pollEvents(timeout: Double) -> [WindowEvent] {
        if !Self.displayLost.load(ordering: .sequentiallyConsistent) { glfwWaitEventsTimeout(timeout) }
        return takeEvents()
    }

    /// Waits for events (or `wake()`) and returns what happened.
    package func waitEvents() -> [WindowEvent] {
        if !Self.displayLost.load(ordering: .sequentiallyConsistent) { glfwWaitEvents() }
        return takeEvents()
    }

    /// Wakes the thread waiting in `waitEvents()`; from any thread (wraps `glfwPostEmptyEvent`).
    package static func wake() { glfwPostEmptyEvent() }

    /// Fullscreen on the primary monitor, or back to the window it was.
    package func toggleFullscreen() {
        if let frame = windowedFrame {
            glfwSetWindowMonitor(window, nil, frame.x, frame.y, frame.width, frame.height, GLFW_DONT_CARE)
            windowedFrame = nil
            return
        }
        guard let monitor = glfwGetPrimaryMonitor(), let mode = glfwGetVideoMode(monitor) else { return }
        var x: Int32 = 0
        var y: Int32 = 0
        var width: Int32 = 0
        var height: Int32 = 0
        glfwGetWindowPos(window, &x, &y)
        glfwGetWindowSize(window, &width, &height)
        windowedFrame = (x, y, width, height)
        glfwSetWindowMonitor(
            window, monitor, 0, 0, mode.pointee.width, mode.pointee.height, mode.pointee.refreshRate)
    }
}
