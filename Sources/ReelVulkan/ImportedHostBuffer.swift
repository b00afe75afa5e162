internal import CVulkan

/// A Vulkan buffer over memory the process already has (wraps
/// `VK_EXT_external_memory_host`): the GPU reads it in place, no copy.
///
/// The memory must stay mapped while this lives, and must be aligned, in base and
/// size, to the device's `minImportedHostPointerAlignment`.
/// Thread-safety: Unsafe; owned by one renderer.
final class ImportedHostBuffer {
    private let device: VulkanDevice
    let buffer: VkBuffer
    private let memory: VkDeviceMemory
    /// The whole buffer as 32-bit texels: how the shader reads the pool.
    private(set) var planeViews: PlaneViews?

    init(device: VulkanDevice, memory host: UnsafeMutableRawBufferPointer) throws(RenderError) {
        self.device = device
        let vk = device.device
        guard let alignment = device.hostImportAlignment else {
            throw RenderError(.vulkan, "the device cannot import host memory")
        }
        guard let base = host.baseAddress, Int(bitPattern: base) % alignment == 0, host.count % alignment == 0 else {
            throw RenderError(
                .vulkan, "the frame pool is not aligned to the device's \(alignment)-byte import alignment")
        }
        let handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT
        guard let function = vkGetDeviceProcAddr(vk, "vkGetMemoryHostPointerPropertiesEXT") else {
            throw RenderError(.vulkan, "the device does not provide vkGetMemoryHostPointerPropertiesEXT")
        }
        let hostPointerProperties = unsafeBitCast(function, to: PFN_vkGetMemoryHostPointerPropertiesEXT.self)
        var pointerProperties = VkMemoryHostPointerPropertiesEXT()
        pointerProperties.sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT
        try VulkanCall.check(
            hostPointerProperties(vk, handleType, base, &pointerProperties), "vkGetMemoryHostPointerPropertiesEXT",
            "the device cannot import the frame pool's memory")

        var external = VkExternalMemoryBufferCreateInfo()
        external.sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO
        external.handleTypes = handleType.rawValue
        var buffer: VkBuffer?
        let bufferResult = withUnsafePointer(to: &external) { externalPointer in
            var info = VkBufferCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
            info.pNext = UnsafeRawPointer(externalPointer)
            info.size = VkDeviceSize(host.count)
            info.usage = VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT.rawValue
            info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
            return vkCreateBuffer(vk, &info, nil, &buffer)
        }
        try VulkanCall.check(bufferResult, "vkCreateBuffer", "cannot create a buffer over the frame pool")
        var requirements = VkMemoryRequirements()
        vkGetBufferMemoryRequirements(vk, buffer, &requirements)
        guard
            let type = device.memoryType(
                typeBits: requirements.memoryTypeBits & pointerProperties.memoryTypeBits, required: 0)
        else {
            vkDestroyBuffer(vk, buffer, nil)
            throw RenderError(.vulkan, "no memory type can both hold the buffer and import the frame pool")
        }
        var importInfo = VkImportMemoryHostPointerInfoEXT()
        importInfo.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT
        importInfo.handleType = handleType
        importInfo.pHostPointer = base
        var memory: VkDeviceMemory?
        let allocateResult = withUnsafePointer(to: &importInfo) { importPointer in
            var allocation = VkMemoryAllocateInfo()
            allocation.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
            allocation.pNext = UnsafeRawPointer(importPointer)
            allocation.allocationSize = VkDeviceSize(host.count)
            allocation.memoryTypeIndex = type
            return device.faults?.inject(.allocate) ?? vkAllocateMemory(vk, &allocation, nil, &memory)
        }
        do throws(RenderError) {
            try VulkanCall.check(allocateResult, "vkAllocateMemory", "cannot import the frame pool's memory")
            try VulkanCall.check(
                vkBindBufferMemory(vk, buffer, memory, 0), "vkBindBufferMemory", "cannot bind the frame pool's memory")
        } catch {
            vkDestroyBuffer(vk, buffer, nil)
            vkFreeMemory(vk, memory, nil)
            throw error
        }
        self.buffer = buffer!
        self.memory = memory!
        planeViews = try PlaneViews(device: device, buffer: self.buffer)
    }

    deinit {
        planeViews?.destroy(on: device)
        vkDestroyBuffer(device.device, buffer, nil)
        vkFreeMemory(device.device, memory, nil)
    }
}
