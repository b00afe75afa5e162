// GLFW for Swift, with Vulkan support declared (used by the window output).
#pragma once
#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>

// The X connection under GLFW's windows, and libX11's (>= 1.7) hooks for losing it: by
// default Xlib prints a line and calls exit() from whichever thread met the loss, with
// the player's threads still running. Declared here rather than through Xlib.h, whose
// macros would come along.
struct _XDisplay;
struct _XDisplay *glfwGetX11Display(void);
int (*XSetIOErrorHandler(int (*handler)(struct _XDisplay *)))(struct _XDisplay *);
void (*XSetIOErrorExitHandler(struct _XDisplay *display, void (*handler)(struct _XDisplay *, void *),
                              void *user_data))(struct _XDisplay *, void *);
