/* Unit tests of the SPSC message queue (src/core/queue.h), single-threaded: the protocol
 * bits (reader asleep, writer waiting) are observable through the return values. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "core/queue.h"

TestSuite(queue, .timeout = 10);

static void
put(sn_queue *q, uint32_t v, bool more)
{
    sn_msg m;
    cr_assert_eq(sn_msg_init_buffer(&m, &v, sizeof v), 0);
    if (more)
        m.flags |= SN_MSG_MORE;
    cr_assert_eq(sn_queue_write(q, &m), 0);
    sn_msg_close(&m); /* write left it empty: closing is harmless */
}

static uint32_t
take(sn_queue *q, bool *more)
{
    sn_msg m;
    sn_msg_init(&m);
    cr_assert_eq(sn_queue_read(q, &m), 0, "queue unexpectedly empty");
    cr_assert_eq(sn_msg_size(&m), sizeof(uint32_t));
    uint32_t v;
    memcpy(&v, sn_msg_data(&m), sizeof v);
    if (more)
        *more = sn_msg_more(&m);
    sn_msg_close(&m);
    return v;
}

Test(queue, preserves_fifo_order)
{
    sn_queue q;
    cr_assert_eq(sn_queue_init(&q, 0), 0);
    for (uint32_t i = 0; i < 50; i++)
        put(&q, i, false);
    sn_queue_flush(&q);
    for (uint32_t i = 0; i < 50; i++)
        cr_assert_eq(take(&q, NULL), i);
    cr_assert_not(sn_queue_check_read(&q));
    sn_queue_fini(&q);
}

Test(queue, nothing_visible_before_flush)
{
    sn_queue q;
    cr_assert_eq(sn_queue_init(&q, 0), 0);
    put(&q, 1, false);
    cr_assert_not(sn_queue_check_read(&q), "unflushed message visible to reader");
    sn_msg m;
    sn_msg_init(&m);
    cr_assert_eq(sn_queue_read(&q, &m), -EAGAIN);
    sn_queue_flush(&q);
    cr_assert(sn_queue_check_read(&q));
    cr_assert_eq(take(&q, NULL), 1);
    sn_queue_fini(&q);
}

Test(queue, multipart_published_atomically_on_last_part)
{
    sn_queue q;
    cr_assert_eq(sn_queue_init(&q, 0), 0);
    put(&q, 10, true);
    put(&q, 11, true);
    cr_assert_not(sn_queue_check_read(&q), "partial multipart visible");
    put(&q, 12, false);
    cr_assert_not(sn_queue_check_read(&q), "visible before flush");
    sn_queue_flush(&q);
    bool more;
    cr_assert_eq(take(&q, &more), 10);
    cr_assert(more);
    cr_assert_eq(take(&q, &more), 11);
    cr_assert(more);
    cr_assert_eq(take(&q, &more), 12);
    cr_assert_not(more);
    sn_queue_fini(&q);
}

Test(queue, hwm_counts_whole_messages)
{
    sn_queue q;
    cr_assert_eq(sn_queue_init(&q, 2), 0);
    for (int m = 0; m < 2; m++) {
        cr_assert(sn_queue_check_write(&q), "message %d refused below hwm", m);
        put(&q, 0, true);
        put(&q, 1, true);
        put(&q, 2, false);
    }
    cr_assert_not(sn_queue_check_write(&q), "third message allowed with hwm 2");
    sn_queue_fini(&q);
}

Test(queue, hwm_refuses_then_reopens_at_low_water_mark)
{
    enum { HWM = 10 };
    sn_queue q;
    cr_assert_eq(sn_queue_init(&q, HWM), 0);
    for (uint32_t i = 0; i < HWM; i++) {
        cr_assert(sn_queue_check_write(&q), "refused at %u < hwm", i);
        put(&q, i, false);
    }
    sn_queue_flush(&q);
    cr_assert_not(sn_queue_check_write(&q), "accepted at the hwm");
    cr_assert_not(sn_queue_check_write(&q), "second check at the hwm accepted");
    /* The writer waits: the reader owes it a wake-up only at the low-water mark (hwm/2
     * left), not after every message. */
    uint32_t i = 0;
    for (; i < HWM / 2 - 1; i++) {
        cr_assert_eq(take(&q, NULL), i);
        cr_assert_not(q.rwake, "rwake set after %u reads, above the low-water mark", i + 1);
    }
    cr_assert_eq(take(&q, NULL), i++);
    cr_assert(q.rwake, "rwake not set at the low-water mark");
    q.rwake = false;
    cr_assert(sn_queue_check_write(&q), "writer still refused after the reader made room");
    put(&q, 100, false);
    sn_queue_flush(&q);
    for (; i < HWM; i++)
        cr_assert_eq(take(&q, NULL), i);
    cr_assert_eq(take(&q, NULL), 100);
    cr_assert_not(q.rwake, "rwake set although the writer did not wait again");
    sn_queue_fini(&q);
}

