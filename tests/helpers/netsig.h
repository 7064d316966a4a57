/* Pieces shared by the net_* and sig_* helpers: connected socket pairs over 127.0.0.1 and AF_UNIX, waiting
 * (polling, bounded) until a thread sits blocked in a call, and printing descriptors and data in a form that
 * is the same with and without the shim (never a number that depends on the run: fd, pid, port, time). */
#ifndef IOU_TEST_NETSIG_H
#define IOU_TEST_NETSIG_H
#include "helper.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond, ...)                                                                                   \
    do {                                                                                                   \
        if (!(cond))                                                                                       \
            die(__VA_ARGS__);                                                                              \
    } while (0)

/* printf and flush: every line must be out before anything can kill the process. */
static inline void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* A descriptor prints as "fd": its number may differ when the shim holds ring descriptors. */
static inline void report_fd(const char *label, long ret, int err)
{
    if (ret < 0) {
        report(label, ret, err);
    } else {
        printf("%s -> fd\n", label);
        fflush(stdout);
    }
}
#define REPORT_FD(label, call)                                                                             \
    ({                                                                                                     \
        errno = 0;                                                                                         \
        long r_ = (long)(call);                                                                            \
        int e_ = errno;                                                                                    \
        report_fd(label, r_, e_);                                                                          \
        r_;                                                                                                \
    })

/* recv, read, recvfrom and recvmsg on fd once each, labelled "CALL SITUATION". */
static inline void every_receive(int fd, char *buf, size_t size, const char *situation)
{
    char label[128];
    struct sockaddr_storage ss;
    socklen_t slen = sizeof ss;
    struct iovec iov = {buf, size};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    snprintf(label, sizeof label, "recv %s", situation);
    REPORT(label, recv(fd, buf, size, 0));
    snprintf(label, sizeof label, "read %s", situation);
    REPORT(label, read(fd, buf, size));
    snprintf(label, sizeof label, "recvfrom %s", situation);
    REPORT(label, recvfrom(fd, buf, size, 0, (struct sockaddr *)&ss, &slen));
    snprintf(label, sizeof label, "recvmsg %s", situation);
    REPORT(label, recvmsg(fd, &m, 0));
}

static inline const char *yesno(int b) { return b ? "yes" : "no"; }

/* A short pause between two looks at a condition (the bound is in the caller's loop). */
static inline void tiny_sleep(void)
{
    struct timespec ts = {0, 200 * 1000};
    nanosleep(&ts, NULL);
}

/* How many looks at a condition before giving up: 50000 x 200 us, about 10 s plus the looks themselves. */
#define WAIT_TRIES 50000

/* Reads a small /proc file into buf (NUL-terminated); returns the length or -1. */
static inline int read_small_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    int e = errno;
    close(fd);
    errno = e;
    if (n < 0)
        return -1;
    buf[n] = 0;
    return (int)n;
}

/* The scheduler state letter of thread tid of process pid ('S' sleeping, 'T'/'t' stopped, ...), or 0. */
static inline char task_state(pid_t pid, pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    if (read_small_file(path, buf, sizeof buf) < 0)
        return 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    return p && p[1] == ' ' ? p[2] : 0;
}

/* The system call thread tid is in: its number, -1 when blocked outside a call, -2 when running, -3 when
 * /proc does not tell. */
static inline long task_syscall(pid_t pid, pid_t tid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
    if (read_small_file(path, buf, sizeof buf) < 0)
        return -3;
    if (strncmp(buf, "running", 7) == 0)
        return -2;
    return strtol(buf, NULL, 10);
}

/* True when the thread sleeps inside a system call that is not one of the helpers' own waits (a lock or a
 * sleep): that is, inside the call under test, whatever the shim turned it into (io_uring_enter...). */
static inline int task_blocked_in_call(pid_t pid, pid_t tid)
{
    if (task_state(pid, tid) != 'S')
        return 0;
    long nr = task_syscall(pid, tid);
    if (nr == -3)
        return 1;
    return nr >= 0 && nr != SYS_futex && nr != SYS_nanosleep && nr != SYS_clock_nanosleep;
}

/* Waits until thread tid (of this process) is blocked in its call. Returns 1 once it is, 0 if *done became
 * set first (the call returned); dies when neither happens within the bound. done may be NULL. */
