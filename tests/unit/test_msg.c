/* Unit tests of the public message API (sinew_msg_*). */
#include <criterion/criterion.h>
#include <string.h>

#include "sinew.h"

TestSuite(msg, .timeout = 10);

Test(msg, public_type_is_64_bytes_pointer_aligned)
{
    cr_assert_eq(sizeof(sinew_msg_t), 64);
    cr_assert_geq(_Alignof(sinew_msg_t), _Alignof(void *));
}

Test(msg, init_is_empty)
{
    sinew_msg_t m;
    cr_assert_eq(sinew_msg_init(&m), 0);
    cr_assert_eq(sinew_msg_size(&m), 0);
    cr_assert_eq(sinew_msg_more(&m), 0);
    cr_assert_eq(sinew_msg_get(&m, SINEW_MORE), 0);
    cr_assert_eq(sinew_msg_close(&m), 0);
}

static void
check_size(size_t size)
{
    sinew_msg_t m;
    cr_assert_eq(sinew_msg_init_size(&m, size), 0);
    cr_assert_eq(sinew_msg_size(&m), size);
    unsigned char *d = sinew_msg_data(&m);
    cr_assert_not_null(d);
    memset(d, 0xA5, size); /* must be writable over its whole size (ASan checks) */
    cr_assert_eq(d[size - 1], 0xA5);
    cr_assert_eq(sinew_msg_close(&m), 0);
}

Test(msg, init_size_small_inline)
{
    check_size(1);
    check_size(30);
}

Test(msg, init_size_large)
{
    check_size(100);
    check_size(1 << 20);
}

static int frees;
static void *freed_data;

static void
count_free(void *data, void *hint)
{
    cr_assert_eq(hint, &frees, "free function got the wrong hint");
    freed_data = data;
    frees++;
}

Test(msg, init_data_calls_ffn_once_after_last_copy_closes)
{
    static char buf[] = "application buffer";
    frees = 0;
    freed_data = NULL;
    sinew_msg_t a, b, c;
    cr_assert_eq(sinew_msg_init_data(&a, buf, sizeof buf, count_free, &frees), 0);
    cr_assert_eq(sinew_msg_data(&a), buf, "init_data must not copy");
    cr_assert_eq(sinew_msg_size(&a), sizeof buf);
    cr_assert_eq(sinew_msg_init(&b), 0);
    cr_assert_eq(sinew_msg_init(&c), 0);
    cr_assert_eq(sinew_msg_copy(&b, &a), 0);
    cr_assert_eq(sinew_msg_copy(&c, &a), 0);
    cr_assert_eq(sinew_msg_close(&a), 0);
    cr_assert_eq(sinew_msg_close(&c), 0);
    cr_assert_eq(frees, 0, "freed while a copy is alive");
    cr_assert_eq(sinew_msg_data(&b), buf);
    cr_assert_eq(sinew_msg_close(&b), 0);
    cr_assert_eq(frees, 1);
    cr_assert_eq(freed_data, buf);
}

Test(msg, copy_shares_payload_and_reports_shared)
{
    sinew_msg_t a, b;
    cr_assert_eq(sinew_msg_init_size(&a, 1000), 0);
    memset(sinew_msg_data(&a), 7, 1000);
    cr_assert_eq(sinew_msg_get(&a, SINEW_SHARED), 0);
    cr_assert_eq(sinew_msg_init(&b), 0);
    cr_assert_eq(sinew_msg_copy(&b, &a), 0);
    cr_assert_eq(sinew_msg_get(&a, SINEW_SHARED), 1);
    cr_assert_eq(sinew_msg_get(&b, SINEW_SHARED), 1);
    cr_assert_eq(sinew_msg_data(&a), sinew_msg_data(&b), "copy of a large message copied");
    cr_assert_eq(sinew_msg_size(&b), 1000);
    cr_assert_eq(sinew_msg_close(&a), 0);
    cr_assert_eq(sinew_msg_get(&b, SINEW_SHARED), 0, "sole owner still reported shared");
    cr_assert_eq(((unsigned char *) sinew_msg_data(&b))[999], 7);
    cr_assert_eq(sinew_msg_close(&b), 0);
}

Test(msg, copy_of_small_message_has_same_content)
{
    sinew_msg_t a, b;
    cr_assert_eq(sinew_msg_init_size(&a, 5), 0);
    memcpy(sinew_msg_data(&a), "hello", 5);
    cr_assert_eq(sinew_msg_init(&b), 0);
    cr_assert_eq(sinew_msg_copy(&b, &a), 0);
    cr_assert_eq(sinew_msg_size(&b), 5);
    cr_assert_eq(memcmp(sinew_msg_data(&b), "hello", 5), 0);
    cr_assert_eq(sinew_msg_close(&a), 0);
    cr_assert_eq(sinew_msg_close(&b), 0);
}

Test(msg, move_transfers_and_empties_source)
{
    sinew_msg_t a, b;
    cr_assert_eq(sinew_msg_init_size(&a, 200), 0);
    void *data = sinew_msg_data(&a);
    cr_assert_eq(sinew_msg_init_size(&b, 300), 0); /* dest's old payload is released */
    cr_assert_eq(sinew_msg_move(&b, &a), 0);
    cr_assert_eq(sinew_msg_data(&b), data);
    cr_assert_eq(sinew_msg_size(&b), 200);
    cr_assert_eq(sinew_msg_size(&a), 0, "source not empty after move");
    cr_assert_eq(sinew_msg_close(&a), 0);
    cr_assert_eq(sinew_msg_close(&b), 0);
}

Test(msg, close_twice_fails_with_efault)
{
    sinew_msg_t m;
    cr_assert_eq(sinew_msg_init_size(&m, 100), 0);
    cr_assert_eq(sinew_msg_close(&m), 0);
    errno = 0;
    cr_assert_eq(sinew_msg_close(&m), -1);
    cr_assert_eq(errno, EFAULT);
    errno = 0;
    cr_assert_null(sinew_msg_data(&m));
    cr_assert_eq(errno, EFAULT);
    cr_assert_eq(sinew_msg_get(&m, SINEW_MORE), -1);
    cr_assert_eq(errno, EFAULT);
}

Test(msg, null_message_fails_with_efault)
{
    errno = 0;
    cr_assert_eq(sinew_msg_init(NULL), -1);
    cr_assert_eq(errno, EFAULT);
    errno = 0;
    cr_assert_eq(sinew_msg_close(NULL), -1);
    cr_assert_eq(errno, EFAULT);
    errno = 0;
    cr_assert_eq(sinew_msg_init_data(NULL, "x", 1, NULL, NULL), -1);
    cr_assert_eq(errno, EFAULT);
}

Test(msg, get_unknown_property_and_set_fail_with_einval)
{
    sinew_msg_t m;
    cr_assert_eq(sinew_msg_init(&m), 0);
    errno = 0;
    cr_assert_eq(sinew_msg_get(&m, 12345), -1);
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_eq(sinew_msg_set(&m, SINEW_MORE, 1), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_msg_more(&m), 0, "failed set changed the message");
    cr_assert_eq(sinew_msg_close(&m), 0);
}
