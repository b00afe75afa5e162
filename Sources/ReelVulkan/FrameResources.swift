internal import CVulkan
import ReelCore

/// What one frame in flight needs of its own: a command buffer, a fence, a
/// descriptor set, the RGBA output buffer and (on the staging path) a staging buffer.
///
/// Thread-safety: Unsafe; owned by one renderer.
final class FrameResources {
    private let device: VulkanDevice
    let commandBuffer: VkCommandBuffer
    private let fence: VkFence
    let descriptorSet: VkDescriptorSet
    private var boundPlanes: PlaneViews?
    private var stagingBuffer: HostBuffer?
    /// The output buffer, the image size it holds, and whether the host can read it.
    private(set) var currentOutput: (buffer: HostBuffer, size: PixelSize, bytesPerPixel: Int, hostVisible: Bool)?
    /// Submitted and not yet waited for.
    private(set) var pending = false
    /// Which submission last used these resources (tickets carry it).
    var generation = 0

    init(
        device: VulkanDevice, commandPool: VkCommandPool, descriptorPool: VkDescriptorPool,
        setLayout: VkDescriptorSetLayout, colourTable: ColourTable
    ) throws(RenderError) {
        self.device = device
        let vk = device.device
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

        var setLayout: VkDescriptorSetLayout? = setLayout
        var descriptorSet: VkDescriptorSet?
        let setResult = withUnsafePointer(to: &setLayout) { layouts in
            var info = VkDescriptorSetAllocateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
            info.descriptorPool = descriptorPool
            info.descriptorSetCount = 1
            info.pSetLayouts = layouts
            return vkAllocateDescriptorSets(vk, &info, &descriptorSet)
        }
        if setResult != VK_SUCCESS { vkDestroyFence(vk, fence, nil) }
        try VulkanCall.check(setResult, "vkAllocateDescriptorSets", "cannot allocate a descriptor set")
        self.descriptorSet = descriptorSet!
        colourTable.bind(to: self.descriptorSet)
    }

    deinit {
        vkDestroyFence(device.device, fence, nil)
    }

    /// This frame's staging buffer, big enough for `capacity` bytes.
    func staging(capacity: Int) throws(RenderError) -> HostBuffer {
        if let stagingBuffer, stagingBuffer.contents.count >= capacity { return stagingBuffer }
        stagingBuffer = nil
        let buffer = try HostBuffer(
            device: device, size: capacity, usage: VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT.rawValue)
        stagingBuffer = buffer
        return buffer
    }

    /// This frame's RGBA output buffer for an image of `size`, bound to the set: in
    /// host-visible memory, or (`hostVisible` false) where the device writes fastest.
    func output(size: PixelSize, bytesPerPixel: Int, hostVisible: Bool) throws(RenderError) -> HostBuffer {
        if let currentOutput, currentOutput.size == size, currentOutput.bytesPerPixel == bytesPerPixel,
            currentOutput.hostVisible == hostVisible
        {
            return currentOutput.buffer
        }
        currentOutput = nil
        let buffer = try HostBuffer(
            device: device, size: OffscreenRenderer.rowPixels(size.width) * size.height * bytesPerPixel,
            usage: VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue
                | VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue,
            hostVisible: hostVisible)
        var bufferInfo = VkDescriptorBufferInfo(buffer: buffer.buffer, offset: 0, range: reel_VK_WHOLE_SIZE)
        withUnsafePointer(to: &bufferInfo) { info in
            var write = VkWriteDescriptorSet()
            write.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
            write.dstSet = descriptorSet
            write.dstBinding = YUVComputePass.outputBinding
            write.descriptorCount = 1
            write.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
            write.pBufferInfo = info
            vkUpdateDescriptorSets(device.device, 1, &write, 0, nil)
        }
        currentOutput = (buffer, size, bytesPerPixel, hostVisible)
        return buffer
    }

