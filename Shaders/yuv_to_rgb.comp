#version 450
// YCbCr → RGBA for 8- and 10-bit 4:2:0, 4:2:2, 4:4:4, semi-planar and gray pictures,
// read straight from the frame's pool slot and written as packed RGBA8 into a
// storage buffer.
//
// 8-bit 4:2:0 at native scale (the picture's size equals its destination
// rectangle) takes the fast path: blocks of 32×2 pixels, whole 32-bit words read
// once for many pixels, and chroma weights that are exact quarters (with 2:1
// subsampling every chroma position falls on a quarter sample). Everything else
// takes the general path: blocks of 8×2, bilinear luma and chroma at any position.
//
// The colour matrix, range and offsets come from the CPU as three affine rows
// over code values (YCbCrTransform.swift).

layout(local_size_x = 8, local_size_y = 8) in;

// The frame's bytes as 32-bit texels (the whole imported pool, or the staging buffer).
// A texel buffer, not a storage buffer: lavapipe fetches texels with vector gathers
// where it loads from storage buffers lane by lane (about 17% less CPU per frame).
layout(set = 0, binding = 0) uniform usamplerBuffer planeTexels;
layout(std430, set = 0, binding = 1) writeonly buffer Output { uint pixels[]; };
// The same output, four pixels at a time: lavapipe turns each per-invocation buffer
// access into per-lane scalar code, so one 16-byte store beats four 4-byte ones.
layout(std430, set = 0, binding = 1) writeonly buffer OutputQuads { uvec4 quads[]; };

layout(push_constant, std430) uniform Frame {
    vec4 rowR;              // R = dot(rowR.xyz, YCbCr) + rowR.w
    vec4 rowG;
    vec4 rowB;
    ivec4 destination;      // picture rectangle in the output: x, y, width, height (pixels)
    uvec4 planeOffset;      // byte offsets of Y, Cb, Cr in the buffer; .w = luma stride in bytes
    uvec2 lumaSize;         // luma samples: width, height
    uvec2 chromaSize;       // chroma samples: width, height
    ivec2 sitingHalves;     // chroma sample 0's position from luma sample 0, in half luma samples
    uint chromaStride;      // bytes per chroma row
    uint outputWidth;       // pixels per output row
    uint flags;             // FLAG_* below; bits 4–7 sample shift, 8 and 9 chroma shift x and y
    uint slotWord;          // the slot's first texel in planeTexels; plane offsets are from there
} frame;

uint fetchWord(uint index) { return texelFetch(planeTexels, int(frame.slotWord + index)).x; }

const uint FLAG_NATIVE = 1u;        // 8-bit planar 4:2:0 at native scale: the fast path
const uint FLAG_WIDE = 2u;          // 16-bit samples
const uint FLAG_INTERLEAVED = 4u;   // Cb and Cr alternate in plane 1 (nv12, p010)
const uint FLAG_GRAY = 8u;          // no chroma (folded into the rows' constants)

vec3 toRGB(vec3 ycbcr) {
    return vec3(
        dot(frame.rowR.xyz, ycbcr) + frame.rowR.w,
        dot(frame.rowG.xyz, ycbcr) + frame.rowG.w,
        dot(frame.rowB.xyz, ycbcr) + frame.rowB.w);
}

// RGBA8, little-endian: R in the low byte; rounded to nearest.
uint pack(vec3 ycbcr) {
    uvec3 c = uvec3(clamp(toRGB(ycbcr) * 255.0 + 0.5, 0.0, 255.0));
    return c.r | (c.g << 8) | (c.b << 16) | 0xff000000u;
}

uint outputIndex(ivec2 picture) {
    ivec2 out_ = frame.destination.xy + picture;
    return uint(out_.y) * frame.outputWidth + uint(out_.x);
}

void store(ivec2 picture, vec3 ycbcr) {
    pixels[outputIndex(picture)] = pack(ycbcr);
}

// ---- Fast path: native scale, 2:1 subsampling in both directions ----
//
// The block covers luma columns x0 … x0+7 and rows y0, y0+1 (x0 a multiple of 8,
// y0 even), so it needs chroma columns k−1 … k+4 (k = x0/2) of rows m−1 … m+1
// (m = y0/2). With chroma sample i at luma position 2i + h/2 (h = siting in half
// samples: 0, 1 or 2), an even luma position 2p lies at chroma p − h/4 and an odd
// one 2p+1 at p + (2−h)/4: 3-tap weights in quarters over samples p−1, p, p+1 that
// depend only on the parity. All indices below are constants once unrolled.
// (Float multiply-adds: lavapipe's integer multiplies cost more.)

