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
        let constants = Self.pushConstants(
            for: frame, slotTexel: slotTexel, outputWidth: outputSize.width, destination: destination, native: native)
        constants.withUnsafeBytes { bytes in
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

    /// The shader's push constants, word for word as `Shaders/yuv_to_rgb.comp` lays them out.
    static func pushConstants(
        for frame: VideoFrameDescriptor, slotTexel: Int, outputWidth: Int,
        destination: (x: Int, y: Int, width: Int, height: Int), native: Bool
    ) -> [UInt32] {
        let format = frame.format
        var rows = YCbCrTransform(matrix: frame.color.matrix, range: frame.color.range, bitDepth: format.bitDepth).rows
        if !format.hasChroma {
            // Gray: the shader reads no chroma; fold neutral Cb = Cr = mid-code into the constants.
            let mid = Float(128 << (format.bitDepth - 8))
            rows = rows.map { SIMD4($0.x, 0, 0, $0.w + ($0.y + $0.z) * mid) }
        }
        let luma = frame.planes[0]
        let chroma = frame.planes.count > 1 ? frame.planes[1] : luma
        let crOffset = frame.planes.count > 2 ? frame.planes[2].offset : chroma.offset
        let shift = format.chromaShift
        let siting = frame.color.chromaLocation.offset
        // Chroma siting in half luma samples (0, 1 or 2), only where chroma is subsampled.
        let sitingHalves = [shift.x > 0 ? siting.x : 0, shift.y > 0 ? siting.y : 0].map { Int32(($0 * 2).rounded()) }
        var flags: UInt32 = native ? 1 : 0
        if format.bytesPerSample == 2 { flags |= 2 }
        if format.interleavesChroma { flags |= 4 }
        if !format.hasChroma { flags |= 8 }
        flags |= UInt32(format.sampleShift) << 4 | UInt32(shift.x) << 8 | UInt32(shift.y) << 9
        var words: [UInt32] = []
        words.reserveCapacity(YUVComputePass.pushConstantSize / 4)
        for row in rows { words += [row.x, row.y, row.z, row.w].map(\.bitPattern) }
        words += [destination.x, destination.y, destination.width, destination.height].map { UInt32($0) }
        words += [luma.offset, chroma.offset, crOffset, luma.stride].map { UInt32($0) }
        words += [frame.width, frame.height, chroma.width, chroma.height].map { UInt32($0) }
        words += sitingHalves.map { UInt32(bitPattern: $0) }
        words += [UInt32(chroma.stride), UInt32(outputWidth), flags, UInt32(slotTexel)]
        assert(words.count * 4 == YUVComputePass.pushConstantSize)
        return words
    }
}
