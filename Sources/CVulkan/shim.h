// Vulkan headers for Swift, plus the version macros Swift cannot import.
#pragma once
#include <vulkan/vulkan.h>

static inline uint32_t reel_vk_make_api_version(uint32_t variant, uint32_t major, uint32_t minor, uint32_t patch) {
    return VK_MAKE_API_VERSION(variant, major, minor, patch);
}
static inline uint32_t reel_vk_api_version_major(uint32_t v) { return VK_API_VERSION_MAJOR(v); }
static inline uint32_t reel_vk_api_version_minor(uint32_t v) { return VK_API_VERSION_MINOR(v); }
static inline uint32_t reel_vk_api_version_patch(uint32_t v) { return VK_API_VERSION_PATCH(v); }
static const uint32_t reel_VK_API_VERSION_1_2 = VK_API_VERSION_1_2;
static const uint64_t reel_VK_WHOLE_SIZE = VK_WHOLE_SIZE;
static const uint32_t reel_VK_QUEUE_FAMILY_IGNORED = VK_QUEUE_FAMILY_IGNORED;

#include <malloc.h>

/// Returns the C heap's free memory to the system (what a driver's shader compiler
/// freed stays in malloc's arenas otherwise).
static inline void reel_malloc_trim(void) { malloc_trim(0); }
