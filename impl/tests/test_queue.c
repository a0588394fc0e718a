/* Tests of shared queues (nmc/queue.h): FIFO order, the pinned and copied
 * front, iter and fold, statuses, descriptors, and consumers popping
 * under pins in other processes while a producer pushes and collects.
 * Every test ends with nmc_heap_check (teardown). */
#include "ds_test.h"
#include "nmc/queue.h"
#include "nmc_test.h"

static nmc_queue *q;

static void setup(void)
{
    ds_setup();
    ck_assert_ok(nmc_queue_create(pool, nmc_val_long(99), &q));
}

static void teardown(void)
{
    ck_assert_ok(nmc_heap_check(nmc_queue_heap(q)));
    ck_assert_ok(nmc_queue_destroy(q));
    ds_teardown();
}

static int get_long(nmc_value v, void *ctx)
{
    *(long *)ctx = nmc_long_val(v);
    return NMC_OK;
}

static long pop(void)
{
    long x = -1;
    ck_assert_ok(nmc_queue_pop_p(q, get_long, &x));
    return x;
}

START_TEST(fifo_order)
{
    ck_assert(nmc_queue_is_empty(q));
    for (long i = 0; i < 1000; i++)
        ck_assert_ok(nmc_queue_push(q, nmc_val_long(i)));
    ck_assert_uint_eq(nmc_queue_length(q), 1000);
    for (long i = 0; i < 500; i++)
        ck_assert_int_eq(pop(), i);
    ck_assert_ok(nmc_queue_push(q, nmc_val_long(1000)));
    for (long i = 500; i <= 1000; i++)
        ck_assert_int_eq(pop(), i);
    ck_assert(nmc_queue_is_empty(q));
    ck_assert_status(nmc_queue_pop_p(q, get_long, NULL), NMC_EEMPTY);
    ck_assert_ok(nmc_queue_push(q, nmc_val_long(5))); /* after emptying */
    ck_assert_int_eq(pop(), 5);
}
END_TEST

START_TEST(top_and_copies)
{
    nmc_value v;
    ck_assert_status(nmc_queue_top_c(q, arena, &v), NMC_EEMPTY);
    ck_assert_status(nmc_queue_pop_c(q, arena, &v), NMC_EEMPTY);
    ck_assert_status(nmc_queue_top_p(q, get_long, NULL), NMC_EEMPTY);
    ck_assert_ok(nmc_queue_push(q, str("first")));
    ck_assert_ok(nmc_queue_push(q, int_list(3, 4)));
    ck_assert_ok(nmc_queue_top_c(q, arena, &v));
    ck_assert_str_eq(nmc_string_val(v), "first");
    ck_assert_uint_eq(nmc_queue_length(q), 2);
    ck_assert_ok(nmc_queue_pop_c(q, arena, &v));
    ck_assert_str_eq(nmc_string_val(v), "first");
    ck_assert_ok(nmc_queue_pop_c(q, arena, &v));
    ck_assert_ok(nmc_heap_gc(nmc_queue_heap(q)));
    long first;
    ck_assert(is_int_list(v, 4, &first) && first == 3); /* a private copy */
    ck_assert(nmc_queue_is_empty(q));
    ck_assert_ok(nmc_queue_header(q, &v));
    ck_assert(v == nmc_val_long(99));
}
END_TEST

static int sum(nmc_value v, void *ctx)
{
    *(long *)ctx += nmc_long_val(v);
    return nmc_long_val(v) == -1 ? NMC_EEMPTY : NMC_OK;
}

/* Pushes while iterating: not seen by this walk. */
static int sum_and_push(nmc_value v, void *ctx)
{
    *(long *)ctx += nmc_long_val(v);
    return nmc_queue_push(q, nmc_val_long(1000));
}

/* acc := v :: acc, in the test's arena. */
static int cons(nmc_value acc, nmc_value v, void *ctx, nmc_value *next)
{
    *next = pair(v, acc);
    return NMC_OK;
}

