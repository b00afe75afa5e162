internal import CVulkan

/// A buffer in host-visible memory, mapped for its whole life, or (`hostVisible`
/// false) in device-local memory the host never sees.
///
/// Thread-safety: Unsafe; owned by one renderer.
final class HostBuffer {
    private let device: VulkanDevice
    let buffer: VkBuffer
    private let memory: VkDeviceMemory
    /// The mapped bytes; coherent, so host writes need no flush. Empty when not host-visible.
    let contents: UnsafeMutableRawBufferPointer
    /// Texel views of the whole buffer, when made for uniform texel use and `planeViews`.
    private(set) var planeViews: PlaneViews?

    /// `injectsFaults` false: the allocation is not one the fault hook (`REEL_VULKAN_FAULT`)
    /// counts, which are those frames need (a renderer's own tables are not).
    /// `planeViews` false: a texel buffer whose owner makes the one view it reads.
    init(
        device: VulkanDevice, size: Int, usage: VkBufferUsageFlags, hostVisible: Bool = true,
        injectsFaults: Bool = true, planeViews makesPlaneViews: Bool = true
    ) throws(RenderError) {
        self.device = device
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = VkDeviceSize(size)
        info.usage = usage
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        var buffer: VkBuffer?
        try VulkanCall.check(
            vkCreateBuffer(device.device, &info, nil, &buffer), "vkCreateBuffer", "cannot create a \(size)-byte buffer")
        var requirements = VkMemoryRequirements()
        vkGetBufferMemoryRequirements(device.device, buffer, &requirements)
        let visible = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue
        let type =
            hostVisible
            ? device.memoryType(
                typeBits: requirements.memoryTypeBits, required: visible,
                preferred: VK_MEMORY_PROPERTY_HOST_CACHED_BIT.rawValue)
            : device.memoryType(
                typeBits: requirements.memoryTypeBits, required: 0,
                preferred: VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue)
        guard let type else {
            vkDestroyBuffer(device.device, buffer, nil)
            throw RenderError(
                .vulkan, "the device has no \(hostVisible ? "host-visible coherent " : "")memory for a buffer")
        }
        var allocation = VkMemoryAllocateInfo()
        allocation.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
        allocation.allocationSize = requirements.size
        allocation.memoryTypeIndex = type
        var memory: VkDeviceMemory?
        var mapped: UnsafeMutableRawPointer?
        do throws(RenderError) {
            try VulkanCall.check(
                (injectsFaults ? device.faults?.inject(.allocate) : nil)
                    ?? vkAllocateMemory(device.device, &allocation, nil, &memory),
                "vkAllocateMemory",
                "cannot allocate \(size) bytes")
            try VulkanCall.check(
                vkBindBufferMemory(device.device, buffer, memory, 0), "vkBindBufferMemory", "cannot bind buffer memory")
            if hostVisible {
                try VulkanCall.check(
                    vkMapMemory(device.device, memory, 0, reel_VK_WHOLE_SIZE, 0, &mapped), "vkMapMemory",
                    "cannot map buffer memory")
            }
        } catch {
            vkDestroyBuffer(device.device, buffer, nil)
            vkFreeMemory(device.device, memory, nil)
            throw error
        }
        self.buffer = buffer!
        self.memory = memory!
        contents = UnsafeMutableRawBufferPointer(start: mapped, count: mapped == nil ? 0 : size)
        if makesPlaneViews && usage & VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT.rawValue != 0 {
            planeViews = try PlaneViews(device: device, buffer: self.buffer)
        }
    }

    deinit {
        planeViews?.destroy(on: device)
        if contents.baseAddress != nil { vkUnmapMemory(device.device, memory) }
        vkDestroyBuffer(device.device, buffer, nil)
        vkFreeMemory(device.device, memory, nil)
    }
}

/// The two views of a buffer of frame bytes the YCbCr → RGB passes read through
/// (`usamplerBuffer`): 32-bit words for yuv_general.comp, 16-byte quads for
/// yuv420_native.comp.
struct PlaneViews: Equatable {
    let words: VkBufferView
    let quads: VkBufferView

    init(device: VulkanDevice, buffer: VkBuffer) throws(RenderError) {
        words = try Self.makeView(device: device, buffer: buffer, format: VK_FORMAT_R32_UINT)
        do {
            quads = try Self.makeView(device: device, buffer: buffer, format: VK_FORMAT_R32G32B32A32_UINT)
        } catch {
            vkDestroyBufferView(device.device, words, nil)
            throw error
        }
    }

    func destroy(on device: VulkanDevice) {
        vkDestroyBufferView(device.device, words, nil)
        vkDestroyBufferView(device.device, quads, nil)
    }

    static func makeView(
        device: VulkanDevice, buffer: VkBuffer, format: VkFormat
    ) throws(RenderError) -> VkBufferView {
        var info = VkBufferViewCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO
        info.buffer = buffer
        info.format = format
        info.range = reel_VK_WHOLE_SIZE
        var view: VkBufferView?
        try VulkanCall.check(
            vkCreateBufferView(device.device, &info, nil, &view), "vkCreateBufferView", "cannot create a texel view")
        return view!
    }
}
