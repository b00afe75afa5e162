internal import CVulkan
import Glibc

/// The YCbCr → RGB render pass and graphics pipeline: a full-screen triangle whose
/// fragment shader reads the frame's planes from a storage buffer.
///
/// Thread-safety: Unsafe; owned by one renderer.
final class YUVPass {
    /// Bytes of push constants the fragment shader reads (see `Shaders/yuv_to_rgb.frag`).
    static let pushConstantSize = 116

    private let device: VulkanDevice
    let renderPass: VkRenderPass
    let setLayout: VkDescriptorSetLayout
    let pipelineLayout: VkPipelineLayout
    let pipeline: VkPipeline

    init(device: VulkanDevice) throws(RenderError) {
        self.device = device
        let vk = device.device
        renderPass = try Self.makeRenderPass(vk)
        var binding = VkDescriptorSetLayoutBinding(
            binding: 0, descriptorType: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptorCount: 1,
            stageFlags: VK_SHADER_STAGE_FRAGMENT_BIT.rawValue, pImmutableSamplers: nil)
        var setInfo = VkDescriptorSetLayoutCreateInfo()
        setInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO
        setInfo.bindingCount = 1
        var setLayout: VkDescriptorSetLayout?
        let setResult = withUnsafePointer(to: &binding) { pointer in
            setInfo.pBindings = pointer
            return vkCreateDescriptorSetLayout(vk, &setInfo, nil, &setLayout)
        }
        try VulkanCall.check(setResult, "vkCreateDescriptorSetLayout", "cannot create the descriptor layout")
        self.setLayout = setLayout!

        var range = VkPushConstantRange(
            stageFlags: VK_SHADER_STAGE_FRAGMENT_BIT.rawValue, offset: 0, size: UInt32(Self.pushConstantSize))
        var layoutInfo = VkPipelineLayoutCreateInfo()
        layoutInfo.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
        layoutInfo.setLayoutCount = 1
        layoutInfo.pushConstantRangeCount = 1
        var pipelineLayout: VkPipelineLayout?
        let layoutResult = withUnsafePointer(to: &setLayout) { sets in
            withUnsafePointer(to: &range) { ranges in
                layoutInfo.pSetLayouts = sets
                layoutInfo.pPushConstantRanges = ranges
                return vkCreatePipelineLayout(vk, &layoutInfo, nil, &pipelineLayout)
            }
        }
        try VulkanCall.check(layoutResult, "vkCreatePipelineLayout", "cannot create the pipeline layout")
        self.pipelineLayout = pipelineLayout!
        pipeline = try Self.makePipeline(vk, layout: pipelineLayout!, renderPass: renderPass)
    }

    deinit {
        let vk = device.device
        vkDestroyPipeline(vk, pipeline, nil)
        vkDestroyPipelineLayout(vk, pipelineLayout, nil)
        vkDestroyDescriptorSetLayout(vk, setLayout, nil)
        vkDestroyRenderPass(vk, renderPass, nil)
    }

    /// One RGBA8 attachment, cleared to black, left ready to be copied out.
    private static func makeRenderPass(_ vk: VkDevice) throws(RenderError) -> VkRenderPass {
        var attachment = VkAttachmentDescription()
        attachment.format = OffscreenTarget.format
        attachment.samples = VK_SAMPLE_COUNT_1_BIT
        attachment.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR
        attachment.storeOp = VK_ATTACHMENT_STORE_OP_STORE
        attachment.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE
        attachment.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE
        attachment.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED
        attachment.finalLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL
        var reference = VkAttachmentReference(attachment: 0, layout: VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL)
        let colorOutput = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT.rawValue
        // Before: the previous frame's copy-out must finish reading before we clear.
        // After: the copy-out waits for the colour writes.
        var dependencies = [
            VkSubpassDependency(
                srcSubpass: ~0, dstSubpass: 0, srcStageMask: VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue,
                dstStageMask: colorOutput, srcAccessMask: VK_ACCESS_TRANSFER_READ_BIT.rawValue,
                dstAccessMask: VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT.rawValue, dependencyFlags: 0),
            VkSubpassDependency(
                srcSubpass: 0, dstSubpass: ~0, srcStageMask: colorOutput,
                dstStageMask: VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue,
                srcAccessMask: VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT.rawValue,
                dstAccessMask: VK_ACCESS_TRANSFER_READ_BIT.rawValue, dependencyFlags: 0),
        ]
        var renderPass: VkRenderPass?
        let result = withUnsafePointer(to: &reference) { referencePointer in
            var subpass = VkSubpassDescription()
            subpass.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS
            subpass.colorAttachmentCount = 1
            subpass.pColorAttachments = referencePointer
            return withUnsafePointer(to: &attachment) { attachmentPointer in
                withUnsafePointer(to: &subpass) { subpassPointer in
                    var info = VkRenderPassCreateInfo()
                    info.sType = VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO
                    info.attachmentCount = 1
                    info.pAttachments = attachmentPointer
                    info.subpassCount = 1
                    info.pSubpasses = subpassPointer
                    info.dependencyCount = UInt32(dependencies.count)
                    return dependencies.withUnsafeMutableBufferPointer { deps in
                        info.pDependencies = UnsafePointer(deps.baseAddress)
                        return vkCreateRenderPass(vk, &info, nil, &renderPass)
                    }
                }
            }
        }
        try VulkanCall.check(result, "vkCreateRenderPass", "cannot create the render pass")
        return renderPass!
    }

