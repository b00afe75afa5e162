// YCbCr → RGBA for 4:2:0 and (FULL_ROWS) 4:2:2 at native scale (the picture's size
// equals its destination rectangle), 8-bit or (WIDE) 10-bit in 16-bit samples, planar or
// with interleaved CbCr (INTERLEAVED: NV12, P010): the common cases, and the ones a CPU
// driver must do fast.
//
// Each invocation converts a block of BLOCK×ROWS pixels. The pass covers only whole
// blocks (the CPU sizes the region; yuv_general.comp converts the strips left over
// when the size is not a multiple of the block's), so the code has no per-pixel
// bounds and no branches: on lavapipe every `if` runs both sides under a lane mask,
// and each buffer access is a loop over the lanes, so the shape below is chosen for
// that driver. Measured with callgrind on a 1080p frame, the choices that mattered:
//   - planes read as 16-byte texels (RGBA32UI): one gather call per 16 bytes;
//   - pixels written 8 at a time as u64vec4: the per-lane store loop runs half as often;
//   - no `if` around rows, columns or stores; edges clamp instead;
//   - explicit fma().
//
// With chroma sample i at luma position 2i + h/2 (h = siting in half samples: 0, 1
// or 2), an even luma position 2p lies at chroma p − h/4 and an odd one 2p+1 at
// p + (2−h)/4: two taps with weights in quarters, over samples (p−1, p) for an even
// position and (p, p+1) for an odd one. All indices are constants once unrolled.

#include "frame_constants.glsl"
#ifdef COLOUR_MAPPING
#include "colour_map.glsl"
#else
const bool MAPS_COLOUR = false;
const float LUT_STEPS = 1.0;
uint lookUpPackedInSteps(vec3 p) { return 0u; }
#endif

layout(local_size_x = 64) in;

// The frame's bytes as 16-byte texels (the whole imported pool, or the staging buffer).
layout(set = 0, binding = 2) uniform usamplerBuffer planeQuads;
// The RGBA output, eight pixels per element.
layout(std430, set = 0, binding = 1) writeonly buffer Output { u64vec4 octets[]; };

// NV12, P010: one chroma plane of CbCr pairs; WIDE: 16-bit little-endian samples whose
// value is the sample shifted right by sampleShift() (P010 keeps its 10 bits at the
// top). Specialization constants: the branches on them are gone at run time.
layout(constant_id = 0) const bool INTERLEAVED = false;
layout(constant_id = 1) const bool WIDE = false;
// 4:2:2: a chroma row for every luma row (no vertical interpolation).
layout(constant_id = 2) const bool FULL_ROWS = false;

const int BLOCK = 32;                   // pixels per block row
const int ROWS = 4;                     // rows per block (even)
const int COLUMNS = BLOCK / 2 + 2;      // chroma columns k−1 … k+BLOCK/2 (k = x0/2)
const int QUADS = BLOCK / 32 + 2;       // 16-byte texels from k−16 that hold them
const int CHROMA_ROWS = ROWS / 2 + 2;   // chroma rows m−1 … m+ROWS/2 (m = y0/2)
const int PAIR_QUADS = BLOCK / 16 + 2;  // interleaved: 16-byte texels from 2k−16 that hold them

// The 16 bytes at `byteOffset` (a multiple of 16) from the slot's start.
uvec4 fetchQuad(uint byteOffset) { return texelFetch(planeQuads, int((frame.slotWord >> 2) + (byteOffset >> 4))); }

uint byteAt(uvec4 quads[QUADS], int b) { return (quads[b >> 4][(b >> 2) & 3] >> (uint(b & 3) * 8u)) & 0xffu; }

// Quarter weights for an even luma position over (p−1, p), and an odd one over (p, p+1).
vec2 evenWeights(int h) { return vec2(h, 4 - h) * 0.25; }
vec2 oddWeights(int h) { return vec2(2 + h, 2 - h) * 0.25; }

