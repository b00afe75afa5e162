internal import CVulkan

/// What went wrong in the render stage: the Vulkan call, its `VkResult`, and where.
///
/// `description` is one line, fit for a CLI's error message.
package struct RenderError: Error, CustomStringConvertible, Sendable {
    package enum Kind: String, Sendable {
        /// No Vulkan device can be used (none found, or none matching `--device`).
        case noDevice
        /// A Vulkan call failed.
        case vulkan
        /// The frame cannot be rendered as asked (e.g. an output size of zero).
        case invalidRequest
    }

    package let kind: Kind
    package let message: String
    /// The Vulkan call that failed, its `VkResult` name, and the source location.
    package let call: String?
    package let result: String?
    package let location: String?

    init(_ kind: Kind, _ message: String, call: String? = nil, result: String? = nil, location: String? = nil) {
        self.kind = kind
        self.message = message
        self.call = call
        self.result = result
        self.location = location
    }

    package var description: String {
        guard let call, let result else { return message }
        return "\(message): \(call) returned \(result)" + (location.map { " (\($0))" } ?? "")
    }
}

/// The one place where `VkResult` codes become Swift errors.
enum VulkanCall {
    /// Throws `RenderError.vulkan` unless `result` is `VK_SUCCESS` (or another non-error code).
    static func check(
        _ result: VkResult, _ call: String, _ message: @autoclosure () -> String,
        file: StaticString = #fileID, line: UInt = #line
    ) throws(RenderError) {
        guard result.rawValue < 0 else { return }
        throw RenderError(.vulkan, message(), call: call, result: name(of: result), location: "\(file):\(line)")
    }

    static func name(of result: VkResult) -> String {
        switch result {
        case VK_SUCCESS: "VK_SUCCESS"
        case VK_NOT_READY: "VK_NOT_READY"
        case VK_TIMEOUT: "VK_TIMEOUT"
        case VK_INCOMPLETE: "VK_INCOMPLETE"
        case VK_ERROR_OUT_OF_HOST_MEMORY: "VK_ERROR_OUT_OF_HOST_MEMORY"
        case VK_ERROR_OUT_OF_DEVICE_MEMORY: "VK_ERROR_OUT_OF_DEVICE_MEMORY"
        case VK_ERROR_INITIALIZATION_FAILED: "VK_ERROR_INITIALIZATION_FAILED"
        case VK_ERROR_DEVICE_LOST: "VK_ERROR_DEVICE_LOST"
        case VK_ERROR_MEMORY_MAP_FAILED: "VK_ERROR_MEMORY_MAP_FAILED"
        case VK_ERROR_LAYER_NOT_PRESENT: "VK_ERROR_LAYER_NOT_PRESENT"
        case VK_ERROR_EXTENSION_NOT_PRESENT: "VK_ERROR_EXTENSION_NOT_PRESENT"
        case VK_ERROR_FEATURE_NOT_PRESENT: "VK_ERROR_FEATURE_NOT_PRESENT"
        case VK_ERROR_INCOMPATIBLE_DRIVER: "VK_ERROR_INCOMPATIBLE_DRIVER"
        case VK_ERROR_TOO_MANY_OBJECTS: "VK_ERROR_TOO_MANY_OBJECTS"
        case VK_ERROR_FORMAT_NOT_SUPPORTED: "VK_ERROR_FORMAT_NOT_SUPPORTED"
        case VK_ERROR_OUT_OF_DATE_KHR: "VK_ERROR_OUT_OF_DATE_KHR"
        case VK_ERROR_SURFACE_LOST_KHR: "VK_ERROR_SURFACE_LOST_KHR"
        case VK_SUBOPTIMAL_KHR: "VK_SUBOPTIMAL_KHR"
        case VK_ERROR_INVALID_EXTERNAL_HANDLE: "VK_ERROR_INVALID_EXTERNAL_HANDLE"
        default: "VkResult(\(result.rawValue))"
        }
    }
}

/// Reads a fixed-size C string member such as `deviceName`.
func string<T>(fromTuple tuple: T) -> String {
    withUnsafeBytes(of: tuple) { bytes in
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}
