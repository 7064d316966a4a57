/* The exported symbols: the only functions of the library a program can see.
 * Each I/O wrapper hands the call to its operation module, which answers with a result or -errno (errno
 * is set here, once) or asks for libc. Before the module, iou_call_libc_first may answer "libc" at once
 * (the configuration sends that call to libc, or route `auto` decided it: never a timed sample), and the
 * wrapper goes straight to libc, a tail call. Every libc call the module asks for goes through iou_auto_after_libc, which ends `auto`'s timing
 * when the call was a sample. Descriptor lifecycle wrappers keep the shim's descriptor
 * table right around the real call; signal wrappers keep the interrupting-handler bookkeeping. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "iou/autoroute.h"
#include "iou/call.h"
#include "iou/config.h"
#include "iou/fdtable.h"
#include "iou/ftable.h"
#include "iou/libc.h"
#include "iou/log.h"
#include "iou/ops_impl.h"
#include "iou/signals.h"
#include "iou/stats.h"

#define EXPORT __attribute__((visibility("default")))

static inline long finish(long r)
{
    if (r < 0) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

/* ---- reads and writes ---- */

static ssize_t do_read(int fd, void *buf, size_t n)
{
    if (iou_call_libc_first(IOU_OP_READ, fd))
        return iou_libc()->read(fd, buf, n);
    long r = iou_rw_single(IOU_OP_READ, fd, buf, n, -1);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->read(fd, buf, n)) : finish(r);
}

static ssize_t do_pread(int fd, void *buf, size_t n, off_t off)
{
    if (iou_call_libc_first(IOU_OP_PREAD, fd))
        return iou_libc()->pread64(fd, buf, n, off);
    long r = iou_rw_single(IOU_OP_PREAD, fd, buf, n, off);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->pread64(fd, buf, n, off)) : finish(r);
}

static ssize_t do_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    if (iou_call_libc_first(IOU_OP_PWRITE, fd))
        return iou_libc()->pwrite64(fd, buf, n, off);
    long r = iou_rw_single(IOU_OP_PWRITE, fd, (void *)buf, n, off);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->pwrite64(fd, buf, n, off)) : finish(r);
}

static ssize_t do_preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
    if (iou_call_libc_first(IOU_OP_PREADV, fd))
        return iou_libc()->preadv64(fd, iov, cnt, off);
    long r = iou_rw_vector(IOU_OP_PREADV, fd, iov, cnt, off, 0);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->preadv64(fd, iov, cnt, off)) : finish(r);
}

static ssize_t do_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    if (iou_call_libc_first(IOU_OP_PWRITEV, fd))
        return iou_libc()->pwritev64(fd, iov, cnt, off);
    long r = iou_rw_vector(IOU_OP_PWRITEV, fd, iov, cnt, off, 0);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->pwritev64(fd, iov, cnt, off)) : finish(r);
}

static ssize_t do_preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    if (iou_call_libc_first(IOU_OP_PREADV2, fd))
        return iou_libc()->preadv64v2(fd, iov, cnt, off, flags);
    long r = iou_rw_vector(IOU_OP_PREADV2, fd, iov, cnt, off, flags);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->preadv64v2(fd, iov, cnt, off, flags))
                             : finish(r);
}

static ssize_t do_pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    if (iou_call_libc_first(IOU_OP_PWRITEV2, fd))
        return iou_libc()->pwritev64v2(fd, iov, cnt, off, flags);
    long r = iou_rw_vector(IOU_OP_PWRITEV2, fd, iov, cnt, off, flags);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->pwritev64v2(fd, iov, cnt, off, flags))
                             : finish(r);
}

EXPORT ssize_t read(int fd, void *buf, size_t n) { return do_read(fd, buf, n); }

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    if (iou_call_libc_first(IOU_OP_WRITE, fd))
        return iou_libc()->write(fd, buf, n);
    long r = iou_rw_single(IOU_OP_WRITE, fd, (void *)buf, n, -1);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->write(fd, buf, n)) : finish(r);
}

EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off) { return do_pread(fd, buf, n, off); }
EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off) { return do_pread(fd, buf, n, off); }
EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) { return do_pwrite(fd, buf, n, off); }
EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) { return do_pwrite(fd, buf, n, off); }

EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    if (iou_call_libc_first(IOU_OP_READV, fd))
        return iou_libc()->readv(fd, iov, cnt);
    long r = iou_rw_vector(IOU_OP_READV, fd, iov, cnt, -1, 0);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->readv(fd, iov, cnt)) : finish(r);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    if (iou_call_libc_first(IOU_OP_WRITEV, fd))
        return iou_libc()->writev(fd, iov, cnt);
    long r = iou_rw_vector(IOU_OP_WRITEV, fd, iov, cnt, -1, 0);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->writev(fd, iov, cnt)) : finish(r);
}

EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off) { return do_preadv(fd, iov, cnt, off); }
EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off_t off) { return do_preadv(fd, iov, cnt, off); }
EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off) { return do_pwritev(fd, iov, cnt, off); }
EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off) { return do_pwritev(fd, iov, cnt, off); }

EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    return do_preadv2(fd, iov, cnt, off, flags);
}
EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    return do_preadv2(fd, iov, cnt, off, flags);
}
EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    return do_pwritev2(fd, iov, cnt, off, flags);
}
EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    return do_pwritev2(fd, iov, cnt, off, flags);
}

/* _FORTIFY_SOURCE entry points: libc's own version aborts when the count exceeds the buffer. */
EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    if (n > buflen)
        return iou_libc()->__read_chk(fd, buf, n, buflen);
    return do_read(fd, buf, n);
}

EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
    if (n > buflen)
        return iou_libc()->__pread_chk(fd, buf, n, off, buflen);
    return do_pread(fd, buf, n, off);
}

EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
    if (n > buflen)
        return iou_libc()->__pread64_chk(fd, buf, n, off, buflen);
    return do_pread(fd, buf, n, off);
}

/* ---- sync ---- */

EXPORT int fsync(int fd)
{
    if (iou_call_libc_first(IOU_OP_FSYNC, fd))
        return iou_libc()->fsync(fd);
    long r = iou_sync(IOU_OP_FSYNC, fd);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->fsync(fd)) : (int)finish(r);
}

EXPORT int fdatasync(int fd)
{
    if (iou_call_libc_first(IOU_OP_FDATASYNC, fd))
        return iou_libc()->fdatasync(fd);
    long r = iou_sync(IOU_OP_FDATASYNC, fd);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->fdatasync(fd)) : (int)finish(r);
}

/* ---- sockets ---- */

EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    long r = iou_call_libc_first(IOU_OP_ACCEPT, fd) ? IOU_USE_LIBC
                                                    : iou_net_accept(IOU_OP_ACCEPT, fd, addr, addrlen, 0);
    if (r == IOU_USE_LIBC) {
        r = iou_auto_after_libc(iou_libc()->accept(fd, addr, addrlen));
        iou_ftable_forget((int)r);
        return (int)r;
    }
    return (int)finish(r);
}

EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
    long r = iou_call_libc_first(IOU_OP_ACCEPT4, fd) ? IOU_USE_LIBC
                                                     : iou_net_accept(IOU_OP_ACCEPT4, fd, addr, addrlen, flags);
    if (r == IOU_USE_LIBC) {
        r = iou_auto_after_libc(iou_libc()->accept4(fd, addr, addrlen, flags));
        iou_ftable_forget((int)r);
        return (int)r;
    }
    return (int)finish(r);
}

static ssize_t do_recv(int fd, void *buf, size_t n, int flags)
{
    if (iou_call_libc_first(IOU_OP_RECV, fd))
        return iou_libc()->recv(fd, buf, n, flags);
    long r = iou_net_recv(IOU_OP_RECV, fd, buf, n, flags, NULL, NULL);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->recv(fd, buf, n, flags)) : finish(r);
}

