#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_GOOGLE_include_directive : require
// The native pass (yuv420_native.glsl) with the colour mapping (colour_map.glsl): HDR
// and wide-gamut pictures. A module of its own, so that the SDR pass carries none of it.
#define COLOUR_MAPPING
#include "yuv420_native.glsl"
