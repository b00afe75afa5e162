#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_GOOGLE_include_directive : require
// The native pass (yuv420_native.glsl) for pictures shown as they are: SDR in, SDR out.
#include "yuv420_native.glsl"
