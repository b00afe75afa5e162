internal import CVulkan
import ReelCore

extension OffscreenRenderer {
    /// Records: black bars when the picture does not fill the output, the YCbCr → RGBA
    /// dispatch over the picture's rectangle, then a barrier that makes the pixels
    /// visible to the host.
    func record(
        _ frame: VideoFrameDescriptor, slotTexel: Int, into frameResources: FrameResources, outputSize: PixelSize,
        output: HostBuffer, destination: (x: Int, y: Int, width: Int, height: Int)
    ) throws(RenderError) {
        let commands = frameResources.commandBuffer
        try VulkanCall.check(
            vkResetCommandBuffer(commands, 0), "vkResetCommandBuffer", "cannot reset the command buffer")
        var begin = VkCommandBufferBeginInfo()
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue
        try VulkanCall.check(vkBeginCommandBuffer(commands, &begin), "vkBeginCommandBuffer", "cannot record the frame")

        let fillsOutput = destination.width == outputSize.width && destination.height == outputSize.height
        if !fillsOutput {
            // Opaque black, little-endian RGBA.
            vkCmdFillBuffer(commands, output.buffer, 0, reel_VK_WHOLE_SIZE, 0xFF00_0000)
            barrier(
                commands, output.buffer, from: (VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT),
                to: (VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT))
        }
        vkCmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, pass.pipeline)
        var set: VkDescriptorSet? = frameResources.descriptorSet
        vkCmdBindDescriptorSets(commands, VK_PIPELINE_BIND_POINT_COMPUTE, pass.pipelineLayout, 0, 1, &set, 0, nil)
        let native =
            !forcesGeneralPath && frame.format == .yuv420p && destination.width == frame.width
            && destination.height == frame.height
        Self.writePushConstants(
            into: &pushConstantWords, for: frame, slotTexel: slotTexel, outputWidth: outputSize.width,
            destination: destination, native: native)
        pushConstantWords.withUnsafeBytes { bytes in
            vkCmdPushConstants(
                commands, pass.pipelineLayout, VK_SHADER_STAGE_COMPUTE_BIT.rawValue, 0, UInt32(bytes.count),
                bytes.baseAddress)
        }
        let block = YUVComputePass.blockSize(native: native)
        let group = YUVComputePass.workgroupSize
        let groupWidth = block.width * group.width
        let groupHeight = block.height * group.height
        vkCmdDispatch(
            commands, UInt32((destination.width + groupWidth - 1) / groupWidth),
            UInt32((destination.height + groupHeight - 1) / groupHeight), 1)
        barrier(
            commands, output.buffer, from: (VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT),
            to: (VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT))
        try VulkanCall.check(vkEndCommandBuffer(commands), "vkEndCommandBuffer", "cannot record the frame")
    }

    private func barrier(
        _ commands: VkCommandBuffer, _ buffer: VkBuffer,
        from source: (VkPipelineStageFlagBits, VkAccessFlagBits),
        to destination: (VkPipelineStageFlagBits, VkAccessFlagBits)
    ) {
        var barrier = VkBufferMemoryBarrier()
        barrier.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER
        barrier.srcAccessMask = source.1.rawValue
        barrier.dstAccessMask = destination.1.rawValue
        barrier.srcQueueFamilyIndex = reel_VK_QUEUE_FAMILY_IGNORED
        barrier.dstQueueFamilyIndex = reel_VK_QUEUE_FAMILY_IGNORED
        barrier.buffer = buffer
        barrier.size = reel_VK_WHOLE_SIZE
        vkCmdPipelineBarrier(commands, source.0.rawValue, destination.0.rawValue, 0, 0, nil, 1, &barrier, 0, nil)
    }

    /// Writes the shader's push constants into `words` (sized
    /// `YUVComputePass.pushConstantSize / 4`, reused every frame: nothing is allocated),
    /// word for word as `Shaders/yuv_to_rgb.comp` lays them out.
    static func writePushConstants(
        into words: inout [UInt32], for frame: VideoFrameDescriptor, slotTexel: Int, outputWidth: Int,
        destination: (x: Int, y: Int, width: Int, height: Int), native: Bool
    ) {
        precondition(words.count == YUVComputePass.pushConstantSize / 4, "push constant buffer has the wrong size")
        let format = frame.format
        var transform = YCbCrTransform(matrix: frame.color.matrix, range: frame.color.range, bitDepth: format.bitDepth)
        if !format.hasChroma { transform = transform.foldingNeutralChroma(bitDepth: format.bitDepth) }
        let luma = frame.planes[0]
        let chroma = frame.planes.count > 1 ? frame.planes[1] : luma
        let crOffset = frame.planes.count > 2 ? frame.planes[2].offset : chroma.offset
        let shift = format.chromaShift
        let siting = frame.color.chromaLocation.offset
        var flags: UInt32 = native ? 1 : 0
        if format.bytesPerSample == 2 { flags |= 2 }
        if format.interleavesChroma { flags |= 4 }
        if !format.hasChroma { flags |= 8 }
        flags |= UInt32(format.sampleShift) << 4 | UInt32(shift.x) << 8 | UInt32(shift.y) << 9

        var index = 0
        func put(_ value: UInt32) {
            words[index] = value
            index += 1
        }
        func put(_ value: Int) { put(UInt32(value)) }
        func put(_ row: SIMD4<Float>) {
            for lane in 0..<4 { put(row[lane].bitPattern) }
        }
        /// Chroma siting in half luma samples (0, 1 or 2), only where chroma is subsampled.
        func putSiting(_ offset: Double, subsampled: Bool) {
            put(UInt32(bitPattern: subsampled ? Int32((offset * 2).rounded()) : 0))
        }
        put(transform.red)
        put(transform.green)
        put(transform.blue)
        put(destination.x)
        put(destination.y)
        put(destination.width)
        put(destination.height)
        put(luma.offset)
        put(chroma.offset)
        put(crOffset)
        put(luma.stride)
        put(frame.width)
        put(frame.height)
        put(chroma.width)
        put(chroma.height)
        putSiting(siting.x, subsampled: shift.x > 0)
        putSiting(siting.y, subsampled: shift.y > 0)
        put(chroma.stride)
        put(outputWidth)
        put(flags)
        put(slotTexel)
        assert(index == words.count, "push constants do not fill the block")
    }
}
