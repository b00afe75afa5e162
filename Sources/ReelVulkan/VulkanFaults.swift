internal import CVulkan
import Foundation
import Synchronization

/// A Vulkan failure injected on purpose, for tests of how Reel meets one: the device
/// lost, or its memory exhausted, at the Nth frame submitted or memory allocated. Set
/// with `REEL_VULKAN_FAULT=RESULT@CALL:N`, RESULT `device-lost` or `out-of-memory`,
/// CALL `submit` or `allocate`; e.g. `device-lost@submit:30`. Once the device is
/// "lost", every later submit, allocation and wait reports it, as a real loss does.
///
/// Thread-safety: Safe (atomic counters).
final class VulkanFaults: Sendable {
    enum Call: String, Sendable {
        case submit, allocate
    }

    private let result: Int32
    private let call: Call
    private let at: Int
    private let calls = Atomic<Int>(0)
    private let lost = Atomic<Bool>(false)

    /// The fault the environment asks for; nil when none (or not understood: then a
    /// line on stderr says so, and nothing is injected).
    static func fromEnvironment() -> VulkanFaults? {
        guard let text = ProcessInfo.processInfo.environment["REEL_VULKAN_FAULT"], !text.isEmpty else { return nil }
        let parts = text.split(separator: "@", maxSplits: 1)
        let place = parts.count == 2 ? parts[1].split(separator: ":", maxSplits: 1) : []
        let results = ["device-lost": VK_ERROR_DEVICE_LOST, "out-of-memory": VK_ERROR_OUT_OF_DEVICE_MEMORY]
        guard let result = parts.first.flatMap({ results[String($0)] }), place.count == 2,
            let call = Call(rawValue: String(place[0])), let at = Int(place[1]), at > 0
        else {
            FileHandle.standardError.write(Data("reel: REEL_VULKAN_FAULT=\(text) not understood; ignored\n".utf8))
            return nil
        }
        return VulkanFaults(result: result.rawValue, call: call, at: at)
    }

    private init(result: Int32, call: Call, at: Int) {
        self.result = result
        self.call = call
        self.at = at
    }

    /// What to return instead of making `call` now; nil: make it.
    func inject(_ call: Call) -> VkResult? {
        if lost.load(ordering: .sequentiallyConsistent) { return VK_ERROR_DEVICE_LOST }
        guard call == self.call, calls.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue == at else {
            return nil
        }
        let injected = VkResult(rawValue: result)
        if injected == VK_ERROR_DEVICE_LOST { lost.store(true, ordering: .sequentiallyConsistent) }
        return injected
    }

    /// After an injected loss, what every wait for the device returns.
    var loss: VkResult? { lost.load(ordering: .sequentiallyConsistent) ? VK_ERROR_DEVICE_LOST : nil }
}
