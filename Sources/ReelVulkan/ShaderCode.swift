/// SPIR-V for the shaders in `Shaders/`, compiled at build time by the
/// ShaderCompiler plugin; each shader is a static `[UInt32]` member.
enum ShaderCode {}
