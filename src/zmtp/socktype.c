/* The socket types: number (as sinew.h and zmq.h), ZMTP Socket-Type name, and which
 * types may talk to each other (RFC 37 table, RFC 28-31). The one table the handshake,
 * inproc and the patterns all consult. */
#include <string.h>

#include "zmtp/socktype.h"

#define HS_BIT(t) (1u << (t))

static const struct {
    const char *name;
    unsigned peers; /* bitmask of compatible peer types */
} handshake_types[] = {
    [SN_ZMTP_PAIR] = {"PAIR", HS_BIT(SN_ZMTP_PAIR)},
    [SN_ZMTP_PUB] = {"PUB", HS_BIT(SN_ZMTP_SUB) | HS_BIT(SN_ZMTP_XSUB)},
    [SN_ZMTP_SUB] = {"SUB", HS_BIT(SN_ZMTP_PUB) | HS_BIT(SN_ZMTP_XPUB)},
    [SN_ZMTP_REQ] = {"REQ", HS_BIT(SN_ZMTP_REP) | HS_BIT(SN_ZMTP_ROUTER)},
    [SN_ZMTP_REP] = {"REP", HS_BIT(SN_ZMTP_REQ) | HS_BIT(SN_ZMTP_DEALER)},
    [SN_ZMTP_DEALER] = {"DEALER",
                        HS_BIT(SN_ZMTP_REP) | HS_BIT(SN_ZMTP_DEALER) | HS_BIT(SN_ZMTP_ROUTER)},
    [SN_ZMTP_ROUTER] = {"ROUTER",
                        HS_BIT(SN_ZMTP_REQ) | HS_BIT(SN_ZMTP_DEALER) | HS_BIT(SN_ZMTP_ROUTER)},
    [SN_ZMTP_PULL] = {"PULL", HS_BIT(SN_ZMTP_PUSH)},
    [SN_ZMTP_PUSH] = {"PUSH", HS_BIT(SN_ZMTP_PULL)},
    [SN_ZMTP_XPUB] = {"XPUB", HS_BIT(SN_ZMTP_SUB) | HS_BIT(SN_ZMTP_XSUB)},
    [SN_ZMTP_XSUB] = {"XSUB", HS_BIT(SN_ZMTP_PUB) | HS_BIT(SN_ZMTP_XPUB)},
    [SN_ZMTP_STREAM] = {NULL, 0},
    [SN_ZMTP_SERVER] = {"SERVER", HS_BIT(SN_ZMTP_CLIENT)},
    [SN_ZMTP_CLIENT] = {"CLIENT", HS_BIT(SN_ZMTP_SERVER)},
    [SN_ZMTP_RADIO] = {"RADIO", HS_BIT(SN_ZMTP_DISH)},
    [SN_ZMTP_DISH] = {"DISH", HS_BIT(SN_ZMTP_RADIO)},
    [SN_ZMTP_GATHER] = {"GATHER", HS_BIT(SN_ZMTP_SCATTER)},
    [SN_ZMTP_SCATTER] = {"SCATTER", HS_BIT(SN_ZMTP_GATHER)},
    [SN_ZMTP_DGRAM] = {NULL, 0}, /* UDP only */
    [SN_ZMTP_PEER] = {"PEER", HS_BIT(SN_ZMTP_PEER)},
    [SN_ZMTP_CHANNEL] = {"CHANNEL", HS_BIT(SN_ZMTP_CHANNEL)},
};
#define HS_NTYPES ((int)(sizeof handshake_types / sizeof handshake_types[0]))

const char *
sn_zmtp_socket_type_name(int type)
{
    if (type < 0 || type >= HS_NTYPES)
        return NULL;
    return handshake_types[type].name;
}

int
sn_zmtp_socket_type_from_name(const uint8_t *name, size_t len)
{
    for (int t = 0; t < HS_NTYPES; t++) {
        const char *n = handshake_types[t].name;
        if (n && strlen(n) == len && memcmp(n, name, len) == 0)
            return t;
    }
    return -1;
}

bool
sn_zmtp_socket_type_compatible(int ours, int peer)
{
    if (ours < 0 || ours >= HS_NTYPES || peer < 0 || peer >= HS_NTYPES)
        return false;
    return (handshake_types[ours].peers & HS_BIT(peer)) != 0;
}
