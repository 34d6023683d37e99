/* The counters beyond libzmq (sinew_counters(7)): what a socket carried, what it
 * discarded and why, and how deep each peer's queues are. Traffic tests run over inproc,
 * ipc and tcp; exact queue depths over inproc, where one pipe joins the two sockets. */
#include <criterion/criterion.h>

#include "support/net.h"
#include "support/transports.h"

TestSuite(spec_counters, .init = tn_tran_setup, .fini = tn_tran_teardown, .timeout = 20);

static sinew_socket_stats_t
stats_of(void *s)
{
    sinew_socket_stats_t st;
    memset(&st, 0xa5, sizeof st); /* every field must be written */
    cr_assert_eq(sinew_socket_stats(s, &st), 0, "sinew_socket_stats: errno %d", errno);
    return st;
}

/* Polls s's counters until dropped_by[why] reaches want (5 s at most). A connection's
 * queues are freed by whichever side lets go last: an I/O thread, or the peer socket
 * (other, prodded here) when it takes in that s left. */
static sinew_socket_stats_t
wait_dropped(void *s, void *other, int why, uint64_t want)
{
    uint64_t deadline = tn_now_ms() + 5000;
    sinew_socket_stats_t st = stats_of(s);
    while (st.dropped_by[why] < want && tn_now_ms() < deadline) {
        tn_expect_nothing(s, 10, "a message arrived while waiting for the counters");
        if (other != NULL)
            stats_of(other);
        st = stats_of(s);
    }
    return st;
}

/* A message counts once, at its last part; its bytes are every part's. */
TN_TRAN_TEST(spec_counters, messages_and_bytes_both_ways)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_connect(push, tn_bind_any(pull, tran, ep));
    tn_send_str(push, "abc", 0);
    tn_send_str(push, "a", SINEW_SNDMORE);
    tn_send_str(push, "bb", 0);
    tn_send_str(push, "", 0);
    sinew_socket_stats_t out = stats_of(push);
    cr_assert_eq(out.msgs_out, 3);
    cr_assert_eq(out.bytes_out, 6);
    cr_assert_eq(out.msgs_in, 0);
    cr_assert_eq(out.bytes_in, 0);
    tn_recv_str(pull, "abc");
    tn_recv_str(pull, "a");
    sinew_socket_stats_t mid = stats_of(pull);
    cr_assert_eq(mid.msgs_in, 1, "half a message is no message yet");
    cr_assert_eq(mid.bytes_in, 4);
    tn_recv_str(pull, "bb");
    tn_recv_str(pull, "");
    sinew_socket_stats_t in = stats_of(pull);
    cr_assert_eq(in.msgs_in, 3);
    cr_assert_eq(in.bytes_in, 6);
    cr_assert_eq(in.msgs_out, 0);
    cr_assert_eq(in.dropped, 0);
    cr_assert_eq(in.peers, 1);
    cr_assert_eq(in.queued_in, 0);
}

/* Each peer's record: its type once its handshake is done, the endpoint it came
 * through, and nothing queued when the traffic was read. */
TN_TRAN_TEST(spec_counters, peer_records_name_type_and_endpoint)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH);
    void *pull[2] = {tn_sock(SINEW_PULL), tn_sock(SINEW_PULL)};
    tn_bind_any(push, tran, ep);
    for (int i = 0; i < 2; i++)
        tn_connect(pull[i], ep);
    cr_assert_eq(sinew_wait_peers(push, 2, 5000), 2, "errno %d", errno);
    sinew_peer_stats_t peers[4];
    cr_assert_eq(sinew_socket_peers(push, peers, 4), 2);
    cr_assert_neq(peers[0].id, peers[1].id);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(peers[i].type, SINEW_PULL);
        cr_assert_str_eq(peers[i].endpoint, ep);
        cr_assert_eq(peers[i].queued_out, 0);
        cr_assert_eq(peers[i].queued_in, 0);
    }
    /* Fewer records than peers: the count still says how many there are. */
    cr_assert_eq(sinew_socket_peers(push, peers, 1), 2);
    cr_assert_eq(sinew_socket_peers(push, NULL, 0), 2);
    cr_assert_eq(stats_of(push).peers, 2);
}

/* The routing id a peer announced (ZMTP sends it for REQ, DEALER and ROUTER). */
TN_TRAN_TEST(spec_counters, routing_id_of_a_peer)
{
    char ep[TN_EP_MAX];
    void *rep = tn_sock(SINEW_REP), *req = tn_sock(SINEW_REQ);
    cr_assert_eq(sinew_setsockopt(req, SINEW_ROUTING_ID, "pusher", 6), 0);
    tn_connect(req, tn_bind_any(rep, tran, ep));
    cr_assert_eq(sinew_wait_peers(rep, 1, 5000), 1, "errno %d", errno);
    sinew_peer_stats_t p;
    cr_assert_eq(sinew_socket_peers(rep, &p, 1), 1);
    cr_assert_eq(p.type, SINEW_REQ);
    cr_assert_eq(p.routing_id_len, 6);
    cr_assert_eq(memcmp(p.routing_id, "pusher", 6), 0);
}

