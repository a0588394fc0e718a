// bench/gbench/gbench_main.cc - main() of every benchmark binary.
//
// nmc_bench_main initialises Google Benchmark from the command line (all of
// its --benchmark_* flags), rejects unknown arguments (exit status 1), runs
// the benchmarks that the C files registered from their constructors and
// returns 0.
#include "gbench.h"

#include <benchmark/benchmark.h>

extern "C" int nmc_bench_main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

int main(int argc, char **argv)
{
    return nmc_bench_main(argc, argv);
}
