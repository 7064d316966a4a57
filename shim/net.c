/* accept, recv and send families through the ring, returning exactly what the socket calls would.
 *
 * - O_NONBLOCK sockets: io_uring waits where the socket call returns EAGAIN; sends and receives carry
 *   MSG_DONTWAIT, accept carries IORING_ACCEPT_DONTWAIT (6.10; without it nonblocking accept uses libc).
 * - SIGPIPE (row 10): ring SEND/SENDMSG never raise it; the shim raises it in the calling thread when the
 *   socket call would have (EPIPE, no MSG_NOSIGNAL, nothing sent by this call).
 * - Blocking sends on stream sockets can complete short on the ring; they are continued as the
 *   system call does. MSG_WAITALL receives on stream sockets are done as a loop of plain receives (the
 *   ring's own retry can lose the partial count when cancelled on older kernels).
 * - recvfrom with an address goes to libc: filling it needs *addrlen, and the shim never reads memory
 *   the kernel has not validated first (a bad pointer must give EFAULT, not a crash).
 * - Flags the shim does not know, MSG_OOB and MSG_ERRQUEUE go to libc. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include "iou/call.h"
#include "iou/ops_impl.h"
#include "iou/sys.h"


#define RECV_FLAGS (MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT | MSG_WAITALL | MSG_CMSG_CLOEXEC)
#define SEND_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE | MSG_EOR | MSG_CONFIRM | MSG_DONTROUTE)

static struct iou_run run_for(const struct iou_call *c)
{
    struct iou_run how = {.interruptible = true, .nonblock_fd = c->fdi.nonblock ? -1 : c->fd};
    return how;
}

/* A nonblocking call got EAGAIN: true if the socket turned blocking meanwhile (then try again). */
static bool turned_blocking(struct iou_call *c)
{
    int fl = iou_sys_getfl(c->fd);
    if (fl < 0 || (fl & O_NONBLOCK))
        return false;
    iou_fd_forget(c->fd);
    c->fdi.nonblock = false;
    return true;
}

long iou_net_accept(enum iou_op op, int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
        return iou_call_skip(op, IOU_BYPASS_FLAGS); /* EINVAL, from libc */
    struct iou_call c;
    if (!iou_call_begin(&c, op, fd))
        return IOU_USE_LIBC;
    if (c.fdi.nonblock && !iou_ring_accept_dontwait())
        return iou_call_to_libc(&c, IOU_BYPASS_NONBLOCK);
    int res;
    for (;;) {
        struct io_uring_sqe *sqe = iou_ring_request(c.t);
        io_uring_prep_accept(sqe, fd, addr, addrlen, flags);
        if (c.fdi.nonblock)
            sqe->ioprio |= IORING_ACCEPT_DONTWAIT;
        struct iou_run how = run_for(&c);
        res = iou_call_run(&c, &how);
        if (res == -EAGAIN && c.fdi.nonblock && turned_blocking(&c))
            continue;
        break;
    }
    if (res >= 0) {
        /* The shim knows what it just made: no system call needed on its first use. */
        struct iou_fd_info info = {.kind = IOU_FD_STREAM, .nonblock = (flags & SOCK_NONBLOCK) != 0};
        iou_fd_learn(res, &info);
    }
    return iou_call_end(&c, res);
}

/* One receive through the ring, retried as blocking if the socket was made blocking meanwhile. */
static int recv_once(struct iou_call *c, void *buf, size_t len, struct msghdr *msg, int flags, bool moved)
{
    for (;;) {
        struct io_uring_sqe *sqe = iou_ring_request(c->t);
        int f = flags | (c->fdi.nonblock ? MSG_DONTWAIT : 0);
        if (msg)
            io_uring_prep_recvmsg(sqe, c->fd, msg, (unsigned)f);
        else
            io_uring_prep_recv(sqe, c->fd, buf, len, f);
        struct iou_run how = run_for(c);
        how.any_signal_ends = moved;
        int res = iou_call_run(c, &how);
        if (res == -EAGAIN && c->fdi.nonblock && !(flags & MSG_DONTWAIT) && turned_blocking(c))
            continue;
        return res;
    }
}

long iou_net_recv(enum iou_op op, int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
                  socklen_t *addrlen)
{
    if (addr || (flags & ~RECV_FLAGS))
        return iou_call_skip(op, IOU_BYPASS_FLAGS);
    if (len > IOU_MAX_RW)
        return iou_call_skip(op, IOU_BYPASS_HUGE);
    (void)addrlen; /* without addr the kernel ignores it too */
    struct iou_call c;
    if (!iou_call_begin(&c, op, fd))
        return IOU_USE_LIBC;
    bool waitall = flags & MSG_WAITALL;
    if (waitall && (c.fdi.kind != IOU_FD_STREAM || (flags & MSG_PEEK)))
        return iou_call_to_libc(&c, IOU_BYPASS_FLAGS);
    if (!waitall || c.fdi.nonblock || (flags & MSG_DONTWAIT))
        return iou_call_end(&c, recv_once(&c, buf, len, NULL, flags & ~MSG_WAITALL, false));
    /* MSG_WAITALL on a blocking stream: receive until full, end of stream, an error or a signal. */
    size_t done = 0;
    for (;;) {
        int res = recv_once(&c, (char *)buf + done, len - done, NULL, flags & ~MSG_WAITALL, done > 0);
        if (res == IOU_RING_REFUSED && done)
            return iou_call_end(&c, (long)done);
        if (res < 0)
            return iou_call_end(&c, done ? (long)done : res);
        done += (size_t)res;
        if (res == 0 || done >= len)
            return iou_call_end(&c, (long)done);
    }
}

