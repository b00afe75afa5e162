internal import CVulkan
import Glibc

extension VulkanDevice {
    static let validationLayer = "VK_LAYER_KHRONOS_validation"

    struct Choice {
        var physicalDevice: VkPhysicalDevice
        var queueFamily: UInt32
        var name: String
        var type: String
        var rank: Int
        /// `minImportedHostPointerAlignment` when the device has `VK_EXT_external_memory_host`.
        var hostImportAlignment: Int?
    }

    static let hostMemoryExtension = "VK_EXT_external_memory_host"

    static func deviceExtensions(_ device: VkPhysicalDevice) -> Set<String> {
        var count: UInt32 = 0
        vkEnumerateDeviceExtensionProperties(device, nil, &count, nil)
        var properties = [VkExtensionProperties](repeating: VkExtensionProperties(), count: Int(count))
        vkEnumerateDeviceExtensionProperties(device, nil, &count, &properties)
        return Set(properties.prefix(Int(count)).map { string(fromTuple: $0.extensionName) })
    }

    /// The host-pointer import alignment, or nil without `VK_EXT_external_memory_host`.
    static func hostImportAlignment(_ device: VkPhysicalDevice) -> Int? {
        guard deviceExtensions(device).contains(hostMemoryExtension) else { return nil }
        var hostProperties = VkPhysicalDeviceExternalMemoryHostPropertiesEXT()
        hostProperties.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT
        return withUnsafeMutablePointer(to: &hostProperties) { pointer in
            var properties = VkPhysicalDeviceProperties2()
            properties.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
            properties.pNext = UnsafeMutableRawPointer(pointer)
            vkGetPhysicalDeviceProperties2(device, &properties)
            return Int(pointer.pointee.minImportedHostPointerAlignment)
        }
    }

    static func hasLayer(_ name: String) -> Bool {
        var count: UInt32 = 0
        vkEnumerateInstanceLayerProperties(&count, nil)
        var layers = [VkLayerProperties](repeating: VkLayerProperties(), count: Int(count))
        vkEnumerateInstanceLayerProperties(&count, &layers)
        return layers.prefix(Int(count)).contains { string(fromTuple: $0.layerName) == name }
    }

    static let swapchainExtension = "VK_KHR_swapchain"
    static let colourSpaceExtension = "VK_EXT_swapchain_colorspace"

    static func instanceExtensions() -> Set<String> {
        var count: UInt32 = 0
        vkEnumerateInstanceExtensionProperties(nil, &count, nil)
        var properties = [VkExtensionProperties](repeating: VkExtensionProperties(), count: Int(count))
        vkEnumerateInstanceExtensionProperties(nil, &count, &properties)
        return Set(properties.prefix(Int(count)).map { string(fromTuple: $0.extensionName) })
    }

    static func makeInstance(validation: Bool, extensions windowExtensions: [String]) throws(RenderError) -> VkInstance
    {
        var instance: VkInstance?
        let layers = validation ? [validationLayer] : []
        // With a window: HDR colour spaces for its surface, where the loader has them.
        let colourSpaces = !windowExtensions.isEmpty && instanceExtensions().contains(colourSpaceExtension)
        let extensions =
            (validation ? ["VK_EXT_debug_utils"] : []) + windowExtensions + (colourSpaces ? [colourSpaceExtension] : [])
        let result = withCStrings(layers) { layerNames in
            withCStrings(extensions) { extensionNames in
                "Reel".withCString { appName in
                    var app = VkApplicationInfo()
                    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO
                    app.pApplicationName = appName
                    app.pEngineName = appName
                    app.apiVersion = reel_VK_API_VERSION_1_2
                    return withUnsafePointer(to: &app) { appPointer in
                        var info = VkInstanceCreateInfo()
                        info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO
                        info.pApplicationInfo = appPointer
                        info.enabledLayerCount = UInt32(layers.count)
                        info.ppEnabledLayerNames = layerNames
                        info.enabledExtensionCount = UInt32(extensions.count)
                        info.ppEnabledExtensionNames = extensionNames
                        return vkCreateInstance(&info, nil, &instance)
                    }
                }
            }
        }
        if result == VK_ERROR_INCOMPATIBLE_DRIVER || result == VK_ERROR_INITIALIZATION_FAILED {
            throw RenderError(
                .noDevice,
                "no usable Vulkan device: the Vulkan loader found no driver (install mesa-vulkan-drivers, or a GPU driver)",
                call: "vkCreateInstance", result: VulkanCall.name(of: result))
        }
        try VulkanCall.check(result, "vkCreateInstance", "cannot create a Vulkan instance")
        return instance!
    }

