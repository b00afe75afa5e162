internal import CVulkan
import ReelCore

/// The colour mapping sampled on a grid (`Shaders/colour_map.glsl`'s `LUT_POINTS`³
/// points, kept as each cell's six tetrahedra of four 32-bit corners in eight slots), in
/// device memory: filled on the device by `colour_lut.comp` when a picture needs a
/// mapping the table does not hold, then read by the 8-bit passes.
///
/// Thread-safety: Unsafe; owned by one renderer.
final class ColourTable {
    /// Grid points per axis (`LUT_POINTS` in the shader).
    static let points = 33
    static let cells = (points - 1) * (points - 1) * (points - 1)
    /// The grid points' words, four a texel, after the table's (`colour_lut.comp`'s scratch).
    static let scratchTexels = (points * points * points + 3) / 4

    private let device: VulkanDevice
    private let storage: HostBuffer
    /// The table as 16-byte texels (what the passes read).
    private let texels: VkBufferView
    /// The mapping the table holds (as recorded: filled by the frame being recorded or
    /// one before it); nil before the first.
    private var holds: ColourPlan?

    init(device: VulkanDevice) throws(RenderError) {
        self.device = device
        // Eight 16-byte texels a cell (4 MiB), then the scratch (140 KiB).
        storage = try HostBuffer(
            device: device, size: (Self.cells * 8 + Self.scratchTexels) * 16,
            usage: VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT.rawValue,
            hostVisible: false, injectsFaults: false, planeViews: false)
        texels = try PlaneViews.makeView(device: device, buffer: storage.buffer, format: VK_FORMAT_R32G32B32A32_UINT)
    }

    deinit {
        vkDestroyBufferView(device.device, texels, nil)
    }

    /// Points a descriptor set's table bindings at this table.
    func bind(to set: VkDescriptorSet) {
        var view: VkBufferView? = texels
        var bufferInfo = VkDescriptorBufferInfo(buffer: storage.buffer, offset: 0, range: reel_VK_WHOLE_SIZE)
        withUnsafePointer(to: &view) { viewPointer in
            withUnsafePointer(to: &bufferInfo) { bufferPointer in
                var writes = [VkWriteDescriptorSet(), VkWriteDescriptorSet()]
                for index in 0..<2 {
                    writes[index].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
                    writes[index].dstSet = set
                    writes[index].descriptorCount = 1
                }
                writes[0].dstBinding = YUVComputePass.tableBinding
                writes[0].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
                writes[0].pTexelBufferView = viewPointer
                writes[1].dstBinding = YUVComputePass.tableWriteBinding
                writes[1].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
                writes[1].pBufferInfo = bufferPointer
                vkUpdateDescriptorSets(device.device, 2, &writes, 0, nil)
            }
        }
    }

    /// Records filling the table for `colour` when it holds another mapping: after every
    /// earlier read of it (frames still in flight), and before this frame's passes read it.
    func record(for colour: ColourPlan, pass: YUVComputePass, into commands: VkCommandBuffer) throws(RenderError) {
        if holds == colour { return }
        let (mapPoints, fillCells) = try pass.tableBuilders(for: colour)
        dependency(commands, from: VK_ACCESS_SHADER_READ_BIT, to: VK_ACCESS_SHADER_WRITE_BIT)
        vkCmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, mapPoints)
        vkCmdDispatch(commands, UInt32((Self.points * Self.points * Self.points + 63) / 64), 1, 1)
        dependency(commands, from: VK_ACCESS_SHADER_WRITE_BIT, to: VK_ACCESS_SHADER_READ_BIT)
        vkCmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, fillCells)
        vkCmdDispatch(commands, UInt32((Self.cells + 63) / 64), 1, 1)
        dependency(commands, from: VK_ACCESS_SHADER_WRITE_BIT, to: VK_ACCESS_SHADER_READ_BIT)
        holds = colour
    }

    private func dependency(_ commands: VkCommandBuffer, from: VkAccessFlagBits, to: VkAccessFlagBits) {
        var barrier = VkBufferMemoryBarrier()
        barrier.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER
        barrier.srcAccessMask = from.rawValue
        barrier.dstAccessMask = to.rawValue
        barrier.srcQueueFamilyIndex = reel_VK_QUEUE_FAMILY_IGNORED
        barrier.dstQueueFamilyIndex = reel_VK_QUEUE_FAMILY_IGNORED
        barrier.buffer = storage.buffer
        barrier.offset = 0
        barrier.size = reel_VK_WHOLE_SIZE
        let stage = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue
        vkCmdPipelineBarrier(commands, stage, stage, 0, 0, nil, 1, &barrier, 0, nil)
    }
}
