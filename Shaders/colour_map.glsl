// From the source's R′G′B′ (what the YCbCr rows give) to the output's, for pictures whose
// transfer or primaries differ from the output's: HDR10 (PQ) and HLG shown on SDR, an
// SDR BT.2020 picture on a BT.709 output, or any source written as HDR10 or linear light.
//
//   EOTF (PQ; HLG with its OOTF at the nominal peak; BT.1886) → linear light, 1.0 = 203 cd/m²
//   → tone mapping of the luminance above the target's peak (BT.2390 EETF by default)
//   → primaries (BT.2020 → BT.709) with a gamut mapping that keeps hue
//   → the output's OETF (BT.1886, PQ, or none).
//
// Everything here is a specialization constant (ColourPlan.swift computes them per
// source and output), so a pipeline carries only the steps its picture needs. Only the
// passes' colour modules (yuv420_native_colour.comp, yuv_general_colour.comp) include
// this file: SDR to SDR runs modules without it.

// 0: no mapping; 1: PQ (SMPTE ST 2084); 2: HLG (ARIB STD-B67); 3: BT.1886 (SDR).
layout(constant_id = 8) const uint SOURCE_TRANSFER = 0u;
// 0: BT.709; 1: BT.2020. The source's primaries (the luminance weights of the tone mapping).
layout(constant_id = 9) const uint SOURCE_PRIMARIES = 0u;
// 0: none (the range fits); 1: BT.2390 EETF; 2: clip; 3: Hable.
layout(constant_id = 10) const uint TONE_CURVE = 0u;
// 0: on luminance (chroma follows); 1: hybrid of luminance and per channel (big
// reductions); 2: per channel (the clip curve).
layout(constant_id = 11) const uint TONE_MODE = 0u;
// 0: primaries kept; 1: BT.2020 → BT.709, out-of-gamut colours brought in towards
// mid-grey at constant hue in Oklab; 2: BT.2020 → BT.709, clipped per channel; 3: BT.709 → BT.2020.
layout(constant_id = 12) const uint GAMUT = 0u;
// 0: BT.1886 (SDR); 1: PQ; 2: linear light (1.0 = 10 000 cd/m²).
layout(constant_id = 13) const uint OUTPUT_TRANSFER = 0u;
// The source's black and peak, and the target's, in linear light (1.0 = 203 cd/m²).
layout(constant_id = 14) const float SOURCE_BLACK = 0.0;
layout(constant_id = 15) const float SOURCE_PEAK = 1.0;
layout(constant_id = 16) const float TARGET_BLACK = 0.0;
layout(constant_id = 17) const float TARGET_PEAK = 1.0;
// HLG: the OOTF's system gamma and the OETF⁻¹'s black lift (BT.2100 Table 5).
layout(constant_id = 18) const float HLG_GAMMA = 1.2;
layout(constant_id = 19) const float HLG_BETA = 0.0;
// BT.1886 for a source (…_IN) and the output (…_OUT): L = A·(V + B)^2.4.
layout(constant_id = 20) const float BT1886_IN_A = 1.0;
layout(constant_id = 21) const float BT1886_IN_B = 0.0;
layout(constant_id = 22) const float BT1886_OUT_A = 1.0;
layout(constant_id = 23) const float BT1886_OUT_B = 0.0;
// The tone curve's ends in PQ signal: source black and peak, target black and peak.
layout(constant_id = 24) const float PQ_SOURCE_BLACK = 0.0;
layout(constant_id = 25) const float PQ_SOURCE_PEAK = 1.0;
layout(constant_id = 26) const float PQ_TARGET_BLACK = 0.0;
layout(constant_id = 27) const float PQ_TARGET_PEAK = 1.0;
// BT.2390's knee start and black-point exponent and gain (on the source-relative scale).
layout(constant_id = 28) const float EETF_KNEE = 1.0;
layout(constant_id = 29) const float EETF_BLACK_EXPONENT = 4.0;
layout(constant_id = 30) const float EETF_GAIN = 1.0;
// Hable: 1 / curve(source peak / target peak).
layout(constant_id = 31) const float HABLE_SCALE = 1.0;
// Chroma's exponent on the luminance ratio (the slight desaturation of highlights).
layout(constant_id = 32) const float CHROMA_EXPONENT = 0.0;
// BGRA output: red and blue trade places after the mapping.
layout(constant_id = 33) const bool SWAP_RED_BLUE = false;
// The output's own peak (TARGET_PEAK is the curve's: never above the source's).
layout(constant_id = 34) const float OUTPUT_PEAK = 1.0;