// Chroma columns k−1 … k+BLOCK/2 of one row. The texels start 16 bytes before k; at
// k = 0 those bytes belong to the plane before (the CPU checks there is one), and
// column 0 repeats column 1 instead. At the right edge of a picture whose width is a
// multiple of BLOCK, column k+BLOCK/2 does not exist and repeats the one before.
void chromaColumns(uint planeOffset, uint row, uint k, out float columns[COLUMNS]) {
    uint base = planeOffset + row * frame.chromaStride + k - 16u;
    uvec4 quads[QUADS];
    [[unroll]] for (int q = 0; q < QUADS; q++) quads[q] = fetchQuad(base + uint(q) * 16u);
    [[unroll]] for (int c = 0; c < COLUMNS; c++) columns[c] = float(byteAt(quads, 15 + c));
    columns[0] = k == 0u ? columns[1] : columns[0];
    bool lastExists = k + uint(BLOCK / 2) < chromaSize().x;
    columns[COLUMNS - 1] = lastExists ? columns[COLUMNS - 1] : columns[COLUMNS - 2];
}

uint byteOfPairs(uvec4 quads[PAIR_QUADS], int b) { return (quads[b >> 4][(b >> 2) & 3] >> (uint(b & 3) * 8u)) & 0xffu; }

// The same columns of Cb and Cr from one row of CbCr pairs: pair k−1 … k+BLOCK/2, read
// from 16 bytes before pair k's first byte (2k, a multiple of 32).
void pairColumns(uint row, uint k, out float cb[COLUMNS], out float cr[COLUMNS]) {
    uint base = frame.planeOffset.y + row * frame.chromaStride + 2u * k - 16u;
    uvec4 quads[PAIR_QUADS];
    [[unroll]] for (int q = 0; q < PAIR_QUADS; q++) quads[q] = fetchQuad(base + uint(q) * 16u);
    [[unroll]] for (int c = 0; c < COLUMNS; c++) {
        cb[c] = float(byteOfPairs(quads, 14 + 2 * c));
        cr[c] = float(byteOfPairs(quads, 15 + 2 * c));
    }
    bool lastExists = k + uint(BLOCK / 2) < chromaSize().x;
    cb[0] = k == 0u ? cb[1] : cb[0];
    cr[0] = k == 0u ? cr[1] : cr[0];
    cb[COLUMNS - 1] = lastExists ? cb[COLUMNS - 1] : cb[COLUMNS - 2];
    cr[COLUMNS - 1] = lastExists ? cr[COLUMNS - 1] : cr[COLUMNS - 2];
}

// 16-bit samples: sample s of the texels read.
uint sampleOf4(uvec4 quads[4], int s) { return (quads[s >> 3][(s >> 1) & 3] >> (uint(s & 1) * 16u)) & 0xffffu; }
uint sampleOf6(uvec4 quads[6], int s) { return (quads[s >> 3][(s >> 1) & 3] >> (uint(s & 1) * 16u)) & 0xffffu; }

// WIDE chroma columns k−1 … k+BLOCK/2 of one planar row, from 16 bytes before sample
// k's first byte (2k, a multiple of 32): sample k−1+c is sample 7+c of the texels.
void wideChromaColumns(uint planeOffset, uint row, uint k, out float columns[COLUMNS]) {
    uint base = planeOffset + row * frame.chromaStride + 2u * k - 16u;
    uint shift = sampleShift();
    uvec4 quads[4];
    [[unroll]] for (int q = 0; q < 4; q++) quads[q] = fetchQuad(base + uint(q) * 16u);
    [[unroll]] for (int c = 0; c < COLUMNS; c++) columns[c] = float(sampleOf4(quads, 7 + c) >> shift);
    columns[0] = k == 0u ? columns[1] : columns[0];
    bool lastExists = k + uint(BLOCK / 2) < chromaSize().x;
    columns[COLUMNS - 1] = lastExists ? columns[COLUMNS - 1] : columns[COLUMNS - 2];
}