static ssize_t do_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *addrlen)
{
    if (iou_call_libc_first(IOU_OP_RECVFROM, fd))
        return iou_libc()->recvfrom(fd, buf, n, flags, addr, addrlen);
    long r = iou_net_recv(IOU_OP_RECVFROM, fd, buf, n, flags, addr, addrlen);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->recvfrom(fd, buf, n, flags, addr, addrlen))
                             : finish(r);
}

EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags) { return do_recv(fd, buf, n, flags); }

EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *addrlen)
{
    return do_recvfrom(fd, buf, n, flags, addr, addrlen);
}

EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    if (n > buflen)
        return iou_libc()->__recv_chk(fd, buf, n, buflen, flags);
    return do_recv(fd, buf, n, flags);
}

EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr,
                              socklen_t *addrlen)
{
    if (n > buflen)
        return iou_libc()->__recvfrom_chk(fd, buf, n, buflen, flags, addr, addrlen);
    return do_recvfrom(fd, buf, n, flags, addr, addrlen);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    if (iou_call_libc_first(IOU_OP_RECVMSG, fd))
        return iou_libc()->recvmsg(fd, msg, flags);
    long r = iou_net_recvmsg(fd, msg, flags);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->recvmsg(fd, msg, flags)) : finish(r);
}

EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    if (iou_call_libc_first(IOU_OP_SEND, fd))
        return iou_libc()->send(fd, buf, n, flags);
    long r = iou_net_send(IOU_OP_SEND, fd, buf, n, flags, NULL, 0);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->send(fd, buf, n, flags)) : finish(r);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t addrlen)
{
    if (iou_call_libc_first(IOU_OP_SENDTO, fd))
        return iou_libc()->sendto(fd, buf, n, flags, addr, addrlen);
    long r = iou_net_send(IOU_OP_SENDTO, fd, buf, n, flags, addr, addrlen);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->sendto(fd, buf, n, flags, addr, addrlen))
                             : finish(r);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (iou_call_libc_first(IOU_OP_SENDMSG, fd))
        return iou_libc()->sendmsg(fd, msg, flags);
    long r = iou_net_sendmsg(fd, msg, flags);
    return r == IOU_USE_LIBC ? iou_auto_after_libc(iou_libc()->sendmsg(fd, msg, flags)) : finish(r);
}

/* ---- descriptor lifecycle: whatever closes, replaces or changes an fd updates the table ---- */

EXPORT int close(int fd)
{
    iou_ftable_forget(fd);
    int r = iou_libc()->close(fd);
    iou_ftable_forget(fd); /* a lookup racing with the close may have learned the old file again */
    return r;
}

EXPORT int dup(int fd)
{
    int r = iou_libc()->dup(fd);
    iou_ftable_forget(r);
    return r;
}

EXPORT int dup2(int fd, int newfd)
{
    int r = iou_libc()->dup2(fd, newfd);
    iou_ftable_forget(newfd);
    return r;
}

EXPORT int dup3(int fd, int newfd, int flags)
{
    int r = iou_libc()->dup3(fd, newfd, flags);
    iou_ftable_forget(newfd);
    return r;
}

EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    int r = iou_libc()->close_range(first, last, flags);
    if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
        iou_ftable_forget_range(first, last);
    return r;
}

EXPORT void closefrom(int lowfd)
{
    iou_libc()->closefrom(lowfd);
    if (lowfd >= 0)
        iou_ftable_forget_range((unsigned)lowfd, ~0u);
}

/* fcntl's third argument is an int or a pointer; both travel in one register-sized slot. */
static int do_fcntl(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
    int r = real(fd, cmd, arg);
    if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
        iou_ftable_forget(r);
    else if (cmd == F_SETFL)
        iou_ftable_forget(fd);
    return r;
}

EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return do_fcntl(iou_libc()->fcntl, fd, cmd, arg);
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    const struct iou_libc *libc = iou_libc();
    return do_fcntl(libc->fcntl64 ? libc->fcntl64 : libc->fcntl, fd, cmd, arg);
}

