/* Allocation of message content blocks (header + payload in one block). Any thread may
 * allocate and any other thread may free: messages usually die on the receiving thread. */
#ifndef SINEW_CORE_MSGPOOL_H
#define SINEW_CORE_MSGPOOL_H

#include "core/msg.h"

sn_msg_content *sn_msgpool_alloc(size_t size); /* NULL on ENOMEM */
void sn_msgpool_free(sn_msg_content *c);

#endif