const bool MAPS_COLOUR = SOURCE_TRANSFER != 0u;

// PQ (ST 2084) constants.
const float PQ_M1 = 2610.0 / 16384.0;
const float PQ_M2 = 2523.0 / 4096.0 * 128.0;
const float PQ_C1 = 3424.0 / 4096.0;
const float PQ_C2 = 2413.0 / 4096.0 * 32.0;
const float PQ_C3 = 2392.0 / 4096.0 * 32.0;
// Linear light's unit: 203 cd/m² (BT.2408's reference white), of PQ's 10 000.
const float WHITE_OF_PQ = 203.0 / 10000.0;

vec3 pqToLinear(vec3 e) {
    vec3 p = pow(max(e, 0.0), vec3(1.0 / PQ_M2));
    return pow(max(p - PQ_C1, 0.0) / (PQ_C2 - PQ_C3 * p), vec3(1.0 / PQ_M1)) * (1.0 / WHITE_OF_PQ);
}
vec3 linearToPQ(vec3 l) {
    vec3 y = pow(max(l * WHITE_OF_PQ, 0.0), vec3(PQ_M1));
    return pow((PQ_C1 + PQ_C2 * y) / (1.0 + PQ_C3 * y), vec3(PQ_M2));
}
float pqToLinear1(float e) { return pqToLinear(vec3(e)).x; }
float linearToPQ1(float l) { return linearToPQ(vec3(l)).x; }

// Rows of the matrices, applied as dot products: M·c = (r0·c, r1·c, r2·c).
vec3 apply3(vec3 r0, vec3 r1, vec3 r2, vec3 c) { return vec3(dot(r0, c), dot(r1, c), dot(r2, c)); }

// Luminance (Y) weights of the source's primaries.
vec3 lumaWeights() {
    return SOURCE_PRIMARIES == 1u ? vec3(0.2627002120, 0.6779980715, 0.0593017165)
                                  : vec3(0.2126390059, 0.7151686788, 0.0721923154);
}

// The source's R′G′B′ → linear light.
vec3 linearize(vec3 e) {
    e = max(e, 0.0);
    if (SOURCE_TRANSFER == 1u) return pqToLinear(e);
    if (SOURCE_TRANSFER == 2u) {
        // HLG OETF⁻¹ (with the black lift), then the OOTF: Y^(γ−1) scaling at the peak.
        const float A = 0.17883277, B = 1.0 - 4.0 * A, C = 0.5 - A * log(4.0 * A);
        e = (1.0 - HLG_BETA) * e + HLG_BETA;
        vec3 scene = mix(4.0 * e * e, exp((e - C) / A) + B, greaterThan(e, vec3(0.5))) * (1.0 / 12.0);
        return scene * (SOURCE_PEAK * pow(max(dot(lumaWeights(), scene), 0.0), HLG_GAMMA - 1.0));
    }
    return BT1886_IN_A * pow(e + BT1886_IN_B, vec3(2.4));
}

// The tone curve on one linear value, in [SOURCE_BLACK, SOURCE_PEAK] → [TARGET_BLACK, TARGET_PEAK].
float toneCurve(float x) {
    if (TONE_CURVE == 1u) {
        // BT.2390 EETF, on PQ signal rescaled so the source spans 0…1: a Hermite spline
        // from the knee to the target's peak, then the black-point lift.
        float span = PQ_SOURCE_PEAK - PQ_SOURCE_BLACK;
        float low = (PQ_TARGET_BLACK - PQ_SOURCE_BLACK) / span;
        float high = (PQ_TARGET_PEAK - PQ_SOURCE_BLACK) / span;
        float e = (linearToPQ1(x) - PQ_SOURCE_BLACK) / span;
        float t = (e - EETF_KNEE) / (1.0 - EETF_KNEE);
        float t2 = t * t;
        float t3 = t2 * t;
        float spline = (2.0 * t3 - 3.0 * t2 + 1.0) * EETF_KNEE + (t3 - 2.0 * t2 + t) * (1.0 - EETF_KNEE)
            + (-2.0 * t3 + 3.0 * t2) * high;
        e = e < EETF_KNEE ? e : spline;
        float lifted = e + low * pow(max(1.0 - e, 0.0), EETF_BLACK_EXPONENT);
        e = e < 1.0 ? EETF_GAIN * (lifted - low) + low : e;
        e = clamp(e * span + PQ_SOURCE_BLACK, PQ_TARGET_BLACK, PQ_TARGET_PEAK);
        return pqToLinear1(e);
    }
    if (TONE_CURVE == 3u) {
        // Hable's filmic curve, its white at the source's peak.
        const float A = 0.15, B = 0.50, C = 0.10, D = 0.20, E = 0.02, F = 0.30;
        float v = x / TARGET_PEAK;
        float curve = (v * (A * v + C * B) + D * E) / (v * (A * v + B) + D * F) - E / F;
        return clamp(curve * HABLE_SCALE * TARGET_PEAK, TARGET_BLACK, TARGET_PEAK);
    }
    return clamp(x, TARGET_BLACK, TARGET_PEAK);
}

