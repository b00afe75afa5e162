#version 450
#extension GL_GOOGLE_include_directive : require
// The general pass (yuv_general.glsl) with the colour mapping (colour_map.glsl): HDR
// and wide-gamut pictures. A module of its own, so that the SDR pass carries none of it.
#define COLOUR_MAPPING
#include "yuv_general.glsl"
