/* libFuzzer target for endpoint strings (src/transports/endpoint.c: "tcp://HOST:PORT",
 * "tcp://SRC;DST", "ipc://PATH", "ipc://@NAME", "ipc://" "*", "inproc://NAME", the forms
 * of zmq_tcp(7), zmq_ipc(7), zmq_inproc(7)). Any text must parse to a documented result,
 * and what parses must format back, into buffers of any size, to a string that parses
 * to the same endpoint.
 *
 * Input: any bytes. The whole input up to its first NUL is one endpoint string, and so
 * is each later NUL-separated piece; each is parsed from its own exactly sized copy so
 * an over-read is caught. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "transports/transport.h"

#define FUZZ_PIECES_MAX 8
/* "tcp://" + "[" 256 "]:65535" + ";" + the same again, with room to spare. */
#define FUZZ_FORMAT_MAX 1024
#define SUN_PATH_SIZE 108 /* sizeof(struct sockaddr_un.sun_path) on Linux */

static bool
all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

static void
check_same(const sn_endpoint *a, const sn_endpoint *b)
{
    FUZZ_CHECK(a->ops == b->ops && a->kind == b->kind);
    FUZZ_CHECK(strcmp(a->host, b->host) == 0 && a->port == b->port &&
               a->flags == b->flags);
    FUZZ_CHECK(strcmp(a->src.host, b->src.host) == 0 && a->src.port == b->src.port &&
               a->src.flags == b->src.flags);
}

/* What a parsed endpoint must look like (endpoint.h). */
static void
check_parsed(const char *addr, const sn_endpoint *ep)
{
    const char *sep = strstr(addr, "://");
    FUZZ_CHECK(sep != NULL);
    FUZZ_CHECK(ep->ops != NULL &&
               ep->ops == sn_transport_find(addr, (size_t)(sep - addr)));
    FUZZ_CHECK(ep->ops->kind == ep->kind);
    FUZZ_CHECK(memchr(ep->host, '\0', sizeof ep->host) != NULL);
    FUZZ_CHECK(memchr(ep->src.host, '\0', sizeof ep->src.host) != NULL);
    size_t hl = strlen(ep->host);
    switch (ep->kind) {
    case SN_TRANSPORT_TCP: {
        const unsigned tcp_flags =
            SN_EP_ANY_HOST | SN_EP_ANY_PORT | SN_EP_IPV6 | SN_EP_SOURCE;
        FUZZ_CHECK((ep->flags & ~tcp_flags) == 0);
        FUZZ_CHECK(hl > 0);
        FUZZ_CHECK(((ep->flags & SN_EP_ANY_HOST) != 0) == (strcmp(ep->host, "*") == 0));
        FUZZ_CHECK(((ep->flags & SN_EP_ANY_PORT) != 0) == (ep->port == 0));
        FUZZ_CHECK(((ep->flags & SN_EP_IPV6) != 0) == (strchr(ep->host, ':') != NULL));
        if (ep->flags & SN_EP_SOURCE) {
            FUZZ_CHECK((ep->src.flags & ~(tcp_flags & ~SN_EP_SOURCE)) == 0);
            FUZZ_CHECK(strlen(ep->src.host) > 0);
            FUZZ_CHECK(((ep->src.flags & SN_EP_ANY_HOST) != 0) ==
                       (strcmp(ep->src.host, "*") == 0));
            FUZZ_CHECK(((ep->src.flags & SN_EP_ANY_PORT) != 0) == (ep->src.port == 0));
            FUZZ_CHECK(((ep->src.flags & SN_EP_IPV6) != 0) ==
                       (strchr(ep->src.host, ':') != NULL));
        } else {
            FUZZ_CHECK(all_zero(&ep->src, sizeof ep->src));
        }
        break;
    }
    case SN_TRANSPORT_IPC:
        FUZZ_CHECK(ep->flags == 0 || ep->flags == SN_EP_ABSTRACT ||
                   ep->flags == SN_EP_WILDCARD);
        FUZZ_CHECK(ep->port == 0 && all_zero(&ep->src, sizeof ep->src));
        if (ep->flags == SN_EP_WILDCARD)
            FUZZ_CHECK(hl == 0);
        else /* fits sun_path with its NUL (or the abstract leading NUL) */
            FUZZ_CHECK(hl > 0 && hl + 1 + (ep->flags == SN_EP_ABSTRACT) <= SUN_PATH_SIZE);
        break;
    case SN_TRANSPORT_INPROC:
        FUZZ_CHECK(ep->flags == 0 && ep->port == 0 && all_zero(&ep->src, sizeof ep->src));
        FUZZ_CHECK(hl > 0 && hl <= SN_ENDPOINT_MAX);
        break;
    default:
        FUZZ_CHECK(0);
    }
}

