/* bench/camlbox/chan.h - one-way message channels for the camlbox
 * benchmarks: a camlbox and the peers a user would pick instead.
 *
 * The parent creates a channel before forking the workers (so they inherit
 * its fds or names); each worker attaches in the untimed init of the run,
 * as a sender or as the receiver. Messages have the fixed size given at
 * creation. A sender fills the buffer chan_buffer returns and commits it
 * with chan_send (iceoryx loans a chunk there; the camlbox writes into a
 * string value that the send copies into a slot). chan_recv blocks for at
 * least one message and hands each to a callback, in place where the peer
 * allows it.
 */
#ifndef NMC_BENCH_CAMLBOX_CHAN_H
#define NMC_BENCH_CAMLBOX_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Called for each received message; returns 0 or a status (which ends the
 * receive with that status). */
typedef int (*chan_msg_fn)(void *ctx, const unsigned char *msg, size_t len);

struct chan;

struct chan_ops {
    const char *name;                                      /* "nmc", "pipe", ...     */
    int (*create)(struct chan *c);                         /* parent, before fork    */
    void (*destroy)(struct chan *c);                       /* parent, after the run  */
    int (*attach)(struct chan *c, bool receiver);          /* worker, before barrier */
    void (*detach)(struct chan *c);                        /* worker, at its end; may be NULL */
    unsigned char *(*buffer)(struct chan *c);              /* sender: next message   */
    int (*send)(struct chan *c);                           /* sender: commit it      */
    int (*recv)(struct chan *c, chan_msg_fn fn, void *ctx); /* receiver: >= 1 message */
};

/* A channel; the ops keep their state in the union. */
struct chan {
    const struct chan_ops *ops;
    size_t msg_len;  /* bytes per message                  */
    uint32_t depth;  /* messages in flight the peer allows */
    int id;          /* distinguishes channels of one run  */
    char why[160];   /* create's reason when it fails for a
                        limit of the system (else empty)   */
    union {
        struct {
            char name[96];
            struct nmc_camlbox *box;
            struct nmc_camlbox_sender *sender;
            struct nmc_arena *arena;
            uintptr_t msg; /* nmc_value: the string sent */
        } nmc;
        struct {
            int fd[2];
            unsigned char *buf;
            size_t have; /* bytes of a partial message kept in buf */
        } fd;
        struct {
            char name[64];
            int q;
            unsigned char *buf;
        } mq;
        struct {
            void *pub, *sub, *ws; /* iox handles                   */
            void *storage;        /* their storage, malloc'ed      */
            void *chunk;          /* loaned, not yet published     */
        } iox;
    } u;
};

extern const struct chan_ops chan_nmc, chan_pipe, chan_unix_socket, chan_posix_mq, chan_iceoryx;

/* Starts iox-roudi once per benchmark process (stopped at exit); 0 or a
 * status, with a reason in why. */
int chan_iceoryx_daemon(char *why, size_t len);

#endif
