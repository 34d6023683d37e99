/* RFC 31 (EXCLUSIVE PAIR): PAIR. The behaviour tests run over inproc, ipc and tcp
 * (support/transports.h); the exact queue depth test over inproc only, where the queue
 * between two sockets is one pipe holding SNDHWM + RCVHWM messages. */
#include <criterion/criterion.h>

#include "support/net.h"
#include "support/transports.h"

TestSuite(spec_pair, .init = tn_tran_setup, .fini = tn_tran_teardown, .timeout = 20);

/* a bound on tran, b connected to it. The bound PAIR's sends wait (SNDTIMEO) until the
 * connection is attached. */
static void
connected_pair(void **a, void **b, const char *tran)
{
    char ep[TN_EP_MAX];
    *a = tn_sock(SINEW_PAIR);
    *b = tn_sock(SINEW_PAIR);
    tn_set(*a, SINEW_RCVTIMEO, 5000);
    tn_set(*b, SINEW_RCVTIMEO, 5000);
    tn_set(*a, SINEW_SNDTIMEO, 5000);
    tn_set(*b, SINEW_SNDTIMEO, 5000);
    tn_connect(*b, tn_bind_any(*a, tran, ep));
}

/* RFC 31: "SHALL deliver these to its peer" in order, in both directions. */
TN_TRAN_TEST(spec_pair, delivers_in_order_both_ways)
{
    void *a, *b;
    connected_pair(&a, &b, tran);
    for (uint32_t i = 0; i < 200; i++) {
        tn_send_u32(a, i, 0);
        tn_send_u32(b, 1000 + i, 0);
    }
    for (uint32_t i = 0; i < 200; i++) {
        cr_assert_eq(tn_recv_u32(b), i);
        cr_assert_eq(tn_recv_u32(a), 1000 + i);
    }
}

TN_TRAN_TEST(spec_pair, multipart_ten_parts_in_order_with_rcvmore)
{
    void *a, *b;
    connected_pair(&a, &b, tran);
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
 * refused; its messages never reach the bound socket). Over ipc and tcp the first peer
 * is attached once its message arrived; only then does the second one connect. */
TN_TRAN_TEST(spec_pair, refuses_a_second_peer)
{
    char ep[TN_EP_MAX];
    void *a = tn_sock(SINEW_PAIR), *b = tn_sock(SINEW_PAIR), *c = tn_sock(SINEW_PAIR);
    tn_set(a, SINEW_RCVTIMEO, 5000);
    tn_set(a, SINEW_SNDTIMEO, 5000);
    tn_set(b, SINEW_RCVTIMEO, 5000);
    tn_connect(b, tn_bind_any(a, tran, ep));
    tn_send_str(b, "from-b", 0);
    tn_recv_str(a, "from-b");
    tn_connect(c, ep);
    /* May be accepted locally, then dropped. */
    sinew_send(c, "from-c", 6, SINEW_DONTWAIT);
    tn_expect_nothing(a, tn_tran_is_net(tran) ? 300 : 100,
                      "bound PAIR received a message from the second peer");
    /* The first peer still works both ways. */
    tn_send_str(a, "reply", 0);
    tn_recv_str(b, "reply");
    tn_send_str(b, "again", 0);
    tn_recv_str(a, "again");
}

/* Over inproc the bound PAIR notices the departure on its next operation, and the new
 * peer's first message arrives. Over ipc and tcp the departure arrives later: until then
 * the new peer's connection is refused, and what it sent on that connection is lost. So
 * the new peer sends until one message arrives (5 s at most). */
