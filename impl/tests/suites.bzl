"""A cc_test per test_<module>[_<topic>].c, depending on //impl:<module>,
with its fixtures data/<module>[_<topic>]/*.img as data. The hostile-peer
suites (test_<module>_hostile.c) and the whole-library ones (module nmc)
also get :hostile and, where the module has one, the module's internal
layout (//impl:<module>_internal)."""

# The shared data structures' suites also get their fixtures (:ds_support).
DS_MODULES = ("ref", "array", "matrix", "buffer", "queue", "hashtbl")

# Modules whose hostile suites write their shared layout directly.
INTERNAL_LAYOUT = ("camlbox", "core")

def nmc_test_suites(files):
    for f in files:
        name = f[:-len(".c")]
        module = name[len("test_"):].split("_")[0]
        native.cc_test(
            name = name,
            srcs = [f],
            deps = [":support", "//impl:" + module] +
                   ([":values"] if module in ("value", "mem", "camlbox", "heap") + DS_MODULES else []) +
                   ([":ds_support"] if module in DS_MODULES else []) +
                   ([":shm_region"] if module in ("sync", "camlbox") else []) +
                   ([":camlbox_support"] if module == "camlbox" else []) +
                   ([":hostile"] if name.endswith("_hostile") or module == "nmc" else []) +
                   (["//impl:%s_internal" % module]
                    if name.endswith("_hostile") and module in INTERNAL_LAYOUT else []),
            data = native.glob(["data/%s/*.img" % name[len("test_"):]]),
            size = "medium",
        )
