#version 450
#extension GL_GOOGLE_include_directive : require
// Fills the colour table the 8-bit passes look HDR and wide-gamut pictures up in
// (colour_map.glsl): entry r + g·N + b·N² holds mapColour of source R′G′B′ (r, g, b)/(N−1),
// N = LUT_POINTS, as R | G << 10 | B << 20 in 10 bits each. Run once per source colour
// and output (its specialization constants are the pass's).

#include "frame_constants.glsl"
#include "colour_map.glsl"

layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 4) writeonly buffer Table { uint entries[]; };

void main() {
    uint index = gl_GlobalInvocationID.x;
    if (index >= LUT_POINTS * LUT_POINTS * LUT_POINTS) return;
    uvec3 point = uvec3(index % LUT_POINTS, (index / LUT_POINTS) % LUT_POINTS, index / (LUT_POINTS * LUT_POINTS));
    vec3 colour = mapColour(vec3(point) / float(LUT_POINTS - 1u));
    uvec3 code = uvec3(clamp(colour * 1023.0 + 0.5, 0.0, 1023.0));
    entries[index] = code.r | (code.g << 10) | (code.b << 20);
}
