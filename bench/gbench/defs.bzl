"""nmc_bench_binary: one Google Benchmark binary per benchmark area."""

def nmc_bench_binary(name, srcs, deps = [], **kwargs):
    """A cc_binary of C benchmark bodies registered through gbench.h.

    It links the C API (//bench/gbench), the shared main() and carries the
    "nmc_bench" tag by which bench/run.sh finds every benchmark binary.
    """
    native.cc_binary(
        name = name,
        srcs = srcs,
        deps = deps + ["//bench/gbench", "//bench/gbench:main"],
        tags = kwargs.pop("tags", []) + ["nmc_bench"],
        # reports/ runs them: the instruction-count gate.
        visibility = kwargs.pop("visibility", ["//reports:__pkg__"]),
        **kwargs
    )
