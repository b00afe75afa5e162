internal import CVulkan
import ReelCore

extension OffscreenRenderer {
    /// Records: clear, draw the picture into `destination`, copy the image out to host memory.
    func record(
        _ frame: VideoFrameDescriptor, target: OffscreenTarget, destination: (x: Int, y: Int, width: Int, height: Int)
    ) throws(RenderError) {
        let commands = commandBufferHandle
        try VulkanCall.check(
            vkResetCommandBuffer(commands, 0), "vkResetCommandBuffer", "cannot reset the command buffer")
        var begin = VkCommandBufferBeginInfo()
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue
        try VulkanCall.check(vkBeginCommandBuffer(commands, &begin), "vkBeginCommandBuffer", "cannot record the frame")

        let extent = VkExtent2D(width: UInt32(target.size.width), height: UInt32(target.size.height))
        var clear = VkClearValue(color: VkClearColorValue(float32: (0, 0, 0, 1)))
        withUnsafePointer(to: &clear) { clearPointer in
            var passBegin = VkRenderPassBeginInfo()
            passBegin.sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO
            passBegin.renderPass = passHandle.renderPass
            passBegin.framebuffer = target.framebuffer
            passBegin.renderArea = VkRect2D(offset: VkOffset2D(x: 0, y: 0), extent: extent)
            passBegin.clearValueCount = 1
            passBegin.pClearValues = clearPointer
            vkCmdBeginRenderPass(commands, &passBegin, VK_SUBPASS_CONTENTS_INLINE)
        }
        vkCmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_GRAPHICS, passHandle.pipeline)
        var set: VkDescriptorSet? = descriptorSetHandle
        vkCmdBindDescriptorSets(
            commands, VK_PIPELINE_BIND_POINT_GRAPHICS, passHandle.pipelineLayout, 0, 1, &set, 0, nil)
        var viewport = VkViewport(
            x: 0, y: 0, width: Float(extent.width), height: Float(extent.height), minDepth: 0, maxDepth: 1)
        vkCmdSetViewport(commands, 0, 1, &viewport)
        var scissor = VkRect2D(
            offset: VkOffset2D(x: Int32(destination.x), y: Int32(destination.y)),
            extent: VkExtent2D(width: UInt32(destination.width), height: UInt32(destination.height)))
        vkCmdSetScissor(commands, 0, 1, &scissor)
        let constants = Self.pushConstants(for: frame, destination: destination)
        constants.withUnsafeBytes { bytes in
            vkCmdPushConstants(
                commands, passHandle.pipelineLayout, VK_SHADER_STAGE_FRAGMENT_BIT.rawValue, 0, UInt32(bytes.count),
                bytes.baseAddress)
        }
        vkCmdDraw(commands, 3, 1, 0, 0)
        vkCmdEndRenderPass(commands)

        var region = VkBufferImageCopy()
        region.imageSubresource = VkImageSubresourceLayers(
            aspectMask: VK_IMAGE_ASPECT_COLOR_BIT.rawValue, mipLevel: 0, baseArrayLayer: 0, layerCount: 1)
        region.imageExtent = VkExtent3D(width: extent.width, height: extent.height, depth: 1)
        vkCmdCopyImageToBuffer(
            commands, target.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, target.readback.buffer, 1, &region)
        var toHost = VkBufferMemoryBarrier()
        toHost.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER
        toHost.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
        toHost.dstAccessMask = VK_ACCESS_HOST_READ_BIT.rawValue
        toHost.srcQueueFamilyIndex = reel_VK_QUEUE_FAMILY_IGNORED
        toHost.dstQueueFamilyIndex = reel_VK_QUEUE_FAMILY_IGNORED
        toHost.buffer = target.readback.buffer
        toHost.size = reel_VK_WHOLE_SIZE
        vkCmdPipelineBarrier(
            commands, VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue, VK_PIPELINE_STAGE_HOST_BIT.rawValue, 0, 0, nil, 1,
            &toHost, 0, nil)
        try VulkanCall.check(vkEndCommandBuffer(commands), "vkEndCommandBuffer", "cannot record the frame")
    }

    /// The fragment shader's push constants, word for word as `Shaders/yuv_to_rgb.frag` lays them out.
    static func pushConstants(
        for frame: VideoFrameDescriptor, destination: (x: Int, y: Int, width: Int, height: Int)
    ) -> [UInt32] {
        let transform = YCbCrTransform(
            matrix: frame.color.matrix, range: frame.color.range, bitDepth: frame.format.bitDepth)
        let luma = frame.planes[0]
        let chroma = frame.planes[1]
        let shift = frame.format.chromaShift
        let siting = frame.color.chromaLocation.offset
        var words: [UInt32] = []
        words.reserveCapacity(YUVPass.pushConstantSize / 4)
        for row in transform.rows { words += [row.x, row.y, row.z, row.w].map(\.bitPattern) }
        words += [destination.x, destination.y, destination.width, destination.height].map { Float($0).bitPattern }
        words += [luma.offset, chroma.offset, frame.planes[2].offset, luma.stride].map { UInt32($0) }
        words += [frame.width, frame.height, chroma.width, chroma.height].map { UInt32($0) }
        // Siting offsets are for a factor-2 subsampling; a full-resolution direction has none.
        words += [shift.x > 0 ? siting.x : 0, shift.y > 0 ? siting.y : 0].map { Float($0).bitPattern }
        words += [Float(1 << shift.x).bitPattern, Float(1 << shift.y).bitPattern]
        words.append(UInt32(chroma.stride))
        assert(words.count * 4 == YUVPass.pushConstantSize)
        return words
    }
}
