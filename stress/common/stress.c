/* stress/common/stress.c - see stress.h. */
#include "stress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double stress_seconds(void)
{
    const char *e = getenv("NMC_STRESS_SECONDS");
    double s = e != NULL ? atof(e) : 0;
    return s > 0 ? s : 0;
}

int stress_timeout(void)
{
    return (int)(stress_seconds() * 4) + 30;
}

int stress_repeat(void (*round)(void *ctx), void *ctx, double share)
{
    double end = now_s() + share * stress_seconds();
    int rounds = 0;
    do {
        round(ctx);
        rounds++;
    } while (now_s() < end);
    return rounds;
}

double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

bool stress_running(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) S ...": comm may hold ')' so take the last one. */
    const char *paren = strrchr(buf, ')');
    return paren == NULL || (paren[2] != 'Z' && paren[2] != 'X');
}
