internal import CVulkan
public import ReelCore
public import ReelFramePool

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

/// How frames reach the GPU.
public enum InputPath: String, Sendable, Codable {
    /// The frame pool is imported into Vulkan and read in place: no CPU copy.
    case hostImport = "host-import"
    /// Each frame is copied into a staging buffer the GPU reads.
    case staging
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
    /// The frame pool imported into Vulkan, when the device reads it in place.
    private var importedPool: (pool: FramePool, buffer: ImportedHostBuffer)?
    /// The staging buffer frames are copied into when it does not.
    private var staging: HostBuffer?
    /// The buffer whose texel view is bound to the planes binding, and that view.
    private var boundPlanes: (buffer: VkBuffer, view: VkBufferView)?
    private(set) var output: HostBuffer?
    private var outputSize: PixelSize?

    /// How frames reach the GPU: `.hostImport` (read in place) or `.staging` (copied).
    public private(set) var inputPath: InputPath = .staging
    /// Why the pool could not be imported, when the device could have read it in place.
    public private(set) var importFailure: String?
    /// Bytes the CPU copied from pool slots into the GPU's staging buffer.
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

        var sizes = [
            VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, descriptorCount: 1),
            VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptorCount: 1),
        ]
        var descriptorPool: VkDescriptorPool?
        let poolResult = sizes.withUnsafeMutableBufferPointer { sizes in
            var info = VkDescriptorPoolCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
            info.maxSets = 1
            info.poolSizeCount = UInt32(sizes.count)
            info.pPoolSizes = UnsafePointer(sizes.baseAddress)
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
        if let boundPlanes { vkDestroyBufferView(vk, boundPlanes.view, nil) }
        staging = nil
        importedPool = nil
        vkDestroyDescriptorPool(vk, descriptorPool, nil)
        vkDestroyFence(vk, fence, nil)
        vkDestroyCommandPool(vk, commandPool, nil)
    }

    /// Renders the picture described by `frame`, held in `slot` of `pool`, into an
    /// RGBA8 image of `outputSize`, waits for the GPU and returns the pixels.
    ///
    /// The first frame from a pool imports the pool's whole mapping into Vulkan when
    /// the device allows it; from then on the GPU reads each slot in place. The
    /// renderer keeps the pool alive while it is imported.
    public func render(
        _ frame: VideoFrameDescriptor, in pool: FramePool, slot: Int, outputSize: PixelSize
    ) throws(RenderError) -> RenderedImage {
        guard outputSize.width > 0, outputSize.height > 0, outputSize.width <= 16384, outputSize.height <= 16384
        else {
            throw RenderError(.invalidRequest, "output size \(outputSize) is out of range (1…16384 per side)")
        }
        let slotTexel = try bindPlanes(of: pool, slot: slot)
        let output = try outputBuffer(size: outputSize)
        let destination = Self.aspectFit(frame.displaySize, into: outputSize)
        try record(
            frame, slotTexel: slotTexel, outputSize: outputSize, output: output, destination: destination)
        try submitAndWait()
        renderedFrames += 1
        return RenderedImage(
            size: outputSize, rowBytes: outputSize.width * 4, pixels: UnsafeRawBufferPointer(output.contents))
    }

    /// Makes `slot`'s bytes readable by the shader and returns the slot's first texel:
    /// in place from the imported pool, or copied into the staging buffer.
    private func bindPlanes(of pool: FramePool, slot: Int) throws(RenderError) -> Int {
        if let imported = try importedBuffer(for: pool) {
            inputPath = .hostImport
            try bindPlanes(imported.buffer)
            return slot * pool.layout.slotSize / 4
        }
        inputPath = .staging
        let slotBytes = pool.bytes(of: slot)
        let staging = try stagingBuffer(capacity: slotBytes.count)
        staging.contents.copyMemory(from: UnsafeRawBufferPointer(slotBytes))
        uploadedBytes += slotBytes.count
        try bindPlanes(staging.buffer)
        return 0
    }

    private func importedBuffer(for pool: FramePool) throws(RenderError) -> ImportedHostBuffer? {
        if let importedPool, importedPool.pool === pool { return importedPool.buffer }
        guard device.hostImportAlignment != nil, importFailure == nil else { return nil }
        importedPool = nil
        guard pool.byteCount / 4 <= device.maxTexelBufferElements else {
            importFailure =
                "the frame pool (\(pool.byteCount) bytes) is larger than the device's texel buffer limit"
            return nil
        }
        do {
            let buffer = try ImportedHostBuffer(device: device, memory: pool.mapping)
            importedPool = (pool, buffer)
            return buffer
        } catch {
            // Not fatal: the staging copy works everywhere.
            importFailure = error.description
            return nil
        }
    }

    private func stagingBuffer(capacity: Int) throws(RenderError) -> HostBuffer {
        if let staging, staging.contents.count >= capacity { return staging }
        guard capacity / 4 <= device.maxTexelBufferElements else {
            throw RenderError(.invalidRequest, "a \(capacity)-byte frame exceeds the device's texel buffer limit")
        }
        staging = nil
        let buffer = try HostBuffer(
            device: device, size: capacity, usage: VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT.rawValue)
        staging = buffer
        return buffer
    }

    /// Binds a 32-bit texel view of `buffer` to the planes binding (a new view only
    /// when the buffer changes: a new pool, or a bigger staging buffer).
    private func bindPlanes(_ buffer: VkBuffer) throws(RenderError) {
        if let boundPlanes, boundPlanes.buffer == buffer { return }
        var viewInfo = VkBufferViewCreateInfo()
        viewInfo.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO
        viewInfo.buffer = buffer
        viewInfo.format = VK_FORMAT_R32_UINT
        viewInfo.range = reel_VK_WHOLE_SIZE
        var view: VkBufferView?
        try VulkanCall.check(
            vkCreateBufferView(device.device, &viewInfo, nil, &view), "vkCreateBufferView",
            "cannot create a texel view of the frame's planes")
        if let boundPlanes { vkDestroyBufferView(device.device, boundPlanes.view, nil) }
        boundPlanes = (buffer, view!)
        withUnsafePointer(to: &view) { views in
            var write = VkWriteDescriptorSet()
            write.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
            write.dstSet = descriptorSet
            write.dstBinding = 0
            write.descriptorCount = 1
            write.descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
            write.pTexelBufferView = views
            vkUpdateDescriptorSets(device.device, 1, &write, 0, nil)
        }
    }

    private func outputBuffer(size: PixelSize) throws(RenderError) -> HostBuffer {
        if let output, outputSize == size { return output }
        output = nil
        let buffer = try HostBuffer(
            device: device, size: size.width * size.height * 4,
            usage: VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
        bindOutput(buffer.buffer)
        output = buffer
        outputSize = size
        return buffer
    }

    private func bindOutput(_ buffer: VkBuffer) {
        var bufferInfo = VkDescriptorBufferInfo(buffer: buffer, offset: 0, range: reel_VK_WHOLE_SIZE)
        withUnsafePointer(to: &bufferInfo) { info in
            var write = VkWriteDescriptorSet()
            write.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
            write.dstSet = descriptorSet
            write.dstBinding = 1
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
