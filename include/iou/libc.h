/* The real libc functions behind every interposed symbol, resolved once with dlsym(RTLD_NEXT).
 * Resolution is lazy so a call that arrives before the shim's constructor (another library's
 * constructor, a signal handler) still works. */
#ifndef IOU_LIBC_H
#define IOU_LIBC_H

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/* X(return type, name, parameter list) for every libc function the shim calls through. */
#define IOU_LIBC_FUNCTIONS(X)                                                                   \
    X(ssize_t, read, (int, void *, size_t))                                                    \
    X(ssize_t, write, (int, const void *, size_t))                                             \
    X(ssize_t, pread64, (int, void *, size_t, off_t))                                          \
    X(ssize_t, pwrite64, (int, const void *, size_t, off_t))                                   \
    X(ssize_t, readv, (int, const struct iovec *, int))                                        \
    X(ssize_t, writev, (int, const struct iovec *, int))                                       \
    X(ssize_t, preadv64, (int, const struct iovec *, int, off_t))                              \
    X(ssize_t, pwritev64, (int, const struct iovec *, int, off_t))                             \
    X(ssize_t, preadv64v2, (int, const struct iovec *, int, off_t, int))                       \
    X(ssize_t, pwritev64v2, (int, const struct iovec *, int, off_t, int))                      \
    X(int, fsync, (int))                                                                       \
    X(int, fdatasync, (int))                                                                   \
    X(int, accept, (int, struct sockaddr *, socklen_t *))                                      \
    X(int, accept4, (int, struct sockaddr *, socklen_t *, int))                                \
    X(ssize_t, recv, (int, void *, size_t, int))                                               \
    X(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *, socklen_t *))           \
    X(ssize_t, recvmsg, (int, struct msghdr *, int))                                           \
    X(ssize_t, send, (int, const void *, size_t, int))                                         \
    X(ssize_t, sendto, (int, const void *, size_t, int, const struct sockaddr *, socklen_t))   \
    X(ssize_t, sendmsg, (int, const struct msghdr *, int))                                     \
    X(ssize_t, __read_chk, (int, void *, size_t, size_t))                                      \
    X(ssize_t, __pread_chk, (int, void *, size_t, off_t, size_t))                              \
    X(ssize_t, __pread64_chk, (int, void *, size_t, off_t, size_t))                            \
    X(ssize_t, __recv_chk, (int, void *, size_t, size_t, int))                                 \
    X(ssize_t, __recvfrom_chk, (int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *)) \
    X(int, close, (int))                                                                       \
    X(int, dup, (int))                                                                         \
    X(int, dup2, (int, int))                                                                   \
    X(int, dup3, (int, int, int))                                                              \
    X(int, close_range, (unsigned, unsigned, int))                                             \
    X(void, closefrom, (int))                                                                  \
    X(int, fcntl, (int, int, ...))                                                             \
    X(int, fcntl64, (int, int, ...))                                                           \
    X(int, ioctl, (int, unsigned long, ...))                                                   \
    X(int, setsockopt, (int, int, int, const void *, socklen_t))                               \
    X(int, socket, (int, int, int))                                                            \
    X(int, socketpair, (int, int, int, int *))                                                 \
    X(int, pipe, (int *))                                                                      \
    X(int, pipe2, (int *, int))                                                                \
    X(int, open, (const char *, int, ...))                                                     \
    X(int, open64, (const char *, int, ...))                                                   \
    X(int, openat, (int, const char *, int, ...))                                              \
    X(int, openat64, (int, const char *, int, ...))                                            \
    X(int, creat, (const char *, mode_t))                                                      \
    X(int, creat64, (const char *, mode_t))                                                    \
    X(int, fclose, (FILE *))                                                                   \
    X(int, fcloseall, (void))                                                                  \
    X(FILE *, freopen, (const char *, const char *, FILE *))                                   \
    X(FILE *, freopen64, (const char *, const char *, FILE *))                                 \
    X(int, pclose, (FILE *))                                                                   \
    X(int, closedir, (DIR *))                                                                  \
    X(int, daemon, (int, int))                                                                 \
    X(long, syscall, (long, ...))                                                              \
    X(int, sigaction, (int, const struct sigaction *, struct sigaction *))                     \
    X(void, __chk_fail, (void))                                                                \
    X(void, _exit, (int))                                                                      \
    X(void, _Exit, (int))                                                                      \
    X(int, pthread_create, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))

#define IOU_LIBC_MEMBER(ret, name, params) ret(*name) params;
struct iou_libc {
    IOU_LIBC_FUNCTIONS(IOU_LIBC_MEMBER)
};
#undef IOU_LIBC_MEMBER

/* The resolved table; resolves on first use. A function libc lacks is NULL. */
const struct iou_libc *iou_libc(void);

#endif
