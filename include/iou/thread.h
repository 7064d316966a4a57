/* Per-thread state: the thread's ring, its counters and its re-entry guard. Created on the thread's
 * first interposed call, released when the thread exits, reset in a forked child. */
#ifndef IOU_THREAD_H
#define IOU_THREAD_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#include "iou/stats.h"

struct iou_auto_table;

enum iou_ring_state { IOU_RING_NONE, IOU_RING_READY, IOU_RING_FAILED };

struct iou_thread {
    struct io_uring ring;
    struct io_uring_sqe *pending; /* the call's request in the submission queue (iou_ring_request) */
    struct io_uring_sqe req;  /* a copy of it, kept once the call blocks, to submit again after a signal */
    uint64_t seq;             /* numbers this thread's requests; stale completions are recognised */
    uint8_t ring_state;       /* enum iou_ring_state */
    uint8_t busy;             /* a call of this thread is inside the shim (signal-handler re-entry guard) */
    int ring_fd;              /* the ring's own descriptor, -1 once registered and closed */
    uint32_t claimed;         /* 1 while a live thread owns this block */
    unsigned files_size;      /* slots in the ring's registered-file table (ftable.c) */
    uint32_t *slot_gen;       /* per slot: descriptor generation + 1 it was registered for, 0 empty */
    uint32_t *use_gen;        /* per fd: generation whose uses are being counted */
    uint8_t *uses;            /* per fd: ring calls so far, until registration */
    struct iou_auto_table *auto_table; /* route `auto`'s measurements (autoroute.c), made on first use */
    struct iou_stats stats;
    struct iou_thread *next;  /* registry of every block ever made; blocks are reused, never freed */
};

/* This thread's state, created on first use; NULL when none can be had (thread exiting, no memory). */
struct iou_thread *iou_thread_get(void);

/* Registers the fork handlers (called once, from the constructor). */
void iou_thread_start(void);

/* True while this thread is forking and the child's state is not reset yet: its calls use libc. */
bool iou_thread_forking(void);

/* Calls fn on every block of the process (live or free); used for stats. */
void iou_thread_foreach(void (*fn)(struct iou_thread *t, void *arg), void *arg);

#endif