static inline int wait_blocked(pid_t tid, atomic_int *done)
{
    pid_t pid = getpid();
    for (int i = 0; i < WAIT_TRIES; i++) {
        if (done && atomic_load(done))
            return 0;
        if (task_blocked_in_call(pid, tid))
            return 1;
        tiny_sleep();
    }
    die("thread never blocked (state %c, syscall %ld)", task_state(pid, tid), task_syscall(pid, tid));
}

/* Waits until *v >= want; dies past the bound. */
static inline void wait_atomic_at_least(atomic_int *v, int want, const char *what)
{
    for (int i = 0; i < WAIT_TRIES; i++) {
        if (atomic_load(v) >= want)
            return;
        tiny_sleep();
    }
    die("timed out waiting for %s (have %d, want %d)", what, atomic_load(v), want);
}

/* Families by name: "tcp" is AF_INET on 127.0.0.1, "unix" is AF_UNIX stream in the abstract namespace. */
static inline int family_of(const char *name)
{
    if (strcmp(name, "tcp") == 0)
        return AF_INET;
    if (strcmp(name, "unix") == 0)
        return AF_UNIX;
    die("unknown family %s (tcp or unix)", name);
}

/* A fixed-length abstract AF_UNIX name, unique per process and call, so address lengths print the same in
 * every run. */
static inline socklen_t unix_name(struct sockaddr_un *sun)
{
    static int counter;
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    char name[32];
    snprintf(name, sizeof name, "iou-%08x-%04x", (unsigned)getpid(), (unsigned)(counter++ & 0xffff));
    memcpy(sun->sun_path + 1, name, strlen(name)); /* sun_path[0] = 0: abstract */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
}

/* A listening socket of the family (SOCK_STREAM unless type says otherwise), its address in *addr. */
static inline int make_listener_type(int family, int type, struct sockaddr_storage *addr, socklen_t *len)
{
    int fd = socket(family, type | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0, "socket: %s", strerror(errno));
    memset(addr, 0, sizeof *addr);
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)addr;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sin->sin_port = 0;
        *len = sizeof *sin;
    } else {
        *len = unix_name((struct sockaddr_un *)addr);
    }
    CHECK(bind(fd, (struct sockaddr *)addr, *len) == 0, "bind: %s", strerror(errno));
    if ((type & 0xf) == SOCK_STREAM)
        CHECK(listen(fd, 16) == 0, "listen: %s", strerror(errno));
    *len = sizeof *addr;
    CHECK(getsockname(fd, (struct sockaddr *)addr, len) == 0, "getsockname: %s", strerror(errno));
    return fd;
}

static inline int make_listener(int family, struct sockaddr_storage *addr, socklen_t *len)
{
    return make_listener_type(family, SOCK_STREAM, addr, len);
}

/* A client socket connected to addr (the connection completes in the listener's backlog). */
static inline int connect_to(const struct sockaddr_storage *addr, socklen_t len)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0, "socket: %s", strerror(errno));
    CHECK(connect(fd, (const struct sockaddr *)addr, len) == 0, "connect: %s", strerror(errno));
    return fd;
}

/* A connected stream pair: *client from connect, *server from accept on a listener that is then closed. */
static inline void make_pair(int family, int *client, int *server)
{
    struct sockaddr_storage addr;
    socklen_t len;
    int l = make_listener(family, &addr, &len);
    *client = connect_to(&addr, len);
    *server = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    CHECK(*server >= 0, "accept4: %s", strerror(errno));
    close(l);
}

/* For the helpers that block a thread in read, recv or accept: sets up what call waits on, "read" an empty
 * pipe p, "recv" a TCP pair with nothing queued (a sends, b receives), "accept" a TCP listener l at addr with
 * no client, and returns the descriptor the call takes. -1, with nothing set up, for any other call. */
static inline int make_wait_target(const char *call, int p[2], int *a, int *b, int *l,
                                   struct sockaddr_storage *addr, socklen_t *addr_len)
{
    if (strcmp(call, "read") == 0) {
        CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
        return p[0];
    }
    if (strcmp(call, "recv") == 0) {
        make_pair(AF_INET, a, b);
        return *b;
    }
    if (strcmp(call, "accept") == 0) {
        *l = make_listener(AF_INET, addr, addr_len);
        return *l;
    }
    return -1;
}

/* Waits (bounded) until fd has one of events; returns poll's result. */
static inline int wait_fd(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    int r;
    do
        r = poll(&p, 1, 10000);
    while (r < 0 && errno == EINTR);
    return r;
}

