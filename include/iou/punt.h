/* Per file system: does the kernel finish a read or write inline, or hand it to an io-wq worker?
 * Route `ring` sends calls the kernel would punt to libc, which finishes them inline in 1-2 us where
 * the worker round trip costs 5-25 us. Learned from the first call on each file system, which is
 * submitted with RWF_NOWAIT: EAGAIN or EOPNOTSUPP means the kernel could not finish it inline. */
#ifndef IOU_PUNT_H
#define IOU_PUNT_H

#include <stdint.h>
#include <sys/types.h>

#include "iou/ops.h"

#define IOU_PUNT_NO_SLOT 0xff

enum iou_punt_state { IOU_PUNT_UNKNOWN, IOU_PUNT_INLINE, IOU_PUNT_WORKER };

/* The slot that holds what is known about device dev (st_dev of a file, st_rdev of a block device);
 * IOU_PUNT_NO_SLOT when the table is full (then every call probes). */
uint8_t iou_punt_slot(dev_t dev);

enum iou_punt_state iou_punt_get(uint8_t slot, enum iou_dir dir);
void iou_punt_set(uint8_t slot, enum iou_dir dir, enum iou_punt_state state);

#endif