    private static func makeShader(_ vk: VkDevice, _ code: [UInt32], _ name: String) throws(RenderError)
        -> VkShaderModule
    {
        var module: VkShaderModule?
        let result = code.withUnsafeBufferPointer { words in
            var info = VkShaderModuleCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
            info.codeSize = words.count * 4
            info.pCode = words.baseAddress
            return vkCreateShaderModule(vk, &info, nil, &module)
        }
        try VulkanCall.check(result, "vkCreateShaderModule", "cannot load shader \(name)")
        return module!
    }

    private static func makePipeline(
        _ vk: VkDevice, layout: VkPipelineLayout, renderPass: VkRenderPass
    ) throws(RenderError) -> VkPipeline {
        let vertex = try makeShader(vk, ShaderCode.fullscreenVert, "fullscreen.vert")
        defer { vkDestroyShaderModule(vk, vertex, nil) }
        let fragment = try makeShader(vk, ShaderCode.yuvToRgbFrag, "yuv_to_rgb.frag")
        defer { vkDestroyShaderModule(vk, fragment, nil) }
        let entry = strdup("main")
        defer { free(entry) }
        var stages = [VkPipelineShaderStageCreateInfo](repeating: VkPipelineShaderStageCreateInfo(), count: 2)
        for (index, (stage, module)) in [
            (VK_SHADER_STAGE_VERTEX_BIT, vertex), (VK_SHADER_STAGE_FRAGMENT_BIT, fragment),
        ].enumerated() {
            stages[index].sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
            stages[index].stage = stage
            stages[index].module = module
            stages[index].pName = UnsafePointer(entry)
        }
        var vertexInput = VkPipelineVertexInputStateCreateInfo()
        vertexInput.sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO
        var assembly = VkPipelineInputAssemblyStateCreateInfo()
        assembly.sType = VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO
        assembly.topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST
        var viewport = VkPipelineViewportStateCreateInfo()
        viewport.sType = VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO
        viewport.viewportCount = 1
        viewport.scissorCount = 1
        var raster = VkPipelineRasterizationStateCreateInfo()
        raster.sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO
        raster.polygonMode = VK_POLYGON_MODE_FILL
        raster.cullMode = VK_CULL_MODE_NONE.rawValue
        raster.frontFace = VK_FRONT_FACE_COUNTER_CLOCKWISE
        raster.lineWidth = 1
        var multisample = VkPipelineMultisampleStateCreateInfo()
        multisample.sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO
        multisample.rasterizationSamples = VK_SAMPLE_COUNT_1_BIT
        var blendAttachment = VkPipelineColorBlendAttachmentState()
        blendAttachment.colorWriteMask = 0xF
        var dynamicStates = [VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR]
        var pipeline: VkPipeline?
        let result = withUnsafePointer(to: &blendAttachment) { blendPointer in
            var blend = VkPipelineColorBlendStateCreateInfo()
            blend.sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO
            blend.attachmentCount = 1
            blend.pAttachments = blendPointer
            return dynamicStates.withUnsafeMutableBufferPointer { dynamicPointer in
                var dynamic = VkPipelineDynamicStateCreateInfo()
                dynamic.sType = VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO
                dynamic.dynamicStateCount = 2
                dynamic.pDynamicStates = UnsafePointer(dynamicPointer.baseAddress)
                return stages.withUnsafeMutableBufferPointer { stagePointer in
                    var info = VkGraphicsPipelineCreateInfo()
                    info.sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO
                    info.stageCount = 2
                    info.pStages = UnsafePointer(stagePointer.baseAddress)
                    info.layout = layout
                    info.renderPass = renderPass
                    return withUnsafePointer(to: &vertexInput) {
                        info.pVertexInputState = $0
                        return withUnsafePointer(to: &assembly) {
                            info.pInputAssemblyState = $0
                            return withUnsafePointer(to: &viewport) {
                                info.pViewportState = $0
                                return withUnsafePointer(to: &raster) {
                                    info.pRasterizationState = $0
                                    return withUnsafePointer(to: &multisample) {
                                        info.pMultisampleState = $0
                                        return withUnsafePointer(to: &blend) {
                                            info.pColorBlendState = $0
                                            return withUnsafePointer(to: &dynamic) {
                                                info.pDynamicState = $0
                                                return vkCreateGraphicsPipelines(vk, nil, 1, &info, nil, &pipeline)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        try VulkanCall.check(result, "vkCreateGraphicsPipelines", "cannot create the YUV→RGB pipeline")
        return pipeline!
    }
}
