/* Route `auto`: per thread, per call and descriptor kind, the shim times both paths while the program
 * runs and keeps the faster one. See shim/autoroute.c for the schedule and why it is safe. */
#ifndef IOU_AUTOROUTE_H
#define IOU_AUTOROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "iou/fdtable.h"
#include "iou/ops.h"

struct iou_call;
struct iou_stats;
struct iou_thread;

/* Per thread, read on every call in the wrappers (one thread-local block, one address to find). */
struct iou_auto_tls {
    struct iou_auto_table *mine;          /* the thread's table: set only under route `auto` */
    struct iou_auto_entry *libc_sample;   /* the libc sample under way (iou_auto_after_libc) */
    uint64_t libc_sample_start;
};
extern __thread struct iou_auto_tls iou_auto_tls __attribute__((tls_model("initial-exec")));

/* The table is shim/autoroute.c's; its layout is here only so that the decided-libc fast path below can
 * be inlined into each exported wrapper (see shim/autoroute.c for what the fields mean). */
enum { IOU_AUTO_PATH_RING, IOU_AUTO_PATH_LIBC };
/* CHOICE_PUNT: every ring sample of the round would have gone to a kernel worker; the calls go to libc
 * by the fast path, counted under `punt` as route `ring` counts them. */
enum { IOU_AUTO_CHOICE_NONE, IOU_AUTO_CHOICE_RING, IOU_AUTO_CHOICE_LIBC, IOU_AUTO_CHOICE_PUNT };

struct iou_auto_entry {
    uint32_t best[2];     /* lowest ns per path (PATH_*) in the latest round; NONE: no sample */
    uint32_t left;        /* calls on the current choice before the next round; 0: a round is on */
    uint8_t tries[2];     /* samples started in this round, per path */
    uint8_t choice;       /* CHOICE_* (the last round's; a round under way keeps it until it ends) */
    uint8_t interval_log; /* the current interval between rounds is 2^interval_log calls */
};

struct iou_auto_table {
    struct iou_auto_entry entry[IOU_OP_COUNT][IOU_FD_KIND_COUNT];
};

static inline bool iou_auto_libc_now(struct iou_auto_table *tab, enum iou_op op, int fd)
{
    int kind = iou_fd_known_kind(fd);
    /* A descriptor not looked at yet takes the general path, which asks the kernel what it is; but a
     * call with an explicit offset is for a file (on anything else libc fails it ESPIPE all the same),
     * and a program that opens a file per request (nginx) would pay that look every time. */
    if (kind < 0 && iou_ops[op].positional)
        kind = IOU_FD_REG;
    if (kind < 0)
        return false;
    struct iou_auto_entry *e = &tab->entry[op][kind];
    if (e->choice < IOU_AUTO_CHOICE_LIBC || !e->left)
        return false;
    /* Counted without touching the stats: see fast_calls in shim/autoroute.c. */
    e->left--;
    return true;
}

/* Called by the exported wrappers before the op module: true when this thread already decided
 * (op, fd's kind) for libc, and the call is counted as libc reason `auto` (or `punt`, when that is why);
 * the wrapper then calls libc at once. On this kind of machine even the shim's ordinary routing (~10 ns) is several percent of a
 * ~100 ns system call, so a decided call skips all of it. False: route the call as usual. Costs one
 * thread-local load in every other route. */
static inline bool iou_auto_libc_first(enum iou_op op, int fd)
{
    struct iou_auto_table *tab = iou_auto_tls.mine;
    return __builtin_expect(tab != 0, 0) && iou_auto_libc_now(tab, op, fd);
}

/* The thread is exiting: its block (and table) may go to another thread. */
void iou_auto_thread_exit(void);

/* True when (op, kind) of this call is on libc for now (a thread's warm-up, or decided), so the call
 * needs no ring: the caller counts it as reason `auto` without making one. */
bool iou_auto_holds_libc(struct iou_call *c);

/* For a call that passed every other routing rule: true to take the ring, false for libc (the caller
 * counts reason `auto`). Either path may be a timing sample: a ring sample is recorded by
 * iou_auto_ring_done, a libc sample by iou_auto_after_libc in the exported wrapper. */
bool iou_auto_choose(struct iou_call *c);

/* A ring sample that the op module sends to libc because the kernel would punt it (call.c). */
void iou_auto_ring_punted(struct iou_call *c);

/* Records a ring sample when c was one (called once the call's ring result is known). */
void iou_auto_ring_done(struct iou_call *c);

void iou_auto_libc_done(void);

/* Wrapped around every libc call an exported wrapper makes after its op module said IOU_USE_LIBC:
 * ends the timing of a libc sample. Returns r unchanged (errno untouched). */
static inline long iou_auto_after_libc(long r)
{
    if (__builtin_expect(iou_auto_tls.libc_sample != 0, 0))
        iou_auto_libc_done();
    return r;
}

/* Adds to sum the libc calls t's fast path made and did not count yet (the stats ask for them). */
void iou_auto_add_counts(struct iou_thread *t, struct iou_stats *sum);

/* In a forked child, for each block (after its stats were cleared): the counts start again. */
void iou_auto_after_fork_in_child(struct iou_thread *t);

/* What the threads of the process decided for (op, kind), for the stats. */
struct iou_auto_summary {
    uint64_t ring_ns, libc_ns;   /* the lowest time measured on each path (UINT64_MAX: none) */
    unsigned ring_threads;       /* threads whose current choice is the ring */
    unsigned libc_threads;       /* ... is libc (measured faster, or the ring would punt) */
    unsigned sampling_threads;   /* threads still taking their first samples */
};
/* False when no thread has routed (op, kind) under route `auto`. */
bool iou_auto_summary(enum iou_op op, unsigned kind, struct iou_auto_summary *s);

#endif