// Tone mapping: the luminance through the curve with chroma following it (scaled a
// little less in highlights) in an opponent space of XYZ (X/Xw − Y, Y, Z/Zw − Y), with a
// small crosstalk between channels so saturated highlights roll off too; for big
// reductions, blended with the curve per channel as the picture gets brighter.
vec3 toneMap(vec3 rgb) {
    if (TONE_CURVE == 0u) return rgb;
    rgb = clamp(rgb, SOURCE_BLACK, SOURCE_PEAK);
    const float crosstalk = 0.04;
    const float keep = 1.0 - 3.0 * crosstalk;
    rgb = keep * rgb + crosstalk * (rgb.r + rgb.g + rgb.b);
    vec3 toXr, toXg, toXb, fromR, fromG, fromB;
    if (SOURCE_PRIMARIES == 1u) {
        toXr = vec3(0.4074603185, -0.5258427748, 0.1183824563);
        toXg = vec3(0.2627002120, 0.6779980715, 0.0593017165);
        toXb = vec3(-0.2627002120, -0.6522210243, 0.9149212363);
        fromR = vec3(1.6316012963, 1.0, -0.2759305125);
        fromG = vec3(-0.6336540937, 1.0, 0.0171728570);
        fromB = vec3(0.0167659071, 1.0, 1.0260047062);
    } else {
        toXr = vec3(0.2212483397, -0.3389446696, 0.1176963299);
        toXg = vec3(0.2126390059, 0.7151686788, 0.0721923154);
        toXb = vec3(-0.1948889658, -0.6057210579, 0.8006100237);
        fromR = vec3(3.0803990907, 1.0, -0.5430159131);
        fromG = vec3(-0.9212233589, 1.0, 0.0452558574);
        fromB = vec3(0.0528739390, 1.0, 1.1511030199);
    }
    vec3 xyz = apply3(toXr, toXg, toXb, rgb);
    float before = max(xyz.y, TARGET_BLACK);
    xyz.y = toneCurve(xyz.y);
    float ratio = xyz.y / before;
    xyz.xz *= pow(ratio, CHROMA_EXPONENT) * ratio;
    if (SOURCE_PEAK > TARGET_PEAK) xyz.y -= max(0.1 * xyz.x, 0.0);
    vec3 mapped = apply3(fromR, fromG, fromB, xyz);
    if (TONE_MODE == 2u) mapped = vec3(toneCurve(rgb.r), toneCurve(rgb.g), toneCurve(rgb.b));
    if (TONE_MODE == 1u) {
        vec3 perChannel = vec3(toneCurve(rgb.r), toneCurve(rgb.g), toneCurve(rgb.b));
        float lift = pow(max(xyz.y, 1e-7), 2.4);
        float weight = max(pow(TARGET_BLACK, 2.4) / lift, pow(TARGET_PEAK, -2.4) * lift);
        mapped = mix(mapped, perChannel, clamp(weight, 0.0, 1.0));
    }
    return (mapped - crosstalk * (mapped.r + mapped.g + mapped.b)) / keep;
}

