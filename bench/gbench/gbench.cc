// bench/gbench/gbench.cc - the C API of gbench.h over Google Benchmark 1.7.
//
// Each C call forwards to exactly one benchmark::State or
// benchmark::Benchmark method. nmc_bench is a benchmark::internal::Benchmark in
// disguise; nmc_bench_state is a small wrapper, alive for one run of a
// benchmark function, that pairs the benchmark::State with the user pointer
// given at registration (Google Benchmark has no slot for it).
//
// Batching: nmc_bench_batch asks KeepRunningBatch for every iteration still
// owed (max_iterations - iterations(), at least 1). The first call starts the
// timer and grants them all; the next call finds none left, stops the timer
// and returns 0. One call per run therefore measures the whole loop, and
// iterations() is exact afterwards.
//
// Invalid arguments (NULL name or function, NULL nmc_bench) never crash:
// registration returns NULL and the modifiers ignore a NULL benchmark.
#include "gbench.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>

struct nmc_bench_state {
    benchmark::State *state; // the running benchmark's state
    void *user;              // pointer given to nmc_bench_register_with
};

namespace {

benchmark::internal::Benchmark *to_cc(nmc_bench *b)
{
    return reinterpret_cast<benchmark::internal::Benchmark *>(b);
}

nmc_bench *to_c(benchmark::internal::Benchmark *b)
{
    return reinterpret_cast<nmc_bench *>(b);
}

// Google Benchmark's flag set for ours (see enum nmc_counter_flags).
benchmark::Counter::Flags counter_flags(unsigned flags)
{
    int f = benchmark::Counter::kDefaults;
    if (flags & NMC_COUNTER_RATE)
        f |= benchmark::Counter::kIsRate;
    if (flags & NMC_COUNTER_AVG_ITERATIONS)
        f |= benchmark::Counter::kAvgIterations;
    if (flags & NMC_COUNTER_INVERT)
        f |= benchmark::Counter::kInvert;
    return static_cast<benchmark::Counter::Flags>(f);
}

benchmark::TimeUnit time_unit(enum nmc_bench_unit u)
{
    switch (u) {
    case NMC_BENCH_US:
        return benchmark::kMicrosecond;
    case NMC_BENCH_MS:
        return benchmark::kMillisecond;
    case NMC_BENCH_S:
        return benchmark::kSecond;
    case NMC_BENCH_NS:
        break;
    }
    return benchmark::kNanosecond;
}

} // namespace

extern "C" {

nmc_bench *nmc_bench_register_with(const char *name, nmc_bench_fn fn, void *user)
{
    if (name == nullptr || fn == nullptr)
        return nullptr;
    auto *b = benchmark::RegisterBenchmark(name, [fn, user](benchmark::State &s) {
        nmc_bench_state st = {&s, user};
        fn(&st);
    });
    // A fixed iteration count makes instruction counts comparable between
    // runs (bench/icount.sh); Google Benchmark 1.7 has no flag for it.
    if (const char *fixed = std::getenv("NMC_BENCH_FIXED_ITERATIONS"))
        if (long n = std::strtol(fixed, nullptr, 10); n > 0)
            b->Iterations(n);
    return to_c(b);
}

nmc_bench *nmc_bench_register(const char *name, nmc_bench_fn fn)
{
    return nmc_bench_register_with(name, fn, nullptr);
}

void nmc_bench_arg(nmc_bench *b, int64_t a)
{
    if (b != nullptr)
        to_cc(b)->Arg(a);
}

void nmc_bench_args2(nmc_bench *b, int64_t a, int64_t c)
{
    if (b != nullptr)
        to_cc(b)->Args({a, c});
}

void nmc_bench_range(nmc_bench *b, int64_t lo, int64_t hi)
{
    if (b != nullptr && lo <= hi)
        to_cc(b)->Range(lo, hi);
}

void nmc_bench_use_manual_time(nmc_bench *b)
{
    if (b != nullptr)
        to_cc(b)->UseManualTime();
}

void nmc_bench_use_real_time(nmc_bench *b)
{
    if (b != nullptr)
        to_cc(b)->UseRealTime();
}

void nmc_bench_iterations_fixed(nmc_bench *b, int64_t n)
{
    if (b != nullptr && n > 0)
        to_cc(b)->Iterations(n);
}

void nmc_bench_min_time(nmc_bench *b, double seconds)
{
    if (b != nullptr && seconds > 0)
        to_cc(b)->MinTime(seconds);
}

void nmc_bench_repetitions(nmc_bench *b, int n)
{
    if (b != nullptr && n > 0)
        to_cc(b)->Repetitions(n);
}

void nmc_bench_unit(nmc_bench *b, enum nmc_bench_unit u)
{
    if (b != nullptr)
        to_cc(b)->Unit(time_unit(u));
}

size_t nmc_bench_batch(nmc_bench_state *st)
{
    benchmark::State &s = *st->state;
    benchmark::IterationCount owed =
        std::max<benchmark::IterationCount>(1, s.max_iterations - s.iterations());
    return s.KeepRunningBatch(owed) ? static_cast<size_t>(owed) : 0;
}

bool nmc_bench_keep_running(nmc_bench_state *st)
{
    return st->state->KeepRunning();
}

int64_t nmc_bench_iterations(const nmc_bench_state *st)
{
    return st->state->iterations();
}

int64_t nmc_bench_max_iterations(const nmc_bench_state *st)
{
    return st->state->max_iterations;
}

int64_t nmc_bench_range_arg(const nmc_bench_state *st, int i)
{
    return i < 0 ? 0 : st->state->range(static_cast<size_t>(i));
}

void *nmc_bench_user(const nmc_bench_state *st)
{
    return st->user;
}

void nmc_bench_pause(nmc_bench_state *st)
{
    st->state->PauseTiming();
}

void nmc_bench_resume(nmc_bench_state *st)
{
    st->state->ResumeTiming();
}

void nmc_bench_set_iteration_time(nmc_bench_state *st, double seconds)
{
    st->state->SetIterationTime(seconds);
}

void nmc_bench_skip_with_error(nmc_bench_state *st, const char *msg)
{
    st->state->SkipWithError(msg != nullptr ? msg : "error");
}

void nmc_bench_set_items_processed(nmc_bench_state *st, int64_t n)
{
    st->state->SetItemsProcessed(n);
}

void nmc_bench_set_bytes_processed(nmc_bench_state *st, int64_t n)
{
    st->state->SetBytesProcessed(n);
}

void nmc_bench_set_label(nmc_bench_state *st, const char *label)
{
    st->state->SetLabel(label != nullptr ? label : "");
}

void nmc_bench_counter(nmc_bench_state *st, const char *name, double value, unsigned flags)
{
    if (name != nullptr)
        st->state->counters[name] = benchmark::Counter(value, counter_flags(flags));
}

} // extern "C"
