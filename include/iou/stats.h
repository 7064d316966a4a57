/* Counters per call: through the ring, refused by the ring (fallback), errors, and calls sent to libc by
 * reason. Each thread counts into its own block (no atomics, no sharing); blocks are summed at exit. */
#ifndef IOU_STATS_H
#define IOU_STATS_H

#include <stdint.h>

#include "iou/ops.h"

struct iou_stats {
    uint64_t ring[IOU_OP_COUNT];
    uint64_t fixed[IOU_OP_COUNT];    /* of the ring calls, through a registered file */
    uint64_t fallback[IOU_OP_COUNT];
    uint64_t errors[IOU_OP_COUNT];
    uint64_t libc[IOU_OP_COUNT][IOU_BYPASS_COUNT];
};

/* One more in a counter owned by this thread; readers in other threads see whole values. */
static inline void iou_stat_bump(uint64_t *counter)
{
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/* Counts a libc call of op for reason, in this thread's block or the shared one for threads without. */
void iou_stats_libc(enum iou_op op, enum iou_bypass why);

/* Process-wide facts printed with the stats. */
void iou_stats_ring_created(void);
void iou_stats_ring_failed(void);

/* Prepares the stats output at process start (keeps a copy of stderr when stats go there). */
void iou_stats_start(void);

/* Prints the stats if IOU_SHIM_STATS asks (called once at process exit). */
void iou_stats_report(void);

/* Forgets every count: a forked child starts its own. */
void iou_stats_reset_process(void);

#endif
