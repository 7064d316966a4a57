/* Small shared pieces for the test helper programs.
 * Each helper is a program that exits 0 (pass), 77 (skip: the kernel lacks it) or 1 (fail), says why on
 * stderr, and prints what the calls it makes returned, so a run without the shim and a run with it can be
 * compared line by line. */
#ifndef IOU_TEST_HELPER_H
#define IOU_TEST_HELPER_H
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define HELPER_SKIP 77

/* Prints "label -> result" or "label -> -1 ENAME" for a call that returned ret with errno err. */
static inline void report(const char *label, long ret, int err)
{
    if (ret < 0)
        printf("%s -> %ld %s\n", label, ret, strerrorname_np(err) ? strerrorname_np(err) : "E?");
    else
        printf("%s -> %ld\n", label, ret);
    fflush(stdout);
}

/* REPORT(label, call): evaluates call with errno cleared and prints its outcome. Returns the result. */
#define REPORT(label, call) ({ errno = 0; long r_ = (long)(call); int e_ = errno; report(label, r_, e_); r_; })

static inline void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* Prints label and the bytes, escaped, so the output stays one line of text. */
static inline void show(const char *label, const void *p, long n)
{
    const unsigned char *b = p;
    printf("%s \"", label);
    for (long i = 0; i < n; i++) {
        if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '"' && b[i] != '\\')
            putchar(b[i]);
        else
            printf("\\x%02x", b[i]);
    }
    printf("\"\n");
    fflush(stdout);
}

/* Prints the part of each segment that a readv returning n filled. */
static inline void show_iov(const struct iovec *iov, int cnt, long n)
{
    for (int i = 0; i < cnt; i++) {
        long k = n <= 0 ? 0 : (n < (long)iov[i].iov_len ? n : (long)iov[i].iov_len);
        char label[32];
        snprintf(label, sizeof label, "  iov[%d]", i);
        show(label, iov[i].iov_base, k);
        if (n > 0)
            n -= k;
    }
}

/* How many descriptors the process has open (for leak checks): /proc/self/fd less its own entries. */
static inline int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        die("opendir: %s", strerror(errno));
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ".", "..", and the directory's own descriptor */
}

/* "ping" through a new pipe (made with pipe2 flags) and back out; true if it came through. */
static inline bool pipe_round_trip(int flags)
{
    int p[2];
    char in[16];
    if (pipe2(p, flags))
        return false;
    bool ok = write(p[1], "ping", 4) == 4 && read(p[0], in, sizeof(in)) == 4 && !memcmp(in, "ping", 4);
    close(p[0]);
    close(p[1]);
    return ok;
}

/* "pong" through a new AF_UNIX stream socketpair (type flags such as SOCK_CLOEXEC) with send and recv. */
static inline bool socket_round_trip(int type_flags)
{
    int s[2];
    char in[16];
    if (socketpair(AF_UNIX, SOCK_STREAM | type_flags, 0, s))
        return false;
    bool ok = send(s[0], "pong", 4, 0) == 4 && recv(s[1], in, sizeof(in), 0) == 4 && !memcmp(in, "pong", 4);
    close(s[0]);
    close(s[1]);
    return ok;
}

/* Checksum for "every byte accounted for" comparisons (FNV-1a, 64-bit). */
static inline unsigned long long fnv1a(const void *p, size_t n, unsigned long long h)
{
    const unsigned char *b = p;
    if (!h)
        h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}
#endif
