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

// Unix-domain SOCK_SEQPACKET sockets for the cross-process frame pool (ReelShare):
// message boundaries kept, descriptors passed with SCM_RIGHTS. Every call returns
// a non-negative result or -errno.

/// A listening socket bound to `path` (close-on-exec). A socket left there by a process
/// that no longer accepts on it is replaced; -EADDRINUSE when one still does, -EEXIST
/// when `path` is not a socket, -EINVAL for an empty path.
int reel_seqpacket_listen(const char *path);
/// A socket connected to the listener at `path` (close-on-exec).
int reel_seqpacket_connect(const char *path);
/// The next connection on a listening socket (close-on-exec).
int reel_seqpacket_accept(int listener);

/// Bounds each blocking receive on `socket` to `milliseconds` (0: no bound); a receive
/// that times out fails with -EAGAIN.
int reel_socket_receive_timeout(int socket, int32_t milliseconds);
/// Sends one message, with descriptor `fd` attached when it is ≥ 0 (never SIGPIPE).
int reel_seqpacket_send(int socket, const uint8_t *bytes, int32_t length, int fd);

/// What `reel_seqpacket_receive` found besides the bytes.
typedef struct reel_received {
    /// Bytes of the message (0 with `closed`: the peer hung up).
    int32_t length;
    int32_t closed;
    /// The message was longer than the buffer (MSG_TRUNC) or its descriptors did not
    /// all fit (MSG_CTRUNC): either is the peer's error.
    int32_t truncated;
    int32_t control_truncated;
    /// Descriptors that came with it (close-on-exec), in `fds`; more than `fd_capacity`
    /// are closed and counted in `fds_dropped`.
    int32_t fd_count;
    int32_t fds_dropped;
} reel_received;

/// Receives one message into `buffer`, with up to `fd_capacity` descriptors into `fds`
/// (MSG_CMSG_CLOEXEC: none leaks into a child). 0 or -errno.
int reel_seqpacket_receive(
    int socket, uint8_t *buffer, int32_t capacity, int *fds, int32_t fd_capacity, reel_received *received);

/// Tests only: sends one message with `count` descriptors attached (a hostile peer).
int reel_test_send_descriptors(int socket, const uint8_t *bytes, int32_t length, const int *fds, int32_t count);
