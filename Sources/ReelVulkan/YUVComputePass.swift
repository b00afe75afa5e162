internal import CVulkan
import ReelCore

/// The YCbCr → RGBA compute pipelines: they read the frame's planes through texel
/// views of the buffer that holds them and write packed RGBA8 into a storage buffer.
///
/// Two shaders share one layout: `Shaders/yuv420_native.comp`, for 4:2:0 (8- and
/// 10-bit, planar and semi-planar) at native scale, and `Shaders/yuv_general.comp`, for everything else and for the
/// strips at the picture's right and bottom edges the native pass leaves
/// (`DispatchPlan`).
///
/// Thread-safety: Unsafe; owned by one renderer.
final class YUVComputePass {
    /// Bytes of push constants the shaders read (`Shaders/frame_constants.glsl`).
    static let pushConstantSize = 128
    static let wordsBinding: UInt32 = 0
    static let outputBinding: UInt32 = 1
    static let quadsBinding: UInt32 = 2
    /// The colour table: read as texels by the passes, written by its builder.
    static let tableBinding: UInt32 = 3
    static let tableWriteBinding: UInt32 = 4

    private let device: VulkanDevice
    let setLayout: VkDescriptorSetLayout
    let pipelineLayout: VkPipelineLayout
    /// General-pass pipelines by their specialization, made when first needed.
    private var generalPipelines: [GeneralVariant: VkPipeline] = [:]
    /// The native pass, specialized per sample layout (`NativeVariant`), each made when
    /// first needed (each costs the driver a compile and its memory).
    private var natives: [NativeVariant: VkPipeline] = [:]
    /// Colour-table builders by colour plan (`colour_lut.comp`'s first phase), and its
    /// second phase.
    private var tableBuilders: [ColourPlan: VkPipeline] = [:]
    private var tableCellFiller: VkPipeline?
    /// `PHASE` in `Shaders/colour_lut.comp`.
    private static let tablePhaseConstant: UInt32 = 40
    /// False on a device without 64-bit integers in shaders: everything takes `general`.
    let hasNativePass: Bool

    /// What the native pass is specialized on: `INTERLEAVED`, `WIDE` and `FULL_ROWS` in
    /// `Shaders/yuv420_native.comp`.
    struct NativeVariant: Hashable {
        var interleaved: Bool
        var wide: Bool
        /// 4:2:2: chroma rows as many as luma rows.
        var fullRows: Bool
        /// The colour mapping, when the picture's colour is not the output's.
        var colour: ColourPlan?

        /// The variant for `format`, when the native pass converts it (4:2:0 and 4:2:2).
        init?(format: PixelFormat, colour: ColourPlan? = nil) {
            guard format.chromaShift.x == 1, format.planeCount >= 2 else { return nil }
            interleaved = format.interleavesChroma
            wide = format.bytesPerSample == 2
            fullRows = format.chromaShift.y == 0
            self.colour = colour
        }
    }

    /// The native pass for `format`, or nil when it takes the general pass.
    func native(for format: PixelFormat, colour: ColourPlan? = nil) throws(RenderError) -> VkPipeline? {
        guard hasNativePass, let variant = NativeVariant(format: format, colour: colour) else { return nil }
        if let pipeline = natives[variant] { return pipeline }
        let flags: [UInt32] = [variant.interleaved ? 1 : 0, variant.wide ? 1 : 0, variant.fullRows ? 1 : 0]
        // A picture whose colour is mapped takes the module with the mapping; others the
        // one without, which carries none of its code.
        let pipeline = try Self.makePipeline(
            device.device, layout: pipelineLayout,
            code: colour == nil ? ShaderCode.yuv420NativeComp : ShaderCode.yuv420NativeColourComp,
            name: colour == nil ? "yuv420_native.comp" : "yuv420_native_colour.comp",
            constants: flags.enumerated().map { (UInt32($0.offset), $0.element) } + (colour?.constants ?? []))
        natives[variant] = pipeline
        return pipeline
    }

