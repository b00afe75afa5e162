#version 450
// YCbCr → RGB for planar 8-bit 4:2:0 pictures, read straight from the frame's
// bytes in a storage buffer (the pool slot), with bilinear chroma upsampling that
// honours the chroma siting, and bilinear luma when the output is scaled.
//
// The colour matrix, range and offsets come precomputed from the CPU as three
// affine rows over code values (see YCbCrTransform.swift).

layout(std430, set = 0, binding = 0) readonly buffer Planes { uint words[]; };

layout(push_constant, std430) uniform Frame {
    vec4 rowR;            // R = dot(rowR.xyz, YCbCr) + rowR.w
    vec4 rowG;
    vec4 rowB;
    vec4 destination;     // picture rectangle in the output: x, y, width, height (pixels)
    uvec4 planeOffset;    // byte offsets of Y, Cb, Cr; .w = luma stride in bytes
    uvec2 lumaSize;       // luma samples: width, height
    uvec2 chromaSize;     // chroma samples: width, height
    vec2 chromaSiting;    // position of chroma sample 0 in luma samples from luma sample 0
    vec2 chromaFactor;    // luma samples per chroma sample: 2 for 4:2:0
    uint chromaStride;    // bytes per chroma row
} frame;

layout(location = 0) out vec4 color;

float sampleAt(uint planeOffset, uint stride, ivec2 p) {
    uint byteIndex = planeOffset + uint(p.y) * stride + uint(p.x);
    return float((words[byteIndex >> 2] >> ((byteIndex & 3u) * 8u)) & 0xffu);
}

// Bilinear interpolation at `position`, in sample-centre units of the plane
// (0.0 is the centre of sample 0), repeating the edge samples outside.
float bilinear(uint planeOffset, uint stride, uvec2 size, vec2 position) {
    vec2 last = vec2(size) - 1.0;
    position = clamp(position, vec2(0.0), last);
    ivec2 p0 = ivec2(floor(position));
    ivec2 p1 = min(p0 + 1, ivec2(last));
    vec2 f = position - vec2(p0);
    float top = mix(sampleAt(planeOffset, stride, p0), sampleAt(planeOffset, stride, ivec2(p1.x, p0.y)), f.x);
    float bottom = mix(sampleAt(planeOffset, stride, ivec2(p0.x, p1.y)), sampleAt(planeOffset, stride, p1), f.x);
    return mix(top, bottom, f.y);
}

void main() {
    // Output pixel centre → luma position (sample-centre units).
    vec2 scale = vec2(frame.lumaSize) / frame.destination.zw;
    vec2 luma = (gl_FragCoord.xy - frame.destination.xy) * scale - 0.5;
    // Chroma sample i sits at luma position i·factor + siting.
    vec2 factor = frame.chromaFactor;
    vec2 chroma = (luma - frame.chromaSiting) / factor;

    vec3 ycbcr = vec3(
        bilinear(frame.planeOffset.x, frame.planeOffset.w, frame.lumaSize, luma),
        bilinear(frame.planeOffset.y, frame.chromaStride, frame.chromaSize, chroma),
        bilinear(frame.planeOffset.z, frame.chromaStride, frame.chromaSize, chroma));
    vec3 rgb = vec3(
        dot(frame.rowR.xyz, ycbcr) + frame.rowR.w,
        dot(frame.rowG.xyz, ycbcr) + frame.rowG.w,
        dot(frame.rowB.xyz, ycbcr) + frame.rowB.w);
    color = vec4(clamp(rgb, 0.0, 1.0), 1.0);
}
