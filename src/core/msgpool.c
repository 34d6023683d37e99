/* Content block allocation. Plain malloc: glibc's thread caches do well enough for now;
 * this seam exists so a recycling pool can replace it without touching msg.c. */
#include <stdlib.h>

#include "core/msgpool.h"

sn_msg_content *
sn_msgpool_alloc(size_t size)
{
    if (size > SIZE_MAX - sizeof(sn_msg_content))
        return NULL;
    return malloc(sizeof(sn_msg_content) + size);
}

void
sn_msgpool_free(sn_msg_content *c)
{
    free(c);
}