    init(device: VulkanDevice) throws(RenderError) {
        self.device = device
        let vk = device.device
        // Binding 0: the planes as 32-bit texels; 1: the RGBA output; 2: the planes as 16-byte
        // texels; 3 and 4: the colour table, read as texels and written as a storage buffer.
        var bindings = [
            VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
            VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        ].enumerated().map {
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

        hasNativePass = device.supportsInt64
    }

    /// The pipelines that fill the colour table for `colour` (`Shaders/colour_lut.comp`):
    /// the first maps the grid's points (specialized on the colour), the second writes
    /// the cells' tetrahedra from them (the same for every colour).
    func tableBuilders(for colour: ColourPlan) throws(RenderError) -> (mapPoints: VkPipeline, fillCells: VkPipeline) {
        let mapPoints: VkPipeline
        if let pipeline = tableBuilders[colour] {
            mapPoints = pipeline
        } else {
            mapPoints = try Self.makePipeline(
                device.device, layout: pipelineLayout, code: ShaderCode.colourLutComp, name: "colour_lut.comp",
                constants: colour.constants + [(Self.tablePhaseConstant, 0)])
            tableBuilders[colour] = mapPoints
        }
        if let fillCells = tableCellFiller { return (mapPoints, fillCells) }
        let fillCells = try Self.makePipeline(
            device.device, layout: pipelineLayout, code: ShaderCode.colourLutComp, name: "colour_lut.comp",
            constants: [(Self.tablePhaseConstant, 1)])
        tableCellFiller = fillCells
        return (mapPoints, fillCells)
    }

    deinit {
        let vk = device.device
        for pipeline in tableBuilders.values { vkDestroyPipeline(vk, pipeline, nil) }
        if let tableCellFiller { vkDestroyPipeline(vk, tableCellFiller, nil) }
        for pipeline in generalPipelines.values { vkDestroyPipeline(vk, pipeline, nil) }
        for pipeline in natives.values { vkDestroyPipeline(vk, pipeline, nil) }
        vkDestroyPipelineLayout(vk, pipelineLayout, nil)
        vkDestroyDescriptorSetLayout(vk, setLayout, nil)
    }

    /// What the general pass is specialized on: `OUTPUT16`, `LAYOUT` and `WIDE` in
    /// `Shaders/yuv_general.comp`.
    struct GeneralVariant: Hashable {
        /// `OUTPUT`: 0 RGBA8 (or BGRA8), 1 RGBA16, 2 A2B10G10R10.
        var output: UInt32
        var layout: UInt32
        var wide: Bool
        var colour: ColourPlan?

        init(format: PixelFormat, output: OutputFormat, colour: ColourPlan? = nil) {
            self.output =
                switch output {
                case .rgba8, .bgra8: 0
                case .rgba16: 1
                case .a2bgr10: 2
                }
            layout = format.interleavesChroma ? 1 : format.hasChroma ? 0 : 2
            wide = format.bytesPerSample == 2
            self.colour = colour
        }
    }

    /// The general pass's pipeline for `variant`, compiled the first time it is asked for.
    func general(_ variant: GeneralVariant) throws(RenderError) -> VkPipeline {
        if let pipeline = generalPipelines[variant] { return pipeline }
        let mapped = variant.colour != nil
        let pipeline = try Self.makePipeline(
            device.device, layout: pipelineLayout,
            code: mapped ? ShaderCode.yuvGeneralColourComp : ShaderCode.yuvGeneralComp,
            name: mapped ? "yuv_general_colour.comp" : "yuv_general.comp",
            constants: [(0, variant.output), (1, variant.layout), (2, variant.wide ? 1 : 0)]
                + (variant.colour?.constants ?? []))
        generalPipelines[variant] = pipeline
        return pipeline
    }

    private static func makePipeline(
        _ vk: VkDevice, layout: VkPipelineLayout, code: [UInt32], name: String,
        constants: [(id: UInt32, value: UInt32)] = []
    ) throws(RenderError) -> VkPipeline {
        var module: VkShaderModule?
        let moduleResult = code.withUnsafeBufferPointer { words in
            var info = VkShaderModuleCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
            info.codeSize = words.count * 4
            info.pCode = words.baseAddress
            return vkCreateShaderModule(vk, &info, nil, &module)
        }
        try VulkanCall.check(moduleResult, "vkCreateShaderModule", "cannot load shader \(name)")
        defer { vkDestroyShaderModule(vk, module, nil) }
        var pipeline: VkPipeline?
        // Specialization constants by ID, as 32-bit values (booleans are 32 bits in SPIR-V).
        var entries = constants.indices.map {
            VkSpecializationMapEntry(constantID: constants[$0].id, offset: UInt32($0 * 4), size: 4)
        }
        var values = constants.map(\.value)
        let result = entries.withUnsafeMutableBufferPointer { entryPointer in
            values.withUnsafeMutableBytes { valueBytes in
                var specialization = VkSpecializationInfo(
                    mapEntryCount: UInt32(entryPointer.count), pMapEntries: entryPointer.baseAddress,
                    dataSize: valueBytes.count, pData: valueBytes.baseAddress)
                return withUnsafePointer(to: &specialization) { specializationPointer in
                    "main".withCString { name in
                        var info = VkComputePipelineCreateInfo()
                        info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
                        info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
                        info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT
                        info.stage.module = module
                        info.stage.pName = name
                        info.stage.pSpecializationInfo = constants.isEmpty ? nil : specializationPointer
                        info.layout = layout
                        return vkCreateComputePipelines(vk, nil, 1, &info, nil, &pipeline)
                    }
                }
            }
        }
        try VulkanCall.check(result, "vkCreateComputePipelines", "cannot create the pipeline for \(name)")
        return pipeline!
    }
}