// WIDE pairs k−1 … k+BLOCK/2 of one interleaved row, from 16 bytes before pair k's
// first byte (4k, a multiple of 64): pair k−1+c is samples 6+2c (Cb) and 7+2c (Cr).
void widePairColumns(uint row, uint k, out float cb[COLUMNS], out float cr[COLUMNS]) {
    uint base = frame.planeOffset.y + row * frame.chromaStride + 4u * k - 16u;
    uint shift = sampleShift();
    uvec4 quads[6];
    [[unroll]] for (int q = 0; q < 6; q++) quads[q] = fetchQuad(base + uint(q) * 16u);
    [[unroll]] for (int c = 0; c < COLUMNS; c++) {
        cb[c] = float(sampleOf6(quads, 6 + 2 * c) >> shift);
        cr[c] = float(sampleOf6(quads, 7 + 2 * c) >> shift);
    }
    bool lastExists = k + uint(BLOCK / 2) < chromaSize().x;
    cb[0] = k == 0u ? cb[1] : cb[0];
    cr[0] = k == 0u ? cr[1] : cr[0];
    cb[COLUMNS - 1] = lastExists ? cb[COLUMNS - 1] : cb[COLUMNS - 2];
    cr[COLUMNS - 1] = lastExists ? cr[COLUMNS - 1] : cr[COLUMNS - 2];
}

// Luma sample i of a row's BLOCK from `start` (the row's first sample's byte), read as
// the pixels are made: one 16-byte texel for every 8 (WIDE) or 16 samples, fetched at
// the first of them, so that few samples are held across the pixels between.
float lumaSample(uint start, int i, inout uvec4 quad) {
    if (WIDE) {
        if ((i & 7) == 0) quad = fetchQuad(start + uint(i) * 2u);
        return float(((quad[(i >> 1) & 3] >> (uint(i & 1) * 16u)) & 0xffffu) >> sampleShift());
    }
    if ((i & 15) == 0) quad = fetchQuad(start + uint(i));
    return float((quad[(i >> 2) & 3] >> (uint(i & 3) * 8u)) & 0xffu);
}

float affine(vec4 row, vec3 v) { return fma(row.x, v.x, fma(row.y, v.y, fma(row.z, v.z, row.w))); }

// RGBA8, little-endian, from rows already scaled to 0…255 with the rounding added; or,
// where the colour is mapped (colour_map.glsl), from rows scaled to the table's steps
// with the rounding added, through its table. Converted to int, not uint: on AVX2 a
// float → uint conversion is six instructions, to int one (the values are 0…255 either
// way).
uint pack(vec4 r, vec4 g, vec4 b, vec3 ycbcr) {
    vec3 rgb = vec3(affine(r, ycbcr), affine(g, ycbcr), affine(b, ycbcr));
    if (MAPS_COLOUR) return lookUpPackedInSteps(rgb);
    ivec3 c = ivec3(clamp(rgb, 0.0, 255.0));
    return uint(c.r | (c.g << 8) | (c.b << 16)) | 0xff000000u;
}

