#define _GNU_SOURCE
#include "cnet.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>

int reel_net_enable_receive_info(int fd) {
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0) return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on) != 0) return -errno;
    return 0;
}

enum { batch = 32, control_size = 128 };

int reel_net_receive(int fd, reel_datagram *datagrams, int count) {
    if (count > batch) count = batch;
    struct mmsghdr messages[batch];
    struct iovec vectors[batch];
    struct sockaddr_in sources[batch];
    // Aligned for cmsghdr.
    union { char bytes[control_size]; struct cmsghdr align; } controls[batch];
    memset(messages, 0, sizeof(struct mmsghdr) * (size_t)count);
    for (int i = 0; i < count; i++) {
        vectors[i].iov_base = datagrams[i].data;
        vectors[i].iov_len = (size_t)datagrams[i].capacity;
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_name = &sources[i];
        messages[i].msg_hdr.msg_namelen = sizeof sources[i];
        messages[i].msg_hdr.msg_control = controls[i].bytes;
        messages[i].msg_hdr.msg_controllen = control_size;
    }
    int received = recvmmsg(fd, messages, (unsigned)count, MSG_DONTWAIT, NULL);
    if (received < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    for (int i = 0; i < received; i++) {
        reel_datagram *out = &datagrams[i];
        struct msghdr *header = &messages[i].msg_hdr;
        out->length = (int32_t)messages[i].msg_len;
        out->truncated = (header->msg_flags & MSG_TRUNC) != 0;
        out->arrival_realtime_ns = 0;
        out->kernel_drops = -1;
        out->source_address = 0;
        out->source_port = 0;
        if (header->msg_namelen >= sizeof(struct sockaddr_in) && sources[i].sin_family == AF_INET) {
            out->source_address = sources[i].sin_addr.s_addr;
            out->source_port = ntohs(sources[i].sin_port);
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(header); c != NULL; c = CMSG_NXTHDR(header, c)) {
            if (c->cmsg_level != SOL_SOCKET) continue;
            if (c->cmsg_type == SO_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
                struct timespec stamp;
                memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
                out->arrival_realtime_ns = (int64_t)stamp.tv_sec * 1000000000 + stamp.tv_nsec;
            } else if (c->cmsg_type == SO_RXQ_OVFL && c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
                uint32_t drops;
                memcpy(&drops, CMSG_DATA(c), sizeof drops);
                out->kernel_drops = drops;
            }
        }
    }
    return received;
}

int reel_net_eventfd(void) {
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}
