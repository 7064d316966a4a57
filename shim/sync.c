/* fsync and fdatasync through the ring. They always take the ring (in every route but libc): the
 * program asked for them by name and their cost is the device's. Like the system calls they cannot
 * be interrupted by a signal. */
#include "iou/call.h"
#include "iou/ops_impl.h"

long iou_sync(enum iou_op op, int fd)
{
    struct iou_call c;
    if (!iou_call_begin(&c, op, fd))
        return IOU_USE_LIBC;
    io_uring_prep_fsync(iou_ring_request(c.t), fd, op == IOU_OP_FDATASYNC ? IORING_FSYNC_DATASYNC : 0);
    struct iou_run how = {.interruptible = false, .nonblock_fd = -1};
    return iou_call_end(&c, iou_call_run(&c, &how));
}
