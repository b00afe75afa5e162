internal import CVulkan
public import ReelCore

/// A rendered picture in host memory: RGBA8, rows `rowBytes` apart.
///
/// The pixels belong to the renderer and stay valid until its next `render` call.
public struct RenderedImage {
    public let size: PixelSize
    public let rowBytes: Int
    package let pixels: UnsafeRawBufferPointer

    /// A copy of the pixels, rows packed.
    public func copyPixels() -> [UInt8] { Array(pixels) }
}

/// Renders pool frames through the YCbCr → RGBA compute pass into a host-visible
/// buffer, one frame at a time: the GPU writes the pixels where the CPU reads them.
///
/// The picture is scaled into the output size with its display aspect kept; the
/// rest of the output is black.
/// Thread-safety: Confined to the render thread.
public final class OffscreenRenderer {
    public let device: VulkanDevice
    let pass: YUVComputePass
    private let commandPool: VkCommandPool
    let commandBuffer: VkCommandBuffer
    private let fence: VkFence
    private let descriptorPool: VkDescriptorPool
    let descriptorSet: VkDescriptorSet
    private var input: HostBuffer?
    private(set) var output: HostBuffer?
    private var outputSize: PixelSize?

    /// Bytes the CPU copied from pool slots into the GPU's input buffer.
    public private(set) var uploadedBytes = 0
    /// Frames rendered.
    public private(set) var renderedFrames = 0
    /// Use the shader's general (any-scale) path even at native scale, so tests can
    /// hold it to the same reference as the fast path.
    package var forcesGeneralPath = false

    public init(device parameters: DeviceParameters = DeviceParameters()) throws(RenderError) {
        let device = try VulkanDevice(parameters: parameters)
        self.device = device
        let vk = device.device
        pass = try YUVComputePass(device: device)

        var poolInfo = VkCommandPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        poolInfo.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT.rawValue
        poolInfo.queueFamilyIndex = device.queueFamily
        var commandPool: VkCommandPool?
        try VulkanCall.check(
            vkCreateCommandPool(vk, &poolInfo, nil, &commandPool), "vkCreateCommandPool", "cannot create a command pool"
        )
        self.commandPool = commandPool!

        var bufferInfo = VkCommandBufferAllocateInfo()
        bufferInfo.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        bufferInfo.commandPool = commandPool
        bufferInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        bufferInfo.commandBufferCount = 1
        var commandBuffer: VkCommandBuffer?
        try VulkanCall.check(
            vkAllocateCommandBuffers(vk, &bufferInfo, &commandBuffer), "vkAllocateCommandBuffers",
            "cannot allocate a command buffer")
        self.commandBuffer = commandBuffer!

        var fenceInfo = VkFenceCreateInfo()
        fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        var fence: VkFence?
        try VulkanCall.check(vkCreateFence(vk, &fenceInfo, nil, &fence), "vkCreateFence", "cannot create a fence")
        self.fence = fence!

        var size = VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptorCount: 2)
        var descriptorPool: VkDescriptorPool?
        let poolResult = withUnsafePointer(to: &size) { sizes in
            var info = VkDescriptorPoolCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
            info.maxSets = 1
            info.poolSizeCount = 1
            info.pPoolSizes = sizes
            return vkCreateDescriptorPool(vk, &info, nil, &descriptorPool)
        }
        try VulkanCall.check(poolResult, "vkCreateDescriptorPool", "cannot create a descriptor pool")
        self.descriptorPool = descriptorPool!

