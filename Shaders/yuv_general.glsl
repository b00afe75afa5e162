// YCbCr → RGBA for 8- and 10-bit 4:2:0, 4:2:2, 4:4:4, semi-planar and gray pictures
// at any scale, read straight from the frame's pool slot and written as packed RGBA8
// into a storage buffer: bilinear luma and chroma at every output pixel, chroma
// siting honoured. Each invocation converts 8×2 pixels of the dispatch's region.
//
// 8-bit 4:2:0 at native scale has its own, faster pass (yuv420_native.comp); this one
// converts whatever that pass leaves: every other picture, and the native pass's edges.
//
// With OUTPUT16 (a specialization constant) it writes RGBA with 16 bits a channel
// instead, for 10-bit sources, and paints the letterbox bars itself: pixels of its
// region outside the picture are opaque black. OUTPUT10 does the same in A2B10G10R10,
// for an HDR10 window.

#include "frame_constants.glsl"
#ifdef COLOUR_MAPPING
#include "colour_map.glsl"
#else
const bool MAPS_COLOUR = false;
uint lookUpPacked(vec3 source) { return 0u; }
vec3 mapColour(vec3 source) { return source; }
#endif

layout(local_size_x = 8, local_size_y = 8) in;
// Specialization constants: one pipeline per combination, so that no per-pixel `if`
// tests what is fixed for the whole picture (on lavapipe both sides of an `if` run).
// 0: RGBA8; 1: RGBA16; 2: A2B10G10R10 (R in the low 10 bits, alpha opaque: an HDR10
// swapchain's format), its colour computed exactly as for RGBA16.
layout(constant_id = 0) const uint OUTPUT = 0u;
const bool OUTPUT16 = OUTPUT == 1u;
const bool OUTPUT10 = OUTPUT == 2u;
layout(constant_id = 1) const uint LAYOUT = 0u;     // 0: planar, 1: Cb Cr interleaved, 2: gray
layout(constant_id = 2) const bool WIDE = false;    // 16-bit samples

// The frame's bytes as 32-bit texels (the whole imported pool, or the staging buffer).
// A texel buffer, not a storage buffer: lavapipe fetches texels with vector gathers
// where it loads from storage buffers lane by lane.
layout(set = 0, binding = 0) uniform usamplerBuffer planeWords;
// RGBA8 or A2B10G10R10 one word a pixel, or (OUTPUT16) RGBA16 two words a pixel:
// R | G << 16, B | A << 16.
layout(std430, set = 0, binding = 1) writeonly buffer Output { uint pixels[]; };

uint fetchWord(uint index) { return texelFetch(planeWords, int(frame.slotWord + index)).x; }

vec3 toRGB(vec3 ycbcr) {
    return vec3(
        dot(frame.rowR.xyz, ycbcr) + frame.rowR.w,
        dot(frame.rowG.xyz, ycbcr) + frame.rowG.w,
        dot(frame.rowB.xyz, ycbcr) + frame.rowB.w);
}

// Stores the pixel at `p` (picture coordinates): RGBA8 little-endian, R in the low
// byte, or RGBA16; rounded to nearest. Black outside the picture.
void store(ivec2 p, vec3 ycbcr) {
    bool inside = all(greaterThanEqual(p, ivec2(0))) && all(lessThan(p, frame.destination.zw));
    vec3 rgb = toRGB(ycbcr);
    if (OUTPUT16 || OUTPUT10) {
        // Mapped colour: computed exactly.
        rgb = inside ? (MAPS_COLOUR ? mapColour(rgb) : rgb) : vec3(0.0);
    }
    if (OUTPUT16) {
        // To int, not uint: one instruction on AVX2 where uint takes six.
        ivec3 c = ivec3(clamp(rgb * 65535.0 + 0.5, 0.0, 65535.0));
        uint index = outputIndex(p) * 2u;
        pixels[index] = uint(c.r | (c.g << 16));
        pixels[index + 1u] = uint(c.b) | 0xffff0000u;
    } else if (OUTPUT10) {
        ivec3 c = ivec3(clamp(rgb * 1023.0 + 0.5, 0.0, 1023.0));
        pixels[outputIndex(p)] = uint(c.r | (c.g << 10) | (c.b << 20)) | 0xc0000000u;
    } else {
        // Mapped colour: from the table, as the native pass.
        ivec3 c = ivec3(clamp(rgb * 255.0 + 0.5, 0.0, 255.0));
        uint colour = MAPS_COLOUR ? lookUpPacked(rgb) : uint(c.r | (c.g << 8) | (c.b << 16)) | 0xff000000u;
        pixels[outputIndex(p)] = inside ? colour : 0xff000000u;
    }
}

// Sample `component` of pixel p in a plane with `step` samples per pixel.
float sampleAt(uint planeOffset, uint stride, ivec2 p, uint step, uint component) {
    bool wide = WIDE;
    uint sampleIndex = uint(p.x) * step + component;
    uint byteIndex = planeOffset + uint(p.y) * stride + (wide ? sampleIndex * 2u : sampleIndex);
    uint word = fetchWord(byteIndex >> 2);
    uint value = wide ? (word >> ((byteIndex & 2u) * 8u)) & 0xffffu : (word >> ((byteIndex & 3u) * 8u)) & 0xffu;
    return float(value >> sampleShift());
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

void main() {
    ivec2 origin = frame.regionOrigin + ivec2(gl_GlobalInvocationID.xy) * ivec2(8, 2);
    if (origin.x >= frame.regionEnd.x || origin.y >= frame.regionEnd.y) return;
    uvec2 luma = lumaSize();
    uvec2 chroma = chromaSize();
    vec2 scale = vec2(luma) / vec2(frame.destination.zw);
    vec2 siting = vec2(sitingHalves()) * 0.5;
    vec2 factor = vec2(uvec2(1u) << chromaShift());
    bool gray = LAYOUT == 2u;
    bool interleaved = LAYOUT == 1u;
    for (int j = 0; j < 2; j++) {
        for (int i = 0; i < 8; i++) {
            ivec2 p = origin + ivec2(i, j);
            if (p.x < frame.regionEnd.x && p.y < frame.regionEnd.y) {
                vec2 lumaPosition = (vec2(p) + 0.5) * scale - 0.5;
                vec2 chromaPosition = (lumaPosition - siting) / factor;
                float y = bilinear(frame.planeOffset.x, frame.planeOffset.w, luma, lumaPosition, 1u, 0u);
                float cb = 0.0;
                float cr = 0.0;
                if (interleaved) {
                    cb = bilinear(frame.planeOffset.y, frame.chromaStride, chroma, chromaPosition, 2u, 0u);
                    cr = bilinear(frame.planeOffset.y, frame.chromaStride, chroma, chromaPosition, 2u, 1u);
                } else if (!gray) {
                    cb = bilinear(frame.planeOffset.y, frame.chromaStride, chroma, chromaPosition, 1u, 0u);
                    cr = bilinear(frame.planeOffset.z, frame.chromaStride, chroma, chromaPosition, 1u, 0u);
                }
                store(p, vec3(y, cb, cr));
            }
        }
    }
}