    static func choosePhysicalDevice(
        instance: VkInstance, preferredName: String?, surface: VkSurfaceKHR?
    ) throws(RenderError) -> Choice {
        var count: UInt32 = 0
        try VulkanCall.check(
            vkEnumeratePhysicalDevices(instance, &count, nil), "vkEnumeratePhysicalDevices",
            "cannot list Vulkan devices")
        var handles = [VkPhysicalDevice?](repeating: nil, count: Int(count))
        try VulkanCall.check(
            vkEnumeratePhysicalDevices(instance, &count, &handles), "vkEnumeratePhysicalDevices",
            "cannot list Vulkan devices")
        var candidates: [Choice] = []
        var rejected: [String] = []
        for case let handle? in handles.prefix(Int(count)) {
            var properties = VkPhysicalDeviceProperties()
            vkGetPhysicalDeviceProperties(handle, &properties)
            let name = string(fromTuple: properties.deviceName)
            let (type, rank) = describe(properties.deviceType)
            if let preferredName, !name.lowercased().contains(preferredName.lowercased()) {
                rejected.append("\(name): name does not match '\(preferredName)'")
                continue
            }
            guard properties.apiVersion >= reel_VK_API_VERSION_1_2 else {
                rejected.append(
                    "\(name): Vulkan \(reel_vk_api_version_major(properties.apiVersion)).\(reel_vk_api_version_minor(properties.apiVersion)) is older than 1.2"
                )
                continue
            }
            guard let family = graphicsQueueFamily(handle, presentingTo: surface) else {
                rejected.append("\(name): no graphics queue\(surface != nil ? " that can present to the window" : "")")
                continue
            }
            if surface != nil && !deviceExtensions(handle).contains(swapchainExtension) {
                rejected.append("\(name): no \(swapchainExtension)")
                continue
            }
            candidates.append(
                Choice(
                    physicalDevice: handle, queueFamily: family, name: name, type: type, rank: rank,
                    hostImportAlignment: hostImportAlignment(handle)))
        }
        if let best = candidates.min(by: { $0.rank < $1.rank }) { return best }
        if count == 0 {
            throw RenderError(
                .noDevice,
                "no usable Vulkan device: no Vulkan device found (install mesa-vulkan-drivers for a CPU renderer)")
        }
        throw RenderError(.noDevice, "no usable Vulkan device: " + rejected.joined(separator: "; "))
    }

    private static func describe(_ type: VkPhysicalDeviceType) -> (String, Int) {
        switch type {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: ("discrete", 0)
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: ("integrated", 1)
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: ("virtual", 2)
        case VK_PHYSICAL_DEVICE_TYPE_CPU: ("cpu", 3)
        default: ("other", 4)
        }
    }

    /// A queue family with graphics (and so compute) that can also present to `surface`, if one is given.
    private static func graphicsQueueFamily(_ device: VkPhysicalDevice, presentingTo surface: VkSurfaceKHR?) -> UInt32?
    {
        var count: UInt32 = 0
        vkGetPhysicalDeviceQueueFamilyProperties(device, &count, nil)
        var families = [VkQueueFamilyProperties](repeating: VkQueueFamilyProperties(), count: Int(count))
        vkGetPhysicalDeviceQueueFamilyProperties(device, &count, &families)
        return families.prefix(Int(count)).indices.first { index in
            guard families[index].queueFlags & VK_QUEUE_GRAPHICS_BIT.rawValue != 0 else { return false }
            guard let surface else { return true }
            var supported = VkBool32(VK_FALSE)
            vkGetPhysicalDeviceSurfaceSupportKHR(device, UInt32(index), surface, &supported)
            return supported == VkBool32(VK_TRUE)
        }.map(UInt32.init)
    }

