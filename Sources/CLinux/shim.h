// Linux calls that Swift's Glibc module does not export (they need _GNU_SOURCE).
#pragma once
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/mman.h>

/// `memfd_create(name, MFD_CLOEXEC)`.
static inline int reel_memfd_create(const char *name) { return memfd_create(name, MFD_CLOEXEC); }
#include <pthread.h>

/// Names the calling thread (`pthread_setname_np`; at most 15 bytes are kept).
static inline void reel_name_this_thread(const char *name) {
    char shortened[16] = {0};
    for (int i = 0; i < 15 && name[i]; i++) shortened[i] = name[i];
    pthread_setname_np(pthread_self(), shortened);
}
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

/// `pipe2(ends, O_CLOEXEC | O_NONBLOCK)`.
static inline int reel_pipe_nonblocking(int ends[2]) { return pipe2(ends, O_CLOEXEC | O_NONBLOCK); }

/// `accept4(socket, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)`.
static inline int reel_accept_nonblocking(int socket) {
    return accept4(socket, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
}