// Oklab from linear BT.709 RGB and back (Ottosson 2020).
vec3 oklabFromRGB(vec3 c) {
    vec3 lms = apply3(
        vec3(0.4122214708, 0.5363325363, 0.0514459929), vec3(0.2119034982, 0.6806995451, 0.1073969566),
        vec3(0.0883024619, 0.2817188376, 0.6299787005), c);
    lms = sign(lms) * pow(abs(lms), vec3(1.0 / 3.0));
    return apply3(
        vec3(0.2104542553, 0.7936177850, -0.0040720468), vec3(1.9779984951, -2.4285922050, 0.4505937099),
        vec3(0.0259040371, 0.7827717662, -0.8086757660), lms);
}
vec3 rgbFromOklab(vec3 lab) {
    vec3 lms = apply3(
        vec3(1.0, 0.3963377774, 0.2158037573), vec3(1.0, -0.1055613458, -0.0638541728),
        vec3(1.0, -0.0894841775, -1.2914855480), lab);
    lms = lms * lms * lms;
    return apply3(
        vec3(4.0767416621, -3.3077115913, 0.2309699292), vec3(-1.2684380046, 2.6097574011, -0.3413193965),
        vec3(-0.0041960863, -0.7034186147, 1.7076147010), lms);
}

// Primaries, in linear light normalised to the target's range (0…1). A colour outside
// BT.709 keeps its Oklab lightness and hue and loses chroma until it fits (bisection).
vec3 mapPrimaries(vec3 c) {
    if (GAMUT == 3u) {
        return apply3(
            vec3(0.6274038959, 0.3292830384, 0.0433130657), vec3(0.0690972894, 0.9195403951, 0.0113623156),
            vec3(0.0163914389, 0.0880133079, 0.8955952532), c);
    }
    if (GAMUT == 0u) return c;
    c = apply3(
        vec3(1.6604910021, -0.5876411388, -0.0728498633), vec3(-0.1245504745, 1.1328998971, -0.0083494226),
        vec3(-0.0181507634, -0.1005788980, 1.1187296614), c);
    if (GAMUT == 1u) {
        const float margin = 1e-4;
        if (any(lessThan(c, vec3(-margin))) || any(greaterThan(c, vec3(1.0 + margin)))) {
            // Towards mid-grey (Oklab L 0.5) at the colour's own hue: lightness and
            // chroma shrink together, so a bright saturated colour keeps more of its
            // saturation than at its own lightness (where the gamut is narrow).
            vec3 lab = oklabFromRGB(c);
            float inside = 0.0;
            float outside = 1.0;
            for (int step = 0; step < 10; step++) {
                float k = 0.5 * (inside + outside);
                vec3 trial = rgbFromOklab(vec3(0.5 + (lab.x - 0.5) * k, lab.yz * k));
                bool fits = all(greaterThanEqual(trial, vec3(-margin))) && all(lessThanEqual(trial, vec3(1.0 + margin)));
                inside = fits ? k : inside;
                outside = fits ? outside : k;
            }
            c = rgbFromOklab(vec3(0.5 + (lab.x - 0.5) * inside, lab.yz * inside));
        }
    }
    return clamp(c, 0.0, 1.0);
}

// Linear light → the output's signal.
vec3 delinearize(vec3 l) {
    l = max(l, 0.0);
    if (OUTPUT_TRANSFER == 1u) return linearToPQ(l);
    if (OUTPUT_TRANSFER == 2u) return l * WHITE_OF_PQ;
    return pow(l * (1.0 / BT1886_OUT_A), vec3(1.0 / 2.4)) - BT1886_OUT_B;
}

// The mapping sampled on a LUT_POINTS³ grid of source R′G′B′ (colour_lut.comp fills it
// once per source and output), each point's output R′G′B′ in 8 bits a channel (R | G << 8
// | B << 16). The 8-bit outputs look it up with tetrahedral interpolation instead of
// running the curves per pixel, which on a CPU driver cost ten times the conversion
// itself. The table is laid out for one fetch a pixel: texel 8·c + s holds the four
// corners of the tetrahedron with slot s of cell c (c = x + y·C + z·C², C = LUT_CELLS), in
// the order the walk through them takes. On lavapipe a 16-byte fetch costs about as much
// as four 32-bit ones, and about as much as the rest of the lookup: the layout before
// (four fetches a pixel from a 65³ grid) added three times the CPU per frame this one
// adds, for 10 dB closer to libplacebo (56.9 against 46.1 dB on HDR10). Corners in 8
// bits rather than 10 cost 0.3 dB.
const uint LUT_CELL_BITS = 5u;
const uint LUT_CELLS = 1u << LUT_CELL_BITS;
const uint LUT_POINTS = LUT_CELLS + 1u;
// Positions along an axis, in 256ths of a cell.
const float LUT_STEPS = float(LUT_CELLS * 256u);
layout(set = 0, binding = 3) uniform usamplerBuffer colourTable;

