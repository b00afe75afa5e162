// GLFW for Swift, with Vulkan support declared (used by the window output).
#pragma once
#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>
