import Foundation
import PackagePlugin

/// Compiles every GLSL shader in the package's top-level `Shaders/` folder to
/// SPIR-V with `glslc` and embeds it in the target as a Swift `[UInt32]`, so the
/// binary carries its shaders and never looks them up at run time.
///
/// `Shaders/yuv_to_rgb.frag` becomes `ShaderCode.yuvToRGBFrag`-style names:
/// the file name in lower camel case plus the stage (`yuvToRgbFrag`).
@main
struct ShaderCompiler: BuildToolPlugin {
    static let stages = ["vert", "frag", "comp"]

    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let shaderDirectory = context.package.directoryURL.appending(path: "Shaders")
        let files = try FileManager.default.contentsOfDirectory(
            at: shaderDirectory, includingPropertiesForKeys: nil
        )
        .filter { Self.stages.contains($0.pathExtension) }
        .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let includes = try FileManager.default.contentsOfDirectory(
            at: shaderDirectory, includingPropertiesForKeys: nil
        )
        .filter { $0.pathExtension == "glsl" }

        return files.map { source in
            let name = Self.symbolName(for: source)
            let output = context.pluginWorkDirectoryURL.appending(path: "\(name).swift")
            // glslc -mfmt=num prints comma-separated words; wrap them in a Swift literal.
            let script = """
                set -e
                command -v glslc >/dev/null || { echo "error: glslc not found (Debian package glslc)" >&2; exit 1; }
                words=$(glslc -O -mfmt=num -o - "$1")
                { printf '// Generated from Shaders/%s by the ShaderCompiler plugin. Do not edit.\\n' "$3"
                  printf 'extension ShaderCode {\\n    static let %s: [UInt32] = [\\n' "$4"
                  printf '%s\\n' "$words"
                  printf '    ]\\n}\\n'; } > "$2"
                """
            return .buildCommand(
                displayName: "Compiling shader \(source.lastPathComponent)",
                executable: URL(filePath: "/bin/sh"),
                arguments: ["-c", script, "sh", source.path, output.path, source.lastPathComponent, name],
                inputFiles: [source] + includes,
                outputFiles: [output]
            )
        }
    }

    /// `yuv_to_rgb.frag` → `yuvToRgbFrag`.
    static func symbolName(for file: URL) -> String {
        let parts =
            file.deletingPathExtension().lastPathComponent.split(separator: "_") + [
                Substring(file.pathExtension)
            ]
        return parts.enumerated().map { index, part in
            index == 0 ? part.lowercased() : part.prefix(1).uppercased() + part.dropFirst().lowercased()
        }.joined()
    }
}