EXPORT int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    int r = iou_libc()->ioctl(fd, request, arg);
    if (request == FIONBIO)
        iou_ftable_forget(fd);
    return r;
}

EXPORT int setsockopt(int fd, int level, int name, const void *value, socklen_t len)
{
    int r = iou_libc()->setsockopt(fd, level, name, value, len);
    if (level == SOL_SOCKET)
        iou_ftable_forget(fd); /* SO_RCVTIMEO / SO_SNDTIMEO in any of their spellings */
    return r;
}

/* Descriptors the program creates: forgotten in case their number's last close was not seen. */
static int fresh(int fd)
{
    iou_ftable_forget(fd);
    return fd;
}

/* Sockets and pipes the program just made: what the shim would learn with three to five system calls on
 * their first use is known from the call that made them (a new socket has no timeouts; pipe ends are
 * not FIFOs). */
static int made(int fd, enum iou_fd_kind kind, bool nonblock)
{
    if (fresh(fd) >= 0) {
        struct iou_fd_info info = {.kind = kind, .nonblock = nonblock};
        iou_fd_learn(fd, &info);
    }
    return fd;
}

static void made_pair(const int fds[2], enum iou_fd_kind kind, bool nonblock)
{
    made(fds[0], kind, nonblock);
    made(fds[1], kind, nonblock);
}

EXPORT int socket(int domain, int type, int protocol)
{
    return made(iou_libc()->socket(domain, type, protocol), iou_fd_socket_kind(type), type & SOCK_NONBLOCK);
}

EXPORT int socketpair(int domain, int type, int protocol, int fds[2])
{
    int r = iou_libc()->socketpair(domain, type, protocol, fds);
    if (r == 0)
        made_pair(fds, iou_fd_socket_kind(type), type & SOCK_NONBLOCK);
    return r;
}

EXPORT int pipe(int fds[2])
{
    int r = iou_libc()->pipe(fds);
    if (r == 0)
        made_pair(fds, IOU_FD_PIPE, false);
    return r;
}

EXPORT int pipe2(int fds[2], int flags)
{
    int r = iou_libc()->pipe2(fds, flags);
    if (r == 0)
        made_pair(fds, IOU_FD_PIPE, flags & O_NONBLOCK);
    return r;
}

/* Files the program just opened: their open flags spare the first use an F_GETFL. */
static int opened(int fd, int flags)
{
    if (fresh(fd) >= 0)
        iou_fd_note_open_flags(fd, flags);
    return fd;
}

/* open's mode is only passed when O_CREAT or O_TMPFILE asks for it. */
static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

EXPORT int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return opened(iou_libc()->open(path, flags, mode), flags);
}

EXPORT int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return opened(iou_libc()->open64(path, flags, mode), flags);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return opened(iou_libc()->openat(dirfd, path, flags, mode), flags);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return opened(iou_libc()->openat64(dirfd, path, flags, mode), flags);
}

EXPORT int creat(const char *path, mode_t mode) { return opened(iou_libc()->creat(path, mode), O_WRONLY); }
EXPORT int creat64(const char *path, mode_t mode) { return opened(iou_libc()->creat64(path, mode), O_WRONLY); }

/* stdio and dirent close their descriptors inside glibc, where no interposition reaches. */
EXPORT int fclose(FILE *fp)
{
    int fd = fp ? fileno(fp) : -1;
    iou_ftable_forget(fd);
    int r = iou_libc()->fclose(fp);
    iou_ftable_forget(fd);
    return r;
}

EXPORT int fcloseall(void)
{
    int r = iou_libc()->fcloseall();
    iou_ftable_forget_all();
    return r;
}

EXPORT FILE *freopen(const char *path, const char *mode, FILE *fp)
{
    int fd = fp ? fileno(fp) : -1;
    FILE *r = iou_libc()->freopen(path, mode, fp);
    iou_ftable_forget(fd);
    if (r)
        iou_ftable_forget(fileno(r));
    return r;
}