// Quarter weights for an even luma position over samples (p−1, p), and for an odd
// one over (p, p+1): the third tap of the 3-tap window is always zero.
vec2 evenWeights(int h) { return vec2(h, 4 - h) * 0.25; }
vec2 oddWeights(int h) { return vec2(2 + h, 2 - h) * 0.25; }

// Output pixels per block row (a multiple of 8) and the chroma columns that needs:
// k−1 … k+BLOCK/2, read as BLOCK/8 + 2 words from k−4.
const int BLOCK = 32;
const int COLUMNS = BLOCK / 2 + 2;
const int WORDS = BLOCK / 8 + 2;

// Chroma columns k−1 … k+BLOCK/2 of one row, edges repeated.
void chromaColumns(uint planeOffset, uint row, uint k, out float columns[COLUMNS]) {
    uint base = (planeOffset + row * frame.chromaStride + k) >> 2;
    uint w[WORDS];
    w[0] = k == 0u ? 0u : fetchWord(base - 1u);
    for (int i = 1; i < WORDS; i++) w[i] = fetchWord(base + uint(i - 1));
    // Column c is chroma sample k−1+c, byte (c+3) of the window starting at k−4.
    for (int c = 0; c < COLUMNS; c++) {
        columns[c] = float((w[(c + 3) >> 2] >> (uint((c + 3) & 3) * 8u)) & 0xffu);
    }
    if (k == 0u) columns[0] = columns[1];
    uint width = frame.chromaSize.x;
    if (k + uint(COLUMNS - 2) >= width) {
        // Right edge: columns past the last sample repeat it.
        float last = columns[clamp(int(width) - int(k), 1, COLUMNS - 1)];
        for (int c = 1; c < COLUMNS; c++) {
            columns[c] = k + uint(c) > width ? last : columns[c];
        }
    }
}

// One plane's chroma for the block's 2×BLOCK pixels.
void interpolatePlane(uint planeOffset, uint k, uvec3 rows, out float values[2][BLOCK]) {
    float r0[COLUMNS];
    float r1[COLUMNS];
    float r2[COLUMNS];
    chromaColumns(planeOffset, rows.x, k, r0);
    chromaColumns(planeOffset, rows.y, k, r1);
    chromaColumns(planeOffset, rows.z, k, r2);
    vec2 even = evenWeights(frame.sitingHalves.y);
    vec2 odd = oddWeights(frame.sitingHalves.y);
    vec2 horizontal[2] = vec2[2](evenWeights(frame.sitingHalves.x), oddWeights(frame.sitingHalves.x));
    for (int j = 0; j < 2; j++) {
        // Row y0 (even) blends chroma rows m−1, m; row y0+1 (odd) blends m, m+1.
        float column[COLUMNS];
        for (int c = 0; c < COLUMNS; c++) {
            column[c] = j == 0 ? even.x * r0[c] + even.y * r1[c] : odd.x * r1[c] + odd.y * r2[c];
        }
        for (int i = 0; i < BLOCK; i++) {
            // Chroma column k+p is column[p+1]: even pixels blend p−1 and p, odd ones p and p+1.
            int first = (i >> 1) + (i & 1);
            vec2 w = horizontal[i & 1];
            values[j][i] = w.x * column[first] + w.y * column[first + 1];
        }
    }
}

void nativeBlock(uvec2 block) {
    uint x0 = block.x * uint(BLOCK);
    uint y0 = block.y * 2u;
    uint k = x0 >> 1;
    uint m = y0 >> 1;
    uint lastRow = frame.chromaSize.y - 1u;
    uvec3 rows = uvec3(m == 0u ? 0u : m - 1u, min(m, lastRow), min(m + 1u, lastRow));
    float cb[2][BLOCK];
    float cr[2][BLOCK];
    interpolatePlane(frame.planeOffset.y, k, rows, cb);
    interpolatePlane(frame.planeOffset.z, k, rows, cr);
    for (int j = 0; j < 2; j++) {
        uint y = y0 + uint(j);
        if (y >= frame.lumaSize.y) break;
        uint lumaBase = (frame.planeOffset.x + y * frame.planeOffset.w + x0) >> 2;
        uint luma[BLOCK / 4];
        for (int q = 0; q < BLOCK / 4; q++) luma[q] = fetchWord(lumaBase + uint(q));
        uint packed[BLOCK];
        for (int i = 0; i < BLOCK; i++) {
            float l = float((luma[i >> 2] >> (uint(i & 3) * 8u)) & 0xffu);
            packed[i] = pack(vec3(l, cb[j][i], cr[j][i]));
        }
        uint first = outputIndex(ivec2(x0, y));
        if (x0 + uint(BLOCK) <= frame.lumaSize.x && (first & 3u) == 0u) {
            for (int q = 0; q < BLOCK / 4; q++) {
                quads[(first >> 2) + uint(q)] = uvec4(packed[4 * q], packed[4 * q + 1], packed[4 * q + 2], packed[4 * q + 3]);
            }
        } else {
            for (int i = 0; i < BLOCK; i++) {
                if (x0 + uint(i) < frame.lumaSize.x) pixels[first + uint(i)] = packed[i];
            }
        }
    }
}

