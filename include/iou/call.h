/* The life of one interposed call: route it (ring or libc, and why), then account for it.
 * Operation modules (rw.c, net.c, sync.c) return a count, -errno, or IOU_USE_LIBC; the exported
 * wrapper in interpose.c then calls libc or sets errno, once. */
#ifndef IOU_CALL_H
#define IOU_CALL_H

#include <limits.h>
#include <stdbool.h>

#include "iou/autoroute.h"
#include "iou/fdtable.h"
#include "iou/ops.h"
#include "iou/ring.h"
#include "iou/thread.h"

/* Returned by operation modules: the caller must make the call through libc. */
#define IOU_USE_LIBC LONG_MIN

struct iou_call {
    enum iou_op op;
    int fd;
    struct iou_fd_info fdi;
    struct iou_thread *t;
    bool positional;   /* takes an explicit offset (false for preadv2/pwritev2 at offset -1) */
    bool fixed;        /* went through a registered-file slot */
    bool simple;       /* one of the simple cases (IOU_SIMPLE_RING below) */
    struct iou_auto_entry *sample; /* route `auto`: this ring call is timed for that entry; NULL: not */
    uint64_t sample_start;
};

/* Bit per enum iou_op: calls that go to libc from now on, whatever their descriptor: every call under
 * route `libc` or IOU_SHIM_DISABLE=1, calls left out of IOU_SHIM_OPS (reason `disabled`), every call once
 * io_uring proved refused for the whole process (reason `noring`: seccomp, sysctl; the common case in
 * containers). Set by the general path the first time it finds so; never cleared (a forked child
 * inherits the same configuration and the same refusal). */
extern uint32_t iou_call_libc_ops;

/* Counts a call that iou_call_libc_first sent to libc through iou_call_libc_ops. */
void iou_call_count_libc_only(enum iou_op op);

/* Called by the exported wrappers before anything else: true when the call goes to libc without being
 * routed, and the wrapper calls libc at once: an op in iou_call_libc_ops (so a switched-off or refused
 * shim adds a few instructions to libc, not the whole routing), or one that route `auto` decided for
 * libc on this thread (iou/autoroute.h). */
static inline bool iou_call_libc_first(enum iou_op op, int fd)
{
    if (__builtin_expect(__atomic_load_n(&iou_call_libc_ops, __ATOMIC_RELAXED) >> op & 1, 0)) {
        iou_call_count_libc_only(op);
        return true;
    }
    return iou_auto_libc_first(op, fd);
}

/* Decides the path of a call on fd. True: the ring (the thread is marked busy until iou_call_end).
 * False: libc, already counted with its reason. A simple call (see below) on a thread whose ring is
 * ready and a descriptor already known is decided in one pass, with no system call, once a call of op
 * went to the ring in this process (which proves what is the same for every call: route, IOU_SHIM_OPS,
 * the kernel's opcodes); a file the kernel would hand to a worker is then sent to libc at once. */
bool iou_call_begin(struct iou_call *c, enum iou_op op, int fd);

/* The same for a call counted as op but routed by the rules of route_as (preadv2 at offset -1 is
 * position-relative, as readv). */
bool iou_call_begin_as(struct iou_call *c, enum iou_op op, enum iou_op route_as, int fd);

/* The simple cases, which the operation modules run without their general machinery. */
enum iou_simple {
    IOU_SIMPLE_NOT,   /* anything else: the general path decides */
    IOU_SIMPLE_RING,  /* a blocking pipe, socket or character device without timeouts (calls without an
                         offset); a file or block device where the kernel finishes the call inline
                         (positional calls) */
    IOU_SIMPLE_PUNT,  /* a file the kernel would hand to a worker: libc (route `ring`) */
};

/* Which simple case a call is (its fdi and op filled in). */
enum iou_simple iou_call_simple(const struct iou_call *c);

/* Runs the call's prepared request (iou_ring_request) on the ring, through the descriptor's
 * registered-file slot when it has one; see iou_ring_run for the result. */
int iou_call_run(struct iou_call *c, const struct iou_run *how);

/* Ends a ring call and counts its result; returns result unchanged. IOU_RING_REFUSED becomes
 * IOU_USE_LIBC (counted as a fallback). */
long iou_call_end(struct iou_call *c, long result);

/* Sends a call that began on the ring to libc instead, for reason why. Returns IOU_USE_LIBC. */
long iou_call_to_libc(struct iou_call *c, enum iou_bypass why);

/* Counts a call sent to libc before iou_call_begin (argument checks). Returns IOU_USE_LIBC. */
long iou_call_skip(enum iou_op op, enum iou_bypass why);

/* Route `ring`: whether a file read or write would be handed to a kernel worker (see iou/punt.h). */
bool iou_call_would_punt(const struct iou_call *c);

/* The largest count one read or write transfers (MAX_RW_COUNT); larger requests go to libc. */
#define IOU_MAX_RW 0x7ffff000UL

#endif
