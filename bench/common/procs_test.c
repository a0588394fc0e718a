/* Tests of bench/common: forked runs (procs.c), sweep lists (procs_list.c) and
 * statistics (stats.c). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nmc_test.h"
#include "procs.h"
#include "procs_list.h"
#include "stats.h"

/* Increments a shared counter ops times (or until stopped), sampling i. */
static int count_worker(const struct nmc_procs_worker *w, uint64_t *done)
{
    uint64_t *shared = w->arg;
    uint64_t n = 0;
    while (w->ops != 0 ? n < w->ops : !nmc_procs_stopped(w)) {
        __atomic_add_fetch(shared, 1, __ATOMIC_RELAXED);
        nmc_procs_sample(w, n);
        n++;
    }
    *done = n;
    return NMC_OK;
}

/* Worker 0 sets the fairness counts {10, 20, 30, ...}, as many as w->arg says
 * (more than nprocs included); the others do nothing. */
static int fairness_worker(const struct nmc_procs_worker *w, uint64_t *done)
{
    uint64_t counts[NMC_PROCS_MAX + 1];
    size_t n = *(const size_t *)w->arg;
    for (size_t i = 0; i < n; i++)
        counts[i] = 10 * (i + 1);
    if (w->index == 0)
        nmc_procs_set_fairness(w, counts, n);
    *done = 1;
    return NMC_OK;
}

static int pingpong_worker(const struct nmc_procs_worker *w, uint64_t *done)
{
    nmc_procs_pingpong_done(w, done);
    return NMC_OK;
}

static int failing_worker(const struct nmc_procs_worker *w, uint64_t *done)
{
    *done = 0;
    return w->index == 1 ? NMC_EBUSY : NMC_OK;
}

static int crashing_worker(const struct nmc_procs_worker *w, uint64_t *done)
{
    *done = 0;
    if (w->index == 0)
        raise(SIGKILL);
    return NMC_OK;
}

static int sleeping_worker(const struct nmc_procs_worker *w, uint64_t *done)
{
    *done = 0;
    sleep(30);
    return NMC_OK;
}

/* No child of this process is left, zombie or alive. */
static void assert_no_children(void)
{
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}