START_TEST(iter_fold_clear)
{
    for (long i = 1; i <= 10; i++)
        ck_assert_ok(nmc_queue_push(q, nmc_val_long(i)));
    long total = 0;
    ck_assert_ok(nmc_queue_iter(q, sum, &total));
    ck_assert_int_eq(total, 55);
    nmc_value rev;
    ck_assert_ok(nmc_queue_fold(q, cons, nmc_val_long(0), NULL, &rev));
    nmc_value l = rev;
    for (long i = 10; i >= 1; i--, l = nmc_field(l, 1))
        ck_assert_int_eq(nmc_long_val(nmc_field(l, 0)), i);
    total = 0;
    ck_assert_ok(nmc_queue_iter(q, sum_and_push, &total));
    ck_assert_int_eq(total, 55);
    ck_assert_uint_eq(nmc_queue_length(q), 20);
    ck_assert_ok(nmc_queue_push(q, nmc_val_long(-1)));
    total = 0;
    ck_assert_status(nmc_queue_iter(q, sum, &total), NMC_EEMPTY); /* stopped at -1 */
    ck_assert_int_eq(total, 55 + 10000 - 1);
    ck_assert_ok(nmc_queue_clear(q));
    ck_assert(nmc_queue_is_empty(q));
    total = 0;
    ck_assert_ok(nmc_queue_iter(q, sum, &total));
    ck_assert_int_eq(total, 0);
    ck_assert_ok(nmc_queue_push(q, nmc_val_long(8)));
    ck_assert_int_eq(pop(), 8);
}
END_TEST

static int push_inside(nmc_mutator *mut, void *ctx)
{
    ck_assert_status(nmc_queue_push(q, nmc_val_long(1)), NMC_EDEADLOCK);
    ck_assert_status(nmc_queue_pop_p(q, get_long, NULL), NMC_EDEADLOCK);
    return NMC_OK;
}

START_TEST(statuses_and_descriptors)
{
    nmc_queue *other;
    nmc_value v;
    ck_assert_status(nmc_queue_create(NULL, NMC_VAL_UNIT, &other), NMC_EINVAL);
    ck_assert_status(nmc_queue_create(pool, closure(), &other), NMC_EUNSUPPORTED);
    ck_assert_status(nmc_queue_push(q, closure()), NMC_EUNSUPPORTED);
    ck_assert_status(nmc_queue_push(NULL, nmc_val_long(0)), NMC_EINVAL);
    ck_assert_status(nmc_queue_pop_p(q, NULL, NULL), NMC_EINVAL);
    ck_assert_status(nmc_queue_top_c(q, NULL, &v), NMC_EINVAL);
    ck_assert_status(nmc_queue_iter(q, NULL, NULL), NMC_EINVAL);
    ck_assert_status(nmc_queue_fold(q, cons, nmc_val_long(0), NULL, NULL), NMC_EINVAL);
    ck_assert_uint_eq(nmc_queue_length(NULL), 0);
    ck_assert_ok(nmc_heap_modify(nmc_queue_heap(q), push_inside, NULL));
    ck_assert_ok(nmc_queue_of_descr(pool, nmc_queue_descr(q), &other));
    ck_assert_ptr_eq(other, q);
    ck_assert_status(nmc_queue_of_descr(pool, 1, &other), NMC_EINVAL);
}
END_TEST

/* ---- processes ---------------------------------------------------------- */

enum { CONSUMERS = 3, ITEMS = 30000 };

/* Pops until it has seen its share; every element must be a 10-element
 * list of consecutive ints (never freed memory). */
static int check_list(nmc_value v, void *ctx)
{
    long first;
    return is_int_list(v, 10, &first) ? NMC_OK : NMC_ECORRUPT;
}

static int consumer(int i, void *ctx)
{
    for (int got = 0; got < ITEMS / CONSUMERS;) {
        int st = nmc_queue_pop_p(q, check_list, NULL);
        if (st == NMC_OK)
            got++;
        else if (st != NMC_EEMPTY)
            return 1;
    }
    return 0;
}

static void producer(void *ctx)
{
    for (long i = 0; i < ITEMS; i++) {
        ck_assert_ok(nmc_queue_push(q, int_list(i, 10)));
        if (i % 1000 == 0) {
            ck_assert_ok(nmc_heap_gc(nmc_queue_heap(q)));
            arena_reset();
        }
    }
}

START_TEST(consumers_pop_under_pins_while_producer_collects)
{
    run_children(CONSUMERS, consumer, producer, NULL);
    ck_assert(nmc_queue_is_empty(q));
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *suite = suite_create("queue");
    TCase *tc = tcase_create("queue");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, fifo_order);
    tcase_add_test(tc, top_and_copies);
    tcase_add_test(tc, iter_fold_clear);
    tcase_add_test(tc, statuses_and_descriptors);
    tcase_add_test(tc, consumers_pop_under_pins_while_producer_collects);
    suite_add_tcase(suite, tc);
    return suite;
}