    /// Whether shaders may use 64-bit integers (`shaderInt64`).
    static func hasInt64(_ device: VkPhysicalDevice) -> Bool {
        var features = VkPhysicalDeviceFeatures()
        vkGetPhysicalDeviceFeatures(device, &features)
        return features.shaderInt64 == VkBool32(VK_TRUE)
    }

    static func makeDevice(
        _ physicalDevice: VkPhysicalDevice, queueFamily: UInt32, extensions: [String], int64: Bool
    ) throws(RenderError) -> VkDevice {
        var priority: Float = 1
        var features = VkPhysicalDeviceFeatures()
        features.shaderInt64 = VkBool32(int64 ? VK_TRUE : VK_FALSE)
        var device: VkDevice?
        let result = withCStrings(extensions) { extensionNames in
            withUnsafePointer(to: &priority) { priorityPointer in
                var queueInfo = VkDeviceQueueCreateInfo()
                queueInfo.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO
                queueInfo.queueFamilyIndex = queueFamily
                queueInfo.queueCount = 1
                queueInfo.pQueuePriorities = priorityPointer
                return withUnsafePointer(to: &queueInfo) { queuePointer in
                    var info = VkDeviceCreateInfo()
                    info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO
                    info.queueCreateInfoCount = 1
                    info.pQueueCreateInfos = queuePointer
                    info.enabledExtensionCount = UInt32(extensions.count)
                    info.ppEnabledExtensionNames = extensionNames
                    return withUnsafePointer(to: &features) { featuresPointer in
                        info.pEnabledFeatures = featuresPointer
                        return vkCreateDevice(physicalDevice, &info, nil, &device)
                    }
                }
            }
        }
        try VulkanCall.check(result, "vkCreateDevice", "cannot create the Vulkan device")
        return device!
    }

    static func makeMessenger(instance: VkInstance, log: ValidationLog) -> VkDebugUtilsMessengerEXT? {
        guard let function = vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT") else { return nil }
        let create = unsafeBitCast(function, to: PFN_vkCreateDebugUtilsMessengerEXT.self)
        var info = VkDebugUtilsMessengerCreateInfoEXT()
        info.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT
        info.messageSeverity =
            VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT.rawValue
            | VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT.rawValue
        info.messageType =
            VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT.rawValue
            | VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT.rawValue
        info.pfnUserCallback = { severity, _, data, context in
            guard let context, let data else { return VkBool32(VK_FALSE) }
            let log = Unmanaged<ValidationLog>.fromOpaque(context).takeUnretainedValue()
            let message = data.pointee.pMessage.map { String(cString: $0) } ?? "(no message)"
            log.record(
                message, isError: severity.rawValue & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT.rawValue != 0)
            return VkBool32(VK_FALSE)
        }
        // The log outlives the messenger: the device holds both and destroys the messenger first.
        info.pUserData = Unmanaged.passUnretained(log).toOpaque()
        var messenger: VkDebugUtilsMessengerEXT?
        guard create(instance, &info, nil, &messenger) == VK_SUCCESS else { return nil }
        return messenger
    }

    static func destroyMessenger(_ messenger: VkDebugUtilsMessengerEXT, instance: VkInstance) {
        guard let function = vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT") else { return }
        unsafeBitCast(function, to: PFN_vkDestroyDebugUtilsMessengerEXT.self)(instance, messenger, nil)
    }
}

/// Calls `body` with a C array of C strings for `strings`, valid during the call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    let duplicates = strings.map { strdup($0) }
    defer { for duplicate in duplicates { free(duplicate) } }
    let pointers = duplicates.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body(strings.isEmpty ? nil : $0.baseAddress) }
}
