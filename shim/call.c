/* Routing: decides, per call, the ring or libc, and counts the outcome (see iou/call.h). */
#include <errno.h>
#include <pthread.h>

#include "iou/autoroute.h"
#include "iou/call.h"
#include "iou/config.h"
#include "iou/ftable.h"
#include "iou/punt.h"
#include "iou/stats.h"

/* Calls (bit per enum iou_op) that may take begin_fast: set once a call of that op went
 * through the general checks to the ring, which proves what is the same for every later call of the
 * process (route, IOU_SHIM_OPS, the kernel's opcodes); and the kernel can cancel a waiting request. */
static uint32_t fast_ops;

uint32_t iou_call_libc_ops;
#define EVERY_OP ((1u << IOU_OP_COUNT) - 1)

/* The calls the configuration sends to libc: route libc, IOU_SHIM_DISABLE, left out of IOU_SHIM_OPS. */
static uint32_t switched_off(const struct iou_config *cfg)
{
    return cfg->route == IOU_ROUTE_LIBC ? EVERY_OP : EVERY_OP & ~cfg->ops_enabled;
}

void iou_call_count_libc_only(enum iou_op op)
{
    iou_stats_libc(op, switched_off(iou_config()) >> op & 1 ? IOU_BYPASS_DISABLED : IOU_BYPASS_NORING);
}

static enum iou_bypass kind_bypass(const struct iou_call *c)
{
    switch (c->fdi.kind) {
    case IOU_FD_TTY:
        return IOU_BYPASS_TERMINAL;
    case IOU_FD_REG:
    case IOU_FD_BLK:
        return c->positional ? IOU_BYPASS_KIND : IOU_BYPASS_POSITION;
    default:
        return IOU_BYPASS_KIND;
    }
}

/* Every check, for any call: what iou_call_begin_as does when the one pass cannot decide. */
static bool begin_general(struct iou_call *c, enum iou_op op, enum iou_op route_as, int fd)
{
    const struct iou_config *cfg = iou_config();
    const struct iou_op_info *info = &iou_ops[route_as];
    int why;
    c->op = op;
    c->fd = fd;
    c->t = NULL;
    c->positional = info->positional;
    c->fixed = false;
    c->sample = NULL;
    if (switched_off(cfg) >> op & 1) {
        __atomic_or_fetch(&iou_call_libc_ops, switched_off(cfg), __ATOMIC_RELAXED);
        why = IOU_BYPASS_DISABLED;
        goto libc;
    }
    c->t = iou_thread_get();
    if (!c->t) {
        why = IOU_BYPASS_NORING;
        goto libc;
    }
    if (c->t->busy || iou_thread_forking()) {
        why = IOU_BYPASS_NESTED;
        goto libc;
    }
    int r = iou_fd_lookup(fd, &c->fdi);
    if (r < 0) {
        /* Not open (libc reports the error, in the kernel's order of checks) or beyond the table. */
        why = r == -ERANGE ? IOU_BYPASS_FDMAX : IOU_BYPASS_KIND;
        goto libc;
    }
    if (!(info->ring_kinds & (1u << c->fdi.kind))) {
        why = kind_bypass(c);
        goto libc;
    }
    if (c->fdi.timeout) {
        why = IOU_BYPASS_TIMEOUT; /* SO_RCVTIMEO / SO_SNDTIMEO: the ring would ignore them (row 11) */
        goto libc;
    }
    /* Like the system call, a routed call is a cancellation point (acted on before the thread is
     * marked busy, so an unwinding thread leaves nothing behind). */
    pthread_testcancel();
    /* Route `auto` on libc for now (a thread's warm-up, or decided): no ring is needed, so none is made. */
    if (cfg->route == IOU_ROUTE_AUTO && iou_auto_holds_libc(c)) {
        why = IOU_BYPASS_AUTO;
        goto libc;
    }
    /* Busy from here on, ring set-up included: a signal handler that calls in while the ring is
     * being made must take the nested path to libc, never make a second ring on this thread. */
    c->t->busy = 1;
    why = iou_ring_ready(c->t, info->opcode);
    if (why == IOU_BYPASS_NORING && iou_ring_refused_for_process())
        __atomic_or_fetch(&iou_call_libc_ops, EVERY_OP, __ATOMIC_RELAXED);
    if (!why && info->opcode_also)
        why = iou_ring_ready(c->t, info->opcode_also);
    if (!why && (IOU_KINDS_STREAMLIKE & (1u << c->fdi.kind)) && !iou_ring_can_wait())
        why = IOU_BYPASS_UNSUPPORTED;
    /* Route `auto` measures only calls the ring could take (see shim/autoroute.c). */
    if (!why && cfg->route == IOU_ROUTE_AUTO && !iou_auto_choose(c))
        why = IOU_BYPASS_AUTO;
    if (!why) {
        if ((cfg->route == IOU_ROUTE_RING || cfg->route == IOU_ROUTE_ALL) && iou_ring_can_wait())
            __atomic_or_fetch(&fast_ops, 1u << op, __ATOMIC_RELAXED);
        c->simple = op == route_as && iou_call_simple(c) == IOU_SIMPLE_RING;
        return true;
    }
    c->t->busy = 0;
libc:
    iou_stats_libc(op, (enum iou_bypass)why);
    return false;
}

