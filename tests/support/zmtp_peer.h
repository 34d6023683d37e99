/* Raw ZMTP 3.1 peers for tests: the NULL greeting, a READY command and a connect that
 * reports failure instead of asserting (usable from helper threads, where Criterion's
 * asserts must not run). Header-only, libzmq-free. */
#ifndef SINEW_TESTS_SUPPORT_ZMTP_PEER_H
#define SINEW_TESTS_SUPPORT_ZMTP_PEER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ZMTP 3.1 NULL greeting, as-server 0 (RFC 37). */
static const uint8_t zp_greeting[64] = {0xff, 0,   0, 0,   0,   0,   0,   0,
                                        0,    0x7f, 3, 1, 'N', 'U', 'L', 'L'};

/* Writes a READY command announcing Socket-Type `type` to out (64 bytes suffice);
 * returns its length. */
static inline size_t
zp_ready(uint8_t *out, const char *type)
{
    size_t tl = strlen(type);
    size_t body = 1 + 5 + 1 + 11 + 4 + tl;
    out[0] = 0x04;
    out[1] = (uint8_t) body;
    size_t i = 2;
    out[i++] = 5;
    memcpy(out + i, "READY", 5);
    i += 5;
    out[i++] = 11;
    memcpy(out + i, "Socket-Type", 11);
    i += 11;
    out[i++] = 0;
    out[i++] = 0;
    out[i++] = 0;
    out[i++] = (uint8_t) tl;
    memcpy(out + i, type, tl);
    return i + tl;
}

/* A blocking socket connected to "tcp://a.b.c.d:port" or "ipc://path": the fd, or
 * -errno. Never asserts. */
static inline int
zp_connect(const char *ep)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (strncmp(ep, "tcp://", 6) == 0) {
        struct sockaddr_in *sa = (struct sockaddr_in *) &ss;
        const char *colon = strrchr(ep, ':');
        char host[64];
        size_t hl = colon != NULL ? (size_t) (colon - (ep + 6)) : sizeof host;
        if (hl >= sizeof host)
            return -EINVAL;
        memcpy(host, ep + 6, hl);
        host[hl] = 0;
        sa->sin_family = AF_INET;
        sa->sin_port = htons((uint16_t) atoi(colon + 1));
        if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
            return -EINVAL;
        sl = sizeof *sa;
    } else if (strncmp(ep, "ipc://", 6) == 0) {
        struct sockaddr_un *sa = (struct sockaddr_un *) &ss;
        sa->sun_family = AF_UNIX;
        snprintf(sa->sun_path, sizeof sa->sun_path, "%s", ep + 6);
        sl = sizeof *sa;
    } else {
        return -EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *) &ss, sl) < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

/* Sends all of buf (MSG_NOSIGNAL: a peer that went away is an error, not a signal);
 * 0 or -errno. */
static inline int
zp_send_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EPIPE;
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

/* Reads exactly len bytes within timeout_ms; returns the bytes read (fewer on end of
 * stream, error or timeout). */
static inline size_t
zp_read_exact(int fd, void *buf, size_t len, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t deadline = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + timeout_ms;
    size_t got = 0;
    while (got < len) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t left = deadline - ((int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int) left) <= 0)
            continue;
        ssize_t n = recv(fd, (uint8_t *) buf + got, len - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t) n;
    }
    return got;
}

/* Reads the peer's greeting and the command after it (its READY, or an ERROR) within
 * timeout_ms, without checking them; true if both came whole. */
static inline bool
zp_read_handshake(int fd, int timeout_ms)
{
    uint8_t buf[64 + 2 + 255];
    if (zp_read_exact(fd, buf, 64 + 2, timeout_ms) != 64 + 2 || (buf[64] & 0x02))
        return false; /* a long command: not what a NULL peer sends first */
    return zp_read_exact(fd, buf + 66, buf[65], timeout_ms) == buf[65];
}

/* Closes fd with a reset (tcp: RST instead of FIN; ipc: a plain close). */
static inline void
zp_reset(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg); /* ENOPROTOOPT-free on unix */
    close(fd);
}

#endif