EXPORT FILE *freopen64(const char *path, const char *mode, FILE *fp)
{
    int fd = fp ? fileno(fp) : -1;
    const struct iou_libc *libc = iou_libc();
    FILE *r = (libc->freopen64 ? libc->freopen64 : libc->freopen)(path, mode, fp);
    iou_ftable_forget(fd);
    if (r)
        iou_ftable_forget(fileno(r));
    return r;
}

EXPORT int pclose(FILE *fp)
{
    int fd = fp ? fileno(fp) : -1;
    int r = iou_libc()->pclose(fp);
    iou_ftable_forget(fd);
    return r;
}

EXPORT int closedir(DIR *dir)
{
    int fd = dirfd(dir); /* closedir(NULL) crashes in glibc as well */
    int r = iou_libc()->closedir(dir);
    iou_ftable_forget(fd);
    return r;
}

EXPORT int daemon(int nochdir, int noclose)
{
    int r = iou_libc()->daemon(nochdir, noclose);
    iou_ftable_forget_range(0, 2); /* replaced by /dev/null inside glibc */
    return r;
}

/* syscall(2) can close or replace descriptors too. */
EXPORT long syscall(long number, ...)
{
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    long r = iou_libc()->syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    switch (number) {
    case SYS_close:
        iou_ftable_forget((int)a[0]);
        break;
    case SYS_close_range:
        if (r == 0 && !(a[2] & CLOSE_RANGE_CLOEXEC))
            iou_ftable_forget_range((unsigned)a[0], (unsigned)a[1]);
        break;
#ifdef SYS_dup2
    case SYS_dup2:
#endif
    case SYS_dup3:
        iou_ftable_forget((int)a[1]);
        break;
    case SYS_fcntl:
    case SYS_ioctl:
        iou_ftable_forget((int)a[0]);
        if (r >= 0 && (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC))
            iou_ftable_forget((int)r);
        break;
    }
    return r;
}

/* ---- threads: registered files exist only while the process has one thread (shim/ftable.c) ---- */

EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
    iou_ftable_before_new_thread();
    return iou_libc()->pthread_create(thread, attr, start, arg);
}

/* ---- signals: see iou/signals.h ---- */

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    return iou_sig_action(sig, act, old);
}

EXPORT __sighandler_t signal(int sig, __sighandler_t handler) { return iou_sig_signal(sig, handler, IOU_SIGNAL_BSD); }
EXPORT __sighandler_t bsd_signal(int sig, __sighandler_t handler)
{
    return iou_sig_signal(sig, handler, IOU_SIGNAL_BSD);
}
EXPORT __sighandler_t sysv_signal(int sig, __sighandler_t handler)
{
    return iou_sig_signal(sig, handler, IOU_SIGNAL_SYSV);
}
EXPORT int siginterrupt(int sig, int interrupt) { return iou_sig_interrupt(sig, interrupt); }

/* ---- process start and end ---- */

__attribute__((constructor)) static void iou_start(void)
{
    iou_libc();
    const struct iou_config *cfg = iou_config(); /* bad values are reported at start, once */
    iou_thread_start();
    iou_stats_start();
    iou_signals_start();
    if (cfg->log_level >= IOU_LOG_INFO) {
        char changes[400];
        iou_config_describe_changes(changes, sizeof(changes));
        iou_log(IOU_LOG_INFO, "iou-shim %s active in %s, route %s; settings:%s", IOU_SHIM_VERSION,
                program_invocation_short_name, (const char *const[]){"ring", "all", "auto", "libc"}[cfg->route],
                changes[0] ? changes : " none");
    }
}

__attribute__((destructor)) static void iou_end(void)
{
    iou_stats_report();
}

/* Processes that end with _exit (dash, forked children) skip destructors: report here too. */
EXPORT void _exit(int status)
{
    iou_stats_report();
    iou_libc()->_exit(status);
    __builtin_unreachable();
}

EXPORT void _Exit(int status)
{
    iou_stats_report();
    iou_libc()->_Exit(status);
    __builtin_unreachable();
}
