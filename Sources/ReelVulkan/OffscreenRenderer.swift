internal import CVulkan
import ReelCore
import ReelFramePool

/// A rendered picture in host memory: RGBA8, rows `rowBytes` apart (the width rounded
/// up to 8 pixels; the bytes past the picture in each row are not part of it).
///
/// The pixels belong to the renderer and stay valid until its next `render` call.
/// They are empty when the renderer does not read back (`OffscreenRenderer.readsBack`).
package struct RenderedImage {
    package let size: PixelSize
    package let format: OutputFormat
    package let rowBytes: Int
    package let pixels: UnsafeRawBufferPointer

    /// A copy of an RGBA16 image's samples, rows packed: R, G, B, A per pixel.
    package func copySamples16() -> [UInt16] {
        precondition(format == .rgba16, "copySamples16 reads RGBA16 images")
        return copyPixels().withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
    }

    /// A copy of the pixels, rows packed (`size.width * format.bytesPerPixel` bytes each).
    package func copyPixels() -> [UInt8] {
        let packedRow = size.width * format.bytesPerPixel
        if rowBytes == packedRow || pixels.isEmpty { return Array(pixels) }
        var packed = [UInt8]()
        packed.reserveCapacity(packedRow * size.height)
        for row in 0..<size.height {
            packed.append(contentsOf: pixels[(row * rowBytes)..<(row * rowBytes + packedRow)])
        }
        return packed
    }
}

/// The pixel format of rendered images.
package enum OutputFormat: String, Sendable, Codable {
    /// 8 bits a channel, R first: what PNGs, displays and the peers use.
    case rgba8
    /// 16 bits a channel (native-endian), R first: keeps 10-bit sources' precision.
    case rgba16
    /// 8 bits a channel, B first: what window systems' swapchains take.
    case bgra8
    /// 10 bits a channel in a 32-bit word, R in the low bits, 2-bit alpha
    /// (A2B10G10R10): what an HDR10 swapchain takes.
    case a2bgr10

    package var bytesPerPixel: Int { self == .rgba16 ? 8 : 4 }
    /// Whether the general pass alone draws it, bars included, its colour computed
    /// exactly (not through the 8-bit passes' table).
    var isDeep: Bool { self == .rgba16 || self == .a2bgr10 }
}

/// How frames reach the GPU.
package enum InputPath: String, Sendable, Codable {
    /// The frame pool is imported into Vulkan and read in place: no CPU copy.
    case hostImport = "host-import"
    /// Each frame is copied into a staging buffer the GPU reads.
    case staging
}

/// A frame submitted to the GPU, to be finished (waited for) in submission order.
package struct RenderTicket: Sendable, Equatable {
    /// The set of buffers it renders into (0..<`resourceCount`): its output buffer.
    package let resources: Int
    let generation: Int
}

