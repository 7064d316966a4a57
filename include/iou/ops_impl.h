/* Entry points of the operation modules, called by the exported wrappers in interpose.c.
 * Each returns what the system call returns (a count, or -errno), or IOU_USE_LIBC. */
#ifndef IOU_OPS_IMPL_H
#define IOU_OPS_IMPL_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "iou/ops.h"

/* rw.c: op is one of READ, WRITE, PREAD, PWRITE (off -1 for the position-relative ones)... */
long iou_rw_single(enum iou_op op, int fd, void *buf, size_t len, off_t off);
/* ...READV, WRITEV, PREADV, PWRITEV, PREADV2, PWRITEV2 (flags: RWF_*, 0 for the others). */
long iou_rw_vector(enum iou_op op, int fd, const struct iovec *iov, int iovcnt, off_t off, int flags);

/* sync.c: FSYNC or FDATASYNC. */
long iou_sync(enum iou_op op, int fd);

/* net.c */
long iou_net_accept(enum iou_op op, int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);
long iou_net_recv(enum iou_op op, int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
                  socklen_t *addrlen);
long iou_net_recvmsg(int fd, struct msghdr *msg, int flags);
long iou_net_send(enum iou_op op, int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr,
                  socklen_t addrlen);
long iou_net_sendmsg(int fd, const struct msghdr *msg, int flags);

#endif