/* Woken at the low-water mark, the writer refills the queue to the hwm and waits again:
 * the next reads must not wake it again (the reader's count of published messages is
 * older than the refill), only the next fall to the low-water mark. */
Test(queue, refilled_queue_wakes_the_writer_once_per_low_water_mark)
{
    enum { HWM = 10 };
    sn_queue q;
    cr_assert_eq(sn_queue_init(&q, HWM), 0);
    uint32_t next_put = 0, next_take = 0;
    while (sn_queue_check_write(&q))
        put(&q, next_put++, false);
    sn_queue_flush(&q);
    cr_assert_eq(next_put, HWM);
    for (int round = 0; round < 3; round++) {
        int wakes = 0;
        while (!q.rwake) {
            cr_assert_eq(take(&q, NULL), next_take++);
            cr_assert_lt(next_take, 100, "never woken");
        }
        q.rwake = false;
        wakes++;
        cr_assert_eq(next_put - next_take, HWM / 2, "woken above the low-water mark");
        while (sn_queue_check_write(&q)) /* refill to the hwm; waits again */
            put(&q, next_put++, false);
        sn_queue_flush(&q);
        cr_assert_eq(next_put - next_take, HWM);
        for (int i = 0; i < HWM / 2 - 1; i++) {
            cr_assert_eq(take(&q, NULL), next_take++);
            wakes += q.rwake;
            cr_assert_not(q.rwake, "round %d: woken again after %d reads of a full queue",
                          round, i + 1);
        }
        cr_assert_eq(wakes, 1);
    }
    sn_queue_fini(&q);
}

Test(queue, dry_reader_is_armed_and_next_flush_reports_it)
{
    sn_queue q;
    cr_assert_eq(sn_queue_init(&q, 0), 0);
    put(&q, 1, false);
    cr_assert_not(sn_queue_flush(&q), "flush reported a sleeping reader that never slept");
    cr_assert_eq(take(&q, NULL), 1);
    cr_assert_not(sn_queue_check_read(&q)); /* runs dry: arms reader_asleep */
    put(&q, 2, false);
    cr_assert(sn_queue_flush(&q), "flush after the reader went dry must ask for a wake-up");
    put(&q, 3, false);
    cr_assert_not(sn_queue_flush(&q), "wake-up requested twice for one sleep");
    cr_assert_not(sn_queue_flush(&q), "empty flush requested a wake-up");
    cr_assert_eq(take(&q, NULL), 2);
    cr_assert_eq(take(&q, NULL), 3);
    sn_queue_fini(&q);
}

Test(queue, crosses_chunk_boundaries_in_order)
{
    enum { N = SN_QUEUE_CHUNK * 3 + 5 };
    sn_queue q;
    cr_assert_eq(sn_queue_init(&q, 0), 0);
    for (uint32_t i = 0; i < N; i++)
        put(&q, i, false);
    sn_queue_flush(&q);
    for (uint32_t i = 0; i < N; i++)
        cr_assert_eq(take(&q, NULL), i);
    cr_assert_not(sn_queue_check_read(&q));
    /* Interleaved, so chunks are recycled through the spare slot. */
    uint32_t w = 0, r = 0;
    for (int round = 0; round < 20; round++) {
        for (int k = 0; k < 50; k++)
            put(&q, w++, false);
        sn_queue_flush(&q);
        for (int k = 0; k < 40; k++)
            cr_assert_eq(take(&q, NULL), r++);
    }
    while (r < w)
        cr_assert_eq(take(&q, NULL), r++);
    cr_assert_not(sn_queue_check_read(&q));
    sn_queue_fini(&q);
}

static int frees;

static void
count_free(void *data, void *hint)
{
    (void) data;
    cr_assert_eq(hint, &frees);
    frees++;
}

