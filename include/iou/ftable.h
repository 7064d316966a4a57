/* The registered-file table: descriptors the program does I/O on are registered in the ring
 * (IORING_REGISTER_FILES_UPDATE into a sparse table, slot = fd number) and requests use
 * IOSQE_FIXED_FILE, so the kernel skips the per-request descriptor lookup and reference counting.
 * See shim/ftable.c for when registration is used and how it stays coherent with close. */
#ifndef IOU_FTABLE_H
#define IOU_FTABLE_H

#include <stdint.h>

#include "iou/thread.h"

/* The fixed-file slot for fd in t's ring (registering it on first use), or -1: use the plain fd.
 * generation is the descriptor table's generation for fd, so a slot from a closed and reused number
 * is never used. */
int iou_ftable_slot(struct iou_thread *t, int fd, uint32_t generation);

/* Everything that closes or replaces descriptors calls these, before and after the real call: the
 * slot is dropped (its reference would keep the file open) and the descriptor table forgets fd. */
void iou_ftable_forget(int fd);
void iou_ftable_forget_range(unsigned first, unsigned last);
void iou_ftable_forget_all(void);

/* The process is about to get a second thread: registration ends (see shim/ftable.c). */
void iou_ftable_before_new_thread(void);

/* A forked child has one thread again and no registrations. */
void iou_ftable_after_fork_in_child(void);

/* Releases t's table bookkeeping (the ring itself goes with its registrations). */
void iou_ftable_release(struct iou_thread *t);

#endif
