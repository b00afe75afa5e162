// swift-tools-version: 6.1
import PackageDescription

/// Reel: a headless audio/video render pipeline with Vulkan output.
///
/// One target per pipeline stage; each C library is wrapped by exactly one
/// Swift module (see ARCHITECTURE.md in the README's links).
let package = Package(
    name: "Reel",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Reel", targets: ["Reel"]),
        .executable(name: "reel", targets: ["reel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The Logger an embedding application passes in.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // `swift package generate-documentation` for the Reel.docc catalog.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // C libraries: module maps and shim headers only.
        .systemLibrary(
            name: "CFFmpeg", path: "Sources/CFFmpeg", pkgConfig: "libavformat",
            providers: [
                .apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev", "libswresample-dev"])
            ]),
        .systemLibrary(
            name: "CVulkan", path: "Sources/CVulkan", pkgConfig: "vulkan",
            providers: [.apt(["libvulkan-dev"])]),
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),
        // libpulse's pkg-config adds -pthread, which SwiftPM rejects; its headers are in
        // /usr/include and the module map links it (tools/install-deps installs libpulse-dev).
        .systemLibrary(name: "CPulse", path: "Sources/CPulse"),
        .systemLibrary(
            name: "CGLFW", path: "Sources/CGLFW", pkgConfig: "glfw3",
            providers: [.apt(["libglfw3-dev"])]),

        // recvmmsg with arrival times: socket types that need _GNU_SOURCE, kept in C.
        .target(name: "CNet", path: "Sources/CNet"),
        // FFmpeg's log lines for Swift (its callback takes a va_list).
        .target(name: "CFFmpegLog", path: "Sources/CFFmpegLog", linkerSettings: [.linkedLibrary("avutil")]),

        // Pipeline stages.
        .target(name: "ReelCore"),
        .target(name: "ReelNet", dependencies: ["ReelCore", "CNet"]),
        .target(name: "ReelTiming", dependencies: ["ReelCore"]),
        .target(name: "ReelAudio", dependencies: ["ReelCore", "CPulse"]),
        .target(name: "ReelMedia", dependencies: ["ReelCore", "ReelFramePool", "CFFmpeg", "CFFmpegLog"]),
        .target(name: "ReelFramePool", dependencies: ["ReelCore", "CLinux"]),
        .target(name: "ReelWindow", dependencies: ["ReelCore", "CGLFW"]),
        // The cross-process pool's protocol: messages and the checks on every field.
        .target(name: "ReelShare", dependencies: ["ReelCore", "ReelFramePool", "CNet"]),
        .target(
            name: "ReelVulkan", dependencies: ["ReelCore", "ReelFramePool", "CVulkan"],
            plugins: ["ShaderCompiler"]),
        .target(
            name: "Reel",
            dependencies: [
                "ReelCore", "ReelMedia", "ReelFramePool", "ReelVulkan", "ReelTiming", "ReelAudio", "ReelWindow",
                "ReelNet", "ReelShare", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "reel",
            dependencies: [
                "Reel", "ReelCore", "ReelMedia", "ReelFramePool", "ReelVulkan", "ReelTiming", "ReelAudio", "ReelWindow",
                "ReelNet", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // An embedding example: uses only `import Reel`.
        // The fuzz targets (tools/fuzz builds them with libFuzzer; built plainly, it replays files).
        .executableTarget(
            name: "reel-fuzz",
            dependencies: [
                "Reel", "ReelCore", "ReelFramePool", "ReelMedia", "ReelNet", "ReelShare", "ReelVulkan", "CLinux",
            ],
            path: "Sources/reel-fuzz"),
        .executableTarget(
            name: "CaptureDemo",
            dependencies: ["Reel", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/CaptureDemo"),

        // Build tools.
        .plugin(name: "ShaderCompiler", capability: .buildTool()),

        // Tests mirror Sources/; ReelTestSupport holds what several of them share.
        .target(name: "ReelTestSupport", dependencies: ["ReelMedia", "ReelFramePool"], path: "Tests/ReelTestSupport"),
        .testTarget(name: "ReelCoreTests", dependencies: ["ReelCore"]),
        .testTarget(name: "ReelNetTests", dependencies: ["ReelNet"]),
        .testTarget(name: "ReelTimingTests", dependencies: ["ReelTiming"]),
        .testTarget(name: "ReelAudioTests", dependencies: ["ReelAudio", "ReelMedia", "ReelTestSupport"]),
        .testTarget(name: "ReelMediaTests", dependencies: ["ReelMedia", "ReelFramePool", "ReelTestSupport"]),
        .testTarget(name: "ReelFramePoolTests", dependencies: ["ReelFramePool"]),
        .testTarget(name: "ReelShareTests", dependencies: ["ReelShare", "ReelFramePool", "CNet"]),
        .testTarget(
            name: "ReelVulkanTests", dependencies: ["ReelVulkan", "ReelMedia", "ReelFramePool", "ReelTestSupport"]),
        .testTarget(
            name: "ReelTests",
            dependencies: [
                "Reel", "ReelCore", "ReelMedia", "ReelFramePool", "ReelVulkan", "ReelTiming", "ReelAudio", "ReelNet",
                "ReelTestSupport", "ReelShare", .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "reelTests",
            dependencies: ["reel", "Reel", "ReelMedia", "ReelFramePool", "ReelShare", "CNet", "ReelTestSupport"]),
    ]
)