/// Renders pool frames through the YCbCr → RGBA compute pass into host-visible
/// buffers: the GPU writes the pixels where the CPU reads them.
///
/// Up to `framesInFlight` frames may be submitted before the first is finished, so the
/// caller can decode the next frame while the GPU renders this one. The picture is
/// scaled into the output size with its display aspect kept; the rest is black.
/// Thread-safety: Confined to the render thread.
package final class OffscreenRenderer {
    /// Frames that can be submitted and not yet finished.
    package static let framesInFlight = 2

    package let device: VulkanDevice
    let pass: YUVComputePass
    private let commandPool: VkCommandPool
    private let descriptorPool: VkDescriptorPool
    private var resources: [FrameResources] = []
    private var nextResources = 0
    private var generation = 0
    /// The push constants of the frame being recorded, reused for every frame.
    var pushConstantWords = [UInt32](repeating: 0, count: YUVComputePass.pushConstantSize / 4)
    /// The frame pool imported into Vulkan, when the device reads it in place.
    /// Frame pools imported into Vulkan, the most recently used last: one per producer
    /// streaming at once (or per picture size), so that frames alternating between pools
    /// are read in place with no import and no wait.
    private var importedPools: [ImportedPool] = []
    /// Pools kept imported at most.
    static let importedPoolLimit = 4

    private struct ImportedPool {
        var pool: FramePool
        let buffer: ImportedHostBuffer
    }

    /// How frames reach the GPU: `.hostImport` (read in place) or `.staging` (copied).
    package private(set) var inputPath: InputPath = .staging
    /// Why the pool could not be imported, when the device could have read it in place.
    package private(set) var importFailure: String?
    /// Bytes the CPU copied from pool slots into the GPU's staging buffers.
    package private(set) var uploadedBytes = 0
    /// Frames rendered.
    package private(set) var renderedFrames = 0
    /// Use the shader's general (any-scale) path even at native scale, so tests can
    /// hold it to the same reference as the fast path.
    package var forcesGeneralPath = false
    /// Whether frames end with their pixels in host memory (the default). When false the
    /// output stays in device memory and `RenderedImage.pixels` is empty: the render
    /// cost without the readback (on a CPU device the two are the same memory).
    package var readsBack = true
    /// The format frames are rendered in. RGBA16 takes the general pass only.
    package var outputFormat = OutputFormat.rgba8
    /// The colour frames are rendered for: SDR by default, HDR pictures tone-mapped
    /// (`Shaders/colour_map.glsl`).
    package lazy var colourTarget = device.colour
    /// The table the 8-bit passes map HDR and wide-gamut colour through.
    let colourTable: ColourTable
    /// How the last frame submitted was split between the passes, and what it was made for.
    package internal(set) var lastPlan: DispatchPlan?
    var planKey: PlanKey?

    /// Sets of buffers (command buffer, output buffer) frames render into: the frames
    /// that may be in flight, and rendered frames a consumer may hold (see `isHeld`).
    package let resourceCount: Int
    /// Whether the output buffer of a set of resources is still held by whoever took
    /// its pixels (the embedding API's rendered frames): such a set is not rendered into
    /// again until released. Nil: pixels are valid until the next submissions reuse them.
    package var isHeld: (@Sendable (Int) -> Bool)?

    /// `resourceCount`: frames that can be in flight or held at once (at least
    /// `framesInFlight`).
    package init(
        device parameters: DeviceParameters = DeviceParameters(), resourceCount: Int = OffscreenRenderer.framesInFlight
    ) throws(RenderError) {
        precondition(resourceCount >= 1, "a renderer needs at least one set of resources")
        self.resourceCount = resourceCount
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

        let sets = UInt32(resourceCount)
        var sizes = [
            VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, descriptorCount: 3 * sets),
            VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptorCount: 2 * sets),
        ]
        var descriptorPool: VkDescriptorPool?
        let poolResult = sizes.withUnsafeMutableBufferPointer { sizes in
            var info = VkDescriptorPoolCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
            info.maxSets = sets
            info.poolSizeCount = UInt32(sizes.count)
            info.pPoolSizes = UnsafePointer(sizes.baseAddress)
            return vkCreateDescriptorPool(vk, &info, nil, &descriptorPool)
        }
        try VulkanCall.check(poolResult, "vkCreateDescriptorPool", "cannot create a descriptor pool")
        self.descriptorPool = descriptorPool!
        colourTable = try ColourTable(device: device)
        for _ in 0..<resourceCount {
            resources.append(
                try FrameResources(
                    device: device, commandPool: commandPool!, descriptorPool: descriptorPool!,
                    setLayout: pass.setLayout, colourTable: colourTable))
        }
    }

    deinit {
        let vk = device.device
        device.queueLock.withLock { _ in _ = vkDeviceWaitIdle(vk) }
        resources = []
        importedPools = []
        vkDestroyDescriptorPool(vk, descriptorPool, nil)
        vkDestroyCommandPool(vk, commandPool, nil)
    }

    /// Renders the picture described by `frame`, held in `slot` of `pool`, into an
    /// RGBA8 image of `outputSize`, waits for the GPU and returns the pixels, which stay
    /// valid until `framesInFlight` more frames have been submitted.
    package func render(
        _ frame: VideoFrameDescriptor, in pool: FramePool, slot: Int, outputSize: PixelSize
    ) throws(RenderError) -> RenderedImage {
        try finish(submit(frame, in: pool, slot: slot, outputSize: outputSize))
    }

    /// Compiles the pass that will convert `pool`'s pictures (the native pass where it
    /// applies, with the general one for any edge strips; else the general one) and runs
    /// it once on a black picture in one of the pool's slots, so the first frame pays for
    /// neither: a driver compiles each variant when it is first needed, and a CPU driver
    /// compiles again at the first dispatch, for the resources then bound (the pool's
    /// own, imported here as for its frames). A CPU driver's compiler then gives its
    /// pages back (`CompilerMemory`).
    /// `scaled`: pictures may also be drawn at another size (a window, which the user can
    /// resize): the general pass is made and run too.
    /// `colour`: the stream's declared colour, so that an HDR stream's mapping (its
    /// pipelines and colour table) is made now too.
    package func prepare(
        for pool: FramePool, scaled: Bool = false,
        colour: ColorDescription = ColorDescription(matrix: .bt709, range: .limited, chromaLocation: .left)
    ) throws(RenderError) {
        let format = pool.layout.format
        let plan = colourPlan(for: colour)
        let native = forcesGeneralPath || outputFormat.isDeep ? nil : try pass.native(for: format, colour: plan)
        if native == nil || scaled {
            _ = try pass.general(YUVComputePass.GeneralVariant(format: format, output: outputFormat, colour: plan))
        }
        try warmUp(with: pool, scaled: scaled, colour: colour)
        if device.type == "cpu" { CompilerMemory.release() }
    }

    /// Renders a black picture from a free slot of `pool` at its own size, and with
    /// `scaled` at half that size too; the counters do not show it.
    private func warmUp(with pool: FramePool, scaled: Bool, colour: ColorDescription) throws(RenderError) {
        guard case .slot(let slot) = pool.acquire() else { return }
        defer { pool.release(slot) }
        pool.fillBlack(slot)
        let frame = pool.descriptor(color: colour, sampleAspectRatio: Rational(1, 1), presentationTime: nil)
        let kept = (uploadedBytes, renderedFrames, lastPlan, planKey)
        var sizes = [frame.displaySize]
        if scaled { sizes.append(PixelSize(width: max(1, frame.width / 2), height: max(1, frame.height / 2))) }
        for output in sizes { _ = try finish(submit(frame, in: pool, slot: slot, outputSize: output)) }
        (uploadedBytes, renderedFrames, lastPlan, planKey) = kept
    }

    /// Records and submits the frame without waiting. The slot must stay held until
    /// the ticket is finished. At most `framesInFlight` tickets may be unfinished.
    ///
    /// The first frame from a pool imports the pool's whole mapping into Vulkan when
    /// the device allows it; from then on the GPU reads each slot in place. The
    /// renderer keeps the pool alive while it is imported.
    package func submit(
        _ frame: VideoFrameDescriptor, in pool: FramePool, slot: Int, outputSize: PixelSize
    ) throws(RenderError) -> RenderTicket {
        try submit(frame, in: pool, slot: slot, outputSize: outputSize, target: nil)
    }

    /// Renders the frame into the window's next swapchain image, fitted with black
    /// bars, without waiting; returns the ticket and the image to hand to
    /// `WindowPresenter.present` once the render has finished (presenting waits for it,
    /// and with a CPU driver the presentation's own copy to the window takes long: the
    /// caller chooses when to spend that time). Nil when no image is free now (the tick
    /// is skipped) or the swapchain must be recreated first (`presenter.needsRecreation`).
    package func submit(
        _ frame: VideoFrameDescriptor, in pool: FramePool, slot: Int, renderingInto presenter: WindowPresenter
    ) throws(RenderError) -> (ticket: RenderTicket, image: PresentableImage)? {
        precondition(outputFormat == .bgra8 || outputFormat == .a2bgr10, "a swapchain takes BGRA8 or A2B10G10R10")
        // An HDR10 swapchain gets the picture as HDR10 (a PQ source passes through);
        // any other is SDR, tone-mapped.
        outputFormat = presenter.showsHDR10 ? .a2bgr10 : .bgra8
        colourTarget.output = presenter.showsHDR10 ? .hdr10 : .sdr
        guard let target = try presenter.acquire() else { return nil }
        let ticket = try submit(frame, in: pool, slot: slot, outputSize: target.extent, target: target)
        return (ticket, PresentableImage(target: target))
    }

    private func submit(
        _ frame: VideoFrameDescriptor, in pool: FramePool, slot: Int, outputSize: PixelSize, target: SwapchainTarget?
    ) throws(RenderError) -> RenderTicket {
        guard outputSize.width > 0, outputSize.height > 0, outputSize.width <= 16384, outputSize.height <= 16384
        else {
            throw RenderError(.invalidRequest, "output size \(outputSize) is out of range (1…16384 per side)")
        }
        guard let index = freeResources() else {
            preconditionFailure("finish earlier frames before submitting more than framesInFlight")
        }
        let frameResources = resources[index]
        let slotTexel = try bindPlanes(of: pool, slot: slot, to: frameResources)
        let output = try frameResources.output(
            size: outputSize, bytesPerPixel: outputFormat.bytesPerPixel, hostVisible: readsBack)
        let destination = Self.aspectFit(frame.displaySize, into: outputSize)
        try record(
            frame, slotTexel: slotTexel, into: frameResources, outputSize: outputSize, output: output,
            destination: destination, target: target)
        try frameResources.submit(to: device.queue, target: target)
        nextResources = (index + 1) % resources.count
        generation += 1
        frameResources.generation = generation
        return RenderTicket(resources: index, generation: generation)
    }

    /// Whether a frame can be submitted now: a set of resources neither in flight nor held.
    package var canSubmit: Bool { freeResources() != nil }

    /// The next set of resources in turn that is neither in flight nor held.
    private func freeResources() -> Int? {
        for step in 0..<resources.count {
            let index = (nextResources + step) % resources.count
            if !resources[index].pending && !(isHeld?(index) ?? false) { return index }
        }
        return nil
    }

    /// Whether a submitted frame has finished, so that `finish` returns at once. Never
    /// waits: a real-time caller polls this instead of blocking on the GPU.
    package func isFinished(_ ticket: RenderTicket) throws(RenderError) -> Bool {
        let frameResources = resources[ticket.resources]
        precondition(frameResources.generation == ticket.generation, "ticket finished late: its buffers were reused")
        return try frameResources.isDone()
    }

    /// Whether a submitted frame finishes within `nanoseconds`, waiting that long at most.
    package func isFinished(_ ticket: RenderTicket, within nanoseconds: Int64) throws(RenderError) -> Bool {
        let frameResources = resources[ticket.resources]
        precondition(frameResources.generation == ticket.generation, "ticket finished late: its buffers were reused")
        return try frameResources.isDone(within: UInt64(max(0, nanoseconds)))
    }

    /// Waits for a submitted frame and returns its pixels.
    package func finish(_ ticket: RenderTicket) throws(RenderError) -> RenderedImage {
        let frameResources = resources[ticket.resources]
        precondition(frameResources.generation == ticket.generation, "ticket finished late: its buffers were reused")
        try frameResources.wait()
        renderedFrames += 1
        let output = frameResources.currentOutput!
        return RenderedImage(
            size: output.size, format: outputFormat,
            rowBytes: Self.rowPixels(output.size.width) * outputFormat.bytesPerPixel,
            pixels: UnsafeRawBufferPointer(output.buffer.contents))
    }

    /// Makes `slot`'s bytes readable by the shader through `frameResources`' planes
    /// binding and returns the slot's first texel: in place from the imported pool, or
    /// copied into that frame's staging buffer.
    private func bindPlanes(
        of pool: FramePool, slot: Int, to frameResources: FrameResources
    ) throws(RenderError) -> Int {
        if let imported = try importedBuffer(for: pool) {
            inputPath = .hostImport
            frameResources.bindPlanes(imported.planeViews!)
            return slot * pool.layout.slotSize / 4
        }
        inputPath = .staging
        let slotBytes = pool.bytes(of: slot)
        guard slotBytes.count / 4 <= device.maxTexelBufferElements else {
            throw RenderError(
                .invalidRequest, "a \(slotBytes.count)-byte frame exceeds the device's texel buffer limit")
        }
        let staging = try frameResources.staging(capacity: slotBytes.count)
        staging.contents.copyMemory(from: UnsafeRawBufferPointer(slotBytes))
        uploadedBytes += slotBytes.count
        frameResources.bindPlanes(staging.planeViews!)
        return 0
    }

    private func importedBuffer(for pool: FramePool) throws(RenderError) -> ImportedHostBuffer? {
        if let index = importedPools.lastIndex(where: { $0.pool === pool }) {
            if index != importedPools.count - 1 { importedPools.append(importedPools.remove(at: index)) }
            return importedPools[importedPools.count - 1].buffer
        }
        guard device.hostImportAlignment != nil, importFailure == nil else { return nil }
        guard pool.byteCount / 4 <= device.maxTexelBufferElements else {
            importFailure =
                "the frame pool (\(pool.byteCount) bytes) is larger than the device's texel buffer limit"
            return nil
        }
        // A new pool (another producer, a new picture size). Imports of pools nobody
        // else holds any more go, and the least recently used beyond the limit.
        var leaving = Set<Int>()
        for index in importedPools.indices where isKnownUniquelyReferenced(&importedPools[index].pool) {
            leaving.insert(index)
        }
        if importedPools.count - leaving.count >= Self.importedPoolLimit,
            let oldest = importedPools.indices.first(where: { !leaving.contains($0) })
        {
            leaving.insert(oldest)
        }
        if !leaving.isEmpty {
            // Frames in flight may still read them. Their views go: no descriptor set may
            // keep them, even when a new import's views get the same handle values.
            device.queueLock.withLock { _ in _ = vkQueueWaitIdle(device.queue) }
            importedPools = importedPools.indices.filter { !leaving.contains($0) }.map { importedPools[$0] }
            for frameResources in resources { frameResources.forgetPlanes() }
        }
        do {
            let buffer = try ImportedHostBuffer(device: device, memory: pool.mapping)
            importedPools.append(ImportedPool(pool: pool, buffer: buffer))
            return buffer
        } catch {
            // Not fatal: the staging copy works everywhere.
            importFailure = error.description
            return nil
        }
    }

    /// Pixels from one output row to the next: the width rounded up to a multiple of 8,
    /// so that every row starts where the native pass can store 8 pixels at a time.
    static func rowPixels(_ width: Int) -> Int { (width + 7) & ~7 }

    /// The largest rectangle with `picture`'s aspect ratio that fits in `output`, centred.
    package static func aspectFit(_ picture: PixelSize, into output: PixelSize) -> (
        x: Int, y: Int, width: Int, height: Int
    ) {
        if picture == output { return (0, 0, output.width, output.height) }
        let byWidth = output.width * picture.height <= output.height * picture.width
        let width =
            byWidth ? output.width : max(1, (output.height * picture.width + picture.height / 2) / picture.height)
        let height =
            byWidth ? max(1, (output.width * picture.height + picture.width / 2) / picture.width) : output.height
        return ((output.width - width) / 2, (output.height - height) / 2, width, height)
    }
}

/// What a `DispatchPlan` depends on: the frame's geometry (not its time), where it goes,
/// and the renderer's settings.
struct PlanKey: Equatable {
    var frame: VideoFrameDescriptor
    var destinationOrigin: PixelSize
    var destinationSize: PixelSize
    var outputSize: PixelSize
    var outputFormat: OutputFormat
    var forcesGeneralPath: Bool
}
