/* read, write, pread, pwrite and their vectored forms through the ring, returning exactly what the
 * system call would.
 *
 * - Offsets: calls without one use the file position and go to the ring only for descriptors that have
 *   none (pipes, sockets, devices: iou/ops.h); explicit offsets serve regular files and block devices.
 *   Offsets below zero fail EINVAL in the kernel before anything else, so they go to libc (row 2).
 * - Counts above MAX_RW_COUNT go to libc: the syscall checks the whole range before clamping, the ring's
 *   32-bit length could not even carry it (row 3).
 * - O_NONBLOCK: io_uring waits where read(2) returns EAGAIN, so nonblocking descriptors get RWF_NOWAIT
 *   (5.6+; a file that refuses it, EOPNOTSUPP, is left to libc). Before an EAGAIN is returned the flag is
 *   checked again, in case it was cleared behind the shim's back (row 9).
 * - Blocking writes to pipes and stream sockets complete short on the ring; the shim continues them as
 *   the system call does, and returns what moved if a signal or error ends them (row 4).
 * - Route `ring`: the first file read/write on each file system carries RWF_NOWAIT to learn whether the
 *   kernel can finish it inline; where it would hand it to a worker, libc does it (iou/punt.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/uio.h>

#include "iou/call.h"
#include "iou/config.h"
#include "iou/ops_impl.h"
#include "iou/punt.h"
#include "iou/sys.h"

/* preadv2/pwritev2 flags the ring honours as the system call does. RWF_HIPRI is refused on a ring
 * without IORING_SETUP_IOPOLL (EINVAL) where preadv2 ignores it for buffered I/O; newer flags
 * (RWF_NOAPPEND, RWF_ATOMIC, RWF_DONTCACHE...) are left to libc. */
#define RING_RWF_FLAGS (RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND)

struct rw_request {
    bool vectored;
    void *buf;                /* one buffer (may be NULL: the kernel says EFAULT) */
    size_t len;
    const struct iovec *iov;  /* the program's vector */
    int iovcnt;
    off_t off;                /* -1: the file position (or none) */
    int rw_flags;             /* the program's RWF_* */
};

/* Where a continued transfer stands in the program's vector. */
struct cursor {
    int index;
    size_t within;
};

static void advance(const struct rw_request *rq, struct cursor *cur, size_t n)
{
    while (n > 0 && cur->index < rq->iovcnt) {
        size_t left = rq->iov[cur->index].iov_len - cur->within;
        if (n < left) {
            cur->within += n;
            return;
        }
        n -= left;
        cur->index++;
        cur->within = 0;
    }
}

static size_t total_length(const struct rw_request *rq)
{
    if (!rq->vectored)
        return rq->len;
    size_t sum = 0;
    for (int i = 0; i < rq->iovcnt; i++)
        sum += rq->iov[i].iov_len;
    return sum;
}

/* Fills the call's request for what is left of the transfer. */
static void prepare(struct iou_call *c, const struct rw_request *rq, const struct cursor *cur, size_t done,
                    struct iovec *piece, int rw_flags)
{
    struct io_uring_sqe *sqe = iou_ring_request(c->t);
    bool out = iou_ops[c->op].dir == IOU_DIR_OUT;
    off_t off = rq->off < 0 ? -1 : rq->off + (off_t)done;
    if (!rq->vectored) {
        char *p = (char *)rq->buf + done;
        if (out)
            io_uring_prep_write(sqe, c->fd, p, (unsigned)(rq->len - done), (uint64_t)off);
        else
            io_uring_prep_read(sqe, c->fd, p, (unsigned)(rq->len - done), (uint64_t)off);
    } else if (cur->within) {
        /* Part of one iovec is left: send that part alone, then the rest of the vector as it is. */
        piece->iov_base = (char *)rq->iov[cur->index].iov_base + cur->within;
        piece->iov_len = rq->iov[cur->index].iov_len - cur->within;
        if (out)
            io_uring_prep_writev(sqe, c->fd, piece, 1, (uint64_t)off);
        else
            io_uring_prep_readv(sqe, c->fd, piece, 1, (uint64_t)off);
    } else {
        const struct iovec *v = rq->iov + cur->index;
        unsigned n = (unsigned)(rq->iovcnt - cur->index);
        if (out)
            io_uring_prep_writev(sqe, c->fd, v, n, (uint64_t)off);
        else
            io_uring_prep_readv(sqe, c->fd, v, n, (uint64_t)off);
    }
    sqe->rw_flags = rw_flags;
}