/* Files and block devices: the punt probe already found whether the kernel finishes op inline. */
static enum iou_simple file_simple(const struct iou_call *c, const struct iou_op_info *info)
{
    enum iou_route_mode route = iou_config()->route;
    if (!info->positional)
        return IOU_SIMPLE_NOT;
    if (route == IOU_ROUTE_ALL)
        return IOU_SIMPLE_RING;
    switch (iou_punt_get(c->fdi.fs_slot, (enum iou_dir)info->dir)) {
    case IOU_PUNT_INLINE:
        return IOU_SIMPLE_RING;
    case IOU_PUNT_WORKER:
        return route == IOU_ROUTE_RING ? IOU_SIMPLE_PUNT : IOU_SIMPLE_NOT;
    default:
        return IOU_SIMPLE_NOT;
    }
}

enum iou_simple iou_call_simple(const struct iou_call *c)
{
    const struct iou_op_info *info = &iou_ops[c->op];
    unsigned kind = 1u << c->fdi.kind;
    if (!(kind & info->ring_kinds))
        return IOU_SIMPLE_NOT;
    if (kind & IOU_KINDS_STREAMLIKE)
        return info->positional || c->fdi.nonblock || c->fdi.timeout ? IOU_SIMPLE_NOT : IOU_SIMPLE_RING;
    return kind & IOU_KINDS_FILE ? file_simple(c, info) : IOU_SIMPLE_NOT;
}

/* iou_call_begin_as in one pass for the simple cases, on a thread whose ring is ready and a descriptor
 * already known, with no system call; only once a call of op went to the ring in this process (which
 * proves what is the same for every call: route, IOU_SHIM_OPS, the kernel's opcodes). IOU_SIMPLE_NOT
 * says nothing: the general checks decide. */
static enum iou_simple begin_fast(struct iou_call *c, enum iou_op op, int fd)
{
    if (!(__atomic_load_n(&fast_ops, __ATOMIC_RELAXED) & (1u << op)))
        return IOU_SIMPLE_NOT;
    struct iou_thread *t = iou_thread_get();
    if (!t || t->busy || t->ring_state != IOU_RING_READY || iou_thread_forking())
        return IOU_SIMPLE_NOT;
    if (!iou_fd_lookup_known(fd, &c->fdi))
        return IOU_SIMPLE_NOT;
    c->op = op;
    enum iou_simple simple = iou_call_simple(c);
    if (simple == IOU_SIMPLE_PUNT) {
        iou_stat_bump(&t->stats.libc[op][IOU_BYPASS_PUNT]);
        return simple;
    }
    if (simple != IOU_SIMPLE_RING)
        return simple;
    pthread_testcancel(); /* a cancellation point, as in iou_call_begin_as */
    t->busy = 1;
    c->fd = fd;
    c->t = t;
    c->positional = iou_ops[op].positional;
    c->fixed = false;
    c->simple = true;
    c->sample = NULL;
    return simple;
}

bool iou_call_begin_as(struct iou_call *c, enum iou_op op, enum iou_op route_as, int fd)
{
    /* A call routed as another op (preadv2 at offset -1, as readv) takes every check. */
    switch (op == route_as ? begin_fast(c, op, fd) : IOU_SIMPLE_NOT) {
    case IOU_SIMPLE_RING:
        return true;
    case IOU_SIMPLE_PUNT:
        return false;
    default:
        return begin_general(c, op, route_as, fd);
    }
}

bool iou_call_begin(struct iou_call *c, enum iou_op op, int fd)
{
    return iou_call_begin_as(c, op, op, fd);
}

int iou_call_run(struct iou_call *c, const struct iou_run *how)
{
    /* Slots are numbered as the descriptors, so the request's fd stays as prepared. */
    if (iou_ftable_slot(c->t, c->fd, c->fdi.gen) >= 0) {
        c->t->pending->flags |= IOSQE_FIXED_FILE;
        c->fixed = true;
    }
    return iou_ring_run(c->t, how);
}

long iou_call_end(struct iou_call *c, long result)
{
    struct iou_stats *s = &c->t->stats;
    c->t->busy = 0;
    if (result == IOU_RING_REFUSED) {
        iou_stat_bump(&s->fallback[c->op]);
        return IOU_USE_LIBC;
    }
    if (result == IOU_USE_LIBC)
        return result;
    iou_stat_bump(&s->ring[c->op]);
    if (c->fixed)
        iou_stat_bump(&s->fixed[c->op]);
    if (result < 0)
        iou_stat_bump(&s->errors[c->op]);
    if (c->sample)
        iou_auto_ring_done(c);
    return result;
}

long iou_call_to_libc(struct iou_call *c, enum iou_bypass why)
{
    c->t->busy = 0;
    if (c->sample && why == IOU_BYPASS_PUNT)
        iou_auto_ring_punted(c);
    iou_stats_libc(c->op, why);
    return IOU_USE_LIBC;
}

long iou_call_skip(enum iou_op op, enum iou_bypass why)
{
    iou_stats_libc(op, why);
    return IOU_USE_LIBC;
}

bool iou_call_would_punt(const struct iou_call *c)
{
    /* `auto` avoids punts as `ring` does: such calls are not the ring's to take, so not measured. */
    enum iou_route_mode route = iou_config()->route;
    if (route != IOU_ROUTE_RING && route != IOU_ROUTE_AUTO)
        return false;
    return iou_punt_get(c->fdi.fs_slot, (enum iou_dir)iou_ops[c->op].dir) == IOU_PUNT_WORKER;
}