// The mapped colour of source R′G′B′ `p`, given in 256ths of a cell with the rounding
// added (source × LUT_STEPS + 0.5), from the table, as RGBA8 (alpha opaque). All in
// integers after one conversion: the cell from the high bits, the position in it from
// the low 8; the tetrahedron's slot is the three comparisons' bits (xy, yz, xz: two of
// the eight cannot happen). The corners are blended red and blue together: with weights
// in 256ths that sum to 256, R·w and B·w each fit in 16 bits, so (R | B << 16)·w keeps
// them apart. Written for what lavapipe makes of it: a float → int conversion is one
// instruction on AVX2 where to uint it is six, and GLSL's min and max of two variables
// honour NaN (three instructions each), so the corners' order comes from selects.
uint lookUpPackedInSteps(vec3 p) {
    // The top of the range is read 1/256 of a cell short, so that the cell is always one
    // of the table's: a change of the colour within a cell's 256th (a tenth of an output
    // code where the mapping is steep).
    ivec3 q = ivec3(clamp(p, 0.0, LUT_STEPS - 1.0));
    ivec3 f = q & 255;
    // The tetrahedron that holds f: the walk from corner 000 to 111 goes along the axes
    // in order of f's components, largest first (colour_lut.comp writes each in its slot).
    // Where two are equal the point lies on the face two tetrahedra share, and either
    // gives the same colour; strict comparisons are one instruction each.
    bool xy = f.x > f.y;
    bool yz = f.y > f.z;
    bool xz = f.x > f.z;
    int slot = (xy ? 4 : 0) | (yz ? 2 : 0) | (xz ? 1 : 0);
    int hi = xy ? (xz ? f.x : f.z) : (yz ? f.y : f.z);
    int lo = xy ? (yz ? f.z : f.y) : (xz ? f.z : f.x);
    int mid = f.x + f.y + f.z - hi - lo;
    const int bits = int(LUT_CELL_BITS);
    int cell = (q.x >> 8) | ((q.y >> 8) << bits) | ((q.z >> 8) << (2 * bits));
    uvec4 corners = texelFetch(colourTable, (cell << 3) | slot);
    // Barycentric weights of the four corners, in 256ths.
    uvec4 w = uvec4(256 - hi, hi - mid, mid - lo, lo);
    uvec4 redBlue = corners & 0x00ff00ffu;
    uvec4 green = corners & 0x0000ff00u;
    uint rb = redBlue.x * w.x + redBlue.y * w.y + redBlue.z * w.z + redBlue.w * w.w + 0x00800080u;
    uint g = green.x * w.x + green.y * w.y + green.z * w.z + green.w * w.w + 0x00008000u;
    return ((rb >> 8) & 0x00ff00ffu) | ((g >> 8) & 0x0000ff00u) | 0xff000000u;
}

uint lookUpPacked(vec3 source) { return lookUpPackedInSteps(fma(source, vec3(LUT_STEPS), vec3(0.5))); }

// The whole mapping: source R′G′B′ → output R′G′B′ (0…1), red and blue swapped for BGRA.
vec3 mapColour(vec3 source) {
    if (SOURCE_TRANSFER == 1u && OUTPUT_TRANSFER == 1u && GAMUT == 0u) {
        // HDR10 in, HDR10 out: the signal passes through.
        vec3 same = clamp(source, 0.0, 1.0);
        return SWAP_RED_BLUE ? same.bgr : same;
    }
    vec3 linear = toneMap(linearize(source));
    if (OUTPUT_TRANSFER == 0u) {
        // Normalised to the output's range for the gamut mapping, as an SDR display shows it.
        float range = OUTPUT_PEAK - TARGET_BLACK;
        linear = mapPrimaries((linear - TARGET_BLACK) / range) * range + TARGET_BLACK;
    } else {
        linear = mapPrimaries(linear);
    }
    vec3 signal = clamp(delinearize(linear), 0.0, 1.0);
    return SWAP_RED_BLUE ? signal.bgr : signal;
}
