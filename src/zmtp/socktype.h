/* Socket types as RFC 37 names them, and which may talk to which (see socktype.c). */
#ifndef SINEW_ZMTP_SOCKTYPE_H
#define SINEW_ZMTP_SOCKTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Socket types, numbered as sinew.h / zmq.h. */
#define SN_ZMTP_PAIR 0
#define SN_ZMTP_PUB 1
#define SN_ZMTP_SUB 2
#define SN_ZMTP_REQ 3
#define SN_ZMTP_REP 4
#define SN_ZMTP_DEALER 5
#define SN_ZMTP_ROUTER 6
#define SN_ZMTP_PULL 7
#define SN_ZMTP_PUSH 8
#define SN_ZMTP_XPUB 9
#define SN_ZMTP_XSUB 10
#define SN_ZMTP_STREAM 11 /* raw TCP, never speaks ZMTP: no name, never compatible */
#define SN_ZMTP_SERVER 12 /* draft types from here on */
#define SN_ZMTP_CLIENT 13
#define SN_ZMTP_RADIO 14
#define SN_ZMTP_DISH 15
#define SN_ZMTP_GATHER 16
#define SN_ZMTP_SCATTER 17
#define SN_ZMTP_DGRAM 18
#define SN_ZMTP_PEER 19
#define SN_ZMTP_CHANNEL 20

#define SN_ZMTP_ROUTING_ID_MAX 255

/* Socket-Type property value ("DEALER"), or NULL for a type that does not speak ZMTP. */
const char *sn_zmtp_socket_type_name(int type);
/* Type for a Socket-Type value (exact, upper case as sent by every implementation),
 * or -1. */
int sn_zmtp_socket_type_from_name(const uint8_t *name, size_t len);
/* RFC 37 table (+ RFC 28-31): may a socket of type ours talk to a peer of type peer? */
bool sn_zmtp_socket_type_compatible(int ours, int peer);

#endif