long iou_net_recvmsg(int fd, struct msghdr *msg, int flags)
{
    if (flags & ~RECV_FLAGS & ~MSG_WAITALL)
        return iou_call_skip(IOU_OP_RECVMSG, IOU_BYPASS_FLAGS);
    struct iou_call c;
    if (!iou_call_begin(&c, IOU_OP_RECVMSG, fd))
        return IOU_USE_LIBC;
    if (flags & MSG_WAITALL)
        return iou_call_to_libc(&c, IOU_BYPASS_FLAGS);
    return iou_call_end(&c, recv_once(&c, NULL, 0, msg, flags, false));
}

/* The kernel's socket send raises SIGPIPE on EPIPE unless MSG_NOSIGNAL; the ring's never does.
 * The kernel's is thread-directed with si_code SI_USER and the process's own pid and uid
 * (send_sig(SIGPIPE, current, 0)); rt_tgsigqueueinfo may send exactly that to its own process. */
static void raise_sigpipe_if_due(long res, size_t done, int flags)
{
    if (res != -EPIPE || done || (flags & MSG_NOSIGNAL))
        return;
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    info.si_signo = SIGPIPE;
    info.si_code = SI_USER;
    info.si_pid = iou_sys_getpid();
    info.si_uid = (uid_t)iou_sys0(SYS_getuid);
    iou_sys4(SYS_rt_tgsigqueueinfo, info.si_pid, iou_sys_gettid(), SIGPIPE, &info);
}

/* Sends on the ring, continuing short completions of blocking stream sends.
 * first_msg is the program's message for the first submission (sendmsg/sendto), NULL for plain sends;
 * later submissions carry what is left of its data, without address or control data. iov is NULL for
 * sendmsg: the message's own vector is read only after the kernel accepted it. */
static long send_run(struct iou_call *c, const struct iovec *iov, int iovcnt, const struct msghdr *first_msg,
                     int flags)
{
    bool continue_short = c->fdi.kind == IOU_FD_STREAM && !c->fdi.nonblock && !(flags & MSG_DONTWAIT);
    size_t done = 0, total = 0;
    int index = 0;
    size_t within = 0;
    struct msghdr rest;
    for (;;) {
        struct io_uring_sqe *sqe = iou_ring_request(c->t);
        int f = flags | (c->fdi.nonblock ? MSG_DONTWAIT : 0);
        if (!done && first_msg) {
            io_uring_prep_sendmsg(sqe, c->fd, first_msg, (unsigned)f);
        } else if (within || iovcnt == 1) {
            io_uring_prep_send(sqe, c->fd, (char *)iov[index].iov_base + within, iov[index].iov_len - within, f);
        } else {
            memset(&rest, 0, sizeof(rest));
            rest.msg_iov = (struct iovec *)iov + index;
            rest.msg_iovlen = (size_t)(iovcnt - index);
            io_uring_prep_sendmsg(sqe, c->fd, &rest, (unsigned)f);
        }
        struct iou_run how = run_for(c);
        how.any_signal_ends = done > 0;
        int res = iou_call_run(c, &how);
        if (res == IOU_RING_REFUSED)
            return done ? (long)done : IOU_RING_REFUSED;
        if (res == -EAGAIN && !done && c->fdi.nonblock && !(flags & MSG_DONTWAIT) && turned_blocking(c)) {
            continue_short = c->fdi.kind == IOU_FD_STREAM;
            continue;
        }
        if (res < 0) {
            raise_sigpipe_if_due(res, done, flags);
            return done ? (long)done : res;
        }
        done += (size_t)res;
        if (!continue_short || res == 0)
            return (long)done;
        if (!iov) {
            /* sendmsg: the kernel has validated the program's message by now. */
            iov = first_msg->msg_iov;
            iovcnt = (int)first_msg->msg_iovlen;
        }
        if (!total)
            for (int i = 0; i < iovcnt; i++)
                total += iov[i].iov_len;
        if (done >= total)
            return (long)done;
        /* Step over what was sent. */
        size_t n = (size_t)res;
        while (n > 0 && index < iovcnt) {
            size_t left = iov[index].iov_len - within;
            if (n < left) {
                within += n;
                break;
            }
            n -= left;
            index++;
            within = 0;
        }
    }
}

long iou_net_send(enum iou_op op, int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr,
                  socklen_t addrlen)
{
    if (flags & ~SEND_FLAGS)
        return iou_call_skip(op, IOU_BYPASS_FLAGS);
    if (len > IOU_MAX_RW)
        return iou_call_skip(op, IOU_BYPASS_HUGE);
    struct iou_call c;
    if (!iou_call_begin(&c, op, fd))
        return IOU_USE_LIBC;
    struct iovec one = {(void *)buf, len};
    if (!addr)
        return iou_call_end(&c, send_run(&c, &one, 1, NULL, flags));
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_name = (void *)addr;
    msg.msg_namelen = addrlen;
    msg.msg_iov = &one;
    msg.msg_iovlen = 1;
    return iou_call_end(&c, send_run(&c, &one, 1, &msg, flags));
}

long iou_net_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (flags & ~SEND_FLAGS)
        return iou_call_skip(IOU_OP_SENDMSG, IOU_BYPASS_FLAGS);
    struct iou_call c;
    if (!iou_call_begin(&c, IOU_OP_SENDMSG, fd))
        return IOU_USE_LIBC;
    return iou_call_end(&c, send_run(&c, NULL, 0, msg, flags));
}
