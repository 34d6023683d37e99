/* Handles: the opaque void* values applications hold for contexts and sockets.
 *
 * A handle encodes (generation, slot index, kind), not an address, and the object in a
 * slot is never freed, only recycled with a new generation. So a stale, closed or bogus
 * handle is detected (ENOTSOCK/EFAULT) instead of touching freed memory, even when
 * another thread closes the socket concurrently. */
#ifndef SINEW_CORE_REGISTRY_H
#define SINEW_CORE_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

enum sn_handle_kind { SN_KIND_CTX = 1, SN_KIND_SOCKET = 2 };

#define SN_REGISTRY_MAX (1u << 20)

typedef struct sn_registry sn_registry;
extern sn_registry sn_ctx_registry, sn_socket_registry;

/* Returns a recycled object (its slot index in *index) or NULL if none is free. */
void *sn_registry_recycle(sn_registry *r, uint32_t *index);
/* Adds a new object; -ENOMEM or -EMFILE when full. */
int sn_registry_add(sn_registry *r, void *obj, uint32_t *index);
/* Marks the object at index reusable. */
void sn_registry_release(sn_registry *r, uint32_t index);
/* The object in slot index, or NULL. Lock-free. */
void *sn_registry_get(sn_registry *r, uint32_t index);

void *sn_handle_make(int kind, uint32_t index, uint64_t gen);
/* False if h is not a handle of that kind. */
bool sn_handle_parse(const void *h, int kind, uint32_t *index, uint64_t *gen);

#endif
