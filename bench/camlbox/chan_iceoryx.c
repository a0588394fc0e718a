/* bench/camlbox/chan_iceoryx.c - iceoryx (Debian's 2.0 C binding) as a
 * channel: zero-copy publish / subscribe through shared memory managed by
 * the RouDi daemon. Senders loan a chunk, fill it and publish it; the
 * subscriber queue blocks publishers when full (no message is dropped) and
 * the receiver takes chunks in place, sleeping on a wait set when none is
 * there. The daemon is started here, once per benchmark process, and
 * stopped at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "iceoryx_binding_c/publisher.h"
#include "iceoryx_binding_c/runtime.h"
#include "iceoryx_binding_c/subscriber.h"
#include "iceoryx_binding_c/wait_set.h"
#include "nmc/status.h"

#define ROUDI "/usr/bin/iox-roudi" /* from Debian's iceoryx package */

extern char **environ;

static pid_t roudi_pid;
static pid_t runtime_owner; /* the process whose iceoryx runtime is up */

/* Stops the RouDi this process started. RouDi leaves its shm segments
 * behind when clients were registered during its life (seen with 2.0.3):
 * they are ours (no other RouDi can run beside it), so they go too — the
 * management segment and the payload segment named after the user. */
static void stop_roudi(void)
{
    if (roudi_pid > 0 && getpid() != roudi_pid) {
        kill(roudi_pid, SIGTERM);
        waitpid(roudi_pid, NULL, 0);
        roudi_pid = 0;
        shm_unlink("/iceoryx_mgmt");
        const struct passwd *pw = getpwuid(getuid());
        if (pw != NULL) {
            char segment[256];
            snprintf(segment, sizeof segment, "/%s", pw->pw_name);
            shm_unlink(segment);
        }
    }
}

/* Registers a runtime in a child: exits 0 once RouDi answers (iceoryx
 * itself aborts the child if it does not within its own timeout). */
static pid_t probe(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        char name[32];
        snprintf(name, sizeof name, "nmcprobe%ld", (long)getpid());
        iox_runtime_init(name);
        _exit(0);
    }
    return pid;
}

static bool probe_ok(double seconds)
{
    pid_t pid = probe();
    if (pid < 0)
        return false;
    int st;
    for (int i = 0; i < (int)(seconds * 100); i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) && WEXITSTATUS(st) == 0;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return false;
}

int chan_iceoryx_daemon(char *why, size_t len)
{
    static int state; /* 0 not tried, 1 up, -1 failed */
    static char reason[160];
    if (state == 0) {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        char *argv[] = {ROUDI, NULL};
        int rc = posix_spawn(&roudi_pid, ROUDI, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) {
            snprintf(reason, sizeof reason, "cannot start %s: %s", ROUDI, strerror(rc));
            roudi_pid = 0;
        } else {
            atexit(stop_roudi);
            if (!probe_ok(10.0))
                snprintf(reason, sizeof reason, "%s started but did not answer in 10 s", ROUDI);
        }
        state = reason[0] == '\0' ? 1 : -1;
    }
    snprintf(why, len, "%s", reason);
    return state == 1 ? NMC_OK : NMC_ESYS;
}

static int iox_create(struct chan *c)
{
    return NMC_OK;
}

static void iox_destroy(struct chan *c)
{
}

/* Gives the ports back to RouDi before the worker exits. */
static void iox_detach(struct chan *c)
{
    if (c->u.iox.pub != NULL)
        iox_pub_deinit(c->u.iox.pub);
    if (c->u.iox.ws != NULL)
        iox_ws_deinit(c->u.iox.ws);
    if (c->u.iox.sub != NULL)
        iox_sub_deinit(c->u.iox.sub);
    free(c->u.iox.storage);
}

static void runtime_up(void)
{
    if (runtime_owner != getpid()) {
        char name[32];
        snprintf(name, sizeof name, "nmcbench%ld", (long)getpid());
        iox_runtime_init(name);
        runtime_owner = getpid();
    }
}

struct iox_storage {
    iox_pub_storage_t pub;
    iox_sub_storage_t sub;
    iox_ws_storage_t ws;
};

static int iox_attach(struct chan *c, bool receiver)
{
    char instance[32], event[16];
    snprintf(instance, sizeof instance, "i%ld", (long)getppid());
    snprintf(event, sizeof event, "e%d", c->id);
    runtime_up();
    struct iox_storage *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NMC_ENOMEM;
    c->u.iox.storage = s;
    if (receiver) {
        iox_sub_options_t o;
        iox_sub_options_init(&o);
        o.queueCapacity = c->depth < 256 ? c->depth : 256;
        o.historyRequest = 0;
        o.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
        c->u.iox.sub = iox_sub_init(&s->sub, "nmcbench", instance, event, &o);
        c->u.iox.ws = iox_ws_init(&s->ws);
        return iox_ws_attach_subscriber_state(c->u.iox.ws, c->u.iox.sub,
                                              SubscriberState_HAS_DATA, 0, NULL) ==
                       WaitSetResult_SUCCESS
                   ? NMC_OK
                   : NMC_ESYS;
    }
    iox_pub_options_t o;
    iox_pub_options_init(&o);
    o.historyCapacity = 0;
    o.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
    c->u.iox.pub = iox_pub_init(&s->pub, "nmcbench", instance, event, &o);
    for (int i = 0; i < 1000 && !iox_pub_has_subscribers(c->u.iox.pub); i++)
        usleep(10000); /* discovery runs in RouDi's loop */
    return iox_pub_has_subscribers(c->u.iox.pub) ? NMC_OK : NMC_ETIMEDOUT;
}

static unsigned char *iox_buffer(struct chan *c)
{
    void *chunk;
    if (iox_pub_loan_chunk(c->u.iox.pub, &chunk, (uint32_t)c->msg_len) != AllocationResult_SUCCESS)
        return NULL;
    c->u.iox.chunk = chunk;
    return chunk;
}

static int iox_send(struct chan *c)
{
    iox_pub_publish_chunk(c->u.iox.pub, c->u.iox.chunk);
    return NMC_OK;
}

static int iox_recv(struct chan *c, chan_msg_fn fn, void *ctx)
{
    for (;;) {
        const void *chunk;
        int got = 0, st = NMC_OK;
        while (st == NMC_OK &&
               iox_sub_take_chunk(c->u.iox.sub, &chunk) == ChunkReceiveResult_SUCCESS) {
            st = fn(ctx, chunk, c->msg_len);
            iox_sub_release_chunk(c->u.iox.sub, chunk);
            got++;
        }
        if (got > 0 || st != NMC_OK)
            return st;
        iox_notification_info_t info[1];
        uint64_t missed;
        iox_ws_wait(c->u.iox.ws, info, 1, &missed);
    }
}

const struct chan_ops chan_iceoryx = {
    .name = "iceoryx",
    .create = iox_create,
    .destroy = iox_destroy,
    .attach = iox_attach,
    .detach = iox_detach,
    .buffer = iox_buffer,
    .send = iox_send,
    .recv = iox_recv,
};