/* A transfer of zero bytes that the ring would not finish as the system call does: read(2) of nothing
 * returns 0 at once, but the ring polls a FIFO (no FMODE_NOWAIT) for data that may never come; and a
 * zero-length writev(2) returns 0 before the socket is looked at, where the ring's reaches the socket and
 * can fail EPIPE and raise SIGPIPE. Only in those two cases is the program's vector read first. */
static bool empty_transfer_differs(const struct iou_call *c, const struct rw_request *rq, bool out)
{
    bool fifo_read = !out && c->fdi.fifo;
    bool socket_writev = out && rq->vectored && (IOU_KINDS_SOCKET & (1u << c->fdi.kind));
    if (!fifo_read && !socket_writev)
        return false;
    if (!rq->vectored)
        return rq->len == 0;
    if (rq->iovcnt <= 0 || !rq->iov)
        return true; /* let libc give EINVAL, 0 or EFAULT */
    return rq->iovcnt <= IOV_MAX && total_length(rq) == 0;
}

/* Runs the transfer; done > 0 when the fast path already moved that much of it. */
static long rw_run(struct iou_call *c, const struct rw_request *rq, size_t done)
{
    bool out = iou_ops[c->op].dir == IOU_DIR_OUT;
    bool streamlike = (IOU_KINDS_STREAMLIKE & (1u << c->fdi.kind)) != 0;
    if (!done && empty_transfer_differs(c, rq, out))
        return iou_call_to_libc(c, IOU_BYPASS_FLAGS);
    bool nowait = streamlike && c->fdi.nonblock;
    bool probing = false;
    if (nowait && c->fdi.no_nowait)
        return iou_call_to_libc(c, IOU_BYPASS_NONBLOCK);
    if (!streamlike) {
        if (iou_call_would_punt(c))
            return iou_call_to_libc(c, IOU_BYPASS_PUNT);
        enum iou_route_mode route = iou_config()->route;
        probing = (route == IOU_ROUTE_RING || route == IOU_ROUTE_AUTO) && !(rq->rw_flags & RWF_NOWAIT) &&
                  iou_punt_get(c->fdi.fs_slot, out ? IOU_DIR_OUT : IOU_DIR_IN) == IOU_PUNT_UNKNOWN;
    }
    /* The ring's first, non-blocking attempt may stop a /dev/zero or /dev/urandom read early (the
     * driver returns what it has when it should reschedule); read(2) would have gone on. */
    bool continue_short = !nowait && (out ? (c->fdi.kind == IOU_FD_PIPE || c->fdi.kind == IOU_FD_STREAM)
                                          : c->fdi.memdev);
    /* Regular files and block devices are not interrupted by signals through read(2): a request a
     * worker thread runs must not become EINTR either (route `all`). */
    struct iou_run how = {.interruptible = streamlike, .nonblock_fd = streamlike && !nowait ? c->fd : -1};
    struct cursor cur = {0, 0};
    struct iovec piece;
    size_t total = 0;

    for (;;) {
        prepare(c, rq, &cur, done, &piece, rq->rw_flags | (nowait || probing ? RWF_NOWAIT : 0));
        how.any_signal_ends = done > 0;
        int res = iou_call_run(c, &how);
        if (res == IOU_RING_REFUSED)
            return done ? (long)done : IOU_RING_REFUSED;
        if (probing) {
            probing = false;
            bool to_worker = res == -EOPNOTSUPP || (out && res == -EAGAIN);
            iou_punt_set(c->fdi.fs_slot, out ? IOU_DIR_OUT : IOU_DIR_IN,
                         to_worker ? IOU_PUNT_WORKER : IOU_PUNT_INLINE);
            if (to_worker && !done)
                return iou_call_to_libc(c, IOU_BYPASS_PUNT);
            if (res == -EAGAIN || res == -EOPNOTSUPP)
                continue; /* a read of uncached data: nothing moved, do it for real */
            if (res > 0 && (size_t)res < total_length(rq) && out)
                continue_short = true; /* a write NOWAIT could only partly do: finish it */
        }
        if (nowait && !done && res == -EOPNOTSUPP) {
            iou_fd_mark_no_nowait(c->fd);
            return iou_call_to_libc(c, IOU_BYPASS_NONBLOCK);
        }
        if (nowait && !done && res == -EAGAIN) {
            int fl = iou_sys_getfl(c->fd);
            if (fl >= 0 && !(fl & O_NONBLOCK)) {
                /* Made blocking behind the shim's back: behave as a blocking call. */
                iou_fd_forget(c->fd);
                nowait = false;
                how.nonblock_fd = c->fd;
                continue_short = out && (c->fdi.kind == IOU_FD_PIPE || c->fdi.kind == IOU_FD_STREAM);
                continue;
            }
        }
        if (res < 0)
            return done ? (long)done : res;
        done += (size_t)res;
        if (!continue_short || res == 0)
            return (long)done;
        if (!total)
            total = total_length(rq);
        if (done >= total)
            return (long)done;
        if (rq->vectored)
            advance(rq, &cur, (size_t)res);
    }
}

