internal import CVulkan
import ReelCore

/// An RGBA8 image to render into, its framebuffer, and a host buffer it is copied
/// into for reading back.
///
/// Thread-safety: Unsafe; owned by one renderer.
final class OffscreenTarget {
    static let format = VK_FORMAT_R8G8B8A8_UNORM

    private let device: VulkanDevice
    let size: PixelSize
    let image: VkImage
    private let memory: VkDeviceMemory
    private let view: VkImageView
    let framebuffer: VkFramebuffer
    let readback: HostBuffer

    init(device: VulkanDevice, size: PixelSize, renderPass: VkRenderPass) throws(RenderError) {
        self.device = device
        self.size = size
        let vk = device.device
        var info = VkImageCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO
        info.imageType = VK_IMAGE_TYPE_2D
        info.format = Self.format
        info.extent = VkExtent3D(width: UInt32(size.width), height: UInt32(size.height), depth: 1)
        info.mipLevels = 1
        info.arrayLayers = 1
        info.samples = VK_SAMPLE_COUNT_1_BIT
        info.tiling = VK_IMAGE_TILING_OPTIMAL
        info.usage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT.rawValue | VK_IMAGE_USAGE_TRANSFER_SRC_BIT.rawValue
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        info.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED
        var image: VkImage?
        try VulkanCall.check(
            vkCreateImage(vk, &info, nil, &image), "vkCreateImage", "cannot create a \(size) target image")
        var requirements = VkMemoryRequirements()
        vkGetImageMemoryRequirements(vk, image, &requirements)
        var memory: VkDeviceMemory?
        var view: VkImageView?
        var framebuffer: VkFramebuffer?
        do throws(RenderError) {
            guard
                let type = device.memoryType(
                    typeBits: requirements.memoryTypeBits, required: 0,
                    preferred: VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue)
            else { throw RenderError(.vulkan, "the device has no memory for a \(size) image") }
            var allocation = VkMemoryAllocateInfo()
            allocation.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
            allocation.allocationSize = requirements.size
            allocation.memoryTypeIndex = type
            try VulkanCall.check(
                vkAllocateMemory(vk, &allocation, nil, &memory), "vkAllocateMemory", "cannot allocate the target image")
            try VulkanCall.check(
                vkBindImageMemory(vk, image, memory, 0), "vkBindImageMemory", "cannot bind the target image")

            var viewInfo = VkImageViewCreateInfo()
            viewInfo.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO
            viewInfo.image = image
            viewInfo.viewType = VK_IMAGE_VIEW_TYPE_2D
            viewInfo.format = Self.format
            viewInfo.subresourceRange = Self.colorRange
            try VulkanCall.check(
                vkCreateImageView(vk, &viewInfo, nil, &view), "vkCreateImageView", "cannot create the target view")

            var attachment: VkImageView? = view
            var framebufferInfo = VkFramebufferCreateInfo()
            framebufferInfo.sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO
            framebufferInfo.renderPass = renderPass
            framebufferInfo.attachmentCount = 1
            framebufferInfo.width = UInt32(size.width)
            framebufferInfo.height = UInt32(size.height)
            framebufferInfo.layers = 1
            let result = withUnsafePointer(to: &attachment) { pointer in
                framebufferInfo.pAttachments = pointer
                return vkCreateFramebuffer(vk, &framebufferInfo, nil, &framebuffer)
            }
            try VulkanCall.check(result, "vkCreateFramebuffer", "cannot create the target framebuffer")
            readback = try HostBuffer(
                device: device, size: size.width * size.height * 4, usage: VK_BUFFER_USAGE_TRANSFER_DST_BIT)
        } catch {
            vkDestroyFramebuffer(vk, framebuffer, nil)
            vkDestroyImageView(vk, view, nil)
            vkDestroyImage(vk, image, nil)
            vkFreeMemory(vk, memory, nil)
            throw error
        }
        self.image = image!
        self.memory = memory!
        self.view = view!
        self.framebuffer = framebuffer!
    }

    deinit {
        let vk = device.device
        vkDestroyFramebuffer(vk, framebuffer, nil)
        vkDestroyImageView(vk, view, nil)
        vkDestroyImage(vk, image, nil)
        vkFreeMemory(vk, memory, nil)
    }

    static let colorRange = VkImageSubresourceRange(
        aspectMask: VK_IMAGE_ASPECT_COLOR_BIT.rawValue, baseMipLevel: 0, levelCount: 1, baseArrayLayer: 0, layerCount: 1
    )
}