Test(queue, fini_closes_every_queued_message_once)
{
    enum { N = SN_QUEUE_CHUNK + 20 };
    static char payload[N][64];
    frees = 0;
    sn_queue q;
    cr_assert_eq(sn_queue_init(&q, 0), 0);
    for (int i = 0; i < N; i++) {
        sn_msg m;
        cr_assert_eq(sn_msg_init_data(&m, payload[i], sizeof payload[i], count_free, &frees), 0);
        if (i % 3 == 0 && i + 1 < N)
            m.flags |= SN_MSG_MORE;
        cr_assert_eq(sn_queue_write(&q, &m), 0);
    }
    sn_queue_flush(&q);
    /* Read and close a few, leave the rest (including unflushed ones) to fini. */
    for (int i = 0; i < 10; i++) {
        sn_msg m;
        sn_msg_init(&m);
        cr_assert_eq(sn_queue_read(&q, &m), 0);
        sn_msg_close(&m);
    }
    cr_assert_eq(frees, 10);
    for (int i = 0; i < 5; i++) {
        sn_msg m;
        cr_assert_eq(sn_msg_init_data(&m, payload[i], sizeof payload[i], count_free, &frees), 0);
        cr_assert_eq(sn_queue_write(&q, &m), 0);
    }
    sn_queue_fini(&q);
    cr_assert_eq(frees, N + 5, "fini freed %d of %d", frees, N + 5);
}

Test(queue, burst_reads_publish_room_once_at_the_end)
{
    enum { HWM = 4 };
    sn_queue q;
    cr_assert_eq(sn_queue_init(&q, HWM), 0);
    for (uint32_t i = 0; i < HWM; i++)
        put(&q, i, false);
    sn_queue_flush(&q);
    cr_assert_not(sn_queue_check_write(&q), "accepted at the hwm");
    /* Burst reads leave the consumed count unpublished: the writer still sees a full
     * queue, and is not owed a wake-up yet. */
    for (uint32_t i = 0; i < HWM - 1; i++) {
        sn_msg m;
        sn_msg_init(&m);
        cr_assert_eq(sn_queue_read_burst(&q, &m), 0);
        sn_msg_close(&m);
    }
    cr_assert_not(q.rwake, "a burst read published the consumed count");
    cr_assert_not(sn_queue_check_write(&q), "room seen before the burst ended");
    /* The end of the burst publishes it: below the low-water mark the writer is owed its
     * wake-up and finds room. */
    sn_queue_read_end(&q);
    cr_assert(q.rwake, "read_end did not tell the waiting writer");
    q.rwake = false;
    cr_assert(sn_queue_check_write(&q), "writer refused after read_end made room");
    cr_assert_eq(take(&q, NULL), HWM - 1);
    sn_queue_fini(&q);
}

/* A connection lost mid-message: the parts of the unfinished message go, never seen by
 * the reader; complete messages written before it stay, and so does what follows. */
Test(queue, rollback_drops_only_the_unfinished_message)
{
    sn_queue q;
    cr_assert_eq(sn_queue_init(&q, 0), 0);
    put(&q, 1, false);
    put(&q, 2, true);
    put(&q, 3, false); /* a whole two-part message */
    /* An unfinished message crossing a chunk boundary, so rollback frees a chunk. */
    for (uint32_t i = 0; i < SN_QUEUE_CHUNK + 5; i++)
        put(&q, 100 + i, true);
    cr_assert_eq(sn_queue_rollback(&q), SN_QUEUE_CHUNK + 5);
    cr_assert_eq(sn_queue_rollback(&q), 0, "nothing left to roll back");
    put(&q, 4, false);
    sn_queue_flush(&q);
    bool more;
    cr_assert_eq(take(&q, &more), 1);
    cr_assert_eq(take(&q, &more), 2);
    cr_assert(more);
    cr_assert_eq(take(&q, &more), 3);
    cr_assert_eq(take(&q, &more), 4, "a rolled-back part leaked to the reader");
    cr_assert_not(more);
    sn_msg m;
    cr_assert_eq(sn_queue_read(&q, &m), -EAGAIN);
    sn_queue_fini(&q);
}

/* The HWM counts messages: a rolled-back message never counted, so it takes no room. */
Test(queue, rollback_leaves_the_hwm_count_alone)
{
    sn_queue q;
    cr_assert_eq(sn_queue_init(&q, 2), 0);
    put(&q, 1, false);
    put(&q, 2, true);
    sn_queue_rollback(&q);
    cr_assert(sn_queue_check_write(&q), "the rolled-back message took a slot");
    put(&q, 3, false);
    cr_assert_not(sn_queue_check_write(&q));
    sn_queue_fini(&q);
}