TN_TRAN_TEST(spec_pair, new_peer_accepted_after_first_leaves)
{
    char ep[TN_EP_MAX];
    void *a = tn_sock(SINEW_PAIR), *b = tn_sock(SINEW_PAIR);
    tn_set(a, SINEW_RCVTIMEO, 5000);
    tn_connect(b, tn_bind_any(a, tran, ep));
    tn_send_str(b, "one", 0);
    tn_recv_str(a, "one");
    tn_close(b);
    void *c = tn_sock(SINEW_PAIR);
    tn_set(c, SINEW_SNDTIMEO, 5000);
    tn_set(c, SINEW_RCVTIMEO, 5000);
    char buf[8];
    cr_assert_eq(sinew_recv(a, buf, sizeof buf, SINEW_DONTWAIT), -1);
    tn_connect(c, ep);
    if (!tn_tran_is_net(tran)) {
        tn_send_str(c, "two", 0);
        tn_recv_str(a, "two");
    } else {
        uint64_t deadline = tn_now_ms() + 5000;
        bool got = false;
        while (!got && tn_left_ms(deadline) > 0) {
            tn_send_str(c, "two", 0);
            sinew_pollitem_t it = {.socket = a, .events = SINEW_POLLIN};
            int wait = tn_left_ms(deadline);
            got = sinew_poll(&it, 1, wait < 100 ? wait : 100) == 1;
        }
        cr_assert(got, "the new peer was not accepted within 5 s");
        tn_recv_str(a, "two");
    }
    /* And the new peer works both ways. */
    tn_send_str(a, "back", 0);
    tn_recv_str(c, "back");
}

/* RFC 31: "SHALL block on sending, or return a suitable error, when the queue is
 * full". */
Test(spec_pair, hwm_dontwait_send_eagain)
{
    char ep[TN_EP_MAX];
    void *a = tn_sock(SINEW_PAIR), *b = tn_sock(SINEW_PAIR);
    tn_set(a, SINEW_SNDHWM, 2);
    tn_set(b, SINEW_RCVHWM, 2);
    tn_set(b, SINEW_RCVTIMEO, 5000);
    tn_connect(a, tn_bind_any(b, "inproc", ep));
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
Test(spec_pair, send_without_peer_eagain)
{
    void *a = tn_sock(SINEW_PAIR);
    errno = 0;
    cr_assert_eq(sinew_send(a, "x", 1, SINEW_DONTWAIT), -1);
    cr_assert_eq(errno, EAGAIN);
}

/* Over ipc and tcp the connecter retries until the endpoint is bound. */
TN_TRAN_TEST(spec_pair, connect_before_bind)
{
    char ep[TN_EP_MAX];
    void *a = tn_sock(SINEW_PAIR), *b = tn_sock(SINEW_PAIR);
    tn_set(a, SINEW_RCVTIMEO, 5000);
    tn_set(b, SINEW_RCVTIMEO, 5000);
    tn_connect(b, tn_tran_endpoint(tran, ep));
    tn_send_str(b, "early", 0);
    tn_bind(a, ep);
    tn_recv_str(a, "early");
    tn_send_str(a, "back", 0);
    tn_recv_str(b, "back");
}

/* RFC 31: PAIR "SHALL only connect to PAIR" peers. */
TN_TRAN_TEST(spec_pair, incompatible_peer_refused)
{
    char ep[TN_EP_MAX];
    void *a = tn_sock(SINEW_PAIR), *p = tn_sock(SINEW_PUSH);
    tn_bind_any(a, tran, ep);
    tn_expect_incompatible(p, ep, tran);
    /* Whatever the PUSH queued never reaches the PAIR. */
    sinew_send(p, "x", 1, SINEW_DONTWAIT);
    tn_expect_nothing(a, 200, "PAIR received from a PUSH");
}

/* RFC 31 via RFC 23: "deliver ... all parts of a multipart message or none". */
TN_TRAN_TEST(spec_pair, multipart_parts_invisible_until_last_part)
{
    void *a, *b;
    connected_pair(&a, &b, tran);
    for (uint32_t i = 0; i < 9; i++) {
        tn_send_u32(a, i, SINEW_SNDMORE);
        uint32_t v;
        errno = 0;
        cr_assert_eq(sinew_recv(b, &v, sizeof v, SINEW_DONTWAIT), -1,
                     "part %u visible early", i);
        cr_assert_eq(errno, EAGAIN);
    }
    tn_send_u32(a, 9, 0);
    for (uint32_t i = 0; i < 10; i++)
        cr_assert_eq(tn_recv_u32(b), i);
}
