/* The per-thread ring: lazy set-up with feature negotiation, and the one place that submits a request
 * and waits for it with the semantics of a blocking system call (signals, cancellation, O_NONBLOCK). */
#ifndef IOU_RING_H
#define IOU_RING_H

#include <limits.h>
#include <stdbool.h>

#include "iou/ops.h"
#include "iou/thread.h"

/* Kernel ABI values newer than liburing 2.3's headers. */
#ifndef IORING_ACCEPT_DONTWAIT
#define IORING_ACCEPT_DONTWAIT (1U << 1) /* 6.10: accept returns EAGAIN instead of waiting */
#endif
#ifndef IORING_REGISTER_USE_REGISTERED_RING
#define IORING_REGISTER_USE_REGISTERED_RING (1U << 31) /* 6.3: register through a registered ring index */
#endif

/* iou_ring_run's answer when the kernel refused the submission itself: nothing was done, use libc. */
#define IOU_RING_REFUSED INT_MIN

struct iou_run {
    bool interruptible;  /* a handler without SA_RESTART ends the call with EINTR (or what moved) */
    bool any_signal_ends; /* any interruption ends it (a transfer that already moved data returns
                             its short count even for SA_RESTART handlers and stops, as pipe_write
                             and tcp_sendmsg do) */
    int nonblock_fd;     /* before blocking, check that this fd is still blocking; -1: don't */
};

/* Makes sure t has a ring whose kernel knows opcode. 0, or the reason to use libc
 * (IOU_BYPASS_NORING / IOU_BYPASS_UNSUPPORTED). */
int iou_ring_ready(struct iou_thread *t, uint8_t opcode);

/* A fresh request in the ring's submission queue, to fill with io_uring_prep_*() and hand to
 * iou_ring_run right after (nothing else may come between: the slot is already taken). */
static inline struct io_uring_sqe *iou_ring_request(struct iou_thread *t)
{
    return t->pending = io_uring_get_sqe(&t->ring);
}

/* Submits the request from iou_ring_request and waits for its completion, as the blocking system call would:
 * returns its result (a count or -errno), -EINTR when a handler without SA_RESTART interrupted it
 * before anything moved, -EAGAIN when nonblock_fd became non-blocking before anything moved, or
 * IOU_RING_REFUSED when the kernel did not take the request. */
int iou_ring_run(struct iou_thread *t, const struct iou_run *how);

/* Kernel features found by the probe (valid once any ring was made). */
bool iou_ring_accept_dontwait(void);
/* Whether a request that may block can be cancelled (IORING_OP_ASYNC_CANCEL, 5.5): without it a
 * signal or pthread_cancel could not end the wait, so such calls use libc. */
bool iou_ring_can_wait(void);

/* True once io_uring proved refused for the whole process (seccomp, sysctl, LSM): no ring will be made. */
bool iou_ring_refused_for_process(void);

/* Releases t's ring at thread exit; forgets it without touching the parent's in a forked child. */
void iou_ring_release(struct iou_thread *t);
void iou_ring_forget_after_fork(struct iou_thread *t);

#endif