/* Inproc: the queue between the two sockets is one pipe, so depths are exact on both
 * sides, and move as the reader reads. */
Test(spec_counters, queue_depth_per_peer_inproc)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_bind(pull, tn_endpoint(ep, sizeof ep, "depth"));
    tn_connect(push, ep);
    for (int i = 0; i < 5; i++)
        tn_send_str(push, "m", 0);
    tn_send_str(push, "x", SINEW_SNDMORE); /* a multipart message is one */
    tn_send_str(push, "y", 0);
    sinew_peer_stats_t p;
    cr_assert_eq(sinew_socket_peers(push, &p, 1), 1);
    cr_assert_eq(p.queued_out, 6);
    cr_assert_eq(p.queued_in, 0);
    cr_assert_eq(sinew_socket_peers(pull, &p, 1), 1);
    cr_assert_eq(p.queued_in, 6);
    cr_assert_eq(stats_of(pull).queued_in, 6);
    tn_recv_str(pull, "m");
    tn_recv_str(pull, "m");
    cr_assert_eq(stats_of(pull).queued_in, 4);
    cr_assert_eq(sinew_socket_peers(push, &p, 1), 1);
    cr_assert_eq(p.queued_out, 4);
    cr_assert_eq(stats_of(push).queued_out, 4);
}

/* Messages left in a connection when its reader lets go are lost: they count on the
 * reader, as lost to a connection, whichever transport carried them. */
TN_TRAN_TEST(spec_counters, unread_messages_count_when_the_reader_disconnects)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_connect(pull, tn_bind_any(push, tran, ep));
    cr_assert_eq(sinew_wait_peers(push, 1, 5000), 1);
    for (int i = 0; i < 3; i++)
        tn_send_str(push, "lost", 0);
    uint64_t deadline = tn_now_ms() + 5000;
    while (stats_of(pull).queued_in < 3 && tn_now_ms() < deadline)
        tn_expect_nothing(push, 5, "PUSH received something");
    cr_assert_eq(stats_of(pull).queued_in, 3, "the messages never reached the PULL's queue");
    cr_assert_eq(sinew_disconnect(pull, ep), 0, "errno %d", errno);
    sinew_socket_stats_t st = wait_dropped(pull, push, SINEW_DROP_CONNECTION, 3);
    cr_assert_eq(st.dropped_by[SINEW_DROP_CONNECTION], 3);
    cr_assert_eq(st.dropped, 3);
    uint64_t total = 0;
    size_t len = sizeof total;
    cr_assert_eq(sinew_getsockopt(pull, SINEW_MSGS_DROPPED, &total, &len), 0);
    cr_assert_eq(total, 3, "SINEW_MSGS_DROPPED reads the same total");
}

/* The sender's linger ran out before the reader read: what was left is discarded at
 * the reader, and counted. */
Test(spec_counters, messages_past_the_senders_linger_count_on_the_reader)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_bind(pull, tn_endpoint(ep, sizeof ep, "linger"));
    tn_connect(push, ep);
    for (int i = 0; i < 4; i++)
        tn_send_str(push, "late", 0);
    tn_set(push, SINEW_LINGER, 0);
    tn_close(push);
    sinew_socket_stats_t st = wait_dropped(pull, NULL, SINEW_DROP_CONNECTION, 4);
    cr_assert_eq(st.dropped_by[SINEW_DROP_CONNECTION], 4);
    cr_assert_eq(st.dropped, 4);
    cr_assert_eq(st.peers, 0);
    char buf[8];
    cr_assert_eq(sinew_recv(pull, buf, sizeof buf, SINEW_DONTWAIT), -1);
    cr_assert_eq(errno, EAGAIN);
}

/* Within the linger, the reader still gets everything, and nothing counts as lost. */
Test(spec_counters, messages_read_within_the_linger_are_not_lost)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_bind(pull, tn_endpoint(ep, sizeof ep, "kept"));
    tn_connect(push, ep);
    for (int i = 0; i < 4; i++)
        tn_send_str(push, "kept", 0);
    tn_set(push, SINEW_LINGER, -1);
    tn_close(push);
    for (int i = 0; i < 4; i++)
        tn_recv_str(pull, "kept");
    sinew_socket_stats_t st = stats_of(pull);
    cr_assert_eq(st.dropped, 0);
    cr_assert_eq(st.msgs_in, 4);
}

/* A pattern's own discards count by reason: a REP whose requester left before the
 * reply cannot route it. */