/* Writes all of buf (looping over short counts and EINTR); dies on an error. */
static inline void write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        CHECK(w > 0, "write: %s", w < 0 ? strerror(errno) : "wrote 0");
        p += w;
        n -= (size_t)w;
    }
}

/* Reads exactly n bytes (looping over short counts and EINTR); returns what it got before EOF. */
static inline size_t read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        CHECK(r >= 0, "read: %s", strerror(errno));
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return got;
}

static inline void set_nonblock(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl >= 0, "F_GETFL: %s", strerror(errno));
    CHECK(fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) == 0, "F_SETFL: %s", strerror(errno));
}

/* Reads everything a nonblocking read finds now (until EAGAIN); returns the count, checksum into *h. */
static inline long drain_now(int fd, unsigned long long *h)
{
    static char buf[65536];
    long total = 0;
    int fl = fcntl(fd, F_GETFL);
    set_nonblock(fd, 1);
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (h)
            *h = fnv1a(buf, (size_t)r, *h);
        total += r;
    }
    fcntl(fd, F_SETFL, fl);
    return total;
}

/* Deterministic pseudo-random numbers (xorshift64*), the same in every run. */
static inline unsigned long long rng_next(unsigned long long *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* Fills buf with bytes that depend on their offset in the stream, so a lost or repeated chunk shows. */
static inline void fill_pattern(unsigned char *buf, size_t n, unsigned long long offset)
{
    for (size_t i = 0; i < n; i++) {
        unsigned long long x = offset + i;
        buf[i] = (unsigned char)((x * 131) ^ (x >> 9) ^ (x >> 17));
    }
}
/* The ways of sending a buffer on a stream socket that the helpers go through in turn. */
enum { VIA_SEND, VIA_WRITE, VIA_SENDTO, VIA_SENDMSG, VIA_COUNT };
static const char *const via_name[VIA_COUNT] = {"send", "write", "sendto", "sendmsg"};

static inline long send_via(int via, int fd, const void *buf, size_t n, int flags)
{
    struct iovec iov = {(void *)buf, n};
    switch (via) {
    case VIA_SEND: return send(fd, buf, n, flags);
    case VIA_WRITE: return write(fd, buf, n);
    case VIA_SENDTO: return sendto(fd, buf, n, flags, NULL, 0);
    default: return sendmsg(fd, &(struct msghdr){.msg_iov = &iov, .msg_iovlen = 1}, flags);
    }
}

/* Sends 64 KiB chunks of the stream pattern through one way until a call fails (bounded); every byte a
 * call reported is added to *sent and *sum. Returns the failing call's result, its errno in *err. A full
 * TCP socket can take more later (the receiver compacts its queue), so callers repeat this per way and
 * print only the final failure. */
static inline long send_until_error(int fd, int via, int flags, long *sent, unsigned long long *sum, int *err)
{
    static unsigned char chunk[65536];
    for (int i = 0; i < 100000; i++) {
        fill_pattern(chunk, sizeof chunk, (unsigned long long)*sent);
        errno = 0;
        long r = send_via(via, fd, chunk, sizeof chunk, flags);
        *err = errno;
        if (r < 0)
            return r;
        *sum = fnv1a(chunk, (size_t)r, *sum);
        *sent += r;
    }
    die("%s never filled the socket", via_name[via]);
}

/* send_until_error through each way in turn, reporting each way's final failure as "BEFORE<way> of 64
 * KiB<AFTER>, repeated until one fails" (BEFORE and AFTER say how the socket was made to fill up). */
static inline void send_each_way_until_error(int fd, const char *before, const char *after, long *sent,
                                             unsigned long long *sum)
{
    for (int via = 0; via < VIA_COUNT; via++) {
        int err;
        long last = send_until_error(fd, via, 0, sent, sum, &err);
        char label[80];
        snprintf(label, sizeof label, "%s%s of 64 KiB%s, repeated until one fails", before, via_name[via], after);
        report(label, last, err);
    }
}

/* Receives until EOF (blocking); returns the byte count, checksum into *sum. */
static inline long recv_until_eof(int fd, unsigned long long *sum)
{
    static unsigned char buf[65536];
    long total = 0;
    for (;;) {
        long r = recv(fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        CHECK(r >= 0, "recv: %s", strerror(errno));
        if (r == 0)
            return total;
        *sum = fnv1a(buf, (size_t)r, *sum);
        total += r;
    }
}

#endif
