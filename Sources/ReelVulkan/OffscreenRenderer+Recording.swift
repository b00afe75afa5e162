internal import CVulkan
import ReelCore

extension OffscreenRenderer {
    /// Records: black bars when the picture does not fill the output, the YCbCr → RGBA
    /// dispatch over the picture's rectangle, then a barrier that makes the pixels
    /// visible to the host.
    func record(
        _ frame: VideoFrameDescriptor, slotTexel: Int, into frameResources: FrameResources, outputSize: PixelSize,
        output: HostBuffer, destination: (x: Int, y: Int, width: Int, height: Int), target: SwapchainTarget?
    ) throws(RenderError) {
        let commands = frameResources.commandBuffer
        try VulkanCall.check(
            vkResetCommandBuffer(commands, 0), "vkResetCommandBuffer", "cannot reset the command buffer")
        var begin = VkCommandBufferBeginInfo()
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue
        try VulkanCall.check(vkBeginCommandBuffer(commands, &begin), "vkBeginCommandBuffer", "cannot record the frame")

        let fillsOutput = destination.width == outputSize.width && destination.height == outputSize.height
        if !fillsOutput && !outputFormat.isDeep {
            // Opaque black, little-endian RGBA.
            vkCmdFillBuffer(commands, output.buffer, 0, reel_VK_WHOLE_SIZE, 0xFF00_0000)
            barrier(
                commands, output.buffer, from: (VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT),
                to: (VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT))
        }
        var set: VkDescriptorSet? = frameResources.descriptorSet
        vkCmdBindDescriptorSets(commands, VK_PIPELINE_BIND_POINT_COMPUTE, pass.pipelineLayout, 0, 1, &set, 0, nil)
        let plan = dispatchPlan(for: frame, destination: destination, outputSize: outputSize)
        let colour = colourPlan(for: frame.color)
        // 8-bit outputs map colour through the table (deeper ones compute it exactly).
        if let colour, !outputFormat.isDeep {
            try colourTable.record(for: colour, pass: pass, into: commands)
            vkCmdBindDescriptorSets(commands, VK_PIPELINE_BIND_POINT_COMPUTE, pass.pipelineLayout, 0, 1, &set, 0, nil)
        }
        if let blocks = plan.nativeBlocks, let native = try pass.native(for: frame.format, colour: colour) {
            let width = blocks.columns * DispatchPlan.nativeBlock.width
            let height = blocks.rows * DispatchPlan.nativeBlock.height
            vkCmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, native)
            pushConstants(
                commands, frame: frame, slotTexel: slotTexel, outputWidth: Self.rowPixels(outputSize.width),
                destination: destination, region: DispatchPlan.Region(x0: 0, y0: 0, x1: width, y1: height),
                regionColumns: blocks.columns, mapsColour: colour != nil)
            vkCmdDispatch(commands, UInt32(DispatchPlan.nativeGroups(blocks)), 1, 1)
        }
        if !plan.general.isEmpty {
            let pipeline = try pass.general(
                YUVComputePass.GeneralVariant(format: frame.format, output: outputFormat, colour: colour))
            vkCmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline)
        }
        for region in plan.general {
            pushConstants(
                commands, frame: frame, slotTexel: slotTexel, outputWidth: Self.rowPixels(outputSize.width),
                destination: destination, region: region, regionColumns: 0, mapsColour: colour != nil)
            let groups = DispatchPlan.generalGroups(region)
            vkCmdDispatch(commands, UInt32(groups.x), UInt32(groups.y), 1)
        }
        if let target {
            recordCopy(commands, from: output.buffer, outputSize: outputSize, to: target)
        } else if readsBack {
            barrier(
                commands, output.buffer, from: (VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT),
                to: (VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT))
        }
        try VulkanCall.check(vkEndCommandBuffer(commands), "vkEndCommandBuffer", "cannot record the frame")
    }

    /// The frame's plan: the last one when nothing it depends on changed (every frame
    /// of a stream, usually), so that recording allocates nothing.
    private func dispatchPlan(
        for frame: VideoFrameDescriptor, destination: (x: Int, y: Int, width: Int, height: Int), outputSize: PixelSize
    ) -> DispatchPlan {
        var geometry = frame
        geometry.presentationTime = nil
        let key = PlanKey(
            frame: geometry, destinationOrigin: PixelSize(width: destination.x, height: destination.y),
            destinationSize: PixelSize(width: destination.width, height: destination.height), outputSize: outputSize,
            outputFormat: outputFormat, forcesGeneralPath: forcesGeneralPath)
        if let lastPlan, planKey == key { return lastPlan }
        // RGBA16 and A2B10G10R10 go through the general pass alone, over the whole
        // output: it paints the bars too (a fill cannot write RGBA16's two-word black).
        let plan =
            outputFormat.isDeep
            ? DispatchPlan(wholeOutput: outputSize, destination: destination)
            : DispatchPlan(
                frame: frame, destination: destination, outputWidth: Self.rowPixels(outputSize.width),
                nativeAvailable: pass.hasNativePass && !forcesGeneralPath)
        lastPlan = plan
        planKey = key
        return plan
    }

    /// Copies the rendered BGRA8 buffer into the swapchain image and leaves the image
    /// ready to present.
    private func recordCopy(
        _ commands: VkCommandBuffer, from buffer: VkBuffer, outputSize: PixelSize, to target: SwapchainTarget
    ) {
        barrier(
            commands, buffer, from: (VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT),
            to: (VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT))
        imageBarrier(
            commands, target.image, from: VK_IMAGE_LAYOUT_UNDEFINED, to: VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
            access: (0, VK_ACCESS_TRANSFER_WRITE_BIT.rawValue),
            stages: (VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT))
        var region = VkBufferImageCopy()
        region.bufferRowLength = UInt32(Self.rowPixels(outputSize.width))
        region.imageSubresource = VkImageSubresourceLayers(
            aspectMask: VK_IMAGE_ASPECT_COLOR_BIT.rawValue, mipLevel: 0, baseArrayLayer: 0, layerCount: 1)
        region.imageExtent = VkExtent3D(width: UInt32(outputSize.width), height: UInt32(outputSize.height), depth: 1)
        vkCmdCopyBufferToImage(commands, buffer, target.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region)
        imageBarrier(
            commands, target.image, from: VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, to: VK_IMAGE_LAYOUT_PRESENT_SRC_KHR,
            access: (VK_ACCESS_TRANSFER_WRITE_BIT.rawValue, 0),
            stages: (VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT))
    }

    private func imageBarrier(
        _ commands: VkCommandBuffer, _ image: VkImage, from old: VkImageLayout, to new: VkImageLayout,
        access: (VkAccessFlags, VkAccessFlags), stages: (VkPipelineStageFlagBits, VkPipelineStageFlagBits)
    ) {
        var barrier = VkImageMemoryBarrier()
        barrier.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER
        barrier.srcAccessMask = access.0
        barrier.dstAccessMask = access.1
        barrier.oldLayout = old
        barrier.newLayout = new
        barrier.srcQueueFamilyIndex = reel_VK_QUEUE_FAMILY_IGNORED
        barrier.dstQueueFamilyIndex = reel_VK_QUEUE_FAMILY_IGNORED
        barrier.image = image
        barrier.subresourceRange = VkImageSubresourceRange(
            aspectMask: VK_IMAGE_ASPECT_COLOR_BIT.rawValue, baseMipLevel: 0, levelCount: 1, baseArrayLayer: 0,
            layerCount: 1)
        vkCmdPipelineBarrier(commands, stages.0.rawValue, stages.1.rawValue, 0, 0, nil, 0, nil, 1, &barrier)
    }

    private func pushConstants(
        _ commands: VkCommandBuffer, frame: VideoFrameDescriptor, slotTexel: Int, outputWidth: Int,
        destination: (x: Int, y: Int, width: Int, height: Int), region: DispatchPlan.Region, regionColumns: Int,
        mapsColour: Bool
    ) {
        Self.writePushConstants(
            into: &pushConstantWords, for: frame, slotTexel: slotTexel, outputWidth: outputWidth,
            destination: destination, region: region, regionColumns: regionColumns, output: outputFormat,
            mapsColour: mapsColour)
        pushConstantWords.withUnsafeBytes { bytes in
            vkCmdPushConstants(
                commands, pass.pipelineLayout, VK_SHADER_STAGE_COMPUTE_BIT.rawValue, 0, UInt32(bytes.count),
                bytes.baseAddress)
        }
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

    /// What the pass does to the colour of a picture described by `colour` for this
    /// renderer's target and output format: nil when nothing (SDR in, SDR out).
    func colourPlan(for colour: ColorDescription) -> ColourPlan? {
        guard var plan = ColourPlan(for: colour, target: colourTarget) else { return nil }
        plan.swapsRedAndBlue = outputFormat == .bgra8
        return plan
    }

    /// Writes the shaders' push constants into `words` (sized
    /// `YUVComputePass.pushConstantSize / 4`, reused every frame: nothing is allocated),
    /// word for word as `Shaders/frame_constants.glsl` lays them out.
    static func writePushConstants(
        into words: inout [UInt32], for frame: VideoFrameDescriptor, slotTexel: Int, outputWidth: Int,
        destination: (x: Int, y: Int, width: Int, height: Int), region: DispatchPlan.Region, regionColumns: Int,
        output: OutputFormat = .rgba8, mapsColour: Bool = false
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
        /// Chroma siting in half luma samples (0, 1 or 2), only where chroma is subsampled.
        func sitingHalves(_ offset: Double, subsampled: Bool) -> UInt32 {
            subsampled ? UInt32(max(0, min(2, Int((offset * 2).rounded())))) : 0
        }
        // Sample layout and width are specialization constants (YUVComputePass.GeneralVariant).
        var flags = UInt32(format.sampleShift) << 4 | UInt32(shift.x) << 8 | UInt32(shift.y) << 9
        flags |= sitingHalves(siting.x, subsampled: shift.x > 0) << 10
        flags |= sitingHalves(siting.y, subsampled: shift.y > 0) << 12

        var index = 0
        func put(_ value: UInt32) {
            words[index] = value
            index += 1
        }
        func put(_ value: Int) { put(UInt32(truncatingIfNeeded: value)) }
        func put(_ row: SIMD4<Float>) {
            for lane in 0..<4 { put(row[lane].bitPattern) }
        }
        func putPair(_ low: Int, _ high: Int) { put(UInt32(low) | UInt32(high) << 16) }
        // BGRA8 is RGBA8 with the red and blue rows swapped: B lands in the low byte. A
        // mapped colour needs its channels in order: the mapping swaps them at its end.
        let swapsRedAndBlue = output == .bgra8 && !mapsColour
        put(swapsRedAndBlue ? transform.blue : transform.red)
        put(transform.green)
        put(swapsRedAndBlue ? transform.red : transform.blue)
        put(destination.x)
        put(destination.y)
        put(destination.width)
        put(destination.height)
        put(luma.offset)
        put(chroma.offset)
        put(crOffset)
        put(luma.stride)
        putPair(frame.width, frame.height)
        putPair(chroma.width, chroma.height)
        put(chroma.stride)
        put(outputWidth)
        put(flags)
        put(slotTexel)
        put(region.x0)
        put(region.y0)
        put(region.x1)
        put(region.y1)
        put(regionColumns)
        put((Float(1) / Float(max(regionColumns, 1))).bitPattern)
        assert(index == words.count, "push constants do not fill the block")
    }
}
