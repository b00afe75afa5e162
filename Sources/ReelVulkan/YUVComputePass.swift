internal import CVulkan

/// The YCbCr → RGBA compute pipeline: reads the frame's planes from one storage
/// buffer and writes packed RGBA8 into another (see `Shaders/yuv_to_rgb.comp`).
///
/// Thread-safety: Unsafe; owned by one renderer.
final class YUVComputePass {
    /// Bytes of push constants the shader reads.
    static let pushConstantSize = 120
    /// Output pixels per invocation: 32×2 on the native-scale path, 8×2 on the
    /// general path (`BLOCK` and `scaledBlock` in the shader); invocations per workgroup, 8×8.
    static func blockSize(native: Bool) -> (width: Int, height: Int) { (native ? 32 : 8, 2) }
    static let workgroupSize = (width: 8, height: 8)

    private let device: VulkanDevice
    let setLayout: VkDescriptorSetLayout
    let pipelineLayout: VkPipelineLayout
    let pipeline: VkPipeline

    init(device: VulkanDevice) throws(RenderError) {
        self.device = device
        let vk = device.device
        // Binding 0: the planes, as 32-bit texels; binding 1: the RGBA output.
        var bindings = [VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER].enumerated().map {
            VkDescriptorSetLayoutBinding(
                binding: UInt32($0.offset), descriptorType: $0.element, descriptorCount: 1,
                stageFlags: VK_SHADER_STAGE_COMPUTE_BIT.rawValue, pImmutableSamplers: nil)
        }
        var setLayout: VkDescriptorSetLayout?
        let setResult = bindings.withUnsafeMutableBufferPointer { pointer in
            var info = VkDescriptorSetLayoutCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO
            info.bindingCount = UInt32(pointer.count)
            info.pBindings = UnsafePointer(pointer.baseAddress)
            return vkCreateDescriptorSetLayout(vk, &info, nil, &setLayout)
        }
        try VulkanCall.check(setResult, "vkCreateDescriptorSetLayout", "cannot create the descriptor layout")
        self.setLayout = setLayout!

        var range = VkPushConstantRange(
            stageFlags: VK_SHADER_STAGE_COMPUTE_BIT.rawValue, offset: 0, size: UInt32(Self.pushConstantSize))
        var pipelineLayout: VkPipelineLayout?
        let layoutResult = withUnsafePointer(to: &setLayout) { sets in
            withUnsafePointer(to: &range) { ranges in
                var info = VkPipelineLayoutCreateInfo()
                info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
                info.setLayoutCount = 1
                info.pSetLayouts = sets
                info.pushConstantRangeCount = 1
                info.pPushConstantRanges = ranges
                return vkCreatePipelineLayout(vk, &info, nil, &pipelineLayout)
            }
        }
        if layoutResult != VK_SUCCESS { vkDestroyDescriptorSetLayout(vk, setLayout, nil) }
        try VulkanCall.check(layoutResult, "vkCreatePipelineLayout", "cannot create the pipeline layout")
        self.pipelineLayout = pipelineLayout!

        do {
            pipeline = try Self.makePipeline(vk, layout: pipelineLayout!)
        } catch {
            vkDestroyPipelineLayout(vk, pipelineLayout, nil)
            vkDestroyDescriptorSetLayout(vk, setLayout, nil)
            throw error
        }
    }

    deinit {
        let vk = device.device
        vkDestroyPipeline(vk, pipeline, nil)
        vkDestroyPipelineLayout(vk, pipelineLayout, nil)
        vkDestroyDescriptorSetLayout(vk, setLayout, nil)
    }

    private static func makePipeline(_ vk: VkDevice, layout: VkPipelineLayout) throws(RenderError) -> VkPipeline {
        var module: VkShaderModule?
        let moduleResult = ShaderCode.yuvToRgbComp.withUnsafeBufferPointer { words in
            var info = VkShaderModuleCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
            info.codeSize = words.count * 4
            info.pCode = words.baseAddress
            return vkCreateShaderModule(vk, &info, nil, &module)
        }
        try VulkanCall.check(moduleResult, "vkCreateShaderModule", "cannot load shader yuv_to_rgb.comp")
        defer { vkDestroyShaderModule(vk, module, nil) }
        var pipeline: VkPipeline?
        let result = "main".withCString { entry in
            var info = VkComputePipelineCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
            info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
            info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT
            info.stage.module = module
            info.stage.pName = entry
            info.layout = layout
            return vkCreateComputePipelines(vk, nil, 1, &info, nil, &pipeline)
        }
        try VulkanCall.check(result, "vkCreateComputePipelines", "cannot create the YCbCr→RGB pipeline")
        return pipeline!
    }
}
