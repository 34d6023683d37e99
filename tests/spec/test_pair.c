/* RFC 31 (EXCLUSIVE PAIR): PAIR over inproc. */
#include <criterion/criterion.h>

#include "support/net.h"

TestSuite(pair, .init = tn_setup, .fini = tn_teardown, .timeout = 20);

static char ep[64];

static void
connected_pair(void **a, void **b, const char *tag)
{
    *a = tn_sock(SINEW_PAIR);
    *b = tn_sock(SINEW_PAIR);
    tn_set(*a, SINEW_RCVTIMEO, 5000);
    tn_set(*b, SINEW_RCVTIMEO, 5000);
    tn_bind(*a, tn_endpoint(ep, sizeof ep, tag));
    tn_connect(*b, ep);
}

/* RFC 31: "SHALL deliver these to its peer" in order, in both directions. */
Test(pair, delivers_in_order_both_ways)
{
    void *a, *b;
    connected_pair(&a, &b, "order");
    for (uint32_t i = 0; i < 200; i++) {
        tn_send_u32(a, i, 0);
        tn_send_u32(b, 1000 + i, 0);
    }
    for (uint32_t i = 0; i < 200; i++) {
        cr_assert_eq(tn_recv_u32(b), i);
        cr_assert_eq(tn_recv_u32(a), 1000 + i);
    }
}

Test(pair, multipart_ten_parts_in_order_with_rcvmore)
{
    void *a, *b;
    connected_pair(&a, &b, "multi");
    for (uint32_t i = 0; i < 9; i++)
        tn_send_u32(a, i, SINEW_SNDMORE);
    tn_send_u32(a, 9, 0);
    for (uint32_t i = 0; i < 10; i++) {
        sinew_msg_t m;
        cr_assert_eq(sinew_msg_init(&m), 0);
        cr_assert_eq(sinew_msg_recv(&m, b, 0), (int) sizeof(uint32_t));
        uint32_t v;
        memcpy(&v, sinew_msg_data(&m), sizeof v);
        cr_assert_eq(v, i);
        cr_assert_eq(sinew_msg_more(&m), i < 9);
        cr_assert_eq(tn_rcvmore(b), i < 9);
        cr_assert_eq(sinew_msg_close(&m), 0);
    }
}

/* RFC 31: "SHALL NOT accept more than one connection at a time" (a second peer is
 * refused; its messages never reach the bound socket). */
Test(pair, refuses_a_second_peer)
{
    void *a = tn_sock(SINEW_PAIR), *b = tn_sock(SINEW_PAIR), *c = tn_sock(SINEW_PAIR);
    tn_set(a, SINEW_RCVTIMEO, 5000);
    tn_bind(a, tn_endpoint(ep, sizeof ep, "second"));
    tn_connect(b, ep);
    tn_connect(c, ep);
    sinew_send(c, "from-c", 6, SINEW_DONTWAIT); /* may be accepted locally, then dropped */
    tn_send_str(b, "from-b", 0);
    tn_recv_str(a, "from-b");
    tn_set(a, SINEW_RCVTIMEO, 100);
    char buf[16];
    errno = 0;
    int n = sinew_recv(a, buf, sizeof buf, 0);
    cr_assert_eq(n, -1, "bound PAIR received a message from the second peer");
    cr_assert_eq(errno, EAGAIN);
    /* The first peer still works both ways. */
    tn_send_str(a, "reply", 0);
    tn_set(b, SINEW_RCVTIMEO, 5000);
    tn_recv_str(b, "reply");
}

Test(pair, new_peer_accepted_after_first_leaves)
{
    void *a = tn_sock(SINEW_PAIR), *b = tn_sock(SINEW_PAIR);
    tn_set(a, SINEW_RCVTIMEO, 5000);
    tn_bind(a, tn_endpoint(ep, sizeof ep, "replace"));
    tn_connect(b, ep);
    tn_send_str(b, "one", 0);
    tn_recv_str(a, "one");
    tn_close(b);
    /* A notices the departure on its next operation; the new peer then attaches. */
    void *c = tn_sock(SINEW_PAIR);
    tn_set(c, SINEW_SNDTIMEO, 5000);
    char buf[8];
    cr_assert_eq(sinew_recv(a, buf, sizeof buf, SINEW_DONTWAIT), -1);
    tn_connect(c, ep);
    tn_send_str(c, "two", 0);
    tn_recv_str(a, "two");
}

/* RFC 31: "SHALL block on sending, or return a suitable error, when the queue is full". */
Test(pair, hwm_dontwait_send_eagain)
{
    void *a = tn_sock(SINEW_PAIR), *b = tn_sock(SINEW_PAIR);
    tn_set(a, SINEW_SNDHWM, 2);
    tn_set(b, SINEW_RCVHWM, 2);
    tn_set(b, SINEW_RCVTIMEO, 5000);
    tn_bind(b, tn_endpoint(ep, sizeof ep, "hwm"));
    tn_connect(a, ep);
    int n = 0;
    while (n < 100 && sinew_send(a, &n, sizeof n, SINEW_DONTWAIT) == sizeof n)
        n++;
    cr_assert_eq(errno, EAGAIN);
    cr_assert_geq(n, 2);
    cr_assert_leq(n, 4);
    for (int i = 0; i < n; i++) {
        int v;
        cr_assert_eq(sinew_recv(b, &v, sizeof v, 0), (int) sizeof v);
        cr_assert_eq(v, i);
    }
}

/* RFC 31: "SHALL block on sending ... when it has no connected peer". */
Test(pair, send_without_peer_eagain)
{
    void *a = tn_sock(SINEW_PAIR);
    errno = 0;
    cr_assert_eq(sinew_send(a, "x", 1, SINEW_DONTWAIT), -1);
    cr_assert_eq(errno, EAGAIN);
}

Test(pair, connect_before_bind)
{
    void *a = tn_sock(SINEW_PAIR), *b = tn_sock(SINEW_PAIR);
    tn_set(a, SINEW_RCVTIMEO, 5000);
    tn_set(b, SINEW_RCVTIMEO, 5000);
    tn_endpoint(ep, sizeof ep, "late");
    tn_connect(b, ep);
    tn_send_str(b, "early", 0);
    tn_bind(a, ep);
    tn_recv_str(a, "early");
    tn_send_str(a, "back", 0);
    tn_recv_str(b, "back");
}

/* RFC 31: PAIR "SHALL only connect to PAIR" peers. */
Test(pair, incompatible_peer_enocompatproto)
{
    void *a = tn_sock(SINEW_PAIR), *p = tn_sock(SINEW_PUSH);
    tn_bind(a, tn_endpoint(ep, sizeof ep, "compat"));
    errno = 0;
    cr_assert_eq(sinew_connect(p, ep), -1);
    cr_assert_eq(errno, ENOCOMPATPROTO);
}

/* RFC 31 via RFC 23: "deliver ... all parts of a multipart message or none". */
Test(pair, multipart_parts_invisible_until_last_part)
{
    void *a, *b;
    connected_pair(&a, &b, "multi");
    for (uint32_t i = 0; i < 9; i++) {
        tn_send_u32(a, i, SINEW_SNDMORE);
        uint32_t v;
        errno = 0;
        cr_assert_eq(sinew_recv(b, &v, sizeof v, SINEW_DONTWAIT), -1, "part %u visible early",
                     i);
        cr_assert_eq(errno, EAGAIN);
    }
    tn_send_u32(a, 9, 0);
    for (uint32_t i = 0; i < 10; i++)
        cr_assert_eq(tn_recv_u32(b), i);
}
