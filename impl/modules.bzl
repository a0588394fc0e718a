"""One cc_library per module: include/nmc/<name>.h and src/<name>/*.c."""

def nmc_module(name, deps, linkopts = []):
    native.cc_library(
        name = name,
        srcs = native.glob(["src/%s/*.c" % name, "src/%s/*.h" % name]),
        hdrs = ["include/nmc/%s.h" % name],
        includes = ["include"],
        deps = deps + [":status"],
        linkopts = linkopts,
    )