        var setLayout: VkDescriptorSetLayout? = pass.setLayout
        var descriptorSet: VkDescriptorSet?
        let setResult = withUnsafePointer(to: &setLayout) { layouts in
            var info = VkDescriptorSetAllocateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
            info.descriptorPool = descriptorPool
            info.descriptorSetCount = 1
            info.pSetLayouts = layouts
            return vkAllocateDescriptorSets(vk, &info, &descriptorSet)
        }
        try VulkanCall.check(setResult, "vkAllocateDescriptorSets", "cannot allocate a descriptor set")
        self.descriptorSet = descriptorSet!
    }

    deinit {
        let vk = device.device
        vkDeviceWaitIdle(vk)
        output = nil
        input = nil
        vkDestroyDescriptorPool(vk, descriptorPool, nil)
        vkDestroyFence(vk, fence, nil)
        vkDestroyCommandPool(vk, commandPool, nil)
    }

    /// Renders the picture described by `frame`, whose slot bytes are `bytes`, into an
    /// RGBA8 image of `outputSize`, waits for the GPU and returns the pixels.
    package func render(
        _ frame: VideoFrameDescriptor, bytes: UnsafeRawBufferPointer, outputSize: PixelSize
    ) throws(RenderError) -> RenderedImage {
        guard outputSize.width > 0, outputSize.height > 0, outputSize.width <= 16384, outputSize.height <= 16384
        else {
            throw RenderError(.invalidRequest, "output size \(outputSize) is out of range (1…16384 per side)")
        }
        let input = try inputBuffer(capacity: bytes.count)
        input.contents.copyMemory(from: bytes)
        uploadedBytes += bytes.count
        let output = try outputBuffer(size: outputSize)
        let destination = Self.aspectFit(frame.displaySize, into: outputSize)
        try record(frame, outputSize: outputSize, output: output, destination: destination)
        try submitAndWait()
        renderedFrames += 1
        return RenderedImage(
            size: outputSize, rowBytes: outputSize.width * 4, pixels: UnsafeRawBufferPointer(output.contents))
    }

    private func inputBuffer(capacity: Int) throws(RenderError) -> HostBuffer {
        if let input, input.contents.count >= capacity { return input }
        input = nil
        let buffer = try HostBuffer(device: device, size: capacity, usage: VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue)
        bind(buffer, to: 0)
        input = buffer
        return buffer
    }

    private func outputBuffer(size: PixelSize) throws(RenderError) -> HostBuffer {
        if let output, outputSize == size { return output }
        output = nil
        let buffer = try HostBuffer(
            device: device, size: size.width * size.height * 4,
            usage: VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
        bind(buffer, to: 1)
        output = buffer
        outputSize = size
        return buffer
    }

    private func bind(_ buffer: HostBuffer, to binding: UInt32) {
        var bufferInfo = VkDescriptorBufferInfo(buffer: buffer.buffer, offset: 0, range: reel_VK_WHOLE_SIZE)
        withUnsafePointer(to: &bufferInfo) { info in
            var write = VkWriteDescriptorSet()
            write.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
            write.dstSet = descriptorSet
            write.dstBinding = binding
            write.descriptorCount = 1
            write.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
            write.pBufferInfo = info
            vkUpdateDescriptorSets(device.device, 1, &write, 0, nil)
        }
    }

    private func submitAndWait() throws(RenderError) {
        var result = submit()
        try VulkanCall.check(result, "vkQueueSubmit", "cannot submit the frame")
        var fence: VkFence? = self.fence
        result = vkWaitForFences(device.device, 1, &fence, VkBool32(VK_TRUE), UInt64.max)
        try VulkanCall.check(result, "vkWaitForFences", "the frame did not finish")
        try VulkanCall.check(vkResetFences(device.device, 1, &fence), "vkResetFences", "cannot reset the fence")
    }

    private func submit() -> VkResult {
        var commandBuffer: VkCommandBuffer? = commandBuffer
        return withUnsafePointer(to: &commandBuffer) { buffers in
            var submit = VkSubmitInfo()
            submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
            submit.commandBufferCount = 1
            submit.pCommandBuffers = buffers
            return vkQueueSubmit(device.queue, 1, &submit, fence)
        }
    }

    /// The largest rectangle with `picture`'s aspect ratio that fits in `output`, centred.
    static func aspectFit(_ picture: PixelSize, into output: PixelSize) -> (x: Int, y: Int, width: Int, height: Int) {
        if picture == output { return (0, 0, output.width, output.height) }
        let byWidth = output.width * picture.height <= output.height * picture.width
        let width =
            byWidth ? output.width : max(1, (output.height * picture.width + picture.height / 2) / picture.height)
        let height =
            byWidth ? max(1, (output.width * picture.height + picture.width / 2) / picture.width) : output.height
        return ((output.width - width) / 2, (output.height - height) / 2, width, height)
    }
}
