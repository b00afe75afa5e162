// Batched UDP receive for ReelNet: recvmmsg with kernel arrival timestamps and the
// kernel's drop counter. The socket types stay in cnet.c (they need _GNU_SOURCE,
// which Swift's Glibc module is built without), so this header has plain C types only.
#pragma once
#include <stdint.h>

/// One datagram slot: the caller's buffer in, what arrived out.
typedef struct reel_datagram {
    uint8_t *data;
    int32_t capacity;
    /// Bytes received (the datagram is cut to `capacity` when longer; `truncated` set).
    int32_t length;
    int32_t truncated;
    /// Arrival time from the kernel (SO_TIMESTAMPNS), CLOCK_REALTIME ns; 0 when absent.
    int64_t arrival_realtime_ns;
    /// The socket's count of datagrams dropped for want of buffer (SO_RXQ_OVFL); -1 when absent.
    int64_t kernel_drops;
    /// Source: IPv4 address in network byte order, and port in host byte order.
    uint32_t source_address;
    uint16_t source_port;
} reel_datagram;

/// Asks the kernel for arrival timestamps and drop counts on `fd`; 0 or -errno.
int reel_net_enable_receive_info(int fd);

/// Receives up to `count` datagrams without blocking; the number received, 0 when
/// none is waiting, or -errno.
int reel_net_receive(int fd, reel_datagram *datagrams, int count);

/// A non-blocking, close-on-exec eventfd (to wake a poll), or -errno.
int reel_net_eventfd(void);
