#version 450
#extension GL_GOOGLE_include_directive : require
// The general pass (yuv_general.glsl) for pictures shown as they are: SDR in, SDR out.
#include "yuv_general.glsl"
