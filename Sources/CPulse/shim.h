// PulseAudio's simple (blocking) client API for Swift. No logic lives here.
#pragma once
#include <pulse/simple.h>
#include <pulse/error.h>
