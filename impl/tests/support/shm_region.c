/* See shm_region.h. */
#include "shm_region.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nmc_test.h"

void shm_region_create(struct shm_region *r, size_t size)
{
    r->size = size;
    ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), size, &r->fd, r->name));
    ck_assert_ok(nmc_sys_map(r->fd, size, 0, NULL, false, &r->first));
    ck_assert_ok(nmc_sys_map(r->fd, size, 0, NULL, false, &r->second));
    ck_assert_ptr_ne(r->first, r->second);
}

void shm_region_destroy(struct shm_region *r)
{
    nmc_sys_unmap(r->first, r->size);
    nmc_sys_unmap(r->second, r->size);
    close(r->fd);
    nmc_sys_shm_unlink(r->name);
}

void *shm_region_child_map(const struct shm_region *r)
{
    int fd;
    void *p;
    if (nmc_sys_shm_open(r->name, &fd) != NMC_OK ||
        nmc_sys_map(fd, r->size, 0, NULL, false, &p) != NMC_OK)
        _exit(90);
    close(fd);
    return p;
}

pid_t test_spawn(void (*fn)(int), int arg)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        fn(arg);
        _exit(0);
    }
    return pid;
}

void test_reap_ok(pid_t pid)
{
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
}

void test_reap_killed(pid_t pid)
{
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

bool test_poll_until(const uint32_t *word, uint32_t value, double limit)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (__atomic_load_n(word, __ATOMIC_SEQ_CST) < value) {
        if (test_elapsed_since(&t0) > limit)
            return false;
        usleep(1000);
    }
    return true;
}

void test_await(const uint32_t *word, uint32_t value)
{
    ck_assert_uint_ge(test_poll_until(word, value, 3.0) ? value : __atomic_load_n(word, __ATOMIC_SEQ_CST),
                      value);
}

double test_elapsed_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}
