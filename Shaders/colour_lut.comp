#version 450
#extension GL_GOOGLE_include_directive : require
// Fills the colour table the 8-bit passes look HDR and wide-gamut pictures up in
// (colour_map.glsl): one invocation a cell of the LUT_POINTS³ grid, mapping its eight
// corners (mapColour of source R′G′B′ point/(LUT_POINTS − 1), as R | G << 10 | B << 20 in
// 10 bits each) and writing its six tetrahedra as 16-byte texels, each its four corners
// in walk order. Run once per source colour and output (its specialization constants
// are the pass's).

#include "frame_constants.glsl"
#include "colour_map.glsl"

layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 4) writeonly buffer Table { uvec4 entries[]; };

uint entryAt(uvec3 point) {
    vec3 colour = mapColour(vec3(point) / float(LUT_POINTS - 1u));
    uvec3 code = uvec3(clamp(colour * 1023.0 + 0.5, 0.0, 1023.0));
    return code.r | (code.g << 10) | (code.b << 20);
}

void main() {
    const uint cells = LUT_POINTS - 1u;
    uint index = gl_GlobalInvocationID.x;
    if (index >= cells * cells * cells) return;
    uvec3 c = uvec3(index % cells, (index / cells) % cells, index / (cells * cells));
    uint c000 = entryAt(c), c111 = entryAt(c + uvec3(1, 1, 1));
    uint c100 = entryAt(c + uvec3(1, 0, 0)), c010 = entryAt(c + uvec3(0, 1, 0)), c001 = entryAt(c + uvec3(0, 0, 1));
    uint c110 = entryAt(c + uvec3(1, 1, 0)), c101 = entryAt(c + uvec3(1, 0, 1)), c011 = entryAt(c + uvec3(0, 1, 1));
    // Tetrahedron t: 0 walks x, y, z; 1 x, z, y; 2 z, x, y; 3 y, x, z; 4 y, z, x; 5 z, y, x.
    entries[6u * index] = uvec4(c000, c100, c110, c111);
    entries[6u * index + 1u] = uvec4(c000, c100, c101, c111);
    entries[6u * index + 2u] = uvec4(c000, c001, c101, c111);
    entries[6u * index + 3u] = uvec4(c000, c010, c110, c111);
    entries[6u * index + 4u] = uvec4(c000, c010, c011, c111);
    entries[6u * index + 5u] = uvec4(c000, c001, c011, c111);
}
