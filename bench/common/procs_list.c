/* bench/common/procs_list.c - see procs_list.h. */
#include "procs_list.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Inserts v into the ascending set out[0..*n), keeping it a set. */
static void insert(int *out, int *n, int v)
{
    int i = 0;
    while (i < *n && out[i] < v)
        i++;
    if (i < *n && out[i] == v)
        return;
    if (*n == NMC_PROCS_LIST_MAX) {
        fprintf(stderr, "NMC_BENCH_PROCS: more than %d counts, %d dropped\n",
                NMC_PROCS_LIST_MAX, v);
        return;
    }
    for (int j = *n; j > i; j--)
        out[j] = out[j - 1];
    out[i] = v;
    ++*n;
}

int nmc_procs_list_parse(const char *text, int max, int ncpu, int *out)
{
    int n = 0;
    if (text == NULL || *text == '\0') {
        if (ncpu <= 0) {
            long c = sysconf(_SC_NPROCESSORS_ONLN);
            ncpu = c > 0 ? (int)c : 1;
        }
        int top = 2 * ncpu > max ? max : 2 * ncpu;
        for (int p = 1; p <= top; p *= 2)
            insert(out, &n, p);
        if (top >= 1)
            insert(out, &n, top);
        return n;
    }
    const char *s = text;
    while (*s != '\0') {
        if (*s == ',' || *s == ' ') {
            s++;
            continue;
        }
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno != 0 || (*end != '\0' && *end != ',' && *end != ' ') ||
            v < 1 || v > max) {
            fprintf(stderr, "NMC_BENCH_PROCS: skipping '%.*s' (want counts 1..%d)\n",
                    (int)(end == s ? 1 : end - s), s, max);
            while (*s != '\0' && *s != ',' && *s != ' ')
                s++;
            continue;
        }
        insert(out, &n, (int)v);
        s = end;
    }
    return n;
}

int nmc_procs_list(int max, int *out, bool *from_env)
{
    const char *env = getenv("NMC_BENCH_PROCS");
    if (from_env != NULL)
        *from_env = env != NULL && *env != '\0';
    return nmc_procs_list_parse(env, max, 0, out);
}