Test(spec_counters, pattern_discards_count_by_reason)
{
    char ep[TN_EP_MAX];
    void *rep = tn_sock(SINEW_REP), *req = tn_sock(SINEW_REQ);
    tn_set(rep, SINEW_RCVTIMEO, 5000);
    tn_bind(rep, tn_endpoint(ep, sizeof ep, "reasons"));
    tn_connect(req, ep);
    tn_send_str(req, "question", 0);
    tn_recv_str(rep, "question");
    tn_set(req, SINEW_LINGER, 0);
    tn_close(req);
    /* The REP learns of it at its next call; the reply then has nowhere to go. */
    cr_assert_eq(stats_of(rep).peers, 0);
    tn_send_str(rep, "answer", 0);
    sinew_socket_stats_t st = stats_of(rep);
    cr_assert_eq(st.dropped_by[SINEW_DROP_UNROUTABLE], 1);
    cr_assert_eq(st.dropped, 1);
    cr_assert_eq(st.msgs_out, 1, "the application's send is counted all the same");
}

/* A message cut because its peer left while it was being sent counts once, on the
 * sender: the parts already in the pipe and those that follow are one message. */
Test(spec_counters, message_cut_mid_send_counts_once_on_the_sender)
{
    char ep[TN_EP_MAX];
    void *rep = tn_sock(SINEW_REP), *req = tn_sock(SINEW_REQ);
    tn_set(rep, SINEW_RCVTIMEO, 5000);
    tn_bind(rep, tn_endpoint(ep, sizeof ep, "cut"));
    tn_connect(req, ep);
    tn_send_str(req, "question", 0);
    tn_recv_str(rep, "question");
    tn_send_str(rep, "first half", SINEW_SNDMORE);
    tn_set(req, SINEW_LINGER, 0);
    tn_close(req);
    tn_send_str(rep, "second half", 0);
    sinew_socket_stats_t st = stats_of(rep);
    cr_assert_eq(st.dropped_by[SINEW_DROP_CONNECTION], 1);
    cr_assert_eq(st.dropped, 1);

    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_bind(pull, tn_endpoint(ep, sizeof ep, "cut-push"));
    tn_connect(push, ep);
    tn_send_str(push, "a", SINEW_SNDMORE);
    tn_set(pull, SINEW_LINGER, 0);
    tn_close(pull);
    cr_assert_eq(stats_of(push).dropped, 1, "counted when the pipe is let go");
    tn_send_str(push, "b", SINEW_SNDMORE);
    tn_send_str(push, "c", 0);
    cr_assert_eq(stats_of(push).dropped, 1, "the rest of the message is the same message");

    void *router = tn_sock(SINEW_ROUTER), *dealer = tn_sock(SINEW_DEALER);
    cr_assert_eq(sinew_setsockopt(dealer, SINEW_ROUTING_ID, "d1", 2), 0);
    tn_bind(router, tn_endpoint(ep, sizeof ep, "cut-router"));
    tn_connect(dealer, ep);
    cr_assert_eq(sinew_wait_peers(router, 1, 5000), 1);
    tn_send_str(router, "d1", SINEW_SNDMORE);
    tn_send_str(router, "a", SINEW_SNDMORE);
    tn_set(dealer, SINEW_LINGER, 0);
    tn_close(dealer);
    tn_send_str(router, "b", 0);
    cr_assert_eq(stats_of(router).dropped, 1, "a ROUTER's cut message counts once too");
}

/* A monitor event that does not fit its PAIR's queue is counted, not lost silently. */
Test(spec_counters, monitor_events_that_do_not_fit_are_counted)
{
    char ep[TN_EP_MAX], mon_ep[64];
    void *push = tn_sock(SINEW_PUSH);
    tn_endpoint(mon_ep, sizeof mon_ep, "mon");
    cr_assert_eq(sinew_socket_monitor(push, mon_ep, SINEW_EVENT_ALL), 0);
    /* Nobody reads the monitor: its PAIR has no peer, so no event fits. */
    tn_bind(push, "tcp://127.0.0.1:*");
    size_t len = sizeof ep;
    cr_assert_eq(sinew_getsockopt(push, SINEW_LAST_ENDPOINT, ep, &len), 0);
    cr_assert_geq(stats_of(push).monitor_dropped, 1, "LISTENING went nowhere");
}

Test(spec_counters, bad_arguments_fail_cleanly)
{
    void *s = tn_sock(SINEW_PULL);
    sinew_socket_stats_t st;
    sinew_peer_stats_t p;
    cr_assert_eq(sinew_socket_stats(s, NULL), -1);
    cr_assert_eq(errno, EFAULT);
    cr_assert_eq(sinew_socket_stats(NULL, &st), -1);
    cr_assert_eq(errno, ENOTSOCK);
    cr_assert_eq(sinew_socket_peers(s, &p, -1), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_socket_peers(s, NULL, 3), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_socket_peers(s, &p, 1), 0, "no peers yet");
    tn_close(s);
    cr_assert_eq(sinew_socket_stats(s, &st), -1);
    cr_assert_eq(errno, ENOTSOCK);
    cr_assert_eq(sinew_socket_peers(s, &p, 1), -1);
    cr_assert_eq(errno, ENOTSOCK);
}