/* Format into a buffer of exactly len bytes (heap, so ASan sees any overrun). */
static void
check_format_len(const sn_endpoint *ep, const char *full, int n, size_t len)
{
    char *buf = malloc(len ? len : 1);
    FUZZ_CHECK(buf != NULL);
    memset(buf, 0x55, len ? len : 1);
    int rc = sn_endpoint_format(ep, buf, len);
    if (len > (size_t)n) {
        FUZZ_CHECK(rc == n && strcmp(buf, full) == 0);
    } else {
        FUZZ_CHECK(rc == -ENOSPC);
        if (len == 0) /* nothing written */
            FUZZ_CHECK((uint8_t)buf[0] == 0x55);
        else /* snprintf semantics: a NUL-terminated prefix */
            FUZZ_CHECK(strlen(buf) == len - 1 && memcmp(buf, full, len - 1) == 0);
    }
    free(buf);
}

static void
fuzz_one(const char *addr)
{
    sn_endpoint ep;
    int rc = sn_endpoint_parse(addr, &ep);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EPROTONOSUPPORT || rc == -ENAMETOOLONG);
    if (rc < 0) {
        FUZZ_CHECK(all_zero(&ep, sizeof ep)); /* documented: nothing half-filled */
        return;
    }
    check_parsed(addr, &ep);

    char full[FUZZ_FORMAT_MAX];
    int n = sn_endpoint_format(&ep, full, sizeof full);
    FUZZ_CHECK(n > 0 && (size_t)n < sizeof full && strlen(full) == (size_t)n);
    const size_t lens[] = {
        0, 1, 6, (size_t)n / 2, (size_t)n - 1, (size_t)n, (size_t)n + 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        check_format_len(&ep, full, n, lens[i]);

    /* The formatted string is canonical: it parses to the same endpoint and formats to
     * itself. */
    sn_endpoint again;
    FUZZ_CHECK(sn_endpoint_parse(full, &again) == 0);
    check_same(&ep, &again);
    char twice[FUZZ_FORMAT_MAX];
    FUZZ_CHECK(sn_endpoint_format(&again, twice, sizeof twice) == n);
    FUZZ_CHECK(strcmp(full, twice) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The scheme lookup takes a length, not a C string. */
    size_t sl = size < 8 ? size : 8;
    char *scheme = malloc(sl ? sl : 1);
    FUZZ_CHECK(scheme != NULL);
    if (sl)
        memcpy(scheme, data, sl);
    const sn_transport_ops *ops = sn_transport_find(scheme, sl);
    FUZZ_CHECK(ops == NULL ||
               (strlen(ops->scheme) == sl && memcmp(ops->scheme, scheme, sl) == 0));
    free(scheme);

    size_t at = 0;
    for (int piece = 0; piece < FUZZ_PIECES_MAX && (piece == 0 || at < size); piece++) {
        const uint8_t *nul = memchr(data + at, 0, size - at);
        size_t len = nul ? (size_t)(nul - (data + at)) : size - at;
        char *addr = malloc(len + 1);
        FUZZ_CHECK(addr != NULL);
        memcpy(addr, data + at, len);
        addr[len] = '\0';
        fuzz_one(addr);
        free(addr);
        at += len + 1;
    }
    return 0;
}
