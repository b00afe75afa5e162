#version 450
#extension GL_GOOGLE_include_directive : require
// Fills the colour table the 8-bit passes look HDR and wide-gamut pictures up in
// (colour_map.glsl), in two dispatches. PHASE 0, one invocation a point of the
// LUT_POINTS³ grid: maps the point (mapColour of source R′G′B′ point/LUT_CELLS, as
// R | G << 8 | B << 16 in 8 bits each) into the scratch words after the table's texels.
// PHASE 1, one invocation a cell: writes its six tetrahedra as 16-byte texels, each its
// four corners in walk order, in the slots the lookup's comparisons give. Each point is
// mapped once (36 k of them), not once for every cell it is a corner of (262 k). Phase 0
// runs per source colour and output (its specialization constants are the pass's);
// phase 1 needs none of them.

#include "frame_constants.glsl"
#include "colour_map.glsl"

layout(constant_id = 40) const uint PHASE = 0u;

layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 4) buffer Table { uvec4 entries[]; };

const uint CELL_COUNT = LUT_CELLS * LUT_CELLS * LUT_CELLS;
const uint POINT_COUNT = LUT_POINTS * LUT_POINTS * LUT_POINTS;
// The table's texels: eight slots a cell; the grid points' words follow, four a texel.
const uint SCRATCH = 8u * CELL_COUNT;

uint pointAt(uvec3 point) {
    uint index = point.x + LUT_POINTS * (point.y + LUT_POINTS * point.z);
    return entries[SCRATCH + (index >> 2)][index & 3u];
}

void main() {
    uint index = gl_GlobalInvocationID.x;
    if (PHASE == 0u) {
        if (index >= POINT_COUNT) return;
        uvec3 point = uvec3(index % LUT_POINTS, (index / LUT_POINTS) % LUT_POINTS, index / (LUT_POINTS * LUT_POINTS));
        vec3 colour = mapColour(vec3(point) / float(LUT_CELLS));
        uvec3 code = uvec3(clamp(colour * 255.0 + 0.5, 0.0, 255.0));
        entries[SCRATCH + (index >> 2)][index & 3u] = code.r | (code.g << 8) | (code.b << 16);
        return;
    }
    if (index >= CELL_COUNT) return;
    uvec3 c = uvec3(index % LUT_CELLS, (index / LUT_CELLS) % LUT_CELLS, index / (LUT_CELLS * LUT_CELLS));
    uint c000 = pointAt(c), c111 = pointAt(c + uvec3(1, 1, 1));
    uint c100 = pointAt(c + uvec3(1, 0, 0)), c010 = pointAt(c + uvec3(0, 1, 0)), c001 = pointAt(c + uvec3(0, 0, 1));
    uint c110 = pointAt(c + uvec3(1, 1, 0)), c101 = pointAt(c + uvec3(1, 0, 1)), c011 = pointAt(c + uvec3(0, 1, 1));
    // Slot (f.x > f.y) << 2 | (f.y > f.z) << 1 | (f.x > f.z): 7 walks x, y, z; 5 x, z, y;
    // 4 z, x, y; 3 y, x, z; 2 y, z, x; 0 z, y, x. Slots 1 and 6 cannot be taken (their
    // comparisons contradict each other); they repeat 0 and 7.
    uvec4 zyx = uvec4(c000, c001, c011, c111);
    uvec4 xyz = uvec4(c000, c100, c110, c111);
    entries[8u * index] = zyx;
    entries[8u * index + 1u] = zyx;
    entries[8u * index + 2u] = uvec4(c000, c010, c011, c111);
    entries[8u * index + 3u] = uvec4(c000, c010, c110, c111);
    entries[8u * index + 4u] = uvec4(c000, c001, c101, c111);
    entries[8u * index + 5u] = uvec4(c000, c100, c101, c111);
    entries[8u * index + 6u] = xyz;
    entries[8u * index + 7u] = xyz;
}
