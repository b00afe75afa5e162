// Linux calls that Swift's Glibc module does not export (they need _GNU_SOURCE).
#pragma once
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/mman.h>

/// `memfd_create(name, MFD_CLOEXEC)`.
static inline int reel_memfd_create(const char *name) { return memfd_create(name, MFD_CLOEXEC); }
