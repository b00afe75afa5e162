internal import CVulkan
import ReelCore
import Synchronization

/// How the window's swapchain hands images to the display (`--present`).
package enum PresentMode: String, Sendable, CaseIterable {
    /// Queued, one per refresh: never tears, may wait.
    case fifo
    /// The newest image replaces a waiting one at each refresh: no tearing, no waiting.
    case mailbox
    /// Shown at once: may tear.
    case immediate
}

/// A swapchain image acquired for one frame, and the semaphores that order it.
struct SwapchainTarget {
    let index: UInt32
    let image: VkImage
    let extent: PixelSize
    /// Signalled when the image may be written.
    let acquired: VkSemaphore
    /// Signalled when the frame is in it, for the presentation to wait on.
    let rendered: VkSemaphore
}

/// A swapchain image a frame was rendered into, waiting to be presented.
///
/// Thread-safety: Confined to the render thread.
package struct PresentableImage {
    let target: SwapchainTarget
}

/// The window's swapchain on the device's surface: BGRA8 images the renderer copies
/// each frame into, then presents — or, while the pictures are HDR and the surface
/// offers HDR10 (`VK_EXT_swapchain_colorspace`'s `HDR10_ST2084` in A2B10G10R10), HDR10
/// images the picture passes through to, the display tone-mapping it. A surface
/// without it (Xvfb, most desktops) shows HDR tone-mapped to SDR.
///
/// Acquiring never waits (timeout 0): a tick with no free image is skipped. When the
/// surface changes (a resize, a move between screens) the swapchain reports it is out
/// of date or suboptimal; `needsRecreation` turns true and the owner calls
/// `recreate(size:)` with the window's new size.
/// Thread-safety: Confined to the render thread, with the renderer it feeds.
package final class WindowPresenter {
    private let device: VulkanDevice
    private let surface: VkSurfaceKHR
    private let requestedMode: PresentMode?
    private var swapchain: VkSwapchainKHR?
    private var images: [VkImage] = []
    /// One per image: the frame rendered into it, for its presentation to wait on.
    private var renderedSemaphores: [VkSemaphore] = []
    /// A ring, one per acquisition: more than images plus frames in flight, so that a
    /// semaphore is reused only after the submission that waited on it has finished.
    private var acquireSemaphores: [VkSemaphore] = []
    private var nextAcquire = 0
    /// The images' size.
    package private(set) var extent = PixelSize(width: 0, height: 0)
    /// The present mode in use: the one asked for if the surface offers it, else
    /// mailbox when offered, else FIFO (always offered).
    package private(set) var mode = PresentMode.fifo
    /// Whether the swapchain's images are HDR10 (BT.2020 PQ in A2B10G10R10).
    package private(set) var showsHDR10 = false
    /// Whether the pictures shown are HDR, so that an HDR10 surface is worth taking.
    private var picturesAreHDR = false
    /// The surface changed: call `recreate(size:)` before the next frame.
    /// Set by a present (on the present thread) or an acquire; read by the display thread.
    package var needsRecreation: Bool {
        get { recreationNeeded.load(ordering: .acquiring) }
        set { recreationNeeded.store(newValue, ordering: .releasing) }
    }
    private let recreationNeeded = Atomic(false)

    /// Makes the swapchain for the device's window at `size` (the window's framebuffer
    /// size; the surface's own extent wins where it has one).
    package init(device: VulkanDevice, size: PixelSize, mode: PresentMode? = nil) throws(RenderError) {
        guard let surface = device.surface else {
            throw RenderError(.invalidRequest, "the Vulkan device was made without a window")
        }
        self.device = device
        self.surface = surface
        requestedMode = mode
        try recreate(size: size)
    }

    deinit {
        device.queueLock.withLock { _ in _ = vkDeviceWaitIdle(device.device) }
        destroySwapchain()
    }

    private func destroySwapchain() {
        let vk = device.device
        for semaphore in renderedSemaphores + acquireSemaphores { vkDestroySemaphore(vk, semaphore, nil) }
        renderedSemaphores = []
        acquireSemaphores = []
        if let swapchain { vkDestroySwapchainKHR(vk, swapchain, nil) }
        swapchain = nil
        images = []
    }

    /// Makes the swapchain again at `size`, after waiting for the device to be idle
    /// (frames in flight still use the old images). A zero size (minimized) keeps
    /// `needsRecreation` set: nothing is shown until the window has a size again.
    package func recreate(size: PixelSize) throws(RenderError) {
        let vk = device.device
        let physical = device.physicalDevice
        device.queueLock.withLock { _ in _ = vkDeviceWaitIdle(vk) }
        var capabilities = VkSurfaceCapabilitiesKHR()
        try VulkanCall.check(
            vkGetPhysicalDeviceSurfaceCapabilitiesKHR(physical, surface, &capabilities),
            "vkGetPhysicalDeviceSurfaceCapabilitiesKHR", "cannot query the window's surface")
        var width = Int(capabilities.currentExtent.width)
        var height = Int(capabilities.currentExtent.height)
        if capabilities.currentExtent.width == UInt32.max {
            width = min(max(size.width, Int(capabilities.minImageExtent.width)), Int(capabilities.maxImageExtent.width))
            height = min(
                max(size.height, Int(capabilities.minImageExtent.height)), Int(capabilities.maxImageExtent.height))
        }
        guard width > 0, height > 0 else {
            needsRecreation = true
            return
        }
        let format = try chooseFormat()
        showsHDR10 = format.colorSpace == VK_COLOR_SPACE_HDR10_ST2084_EXT
        mode = try chooseMode()
        var imageCount = max(capabilities.minImageCount, 3)
        if capabilities.maxImageCount > 0 { imageCount = min(imageCount, capabilities.maxImageCount) }
        let usage = VK_IMAGE_USAGE_TRANSFER_DST_BIT.rawValue
        guard capabilities.supportedUsageFlags & usage == usage else {
            throw RenderError(.noDevice, "the window's swapchain images cannot be written by a copy")
        }
        var info = VkSwapchainCreateInfoKHR()
        info.sType = VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR
        info.surface = surface
        info.minImageCount = imageCount
        info.imageFormat = format.format
        info.imageColorSpace = format.colorSpace
        info.imageExtent = VkExtent2D(width: UInt32(width), height: UInt32(height))
        info.imageArrayLayers = 1
        info.imageUsage = usage
        info.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE
        info.preTransform = capabilities.currentTransform
        info.compositeAlpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR
        if capabilities.supportedCompositeAlpha & VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR.rawValue == 0 {
            info.compositeAlpha = VK_COMPOSITE_ALPHA_INHERIT_BIT_KHR
        }
        info.presentMode = Self.vulkanMode(mode)
        info.clipped = VkBool32(VK_TRUE)
        info.oldSwapchain = swapchain
        var created: VkSwapchainKHR?
        let result = vkCreateSwapchainKHR(vk, &info, nil, &created)
        destroySwapchain()
        try VulkanCall.check(result, "vkCreateSwapchainKHR", "cannot create the window's swapchain")
        swapchain = created
        var count: UInt32 = 0
        vkGetSwapchainImagesKHR(vk, created, &count, nil)
        var handles = [VkImage?](repeating: nil, count: Int(count))
        vkGetSwapchainImagesKHR(vk, created, &count, &handles)
        images = handles.compactMap { $0 }
        renderedSemaphores = try (0..<images.count).map { _ throws(RenderError) in try makeSemaphore() }
        acquireSemaphores = try (0..<(images.count + OffscreenRenderer.framesInFlight + 1)).map {
            _ throws(RenderError) in try makeSemaphore()
        }
        extent = PixelSize(width: width, height: height)
        needsRecreation = false
    }

    /// The next image, or nil when none is free now or the swapchain is out of date.
    func acquire() throws(RenderError) -> SwapchainTarget? {
        guard !needsRecreation, let swapchain else { return nil }
        let semaphore = acquireSemaphores[nextAcquire]
        var index: UInt32 = 0
        let result = device.queueLock.withLock { _ in
            vkAcquireNextImageKHR(device.device, swapchain, 0, semaphore, nil, &index)
        }
        switch result {
        case VK_SUCCESS: break
        case VK_SUBOPTIMAL_KHR: needsRecreation = true  // usable this once; recreate after
        case VK_NOT_READY, VK_TIMEOUT: return nil
        case VK_ERROR_OUT_OF_DATE_KHR:
            needsRecreation = true
            return nil
        case VK_ERROR_SURFACE_LOST_KHR:
            try VulkanCall.check(result, "vkAcquireNextImageKHR", Self.surfaceLost)
        default:
            try VulkanCall.check(result, "vkAcquireNextImageKHR", "cannot get an image of the window")
        }
        nextAcquire = (nextAcquire + 1) % acquireSemaphores.count
        return SwapchainTarget(
            index: index, image: images[Int(index)], extent: extent, acquired: semaphore,
            rendered: renderedSemaphores[Int(index)])
    }

    /// Shows the image once its render has finished (wraps `vkQueuePresentKHR`; with a
    /// CPU driver it waits for the render and copies the image to the window server).
    /// An out-of-date swapchain sets `needsRecreation` instead of throwing.
    package func present(_ image: PresentableImage) throws(RenderError) {
        let target = image.target
        var swapchain: VkSwapchainKHR? = swapchain
        var wait: VkSemaphore? = target.rendered
        var index = target.index
        let result = withUnsafePointer(to: &swapchain) { swapchains in
            withUnsafePointer(to: &wait) { waits in
                withUnsafePointer(to: &index) { indices in
                    var info = VkPresentInfoKHR()
                    info.sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR
                    info.waitSemaphoreCount = 1
                    info.pWaitSemaphores = waits
                    info.swapchainCount = 1
                    info.pSwapchains = swapchains
                    info.pImageIndices = indices
                    return device.queueLock.withLock { _ in vkQueuePresentKHR(device.queue, &info) }
                }
            }
        }
        if result == VK_SUBOPTIMAL_KHR || result == VK_ERROR_OUT_OF_DATE_KHR {
            needsRecreation = true
            return
        }
        try VulkanCall.check(
            result, "vkQueuePresentKHR",
            result == VK_ERROR_SURFACE_LOST_KHR ? Self.surfaceLost : "cannot show the frame in the window")
    }

    /// The window's surface lost: its display went away (the X server closed).
    private static let surfaceLost = "the window is gone (its display went away): nothing more can be shown"

    private func makeSemaphore() throws(RenderError) -> VkSemaphore {
        var info = VkSemaphoreCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO
        var semaphore: VkSemaphore?
        try VulkanCall.check(
            vkCreateSemaphore(device.device, &info, nil, &semaphore), "vkCreateSemaphore", "cannot create a semaphore")
        return semaphore!
    }

    /// Says whether the pictures about to be shown are HDR. When that changes what the
    /// surface would best show them in (HDR10 where offered), `needsRecreation` turns
    /// true and the next frame waits for `recreate(size:)`.
    package func showPictures(hdr: Bool) {
        guard hdr != picturesAreHDR else { return }
        picturesAreHDR = hdr
        if (try? chooseFormat().colorSpace == VK_COLOR_SPACE_HDR10_ST2084_EXT) != showsHDR10 {
            needsRecreation = true
        }
    }

    /// The surface format for the pictures: HDR10 when they are HDR and the surface
    /// offers it, else B8G8R8A8_UNORM in sRGB (the shader's output is already encoded).
    private func chooseFormat() throws(RenderError) -> VkSurfaceFormatKHR {
        var count: UInt32 = 0
        vkGetPhysicalDeviceSurfaceFormatsKHR(device.physicalDevice, surface, &count, nil)
        var formats = [VkSurfaceFormatKHR](repeating: VkSurfaceFormatKHR(), count: Int(count))
        vkGetPhysicalDeviceSurfaceFormatsKHR(device.physicalDevice, surface, &count, &formats)
        let offered = formats.prefix(Int(count)).map {
            SurfaceFormat(format: Int($0.format.rawValue), colourSpace: Int($0.colorSpace.rawValue))
        }
        guard let index = Self.chooseSurfaceFormat(from: offered, hdr: picturesAreHDR) else {
            throw RenderError(.noDevice, "the window's surface offers no B8G8R8A8_UNORM format")
        }
        return formats[index]
    }

    /// A surface format as Vulkan numbers it (`VkFormat`, `VkColorSpaceKHR`).
    package struct SurfaceFormat: Equatable, Sendable {
        package var format: Int
        package var colourSpace: Int
        package init(format: Int, colourSpace: Int) {
            self.format = format
            self.colourSpace = colourSpace
        }
        package static let bgra8 = Int(VK_FORMAT_B8G8R8A8_UNORM.rawValue)
        package static let a2bgr10 = Int(VK_FORMAT_A2B10G10R10_UNORM_PACK32.rawValue)
        package static let srgb = Int(VK_COLOR_SPACE_SRGB_NONLINEAR_KHR.rawValue)
        package static let hdr10 = Int(VK_COLOR_SPACE_HDR10_ST2084_EXT.rawValue)
    }

    /// Which of the offered formats to take: for HDR pictures A2B10G10R10 in HDR10
    /// (ST 2084) where offered; otherwise B8G8R8A8_UNORM in sRGB, else in whatever colour
    /// space it comes in. Nil when there is no B8G8R8A8_UNORM.
    package static func chooseSurfaceFormat(from offered: [SurfaceFormat], hdr: Bool) -> Int? {
        let hdr10 = SurfaceFormat(format: SurfaceFormat.a2bgr10, colourSpace: SurfaceFormat.hdr10)
        if hdr, let index = offered.firstIndex(of: hdr10) { return index }
        return offered.firstIndex(of: SurfaceFormat(format: SurfaceFormat.bgra8, colourSpace: SurfaceFormat.srgb))
            ?? offered.firstIndex { $0.format == SurfaceFormat.bgra8 && $0.colourSpace != SurfaceFormat.hdr10 }
    }

    private func chooseMode() throws(RenderError) -> PresentMode {
        var count: UInt32 = 0
        vkGetPhysicalDeviceSurfacePresentModesKHR(device.physicalDevice, surface, &count, nil)
        var modes = [VkPresentModeKHR](repeating: VK_PRESENT_MODE_FIFO_KHR, count: Int(count))
        vkGetPhysicalDeviceSurfacePresentModesKHR(device.physicalDevice, surface, &count, &modes)
        let offered = Set(modes.prefix(Int(count)).map(\.rawValue))
        if let requestedMode {
            guard offered.contains(Self.vulkanMode(requestedMode).rawValue) else {
                throw RenderError(
                    .invalidRequest, "the window does not offer the \(requestedMode.rawValue) present mode")
            }
            return requestedMode
        }
        return offered.contains(VK_PRESENT_MODE_MAILBOX_KHR.rawValue) ? .mailbox : .fifo
    }

    private static func vulkanMode(_ mode: PresentMode) -> VkPresentModeKHR {
        switch mode {
        case .fifo: VK_PRESENT_MODE_FIFO_KHR
        case .mailbox: VK_PRESENT_MODE_MAILBOX_KHR
        case .immediate: VK_PRESENT_MODE_IMMEDIATE_KHR
        }
    }
}