/* The simple cases (iou_call_simple) of one buffer of at least a byte: rw_run with what cannot
 * happen there left out (RWF_NOWAIT, the punt probe, empty transfers). A short transfer that read(2)
 * or write(2) would have continued continues in rw_run. The request is prepared here rather than by
 * prepare(), whose vector and cursor handling cost ~40 instructions a call (callgrind). */
static long rw_simple(struct iou_call *c, void *buf, size_t len, off_t off)
{
    bool out = iou_ops[c->op].dir == IOU_DIR_OUT;
    bool file = (IOU_KINDS_FILE & (1u << c->fdi.kind)) != 0;
    struct io_uring_sqe *sqe = iou_ring_request(c->t);
    if (out)
        io_uring_prep_write(sqe, c->fd, buf, (unsigned)len, (uint64_t)off);
    else
        io_uring_prep_read(sqe, c->fd, buf, (unsigned)len, (uint64_t)off);
    /* Files are not interrupted by signals through read(2) either (see rw_run). */
    struct iou_run how = {.interruptible = !file, .nonblock_fd = file ? -1 : c->fd};
    long res = iou_call_run(c, &how);
    bool continued = out ? c->fdi.kind == IOU_FD_PIPE || c->fdi.kind == IOU_FD_STREAM : c->fdi.memdev;
    if (continued && res > 0 && (size_t)res < len) {
        struct rw_request rq = {.vectored = false, .buf = buf, .len = len, .off = off};
        res = rw_run(c, &rq, (size_t)res);
    }
    return res;
}

long iou_rw_single(enum iou_op op, int fd, void *buf, size_t len, off_t off)
{
    bool positional = iou_ops[op].positional;
    if (positional && off < 0)
        return iou_call_skip(op, IOU_BYPASS_FLAGS); /* EINVAL, from libc */
    if (len > IOU_MAX_RW)
        return iou_call_skip(op, IOU_BYPASS_HUGE);
    if (!positional)
        off = -1;
    struct iou_call c;
    if (!iou_call_begin(&c, op, fd))
        return IOU_USE_LIBC;
    if (c.simple && len > 0)
        return iou_call_end(&c, rw_simple(&c, buf, len, off));
    struct rw_request rq = {.vectored = false, .buf = buf, .len = len, .off = off};
    return iou_call_end(&c, rw_run(&c, &rq, 0));
}

long iou_rw_vector(enum iou_op op, int fd, const struct iovec *iov, int iovcnt, off_t off, int flags)
{
    enum iou_op route_as = op;
    if (flags & ~RING_RWF_FLAGS)
        return iou_call_skip(op, IOU_BYPASS_FLAGS);
    if (op == IOU_OP_PREADV2 || op == IOU_OP_PWRITEV2) {
        /* Offset -1 means the file position, as readv/writev. */
        if (off == -1)
            route_as = op == IOU_OP_PREADV2 ? IOU_OP_READV : IOU_OP_WRITEV;
        else if (off < 0)
            return iou_call_skip(op, IOU_BYPASS_FLAGS);
    } else if (iou_ops[op].positional && off < 0) {
        return iou_call_skip(op, IOU_BYPASS_FLAGS);
    }
    struct iou_call c;
    if (!iou_call_begin_as(&c, op, route_as, fd))
        return IOU_USE_LIBC;
    struct rw_request rq = {.vectored = true, .iov = iov, .iovcnt = iovcnt,
                            .off = iou_ops[route_as].positional ? off : -1, .rw_flags = flags};
    return iou_call_end(&c, rw_run(&c, &rq, 0));
}
