#define _GNU_SOURCE
#include "cnet.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

#include <sys/un.h>
#include <unistd.h>

static int unix_address(const char *path, struct sockaddr_un *address) {
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    // An empty name would bind an abstract address nobody can find by path.
    if (path[0] == 0) return -EINVAL;
    if (strlen(path) >= sizeof address->sun_path) return -ENAMETOOLONG;
    strcpy(address->sun_path, path);
    return 0;
}

int reel_seqpacket_connect(const char *path);

int reel_seqpacket_listen(const char *path) {
    struct sockaddr_un address;
    int result = unix_address(path, &address);
    if (result < 0) return result;
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0) return -errno;
        if (bind(fd, (struct sockaddr *)&address, sizeof address) == 0 && listen(fd, 16) == 0) return fd;
        int code = errno;
        close(fd);
        if (code != EADDRINUSE || attempt > 0) return -code;
        // A socket left by a renderer that is gone (nobody accepts on it) is replaced;
        // one that still answers is another renderer's, and stays.
        int probe = reel_seqpacket_connect(path);
        if (probe >= 0) {
            close(probe);
            return -EADDRINUSE;
        }
        if (probe != -ECONNREFUSED) return -EADDRINUSE;
        struct stat status;
        if (lstat(path, &status) != 0) return -EADDRINUSE;
        if (!S_ISSOCK(status.st_mode)) return -EEXIST;
        unlink(path);
    }
    return -EADDRINUSE;
}

int reel_seqpacket_connect(const char *path) {
    struct sockaddr_un address;
    int result = unix_address(path, &address);
    if (result < 0) return result;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        int code = errno;
        close(fd);
        return -code;
    }
    return fd;
}

int reel_socket_receive_timeout(int socket, int32_t milliseconds) {
    struct timeval limit = {.tv_sec = milliseconds / 1000, .tv_usec = (milliseconds % 1000) * 1000};
    return setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == 0 ? 0 : -errno;
}

int reel_seqpacket_accept(int listener) {
    int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int reel_seqpacket_send(int socket, const uint8_t *bytes, int32_t length, int fd) {
    struct iovec vector = {.iov_base = (void *)bytes, .iov_len = (size_t)length};
    struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1};
    union { char bytes[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    if (fd >= 0) {
        memset(&control, 0, sizeof control);
        message.msg_control = control.bytes;
        message.msg_controllen = sizeof control.bytes;
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(header), &fd, sizeof(int));
    }
    ssize_t sent = sendmsg(socket, &message, MSG_NOSIGNAL);
    return sent < 0 ? -errno : (int)sent;
}

enum { max_received_fds = 16 };

int reel_seqpacket_receive(
    int socket, uint8_t *buffer, int32_t capacity, int *fds, int32_t fd_capacity, reel_received *received) {
    memset(received, 0, sizeof *received);
    struct iovec vector = {.iov_base = buffer, .iov_len = (size_t)capacity};
    union { char bytes[CMSG_SPACE(sizeof(int) * max_received_fds)]; struct cmsghdr align; } control;
    struct msghdr message = {
        .msg_iov = &vector, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
    ssize_t length = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    if (length < 0) return -errno;
    received->length = (int32_t)length;
    received->closed = length == 0;
    received->truncated = (message.msg_flags & MSG_TRUNC) != 0;
    received->control_truncated = (message.msg_flags & MSG_CTRUNC) != 0;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(header) + (size_t)i * sizeof(int), sizeof(int));
            if (received->fd_count < fd_capacity) {
                fds[received->fd_count++] = fd;
            } else {
                close(fd);
                received->fds_dropped++;
            }
        }
    }
    return 0;
}

int reel_test_send_descriptors(int socket, const uint8_t *bytes, int32_t length, const int *fds, int32_t count) {
    if (count < 0 || count > 64) return -EINVAL;
    struct iovec vector = {.iov_base = (void *)bytes, .iov_len = (size_t)length};
    union { char bytes[CMSG_SPACE(sizeof(int) * 64)]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {
        .msg_iov = &vector, .msg_iovlen = 1, .msg_control = control.bytes,
        .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count)};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
    memcpy(CMSG_DATA(header), fds, sizeof(int) * (size_t)count);
    ssize_t sent = sendmsg(socket, &message, MSG_NOSIGNAL);
    return sent < 0 ? -errno : (int)sent;
}
