// The push constants both YCbCr → RGB passes read: 128 bytes, the most every Vulkan
// device allows. OffscreenRenderer.writePushConstants writes them word for word.
//
// The colour matrix, range and offsets come from the CPU as three affine rows over
// code values (YCbCrTransform.swift): R = dot(rowR.xyz, YCbCr) + rowR.w, and so on.

layout(push_constant, std430) uniform Frame {
    vec4 rowR;
    vec4 rowG;
    vec4 rowB;
    ivec4 destination;          // picture rectangle in the output: x, y, width, height (pixels)
    uvec4 planeOffset;          // byte offsets of Y, Cb, Cr from the slot's start; .w = luma stride
    uint lumaSizePacked;        // luma samples: width | height << 16
    uint chromaSizePacked;      // chroma samples: width | height << 16
    uint chromaStride;          // bytes per chroma row
    uint outputWidth;           // pixels per output row
    uint flags;                 // the fields the functions below read
    uint slotWord;              // the slot's first 32-bit word in the planes buffer
    ivec2 regionOrigin;         // the part of the picture this dispatch converts, in
    ivec2 regionEnd;            //   destination pixels: first, and one past the last
    uint regionColumns;         // native pass: blocks per row of the region
    float inverseRegionColumns; //   and 1 / that
} frame;

uvec2 lumaSize() { return uvec2(frame.lumaSizePacked & 0xffffu, frame.lumaSizePacked >> 16); }
uvec2 chromaSize() { return uvec2(frame.chromaSizePacked & 0xffffu, frame.chromaSizePacked >> 16); }
// Bits 4–7: right shift that leaves a sample's value (10-bit in the high bits of 16).
uint sampleShift() { return (frame.flags >> 4) & 15u; }
// Bits 8 and 9: chroma subsampling, as a shift, horizontally and vertically.
uvec2 chromaShift() { return uvec2((frame.flags >> 8) & 1u, (frame.flags >> 9) & 1u); }
// Bits 10–11 and 12–13: chroma sample 0's position from luma sample 0 in half luma samples.
ivec2 sitingHalves() { return ivec2((frame.flags >> 10) & 3u, (frame.flags >> 12) & 3u); }

uint outputIndex(ivec2 picture) {
    ivec2 out_ = frame.destination.xy + picture;
    return uint(out_.y) * frame.outputWidth + uint(out_.x);
}