START_TEST(fixed_ops_counts_and_shares)
{
    uint64_t *shared;
    ck_assert_ok(nmc_procs_map_shared(sizeof *shared, (void **)&shared));
    struct nmc_procs_spec spec = {.nprocs = 3, .fn = count_worker, .arg = shared,
                                  .ops = 1000, .samples_per_worker = 10};
    struct nmc_procs_result res;
    ck_assert_ok(nmc_procs_run(&spec, &res));
    ck_assert_int_eq(res.nprocs, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(res.counts[i], 1000);
    ck_assert_uint_eq(res.total, 3000);
    ck_assert_uint_eq(*shared, 3000);
    ck_assert(res.wall_s > 0 && res.wall_s < 5);
    ck_assert_uint_eq(res.n_samples, 30); /* 10 kept of 1000 per worker */
    ck_assert_uint_eq(res.samples[9], 9);
    ck_assert_int_eq(res.n_fairness, 3); /* none set: the done counts */
    ck_assert_uint_eq(res.fairness[2], 1000);
    ck_assert_str_eq(res.error, "");
    nmc_procs_result_free(&res);
    ck_assert_ok(nmc_procs_unmap_shared(shared, sizeof *shared));
    assert_no_children();
}
END_TEST

START_TEST(until_stop_runs_for_seconds)
{
    uint64_t *shared;
    ck_assert_ok(nmc_procs_map_shared(sizeof *shared, (void **)&shared));
    struct nmc_procs_spec spec = {.nprocs = 2, .fn = count_worker, .arg = shared,
                                  .seconds = 0.05};
    struct nmc_procs_result res;
    ck_assert_ok(nmc_procs_run(&spec, &res));
    ck_assert(res.wall_s >= 0.05 && res.wall_s < 2);
    ck_assert(res.counts[0] > 0 && res.counts[1] > 0);
    ck_assert_uint_eq(res.total, *shared);
    ck_assert_uint_eq(res.n_samples, 0);
    nmc_procs_result_free(&res);
    nmc_procs_unmap_shared(shared, sizeof *shared);
    assert_no_children();
}
END_TEST

START_TEST(worker_sets_fairness_counts)
{
    size_t n = 2;
    struct nmc_procs_spec spec = {.nprocs = 3, .fn = fairness_worker, .arg = &n, .ops = 1};
    struct nmc_procs_result res;
    ck_assert_ok(nmc_procs_run(&spec, &res));
    ck_assert_int_eq(res.n_fairness, 2);
    ck_assert_uint_eq(res.fairness[0], 10);
    ck_assert_uint_eq(res.fairness[1], 20);
    ck_assert_uint_eq(res.total, 3); /* the done counts stay the items */
    n = 5; /* more than nprocs: the surplus is dropped */
    ck_assert_ok(nmc_procs_run(&spec, &res));
    ck_assert_int_eq(res.n_fairness, 3);
    ck_assert_uint_eq(res.fairness[2], 30);
    n = 0; /* no fairness figure */
    ck_assert_ok(nmc_procs_run(&spec, &res));
    ck_assert_int_eq(res.n_fairness, 0);
    /* a ping-pong: worker 0's round trips, counted once, no fairness */
    struct nmc_procs_spec pair = {.nprocs = 2, .fn = pingpong_worker, .ops = 7};
    ck_assert_ok(nmc_procs_run(&pair, &res));
    ck_assert_uint_eq(res.total, 7);
    ck_assert_int_eq(res.n_fairness, 0);
    assert_no_children();
}
END_TEST

START_TEST(worker_status_fails_run)
{
    struct nmc_procs_spec spec = {.nprocs = 3, .fn = failing_worker, .ops = 1};
    struct nmc_procs_result res;
    ck_assert_status(nmc_procs_run(&spec, &res), NMC_EBUSY);
    ck_assert_ptr_nonnull(strstr(res.error, "worker 1"));
    nmc_procs_result_free(&res);
    assert_no_children();
}
END_TEST

START_TEST(crashed_worker_is_corrupt)
{
    struct nmc_procs_spec spec = {.nprocs = 2, .fn = crashing_worker, .ops = 1};
    struct nmc_procs_result res;
    ck_assert_status(nmc_procs_run(&spec, &res), NMC_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(res.error, "signal 9"));
    nmc_procs_result_free(&res);
    assert_no_children();
}
END_TEST

START_TEST(timeout_kills_and_reaps)
{
    struct nmc_procs_spec spec = {.nprocs = 2, .fn = sleeping_worker, .ops = 1,
                                  .timeout_s = 0.2};
    struct nmc_procs_result res;
    uint64_t t0 = nmc_stats_now_ns();
    ck_assert_status(nmc_procs_run(&spec, &res), NMC_ETIMEDOUT);
    ck_assert(nmc_stats_now_ns() - t0 < 2000000000u);
    nmc_procs_result_free(&res);
    assert_no_children();
}
END_TEST

START_TEST(bad_specs_rejected)
{
    struct nmc_procs_result res;
    struct nmc_procs_spec none = {.nprocs = 0, .fn = count_worker, .ops = 1};
    ck_assert_status(nmc_procs_run(&none, &res), NMC_EINVAL);
    struct nmc_procs_spec many = {.nprocs = NMC_PROCS_MAX + 1, .fn = count_worker, .ops = 1};
    ck_assert_status(nmc_procs_run(&many, &res), NMC_EINVAL);
    struct nmc_procs_spec nofn = {.nprocs = 1, .ops = 1};
    ck_assert_status(nmc_procs_run(&nofn, &res), NMC_EINVAL);
    struct nmc_procs_spec forever = {.nprocs = 1, .fn = count_worker};
    ck_assert_status(nmc_procs_run(&forever, &res), NMC_EINVAL);
    ck_assert_status(nmc_procs_run(NULL, &res), NMC_EINVAL);
    void *p;
    ck_assert_status(nmc_procs_map_shared(0, &p), NMC_EINVAL);
}
END_TEST

START_TEST(percentiles_nearest_rank)
{
    uint64_t s[] = {9, 1, 8, 2, 7, 3, 6, 4, 5, 10};
    ck_assert_uint_eq(nmc_stats_percentile(s, 10, 50), 5);
    ck_assert_uint_eq(s[0], 1); /* sorted in place */
    ck_assert_uint_eq(nmc_stats_percentile_sorted(s, 10, 99), 10);
    ck_assert_uint_eq(nmc_stats_percentile_sorted(s, 10, 10), 1);
    ck_assert_uint_eq(nmc_stats_percentile_sorted(s, 10, 100), 10);
    ck_assert_uint_eq(nmc_stats_percentile_sorted(s, 10, 0), 0);
    ck_assert_uint_eq(nmc_stats_percentile(s, 0, 50), 0);
}
END_TEST

START_TEST(fairness_stddev_pct)
{
    uint64_t fair[] = {100, 100, 100, 100};
    ck_assert_double_eq(nmc_stats_stddev_pct(fair, 4), 0.0);
    uint64_t skew[] = {50, 150}; /* mean 100, stddev 50 */
    ck_assert_double_eq_tol(nmc_stats_stddev_pct(skew, 2), 50.0, 1e-9);
    uint64_t zero[] = {0, 0};
    ck_assert_double_eq(nmc_stats_stddev_pct(zero, 2), 0.0);
    ck_assert_double_eq(nmc_stats_stddev_pct(skew, 1), 0.0);
}
END_TEST

START_TEST(procs_list_default_and_env)
{
    int out[NMC_PROCS_LIST_MAX];
    int n = nmc_procs_list_parse(NULL, NMC_PROCS_MAX, 2, out);
    ck_assert_int_eq(n, 3); /* 1, 2, 4 = 2 x 2 CPUs */
    ck_assert_int_eq(out[0], 1);
    ck_assert_int_eq(out[2], 4);
    n = nmc_procs_list_parse("", NMC_PROCS_MAX, 3, out); /* 1, 2, 4, 6 */
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(out[3], 6);
    n = nmc_procs_list_parse(NULL, NMC_PROCS_MAX, 64, out); /* ... 64, 128 */
    ck_assert_int_eq(n, 8);
    ck_assert_int_eq(out[7], 128);
    n = nmc_procs_list_parse("8,2 2,x,0,600,3", NMC_PROCS_MAX, 2, out);
    ck_assert_int_eq(n, 3); /* sorted, deduplicated, bad ones skipped */
    ck_assert_int_eq(out[0], 2);
    ck_assert_int_eq(out[1], 3);
    ck_assert_int_eq(out[2], 8);
    n = nmc_procs_list_parse("16", 8, 2, out); /* over max */
    ck_assert_int_eq(n, 0);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("bench_common");
    TCase *tc = tcase_create("procs");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, fixed_ops_counts_and_shares);
    tcase_add_test(tc, until_stop_runs_for_seconds);
    tcase_add_test(tc, worker_sets_fairness_counts);
    tcase_add_test(tc, worker_status_fails_run);
    tcase_add_test(tc, crashed_worker_is_corrupt);
    tcase_add_test(tc, timeout_kills_and_reaps);
    tcase_add_test(tc, bad_specs_rejected);
    suite_add_tcase(s, tc);
    TCase *st = tcase_create("stats");
    tcase_add_test(st, percentiles_nearest_rank);
    tcase_add_test(st, fairness_stddev_pct);
    tcase_add_test(st, procs_list_default_and_env);
    suite_add_tcase(s, st);
    return s;
}
