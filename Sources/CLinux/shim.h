// Linux calls that Swift's Glibc module does not export (they need _GNU_SOURCE).
#pragma once
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/mman.h>

/// `memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)`: a memfd that can be sealed.
static inline int reel_memfd_create(const char *name) {
    return memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

// File seals (fcntl.h's values, spelled out so that this header pulls in no second,
// _GNU_SOURCE copy of fcntl.h next to Swift's Glibc module).
static const int reel_F_ADD_SEALS = 1024 + 9;
static const int reel_F_GET_SEALS = 1024 + 10;
static const int reel_F_SEAL_SEAL = 0x0001;
static const int reel_F_SEAL_SHRINK = 0x0002;
static const int reel_F_SEAL_GROW = 0x0004;
static const int reel_F_SEAL_WRITE = 0x0008;
