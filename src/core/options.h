/* Socket options: storage, defaults, and the table-driven setsockopt/getsockopt for the
 * options every socket type shares. Values are validated here; an unknown option, a
 * wrong length or an out-of-range value is -EINVAL. Called with the socket lock held. */
#ifndef SINEW_CORE_OPTIONS_H
#define SINEW_CORE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zmtp/mechanism.h"

#define SN_ROUTING_ID_MAX 255
#define SN_LAST_ENDPOINT_MAX 1024 /* room for any endpoint string we accept */

typedef struct sn_options {
    int type;
    int sndhwm, rcvhwm;    /* messages, 0 = unlimited */
    int linger;            /* ms, -1 = forever */
    int rcvtimeo, sndtimeo;/* ms, -1 = forever */
    int immediate;
    int conflate;          /* SINEW_CONFLATE (see sn_options_conflates) */
    int spin_us;           /* SINEW_SPIN_US */
    int sndbuf, rcvbuf;    /* kernel buffers, -1 = OS default */
    int reconnect_ivl, reconnect_ivl_max; /* ms; max 0 = no backoff */
    int backlog;
    int64_t maxmsgsize;    /* -1 = unlimited */
    int tcp_keepalive, tcp_keepalive_cnt, tcp_keepalive_idle, tcp_keepalive_intvl;
    int ipv6;
    int handshake_ivl;     /* ms, 0 = none */
    int heartbeat_ivl, heartbeat_ttl, heartbeat_timeout; /* ms; timeout -1 = ivl */
    uint8_t routing_id[SN_ROUTING_ID_MAX];
    size_t routing_id_len;
    char last_endpoint[SN_LAST_ENDPOINT_MAX];
    sn_zmtp_security sec;  /* mechanism, role, credentials, ZAP domain (NULL by default) */
} sn_options;

/* linger and ipv6: the context's defaults (SINEW_BLOCKY, SINEW_IPV6). */
void sn_options_defaults(sn_options *o, int type, int linger, int ipv6);
int sn_options_set(sn_options *o, int option, const void *val, size_t len);
/* SINEW_CONFLATE applies to the types libzmq applies it to: on what they receive (SUB,
 * PULL, DEALER: in) and on what they send (PUB, PUSH, DEALER: out). */
bool sn_options_conflates(const sn_options *o, bool out);
/* -ENOENT: not an option stored here (the socket answers it), -EINVAL: bad length. */
int sn_options_get(const sn_options *o, int option, void *val, size_t *len);

#endif
