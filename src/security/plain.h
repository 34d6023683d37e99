/* The PLAIN mechanism (RFC 24): clear-text username and password, checked by ZAP. */
#ifndef SINEW_SECURITY_PLAIN_H
#define SINEW_SECURITY_PLAIN_H

#include "zmtp/mechanism.h"

/* One table for both roles: the socket's security settings say which (as_server). */
extern const sn_mechanism_ops sn_security_plain;

#endif
