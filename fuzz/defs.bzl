"""A fuzz target: NAME/fuzz_NAME.c, its corpus NAME/corpus/ and NAME/NAME.dict."""

def nmc_fuzz_target(name, deps = []):
    src = "%s/fuzz_%s.c" % (name, name)
    native.cc_binary(
        name = name + "_fuzzer",
        testonly = True,
        srcs = [src],
        deps = [":common"] + deps,
        linkopts = select({
            ":fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        tags = ["manual"],
    )
    native.cc_test(
        name = name + "_replay",
        size = "medium",
        srcs = [src],
        deps = [":common", ":replay_main"] + deps,
        data = native.glob([name + "/corpus/*"]),
        args = [name, "fuzz/%s/corpus" % name],
    )
