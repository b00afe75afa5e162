#version 450
// One triangle that covers the whole viewport: vertices (-1,-1), (3,-1), (-1,3).
// No vertex buffer; the fragment shader works from gl_FragCoord.
void main() {
    vec2 position = vec2(float((gl_VertexIndex & 1) << 2) - 1.0, float((gl_VertexIndex & 2) << 1) - 1.0);
    gl_Position = vec4(position, 0.0, 1.0);
}
