/* Notifications between a socket and its I/O thread never allocate, so a failed
 * allocation cannot lose a wake-up (the socket would wait forever for data already
 * there). The program's own calls to malloc are counted (-Wl,--wrap=malloc: the core
 * library is linked statically into this test) while small messages stream over tcp and
 * ipc in bursts, each burst making the I/O threads be woken: none may allocate. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "support/net.h"

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);

static atomic_bool counting;
static atomic_long mallocs;

void *
__wrap_malloc(size_t size)
{
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add(&mallocs, 1);
    return __real_malloc(size);
}

TestSuite(noalloc, .init = tn_setup, .fini = tn_teardown, .timeout = 30);

typedef struct transport {
    char name[8];
} transport;

static transport net[] = {{"ipc"}, {"tcp"}};

ParameterizedTestParameters(noalloc, streaming_wakes_io_threads_without_allocating)
{
    return cr_make_param_array(transport, net, 2);
}

ParameterizedTest(transport *tr, noalloc, streaming_wakes_io_threads_without_allocating)
{
    char ep[256];
    void *pull = tn_sock(SINEW_PULL), *push = tn_sock(SINEW_PUSH);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    if (strcmp(tr->name, "ipc") == 0)
        snprintf(ep, sizeof ep, "ipc:///tmp/sinew-noalloc-%d", (int) getpid());
    else
        snprintf(ep, sizeof ep, "tcp://127.0.0.1:*");
    tn_bind(pull, ep);
    size_t len = sizeof ep;
    cr_assert_eq(sinew_getsockopt(pull, SINEW_LAST_ENDPOINT, ep, &len), 0);
    tn_connect(push, ep);
    /* Warm up: connections made, queues' chunks and message pools in place. */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 100; i++)
            tn_send_str(push, "w", 0);
        for (int i = 0; i < 100; i++)
            tn_recv_str(pull, "w");
    }
    atomic_store(&counting, true);
    for (int burst = 0; burst < 50; burst++) {
        for (int i = 0; i < 50; i++)
            tn_send_str(push, "m", 0);
        for (int i = 0; i < 50; i++)
            tn_recv_str(pull, "m");
        usleep(200); /* the I/O threads go back to sleep: the next burst wakes them */
    }
    atomic_store(&counting, false);
    cr_assert_eq(atomic_load(&mallocs), 0, "%ld allocations while streaming",
                 atomic_load(&mallocs));
}