    /// Points the set's plane bindings (0: words, 2: quads) at `views`, only when they change.
    /// Forgets which views the descriptor set holds: they were destroyed (a pool's
    /// import replaced), and new ones may come back with the same handle values.
    func forgetPlanes() { boundPlanes = nil }

    func bindPlanes(_ views: PlaneViews) {
        if boundPlanes == views { return }
        for (binding, view) in [(YUVComputePass.wordsBinding, views.words), (YUVComputePass.quadsBinding, views.quads)]
        {
            var view: VkBufferView? = view
            withUnsafePointer(to: &view) { pointer in
                var write = VkWriteDescriptorSet()
                write.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
                write.dstSet = descriptorSet
                write.dstBinding = binding
                write.descriptorCount = 1
                write.descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
                write.pTexelBufferView = pointer
                vkUpdateDescriptorSets(device.device, 1, &write, 0, nil)
            }
        }
        boundPlanes = views
    }

    /// Submits the recorded commands; with a swapchain `target`, after its image is
    /// acquired, signalling when it may be presented.
    func submit(to queue: VkQueue, target: SwapchainTarget? = nil) throws(RenderError) {
        if let injected = device.faults?.inject(.submit) {
            try VulkanCall.check(injected, "vkQueueSubmit", "cannot submit the frame")
        }
        var commandBuffer: VkCommandBuffer? = commandBuffer
        var waitSemaphore: VkSemaphore? = target?.acquired
        var signalSemaphore: VkSemaphore? = target?.rendered
        var waitStage = VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue
        let result = withUnsafePointer(to: &commandBuffer) { buffers in
            var submit = VkSubmitInfo()
            submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
            submit.commandBufferCount = 1
            submit.pCommandBuffers = buffers
            return withUnsafePointer(to: &waitSemaphore) { wait in
                withUnsafePointer(to: &signalSemaphore) { signal in
                    withUnsafePointer(to: &waitStage) { stage in
                        if target != nil {
                            submit.waitSemaphoreCount = 1
                            submit.pWaitSemaphores = wait
                            submit.pWaitDstStageMask = stage
                            submit.signalSemaphoreCount = 1
                            submit.pSignalSemaphores = signal
                        }
                        return device.queueLock.withLock { _ in vkQueueSubmit(queue, 1, &submit, fence) }
                    }
                }
            }
        }
        try VulkanCall.check(result, "vkQueueSubmit", "cannot submit the frame")
        pending = true
    }

    /// Whether the submitted frame has finished on the GPU (or nothing was submitted):
    /// a fence status query, which never waits.
    func isDone() throws(RenderError) -> Bool {
        guard pending else { return true }
        let result = device.faults?.loss ?? vkGetFenceStatus(device.device, fence)
        if result == VK_NOT_READY { return false }
        try VulkanCall.check(result, "vkGetFenceStatus", "the frame did not finish")
        return true
    }

    /// Whether the submitted frame finishes within `nanoseconds` (waiting that long at most).
    func isDone(within nanoseconds: UInt64) throws(RenderError) -> Bool {
        guard pending else { return true }
        var fence: VkFence? = self.fence
        let result = device.faults?.loss ?? vkWaitForFences(device.device, 1, &fence, VkBool32(VK_TRUE), nanoseconds)
        if result == VK_TIMEOUT { return false }
        try VulkanCall.check(result, "vkWaitForFences", "the frame did not finish")
        return true
    }

    /// Waits for the submitted frame to finish on the GPU.
    func wait() throws(RenderError) {
        guard pending else { return }
        var fence: VkFence? = self.fence
        var result = device.faults?.loss ?? vkWaitForFences(device.device, 1, &fence, VkBool32(VK_TRUE), UInt64.max)
        try VulkanCall.check(result, "vkWaitForFences", "the frame did not finish")
        result = vkResetFences(device.device, 1, &fence)
        try VulkanCall.check(result, "vkResetFences", "cannot reset the fence")
        pending = false
    }
}
