internal import CVulkan
import ReelCore
import Synchronization

/// How to choose and set up the Vulkan device.
package struct DeviceParameters: Sendable {
    /// Use only a device whose name contains this text (case-insensitive), e.g. "llvmpipe".
    package var preferredName: String?
    /// Enable the Khronos validation layer and collect its errors.
    package var validation: Bool
    /// Upload frames through a staging copy even when the device can read the
    /// frame pool in place (`VK_EXT_external_memory_host`): the fallback, on demand.
    package var forcesStagingUpload: Bool
    /// A window to present to: the device must be able to present to its surface.
    package var window: WindowSurfaceSource?
    /// Also given each validation message (errors, and warnings), from the thread that
    /// caused it: an embedder's logger.
    package var onValidationMessage: (@Sendable (_ isError: Bool, _ message: String) -> Void)?
    /// What renderers on the device render for: SDR (HDR tone-mapped) by default.
    package var colour: ColourTarget

    package init(
        preferredName: String? = nil, validation: Bool = false, forcesStagingUpload: Bool = false,
        window: WindowSurfaceSource? = nil, colour: ColourTarget = ColourTarget()
    ) {
        self.preferredName = preferredName
        self.validation = validation
        self.forcesStagingUpload = forcesStagingUpload
        self.window = window
        self.colour = colour
    }
}

/// What the device needs of a window system to present to a window: the instance
/// extensions it requires, and a maker of the window's surface for an instance.
/// Both handles are Vulkan's, passed as opaque pointers (`VkInstance` in,
/// `VkSurfaceKHR` out); the device owns the surface from then on.
package struct WindowSurfaceSource: Sendable {
    package var instanceExtensions: [String]
    package var makeSurface: @Sendable (OpaquePointer) -> OpaquePointer?

    package init(instanceExtensions: [String], makeSurface: @escaping @Sendable (OpaquePointer) -> OpaquePointer?) {
        self.instanceExtensions = instanceExtensions
        self.makeSurface = makeSurface
    }
}