// ---- General path: any scale, any supported layout ----

// Sample `component` of pixel p in a plane with `step` samples per pixel.
float sampleAt(uint planeOffset, uint stride, ivec2 p, uint step, uint component) {
    bool wide = (frame.flags & FLAG_WIDE) != 0u;
    uint sampleIndex = uint(p.x) * step + component;
    uint byteIndex = planeOffset + uint(p.y) * stride + (wide ? sampleIndex * 2u : sampleIndex);
    uint word = fetchWord(byteIndex >> 2);
    uint value = wide ? (word >> ((byteIndex & 2u) * 8u)) & 0xffffu : (word >> ((byteIndex & 3u) * 8u)) & 0xffu;
    return float(value >> ((frame.flags >> 4) & 15u));
}

// Bilinear at `position` in sample-centre units of the plane, edges repeated.
float bilinear(uint planeOffset, uint stride, uvec2 size, vec2 position, uint step, uint component) {
    vec2 last = vec2(size) - 1.0;
    position = clamp(position, vec2(0.0), last);
    ivec2 p0 = ivec2(floor(position));
    ivec2 p1 = min(p0 + 1, ivec2(last));
    vec2 f = position - vec2(p0);
    float top = mix(
        sampleAt(planeOffset, stride, p0, step, component),
        sampleAt(planeOffset, stride, ivec2(p1.x, p0.y), step, component), f.x);
    float bottom = mix(
        sampleAt(planeOffset, stride, ivec2(p0.x, p1.y), step, component),
        sampleAt(planeOffset, stride, p1, step, component), f.x);
    return mix(top, bottom, f.y);
}

void scaledBlock(uvec2 block) {
    vec2 scale = vec2(frame.lumaSize) / vec2(frame.destination.zw);
    vec2 siting = vec2(frame.sitingHalves) * 0.5;
    vec2 factor = vec2(float(1u << ((frame.flags >> 8) & 1u)), float(1u << ((frame.flags >> 9) & 1u)));
    bool gray = (frame.flags & FLAG_GRAY) != 0u;
    bool interleaved = (frame.flags & FLAG_INTERLEAVED) != 0u;
    for (uint j = 0u; j < 2u; j++) {
        for (uint i = 0u; i < 8u; i++) {
            ivec2 p = ivec2(block.x * 8u + i, block.y * 2u + j);
            if (p.x < frame.destination.z && p.y < frame.destination.w) {
                vec2 luma = (vec2(p) + 0.5) * scale - 0.5;
                vec2 chroma = (luma - siting) / factor;
                float y = bilinear(frame.planeOffset.x, frame.planeOffset.w, frame.lumaSize, luma, 1u, 0u);
                float cb = 0.0;
                float cr = 0.0;
                if (interleaved) {
                    cb = bilinear(frame.planeOffset.y, frame.chromaStride, frame.chromaSize, chroma, 2u, 0u);
                    cr = bilinear(frame.planeOffset.y, frame.chromaStride, frame.chromaSize, chroma, 2u, 1u);
                } else if (!gray) {
                    cb = bilinear(frame.planeOffset.y, frame.chromaStride, frame.chromaSize, chroma, 1u, 0u);
                    cr = bilinear(frame.planeOffset.z, frame.chromaStride, frame.chromaSize, chroma, 1u, 0u);
                }
                store(p, vec3(y, cb, cr));
            }
        }
    }
}

void main() {
    uvec2 block = gl_GlobalInvocationID.xy;
    bool native = (frame.flags & FLAG_NATIVE) != 0u;
    uint width = native ? uint(BLOCK) : 8u;
    if (block.x * width >= uint(frame.destination.z) || block.y * 2u >= uint(frame.destination.w)) return;
    if (native) {
        nativeBlock(block);
    } else {
        scaledBlock(block);
    }
}