void convertBlock(uvec2 block) {
    uint x0 = block.x * uint(BLOCK);
    uint y0 = block.y * uint(ROWS);
    uint k = x0 >> 1;
    int m = int(y0 >> 1);
    int lastRow = int(chromaSize().y) - 1;
    float cb[CHROMA_ROWS][COLUMNS];
    float cr[CHROMA_ROWS][COLUMNS];
    [[unroll]] for (int r = 0; r < CHROMA_ROWS; r++) {
        // 4:2:2: the block's own rows (CHROMA_ROWS == ROWS); 4:2:0: rows m−1 … m+ROWS/2.
        uint row = FULL_ROWS ? y0 + uint(r) : uint(clamp(m - 1 + r, 0, lastRow));
        if (INTERLEAVED && WIDE) {
            widePairColumns(row, k, cb[r], cr[r]);
        } else if (INTERLEAVED) {
            pairColumns(row, k, cb[r], cr[r]);
        } else if (WIDE) {
            wideChromaColumns(frame.planeOffset.y, row, k, cb[r]);
            wideChromaColumns(frame.planeOffset.z, row, k, cr[r]);
        } else {
            chromaColumns(frame.planeOffset.y, row, k, cb[r]);
            chromaColumns(frame.planeOffset.z, row, k, cr[r]);
        }
    }
    // To 0…255 (SDR) or the colour table's steps (mapped), with the rounding added.
    const float scale = MAPS_COLOUR ? LUT_STEPS : 255.0;
    vec4 rowR = fma(frame.rowR, vec4(scale), vec4(0.0, 0.0, 0.0, 0.5));
    vec4 rowG = fma(frame.rowG, vec4(scale), vec4(0.0, 0.0, 0.0, 0.5));
    vec4 rowB = fma(frame.rowB, vec4(scale), vec4(0.0, 0.0, 0.0, 0.5));
    ivec2 siting = sitingHalves();
    vec2 horizontal[2] = vec2[2](evenWeights(siting.x), oddWeights(siting.x));
    [[unroll]] for (int j = 0; j < ROWS; j++) {
        uint y = y0 + uint(j);
        // Row 2p blends chroma rows p−1 and p; row 2p+1 blends p and p+1 (local indices).
        int a = (j + 1) / 2;
        vec2 v = (j & 1) == 0 ? evenWeights(siting.y) : oddWeights(siting.y);
        float cbColumn[COLUMNS];
        float crColumn[COLUMNS];
        [[unroll]] for (int c = 0; c < COLUMNS; c++) {
            cbColumn[c] = FULL_ROWS ? cb[j][c] : fma(v.x, cb[a][c], v.y * cb[a + 1][c]);
            crColumn[c] = FULL_ROWS ? cr[j][c] : fma(v.x, cr[a][c], v.y * cr[a + 1][c]);
        }
        uint lumaStart = frame.planeOffset.x + y * frame.planeOffset.w + (WIDE ? 2u : 1u) * x0;
        uvec4 lumaQuad;
        // The CPU guarantees every row's first pixel is a multiple of 8 in the output.
        uint first = outputIndex(ivec2(x0, y)) >> 3;
        uint packed[8];
        [[unroll]] for (int i = 0; i < BLOCK; i++) {
            // Chroma column k+p is column[p+1]: even pixels blend p−1 and p, odd ones p and p+1.
            int column = (i >> 1) + (i & 1);
            vec2 w = horizontal[i & 1];
            float l = lumaSample(lumaStart, i, lumaQuad);
            float b = fma(w.x, cbColumn[column], w.y * cbColumn[column + 1]);
            float r = fma(w.x, crColumn[column], w.y * crColumn[column + 1]);
            packed[i & 7] = pack(rowR, rowG, rowB, vec3(l, b, r));
            // Each eight stored as soon as they are made: fewer values live across the
            // colour table's fetches (calls, on lavapipe, that spill every register).
            if ((i & 7) == 7) {
                octets[first + uint(i >> 3)] = u64vec4(
                    packUint2x32(uvec2(packed[0], packed[1])), packUint2x32(uvec2(packed[2], packed[3])),
                    packUint2x32(uvec2(packed[4], packed[5])), packUint2x32(uvec2(packed[6], packed[7])));
            }
        }
    }
}

void main() {
    // Blocks are numbered along the region's rows. Invocations past the last block
    // convert the last block again (the same bytes), so no lane is masked off.
    uint columns = frame.regionColumns;
    uint blocks = columns * (uint(frame.regionEnd.y) / uint(ROWS));
    uint index = min(gl_GlobalInvocationID.x, blocks - 1u);
    // index / columns in float (exact well beyond any picture's block count), corrected
    // by one either way: a vector integer division would be lane by lane.
    int row = int((float(index) + 0.5) * frame.inverseRegionColumns);
    int column = int(index) - row * int(columns);
    row += column >= int(columns) ? 1 : (column < 0 ? -1 : 0);
    column = int(index) - row * int(columns);
    convertBlock(uvec2(column, row));
}