/// A Vulkan instance and logical device with one graphics queue.
///
/// Chooses a discrete GPU first, then integrated, virtual, and CPU implementations
/// (Mesa's lavapipe) last.
/// Thread-safety: Unsafe; the renderer that owns it confines it to one thread.
package final class VulkanDevice {
    let instance: VkInstance
    let physicalDevice: VkPhysicalDevice
    let device: VkDevice
    let queue: VkQueue
    /// Held around every use of `queue` and of a swapchain (submit, present, acquire,
    /// waits for idle): Vulkan wants them externally synchronized, and a window's images
    /// are presented from a thread of their own.
    let queueLock = Locked(())
    let queueFamily: UInt32
    /// The window's surface, when the device was made to present to one.
    let surface: VkSurfaceKHR?
    let memoryProperties: VkPhysicalDeviceMemoryProperties
    private var messenger: VkDebugUtilsMessengerEXT?
    private let validationLog: ValidationLog?
    /// A failure to inject, for tests (`REEL_VULKAN_FAULT`); nil normally.
    let faults = VulkanFaults.fromEnvironment()

    /// The chosen device's name, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
    package let name: String
    /// "discrete", "integrated", "virtual", "cpu" or "other".
    package let type: String
    /// The driver and its version, e.g. "llvmpipe: Mesa 22.3.6 (LLVM 15.0.6)"
    /// (`VkPhysicalDeviceDriverProperties`), and the Vulkan version the device offers.
    package let driver: String
    /// The most elements a texel buffer view may have (`maxTexelBufferElements`).
    package let maxTexelBufferElements: Int
    /// The alignment host memory must have to be imported, when the device can
    /// import it (`VK_EXT_external_memory_host` enabled); nil otherwise.
    package let hostImportAlignment: Int?
    /// Whether shaders may use 64-bit integers (`shaderInt64`, enabled when present).
    package let supportsInt64: Bool
    /// What renderers made on this device render for (`DeviceParameters.colour`).
    package let colour: ColourTarget
    /// Whether the validation layer is active.
    package var validationEnabled: Bool { validationLog != nil }
    /// Errors the validation layer reported so far (empty when it is off).
    package var validationErrors: [String] { validationLog?.errors ?? [] }

    /// Creates the instance and device. Throws `RenderError.noDevice` when no
    /// device fits, saying why each one was rejected.
    package init(parameters: DeviceParameters = DeviceParameters()) throws(RenderError) {
        let validation = parameters.validation && Self.hasLayer(Self.validationLayer)
        let log = validation ? ValidationLog(forward: parameters.onValidationMessage) : nil
        let instance = try Self.makeInstance(
            validation: validation, extensions: parameters.window?.instanceExtensions ?? [])
        var messenger: VkDebugUtilsMessengerEXT?
        if let log { messenger = Self.makeMessenger(instance: instance, log: log) }
        var surface: VkSurfaceKHR?
        func destroyInstance() {
            if let surface { vkDestroySurfaceKHR(instance, surface, nil) }
            if let messenger { Self.destroyMessenger(messenger, instance: instance) }
            vkDestroyInstance(instance, nil)
        }
        if let window = parameters.window {
            surface = window.makeSurface(instance)
            guard surface != nil else {
                destroyInstance()
                throw RenderError(.noDevice, "cannot create a Vulkan surface for the window")
            }
        }
        let choice: Choice
        do {
            choice = try Self.choosePhysicalDevice(
                instance: instance, preferredName: parameters.preferredName, surface: surface)
        } catch {
            destroyInstance()
            throw error
        }
        let device: VkDevice
        let int64 = Self.hasInt64(choice.physicalDevice)
        do {
            let importsHostMemory = choice.hostImportAlignment != nil && !parameters.forcesStagingUpload
            device = try Self.makeDevice(
                choice.physicalDevice, queueFamily: choice.queueFamily,
                extensions: (importsHostMemory ? [Self.hostMemoryExtension] : [])
                    + (surface != nil ? [Self.swapchainExtension] : []), int64: int64)
        } catch {
            destroyInstance()
            throw error
        }
        var queue: VkQueue?
        vkGetDeviceQueue(device, choice.queueFamily, 0, &queue)
        var memory = VkPhysicalDeviceMemoryProperties()
        vkGetPhysicalDeviceMemoryProperties(choice.physicalDevice, &memory)

        self.instance = instance
        self.messenger = messenger
        self.validationLog = log
        self.physicalDevice = choice.physicalDevice
        self.device = device
        self.queue = queue!
        self.queueFamily = choice.queueFamily
        self.surface = surface
        self.memoryProperties = memory
        self.name = choice.name
        self.type = choice.type
        self.supportsInt64 = int64
        var properties = VkPhysicalDeviceProperties()
        vkGetPhysicalDeviceProperties(choice.physicalDevice, &properties)
        var driverProperties = VkPhysicalDeviceDriverProperties()
        driverProperties.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES
        withUnsafeMutablePointer(to: &driverProperties) { chained in
            var both = VkPhysicalDeviceProperties2()
            both.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
            both.pNext = UnsafeMutableRawPointer(chained)
            vkGetPhysicalDeviceProperties2(choice.physicalDevice, &both)
        }
        let api = properties.apiVersion
        self.driver =
            "\(string(fromTuple: driverProperties.driverName)): \(string(fromTuple: driverProperties.driverInfo)), Vulkan \(reel_vk_api_version_major(api)).\(reel_vk_api_version_minor(api)).\(reel_vk_api_version_patch(api))"
        self.maxTexelBufferElements = Int(properties.limits.maxTexelBufferElements)
        self.hostImportAlignment = parameters.forcesStagingUpload ? nil : choice.hostImportAlignment
        self.colour = parameters.colour
    }

    deinit {
        queueLock.withLock { _ in _ = vkDeviceWaitIdle(device) }
        vkDestroyDevice(device, nil)
        if let surface { vkDestroySurfaceKHR(instance, surface, nil) }
        if let messenger { Self.destroyMessenger(messenger, instance: instance) }
        vkDestroyInstance(instance, nil)
    }

    /// Index of a memory type allowed by `typeBits` with all of `required`, preferring
    /// one that also has `preferred`.
    func memoryType(
        typeBits: UInt32, required: VkMemoryPropertyFlags, preferred: VkMemoryPropertyFlags = 0
    ) -> UInt32? {
        let types = withUnsafeBytes(of: memoryProperties.memoryTypes) {
            Array($0.bindMemory(to: VkMemoryType.self).prefix(Int(memoryProperties.memoryTypeCount)))
        }
        let allowed = types.indices.filter {
            typeBits & (1 << $0) != 0 && types[$0].propertyFlags & required == required
        }
        let best = allowed.first { types[$0].propertyFlags & preferred == preferred } ?? allowed.first
        return best.map(UInt32.init)
    }
}

/// Collects the validation layer's error messages; the debug callback's context.
final class ValidationLog: Sendable {
    private let messages = Locked<[String]>([])
    private let forward: (@Sendable (Bool, String) -> Void)?

    init(forward: (@Sendable (Bool, String) -> Void)? = nil) { self.forward = forward }

    var errors: [String] { messages.withLock { $0 } }

    /// An error or a warning; errors are kept.
    func record(_ message: String, isError: Bool = true) {
        if isError { messages.withLock { $0.append(message) } }
        forward?(isError, message)
    }
}
