/* stress SEED [SCALE [DIR]]: many threads doing mixed I/O at once while signals arrive, blocked readers are
 * cancelled and children are forked; every byte is checked end to end.
 *
 * The workload's shape (channels, sizes, chunk sizes, which call each step uses, which threads get
 * restarting or interrupting signals) comes from SEED; its amount from SCALE (default 1); DIR holds the
 * scratch file (default /tmp). The work is fixed, never a duration: signals are sent until the work is done.
 *  - byte channels (pipes with read/write or readv/writev, AF_UNIX stream socketpairs with send/recv or
 *    sendmsg/recvmsg/sendto/recvfrom, a TCP loopback connection taken with accept): a writer thread sends a
 *    stream whose every byte is a function of (seed, channel, offset) in chunks of 1 byte to 260 KiB; the
 *    reader reads it in chunks of its own and checks each byte; both print a checksum of what moved;
 *  - a datagram channel: numbered messages of varying size, each received whole and checked;
 *  - regular-file regions: pwrite/pwritev/pwritev2 at explicit offsets into one shared file, fdatasync now
 *    and then, rewrites of random ranges with the same bytes, pread/preadv checks, a final read-back;
 *  - cancellation: a thread blocked in read (pipe) or recv (socketpair) on an empty channel is cancelled
 *    (pthread_cancel), must end as cancelled, and the channel is then reused: bytes written afterwards
 *    must all arrive, none taken by the cancelled call;
 *  - fork: children of this multithreaded process do their own round trips at once, stream a checked
 *    payload back through a pipe and exit; the parent checks each exit status and the payload;
 *  - signals: a sender thread keeps signalling the workers, SIGUSR1 (handler with SA_RESTART) to some and
 *    SIGUSR2 (handler without) to others, and SIGCHLD (SA_RESTART) arrives from the children; each handler
 *    does a pipe round trip of its own. Every call handles EINTR and short counts as a program must.
 * The output holds only what is the same with and without the shim: per-channel byte counts and
 * checksums, counts of completed steps, and facts that must hold exactly (no EINTR in a thread whose
 * only handlers restart, none and no short count from a regular file). STRESS_VERBOSE=1 adds run-dependent
 * counters on stderr. Exit 0 when every check held, 1 otherwise (the reason on stderr). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "threads.h"

#define MAX_CHUNK (260 * 1024)
#define MAX_DGRAM 1500
#define MAX_CHANNELS 16
#define MAX_TARGETS 40
#define JOIN_BOUND_S 30   /* a thread that does not end in this long is a failure, not a hang */
#define DATA_BOUND_MS 20000 /* data that should be there already and does not come in this long is lost */
#define WATCHDOG_S 240

/* ---- deterministic bytes ---------------------------------------------------------------------------- */

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

struct rng {
    uint64_t s;
};

static uint64_t next(struct rng *r)
{
    r->s += 0x632be59bd9b4e019ULL;
    return mix(r->s);
}

static uint64_t below(struct rng *r, uint64_t n)
{
    return next(r) % n;
}

/* The stream byte at offset off of the stream named key. */
static void fill(uint64_t key, uint64_t off, unsigned char *buf, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint64_t pos = off + i, word = mix(key ^ ((pos >> 3) * 0x9e3779b97f4a7c15ULL));
        for (unsigned b = pos & 7; b < 8 && i < n; b++, i++)
            buf[i] = (unsigned char)(word >> (b * 8));
    }
}

/* How much one call moves: mostly small, often around a pipe's size, sometimes several times it. */
static size_t chunk_size(struct rng *r)
{
    uint64_t x = next(r);
    switch (x % 10) {
    case 0: case 1: case 2: case 3: case 4:
        return 1 + (x >> 8) % 4096;
    case 5: case 6: case 7: case 8:
        return 4097 + (x >> 8) % 61440;
    default:
        return 65537 + (x >> 8) % (MAX_CHUNK - 65537);
    }
}

/* ---- failures and run-dependent counters ------------------------------------------------------------- */

static atomic_int failures;
static __thread int my_failures; /* this thread's own: a sequence of steps stops at its first failure */
static _Atomic long restart_eintr, intr_eintr, file_anomalies, handler_failures, signals_sent, handled;

static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "stress: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    my_failures++;
    atomic_fetch_add(&failures, 1);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- signals ---------------------------------------------------------------------------------------- */

enum sigkind { SIG_NONE, SIG_RESTART, SIG_INTR };

static __thread enum sigkind my_kind;
static __thread int handler_pipe[2] = {-1, -1};

/* Counts an EINTR from an I/O call: impossible in a thread that only ever gets restarting handlers. */
static void note_eintr(void)
{
    if (my_kind == SIG_INTR)
        atomic_fetch_add(&intr_eintr, 1);
    else
        atomic_fetch_add(&restart_eintr, 1);
}

/* Every handler does a round trip through its thread's own pipe: I/O from inside a handler that may
 * have interrupted the shim in the middle of a call. */
static void handler(int sig)
{
    (void)sig;
    int saved = errno;
    atomic_fetch_add(&handled, 1);
    if (handler_pipe[0] >= 0) {
        char c = 'h';
        if (write(handler_pipe[1], &c, 1) != 1 || read(handler_pipe[0], &c, 1) != 1 || c != 'h')
            atomic_fetch_add(&handler_failures, 1);
    }
    errno = saved;
}

/* Threads the sender signals: registered before the sender starts, alive until their work is done. */
struct target {
    pthread_t thread;
    enum sigkind kind;
    atomic_int alive;
};
static struct target targets[MAX_TARGETS];
static int target_count;
static atomic_int sender_stop;

static void thread_begin(struct target *t)
{
    my_kind = t ? t->kind : SIG_NONE;
    if (pipe(handler_pipe))
        die("pipe: %s", strerror(errno));
}

static void thread_end(struct target *t)
{
    /* Signals stop before the handler's pipe goes away. */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    if (t)
        atomic_store(&t->alive, 0);
    close(handler_pipe[0]);
    close(handler_pipe[1]);
    handler_pipe[0] = handler_pipe[1] = -1;
}

static void *sender(void *arg)
{
    struct rng r = {*(uint64_t *)arg ^ 0x5e11de5ULL};
    struct timespec pause = {0, 50 * 1000};
    while (!atomic_load(&sender_stop)) {
        struct target *t = &targets[below(&r, (uint64_t)target_count)];
        if (atomic_load(&t->alive) && pthread_kill(t->thread, t->kind == SIG_RESTART ? SIGUSR1 : SIGUSR2) == 0)
            atomic_fetch_add(&signals_sent, 1);
        nanosleep(&pause, NULL); /* pacing only: nothing depends on when a signal lands */
    }
    return NULL;
}

/* poll for readability, through EINTR, within a bound. */
static bool wait_readable(int fd, int ms)
{
    double end = now_ms() + ms;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int left = (int)(end - now_ms());
        int r = poll(&p, 1, left > 0 ? left : 0);
        if (r > 0)
            return true;
        if (r == 0)
            return false;
        if (errno != EINTR)
            return false;
    }
}

/* ---- byte channels ------------------------------------------------------------------------------------ */

enum chan_type { CH_PIPE, CH_PIPE_VEC, CH_STREAM, CH_STREAM_MSG, CH_TCP, CH_DGRAM, CH_TYPES };
static const char *const chan_names[CH_TYPES] = {
    "pipe (write/read)", "pipe (writev/readv)", "socketpair (send/recv)",
    "socketpair (sendmsg+sendto/recvmsg+recvfrom)", "tcp loopback (accept, send+write/recv+read)",
    "datagram socketpair (send/recv)",
};

struct chan {
    enum chan_type type;
    int index;
    int wfd, rfd, listener;
    uint64_t key;
    uint64_t total;    /* bytes (streams) or messages (datagrams) */
    struct target *wt, *rt;
    uint64_t wbytes, wsum, rbytes, rsum, messages;
    _Atomic bool bad; /* either side gave up: the other stops too */
};

static struct chan chans[MAX_CHANNELS];
static int chan_count;

/* One write-side call of whatever kind the channel uses; returns what the call returned. */
static ssize_t chan_write(struct chan *c, const unsigned char *p, size_t n, struct rng *r)
{
    uint64_t how = next(r);
    switch (c->type) {
    case CH_PIPE:
        return write(c->wfd, p, n);
    case CH_PIPE_VEC: {
        struct iovec iov[3];
        size_t a = n / 3, b = n / 3;
        iov[0] = (struct iovec){(void *)p, a};
        iov[1] = (struct iovec){(void *)(p + a), b};
        iov[2] = (struct iovec){(void *)(p + a + b), n - a - b};
        if (how & 1)
            return writev(c->wfd, iov, 3);
        iov[0].iov_len = n;
        return writev(c->wfd, iov, 1);
    }
    case CH_STREAM:
        return send(c->wfd, p, n, 0);
    case CH_STREAM_MSG: {
        if (how & 1)
            return sendto(c->wfd, p, n, 0, NULL, 0);
        struct iovec iov[2] = {{(void *)p, n / 2}, {(void *)(p + n / 2), n - n / 2}};
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
        return sendmsg(c->wfd, &m, 0);
    }
    case CH_TCP:
        return how & 1 ? send(c->wfd, p, n, MSG_NOSIGNAL) : write(c->wfd, p, n);
    default:
        return -1;
    }
}

static ssize_t chan_read(struct chan *c, unsigned char *p, size_t n, struct rng *r)
{
    uint64_t how = next(r);
    switch (c->type) {
    case CH_PIPE:
        return read(c->rfd, p, n);
    case CH_PIPE_VEC: {
        struct iovec iov[2] = {{p, n / 2}, {p + n / 2, n - n / 2}};
        return readv(c->rfd, iov, 2);
    }
    case CH_STREAM:
        return recv(c->rfd, p, n, how % 4 == 0 ? MSG_WAITALL : 0);
    case CH_STREAM_MSG: {
        if (how & 1)
            return recvfrom(c->rfd, p, n, 0, NULL, NULL);
        struct iovec iov[2] = {{p, n / 2}, {p + n / 2, n - n / 2}};
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
        return recvmsg(c->rfd, &m, 0);
    }
    case CH_TCP:
        return how & 1 ? recv(c->rfd, p, n, 0) : read(c->rfd, p, n);
    default:
        return -1;
    }
}

static void *stream_writer(void *arg)
{
    struct chan *c = arg;
    thread_begin(c->wt);
    struct rng r = {c->key ^ 0x77};
    unsigned char *buf = malloc(MAX_CHUNK);
    uint64_t off = 0, sum = 0;
    while (off < c->total && !c->bad) {
        size_t n = chunk_size(&r);
        if (n > c->total - off)
            n = (size_t)(c->total - off);
        fill(c->key, off, buf, n);
        for (size_t done = 0; done < n;) {
            ssize_t w = chan_write(c, buf + done, n - done, &r);
            if (w < 0 && errno == EINTR) {
                note_eintr();
                continue;
            }
            if (w <= 0) {
                fail("%s %d: write side: %zd (%s) at offset %llu", chan_names[c->type], c->index, w,
                     strerror(errno), (unsigned long long)(off + done));
                c->bad = true;
                break;
            }
            sum = fnv1a(buf + done, (size_t)w, sum);
            done += (size_t)w;
        }
        off += n;
    }
    c->wbytes = off;
    c->wsum = sum;
    close(c->wfd); /* end of stream */
    free(buf);
    thread_end(c->wt);
    return NULL;
}

static void *stream_reader(void *arg)
{
    struct chan *c = arg;
    thread_begin(c->rt);
    struct rng r = {c->key ^ 0x88};
    unsigned char *buf = malloc(MAX_CHUNK), *want = malloc(MAX_CHUNK);
    uint64_t off = 0, sum = 0;
    if (c->type == CH_TCP) {
        int s;
        while ((s = accept(c->listener, NULL, NULL)) < 0 && errno == EINTR)
            note_eintr();
        if (s < 0) {
            fail("accept: %s", strerror(errno));
            c->bad = true;
        }
        c->rfd = s;
        close(c->listener);
    }
    while (!c->bad) {
        size_t n = chunk_size(&r);
        ssize_t got = chan_read(c, buf, n, &r);
        if (got < 0 && errno == EINTR) {
            note_eintr();
            continue;
        }
        if (got < 0) {
            fail("%s %d: read side: %s at offset %llu", chan_names[c->type], c->index, strerror(errno),
                 (unsigned long long)off);
            c->bad = true;
            break;
        }
        if (got == 0)
            break;
        fill(c->key, off, want, (size_t)got);
        if (memcmp(buf, want, (size_t)got)) {
            size_t i = 0;
            while (buf[i] == want[i])
                i++;
            fail("%s %d: byte at offset %llu is wrong", chan_names[c->type], c->index,
                 (unsigned long long)(off + i));
            c->bad = true;
        }
        sum = fnv1a(buf, (size_t)got, sum);
        off += (uint64_t)got;
    }
    c->rbytes = off;
    c->rsum = sum;
    close(c->rfd);
    free(buf);
    free(want);
    thread_end(c->rt);
    return NULL;
}

/* Datagram message m: its size and where its bytes start in the channel's stream. */
static size_t dgram_size(uint64_t key, uint64_t m)
{
    return 1 + mix(key ^ (m * 0x51ed27ULL)) % MAX_DGRAM;
}

static void *dgram_writer(void *arg)
{
    struct chan *c = arg;
    thread_begin(c->wt);
    unsigned char buf[MAX_DGRAM];
    uint64_t off = 0, sum = 0;
    for (uint64_t m = 0; m < c->total && !c->bad; m++) {
        size_t n = dgram_size(c->key, m);
        fill(c->key, off, buf, n);
        ssize_t w;
        while ((w = send(c->wfd, buf, n, 0)) < 0 && errno == EINTR)
            note_eintr();
        if (w != (ssize_t)n) {
            fail("datagram %d: send of message %llu: %zd (%s)", c->index, (unsigned long long)m, w,
                 strerror(errno));
            c->bad = true;
            break;
        }
        sum = fnv1a(buf, n, sum);
        off += n;
    }
    c->wbytes = off;
    c->wsum = sum;
    thread_end(c->wt);
    return NULL;
}

static void *dgram_reader(void *arg)
{
    struct chan *c = arg;
    thread_begin(c->rt);
    unsigned char buf[MAX_DGRAM + 1], want[MAX_DGRAM];
    uint64_t off = 0, sum = 0, m = 0;
    for (; m < c->total && !c->bad; m++) {
        size_t n = dgram_size(c->key, m);
        ssize_t got;
        while ((got = recv(c->rfd, buf, sizeof(buf), 0)) < 0 && errno == EINTR)
            note_eintr();
        fill(c->key, off, want, n);
        if (got != (ssize_t)n || memcmp(buf, want, n)) {
            fail("datagram %d: message %llu: got %zd bytes, expected %zu%s", c->index, (unsigned long long)m,
                 got, n, got == (ssize_t)n ? " (contents differ)" : "");
            c->bad = true;
            break;
        }
        sum = fnv1a(buf, n, sum);
        off += n;
    }
    c->messages = m;
    c->rbytes = off;
    c->rsum = sum;
    thread_end(c->rt);
    return NULL;
}

/* ---- regular-file regions ----------------------------------------------------------------------------- */

#define MAX_REGIONS 8
struct region {
    int index;
    int fd;
    uint64_t key, base, size;
    struct target *t;
    uint64_t wsum, rsum;
};
static struct region regions[MAX_REGIONS];
static int region_count;
static int file_fd;

/* A regular file never returns EINTR or a short count here (no fatal signal, no full disk). */
static void file_anomaly(const char *what, struct region *g, long r, uint64_t off)
{
    if (r < 0 && errno == EINTR)
        note_eintr();
    atomic_fetch_add(&file_anomalies, 1);
    fail("file region %d: %s at %llu returned %ld (%s)", g->index, what, (unsigned long long)off, r,
         r < 0 ? strerror(errno) : "short");
}

static void region_write(struct region *g, uint64_t off, size_t n, unsigned char *buf, struct rng *r)
{
    fill(g->key, off - g->base, buf, n);
    for (size_t done = 0; done < n;) {
        size_t left = n - done;
        ssize_t w;
        uint64_t how = next(r) % 3;
        if (how == 0) {
            w = pwrite(g->fd, buf + done, left, (off_t)(off + done));
        } else {
            struct iovec iov[2] = {{buf + done, left / 2}, {buf + done + left / 2, left - left / 2}};
            w = how == 1 ? pwritev(g->fd, iov, 2, (off_t)(off + done)) : pwritev2(g->fd, iov, 2, (off_t)(off + done), 0);
        }
        if (w != (ssize_t)left) {
            file_anomaly("pwrite", g, w, off + done);
            if (w < 0 && errno == EINTR)
                continue; /* what a careful program does, so the rest of the run stays meaningful */
            if (w <= 0)
                return;
        }
        done += (size_t)w;
    }
}

static void region_read(struct region *g, uint64_t off, size_t n, unsigned char *buf, struct rng *r)
{
    for (size_t done = 0; done < n;) {
        size_t left = n - done;
        ssize_t got;
        if (next(r) & 1) {
            got = pread(g->fd, buf + done, left, (off_t)(off + done));
        } else {
            struct iovec iov[2] = {{buf + done, left / 2}, {buf + done + left / 2, left - left / 2}};
            got = preadv(g->fd, iov, 2, (off_t)(off + done));
        }
        if (got != (ssize_t)left) {
            file_anomaly("pread", g, got, off + done);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                memset(buf + done, 0, left);
                return;
            }
        }
        done += (size_t)got;
    }
}

static void *region_worker(void *arg)
{
    struct region *g = arg;
    thread_begin(g->t);
    struct rng r = {g->key ^ 0x99};
    unsigned char *buf = malloc(MAX_CHUNK), *want = malloc(MAX_CHUNK);
    /* Pass 1: the whole region in order, in chunks of every size, a data sync now and then. */
    uint64_t sum = 0, end = g->base + g->size;
    int chunks = 0;
    for (uint64_t off = g->base; off < end;) {
        size_t n = chunk_size(&r);
        if (n > end - off)
            n = (size_t)(end - off);
        region_write(g, off, n, buf, &r);
        sum = fnv1a(buf, n, sum);
        off += n;
        if (++chunks % 8 == 0 && (next(&r) & 1 ? fdatasync(g->fd) : fsync(g->fd)))
            file_anomaly("fsync", g, -1, off);
    }
    g->wsum = sum;
    /* Pass 2: rewrite random ranges with the same bytes, and check random ranges. */
    for (int i = 0; i < 24; i++) {
        size_t n = chunk_size(&r);
        if (n > g->size)
            n = (size_t)g->size;
        uint64_t off = g->base + below(&r, g->size - n + 1);
        if (i & 1) {
            region_write(g, off, n, buf, &r);
        } else {
            region_read(g, off, n, buf, &r);
            fill(g->key, off - g->base, want, n);
            if (memcmp(buf, want, n))
                fail("file region %d: range at %llu reads back wrong", g->index, (unsigned long long)off);
        }
    }
    /* Pass 3: read it all back. */
    sum = 0;
    for (uint64_t off = g->base; off < end;) {
        size_t n = chunk_size(&r);
        if (n > end - off)
            n = (size_t)(end - off);
        region_read(g, off, n, buf, &r);
        fill(g->key, off - g->base, want, n);
        if (memcmp(buf, want, n))
            fail("file region %d: chunk at %llu reads back wrong", g->index, (unsigned long long)off);
        sum = fnv1a(buf, n, sum);
        off += n;
    }
    g->rsum = sum;
    free(buf);
    free(want);
    thread_end(g->t);
    return NULL;
}

/* ---- cancellation of blocked readers ------------------------------------------------------------------ */

struct blocked_reader {
    int fd;
    bool socket;
    atomic_int tid;
    atomic_long result;
};

static void *blocking_reader(void *arg)
{
    struct blocked_reader *b = arg;
    char buf[256];
    atomic_store(&b->tid, (int)gettid());
    /* Nothing is ever written before this thread is cancelled: the call can only end by cancellation. */
    long r = b->socket ? recv(b->fd, buf, sizeof(buf), 0) : read(b->fd, buf, sizeof(buf));
    atomic_store(&b->result, r);
    return NULL;
}

/* True once the thread sleeps in a read-like call (libc's read/recvfrom or the ring's io_uring_enter).
 * Only makes the test hit the blocked case more often: a cancel that comes earlier acts at the call. */
static bool sleeping_in_call(int tid)
{
    char path[64], line[512];
    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char *ok = fgets(line, sizeof(line), f);
    fclose(f);
    char *close_paren = ok ? strrchr(line, ')') : NULL;
    if (!close_paren || close_paren[1] != ' ' || close_paren[2] != 'S')
        return false;
    snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
    f = fopen(path, "r");
    if (!f)
        return false;
    long nr = -1;
    if (fscanf(f, "%ld", &nr) != 1)
        nr = -1;
    fclose(f);
    return nr == SYS_read || nr == SYS_recvfrom || nr == SYS_io_uring_enter;
}

static int cancel_rounds, cancel_ended_cancelled, cancel_reuse_intact;
static uint64_t cancel_key;

static void *canceller(void *arg)
{
    struct target *t = arg;
    thread_begin(t);
    int fds[2] = {-1, -1};
    bool socket = false;
    unsigned char buf[8192], want[8192];
    for (int i = 0; i < cancel_rounds && !my_failures; i++) {
        /* A new channel every few rounds (so descriptor numbers are reused too), else the same one. */
        if (i % 5 == 0) {
            if (fds[0] >= 0) {
                close(fds[0]);
                close(fds[1]);
            }
            socket = (i / 5) % 2 == 1;
            if (socket ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds))
                die("pipe/socketpair: %s", strerror(errno));
        }
        struct blocked_reader b = {.fd = fds[0], .socket = socket, .result = -2};
        pthread_t th;
        if (pthread_create(&th, NULL, blocking_reader, &b))
            die("pthread_create: %s", strerror(errno));
        for (int spin = 0; spin < 20000; spin++) {
            int tid = atomic_load(&b.tid);
            if (tid && sleeping_in_call(tid))
                break;
            struct timespec pause = {0, 100 * 1000};
            nanosleep(&pause, NULL);
        }
        pthread_cancel(th);
        void *ret = NULL;
        int jr = join_within(th, &ret, JOIN_BOUND_S);
        if (jr) {
            fail("cancellation round %d: the cancelled reader did not end within %d s (%s)", i, JOIN_BOUND_S,
                 strerror(jr));
            break;
        }
        if (ret == PTHREAD_CANCELED)
            cancel_ended_cancelled++;
        else
            fail("cancellation round %d: the reader was not cancelled but returned %ld", i, atomic_load(&b.result));
        /* Reuse: everything written now must arrive, in order, none of it taken by the cancelled call. */
        size_t n = 1 + (size_t)(mix(cancel_key ^ (uint64_t)i) % sizeof(buf));
        fill(cancel_key, (uint64_t)i << 20, buf, n);
        size_t done = 0;
        while (done < n) {
            ssize_t w = socket ? send(fds[1], buf + done, n - done, 0) : write(fds[1], buf + done, n - done);
            if (w < 0 && errno == EINTR) {
                note_eintr();
                continue;
            }
            if (w <= 0)
                break;
            done += (size_t)w;
        }
        memcpy(want, buf, n);
        size_t got = 0;
        while (got < n && wait_readable(fds[0], DATA_BOUND_MS)) {
            ssize_t r = socket ? recv(fds[0], buf + got, n - got, 0) : read(fds[0], buf + got, n - got);
            if (r < 0 && errno == EINTR) {
                note_eintr();
                continue;
            }
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        int left = -1;
        ioctl(fds[0], FIONREAD, &left);
        if (done == n && got == n && !memcmp(buf, want, n) && left == 0)
            cancel_reuse_intact++;
        else
            fail("cancellation round %d: reused channel: wrote %zu of %zu, read back %zu%s, %d more waiting", i,
                 done, n, got, got == n && memcmp(buf, want, n) ? " (different bytes)" : "", left);
    }
    if (fds[0] >= 0) {
        close(fds[0]);
        close(fds[1]);
    }
    thread_end(t);
    return NULL;
}

/* ---- forked children ----------------------------------------------------------------------------------- */

static int fork_rounds, fork_exited_ok;
static uint64_t fork_bytes, fork_sum, fork_key;

static bool child_round_trips(void)
{
    int p[2], s[2];
    char in[16];
    if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, s))
        return false;
    bool ok = write(p[1], "child", 5) == 5 && read(p[0], in, sizeof(in)) == 5 && !memcmp(in, "child", 5) &&
              send(s[0], "child", 5, 0) == 5 && recv(s[1], in, sizeof(in), 0) == 5 && !memcmp(in, "child", 5);
    close(p[0]);
    close(p[1]);
    close(s[0]);
    close(s[1]);
    return ok;
}

/* In the child: round trips, then the payload in chunks of every size; never returns. */
static void __attribute__((noreturn)) child(int out, uint64_t key, uint64_t size, unsigned char *buf)
{
    struct rng r = {key};
    bool ok = child_round_trips();
    for (uint64_t off = 0; ok && off < size;) {
        size_t n = chunk_size(&r);
        if (n > size - off)
            n = (size_t)(size - off);
        fill(key, off, buf, n);
        for (size_t done = 0; ok && done < n;) {
            ssize_t w = write(out, buf + done, n - done);
            if (w < 0 && errno == EINTR)
                continue;
            ok = w > 0;
            done += w > 0 ? (size_t)w : 0;
        }
        off += n;
    }
    ok = ok && child_round_trips();
    _exit(ok ? 0 : 3);
}

static void *forker(void *arg)
{
    struct target *t = arg;
    thread_begin(t);
    unsigned char *buf = malloc(MAX_CHUNK), *want = malloc(MAX_CHUNK);
    for (int i = 0; i < fork_rounds && !my_failures; i++) {
        uint64_t key = fork_key ^ ((uint64_t)i * 0x10001ULL), size = 1 + mix(key) % (300 * 1024);
        int p[2];
        if (pipe(p))
            die("pipe: %s", strerror(errno));
        pid_t pid = fork();
        if (pid < 0)
            die("fork: %s", strerror(errno));
        if (pid == 0) {
            close(p[0]);
            child(p[1], key, size, buf);
        }
        close(p[1]);
        uint64_t off = 0, sum = 0;
        struct rng r = {key ^ 0x1234};
        for (;;) {
            if (!wait_readable(p[0], DATA_BOUND_MS)) {
                fail("fork round %d: the child's data stopped after %llu bytes", i, (unsigned long long)off);
                kill(pid, SIGKILL);
                break;
            }
            ssize_t got = read(p[0], buf, chunk_size(&r));
            if (got < 0 && errno == EINTR) {
                note_eintr();
                continue;
            }
            if (got <= 0)
                break;
            fill(key, off, want, (size_t)got);
            if (memcmp(buf, want, (size_t)got))
                fail("fork round %d: payload byte near %llu is wrong", i, (unsigned long long)off);
            sum = fnv1a(buf, (size_t)got, sum);
            off += (uint64_t)got;
        }
        close(p[0]);
        if (off != size)
            fail("fork round %d: %llu of %llu payload bytes arrived", i, (unsigned long long)off,
                 (unsigned long long)size);
        int status = -1;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            fork_exited_ok++;
        else
            fail("fork round %d: child status %#x", i, status);
        fork_bytes += off;
        fork_sum = fnv1a(&sum, sizeof(sum), fork_sum);
    }
    free(buf);
    free(want);
    thread_end(t);
    return NULL;
}

/* ---- watchdog --------------------------------------------------------------------------------------------- */

static void *watchdog(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    struct timespec t = {WATCHDOG_S, 0};
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &t, &t) == EINTR)
        ;
    fprintf(stderr, "stress: watchdog: the work did not finish within %d s\n", WATCHDOG_S);
    _exit(2);
}

/* ---- main ---------------------------------------------------------------------------------------------------- */

static struct target *new_target(enum sigkind kind)
{
    if (target_count == MAX_TARGETS)
        die("too many threads");
    struct target *t = &targets[target_count++];
    t->kind = kind;
    atomic_store(&t->alive, 1);
    return t;
}

static void open_tcp_pair(struct chan *c)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4) ||
        getsockname(l, (struct sockaddr *)&a, &len))
        die("tcp listener: %s", strerror(errno));
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, len))
        die("tcp connect: %s", strerror(errno));
    c->listener = l;
    c->wfd = s;
    c->rfd = -1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: stress SEED [SCALE [DIR]]");
    uint64_t seed = strtoull(argv[1], NULL, 10);
    int scale = argc > 2 ? atoi(argv[2]) : 1;
    const char *dir = argc > 3 ? argv[3] : "/tmp";
    if (scale < 1 || scale > 100)
        die("SCALE must be 1..100");
    struct rng shape = {seed};

    install_handler(SIGUSR1, handler, SA_RESTART);
    install_handler(SIGUSR2, handler, 0);
    install_handler(SIGCHLD, handler, SA_RESTART | SA_NOCLDSTOP);
    signal(SIGPIPE, SIG_IGN); /* a side that gave up shows as EPIPE, reported as such */

    pthread_t dog;
    pthread_create(&dog, NULL, watchdog, NULL);

    /* Shape: channels of every kind, their sizes, which signal each thread gets. */
    static const int per_type[CH_TYPES] = {2, 1, 1, 1, 1, 1};
    for (int type = 0; type < CH_TYPES; type++) {
        int n = per_type[type] + (int)below(&shape, 2);
        for (int k = 0; k < n; k++) {
            struct chan *c = &chans[chan_count];
            c->type = (enum chan_type)type;
            c->index = chan_count++;
            c->key = mix(seed ^ (uint64_t)(c->index + 1) * 0xabcdef12345ULL);
            c->total = type == CH_DGRAM ? (uint64_t)scale * (8000 + below(&shape, 8000))
                                        : (uint64_t)scale * ((6 << 20) + below(&shape, 10 << 20));
            c->listener = -1;
            int fds[2];
            if (type == CH_TCP) {
                open_tcp_pair(c);
            } else {
                int r = type <= CH_PIPE_VEC ? pipe(fds)
                        : socketpair(AF_UNIX, type == CH_DGRAM ? SOCK_DGRAM : SOCK_STREAM, 0, fds);
                if (r)
                    die("pipe/socketpair: %s", strerror(errno));
                c->rfd = fds[0];
                c->wfd = fds[1];
            }
            c->wt = new_target(below(&shape, 2) ? SIG_RESTART : SIG_INTR);
            c->rt = new_target(below(&shape, 2) ? SIG_RESTART : SIG_INTR);
        }
    }
    file_fd = open(dir, O_TMPFILE | O_RDWR, 0600);
    if (file_fd < 0)
        die("O_TMPFILE in %s: %s", dir, strerror(errno));
    region_count = 3 + (int)below(&shape, 2);
    uint64_t base = 0;
    for (int i = 0; i < region_count; i++) {
        struct region *g = &regions[i];
        g->index = i;
        g->fd = file_fd;
        g->key = mix(seed ^ 0xf11e ^ (uint64_t)i << 32);
        g->base = base;
        g->size = (uint64_t)scale * ((2 << 20) + below(&shape, 4 << 20));
        base += g->size;
        g->t = new_target(i % 2 ? SIG_RESTART : SIG_INTR);
    }
    cancel_rounds = 150 * scale;
    cancel_key = mix(seed ^ 0xca9ce1);
    struct target *cancel_target = new_target(below(&shape, 2) ? SIG_RESTART : SIG_INTR);
    fork_rounds = 40 * scale;
    fork_key = mix(seed ^ 0xf0f0f0);
    struct target *fork_target = new_target(below(&shape, 2) ? SIG_RESTART : SIG_INTR);

    printf("stress seed %llu scale %d: %d channels, %d file regions, %d cancellations, %d forks\n",
           (unsigned long long)seed, scale, chan_count, region_count, cancel_rounds, fork_rounds);
    fflush(stdout);

    /* Start every worker, then the signals. */
    for (int i = 0; i < chan_count; i++) {
        struct chan *c = &chans[i];
        bool dg = c->type == CH_DGRAM;
        if (pthread_create(&c->wt->thread, NULL, dg ? dgram_writer : stream_writer, c) ||
            pthread_create(&c->rt->thread, NULL, dg ? dgram_reader : stream_reader, c))
            die("pthread_create: %s", strerror(errno));
    }
    for (int i = 0; i < region_count; i++)
        if (pthread_create(&regions[i].t->thread, NULL, region_worker, &regions[i]))
            die("pthread_create: %s", strerror(errno));
    if (pthread_create(&cancel_target->thread, NULL, canceller, cancel_target) ||
        pthread_create(&fork_target->thread, NULL, forker, fork_target))
        die("pthread_create: %s", strerror(errno));
    pthread_t sig_thread;
    if (pthread_create(&sig_thread, NULL, sender, &seed))
        die("pthread_create: %s", strerror(errno));

    /* The sender may signal a thread until it has joined: wait for the work, stop it, then join. */
    for (int i = 0; i < target_count; i++)
        while (atomic_load(&targets[i].alive)) {
            struct timespec pause = {0, 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    atomic_store(&sender_stop, 1);
    pthread_join(sig_thread, NULL);
    for (int i = 0; i < target_count; i++)
        pthread_join(targets[i].thread, NULL);

    /* Everything that must be the same with and without the shim. */
    for (int i = 0; i < chan_count; i++) {
        struct chan *c = &chans[i];
        if (c->type == CH_DGRAM)
            printf("channel %d, %s: messages %llu bytes %llu written fnv %016llx read fnv %016llx\n", i,
                   chan_names[c->type], (unsigned long long)c->messages, (unsigned long long)c->rbytes,
                   (unsigned long long)c->wsum, (unsigned long long)c->rsum);
        else
            printf("channel %d, %s: bytes %llu written fnv %016llx read fnv %016llx\n", i, chan_names[c->type],
                   (unsigned long long)c->rbytes, (unsigned long long)c->wsum, (unsigned long long)c->rsum);
        if (c->wbytes != c->rbytes || c->wsum != c->rsum)
            fail("channel %d: %llu bytes written, %llu read, checksums %s", i, (unsigned long long)c->wbytes,
                 (unsigned long long)c->rbytes, c->wsum == c->rsum ? "equal" : "differ");
    }
    uint64_t file_sum = 0;
    unsigned char *buf = malloc(MAX_CHUNK);
    for (uint64_t off = 0; off < base;) {
        size_t n = base - off < MAX_CHUNK ? (size_t)(base - off) : MAX_CHUNK;
        ssize_t got = pread(file_fd, buf, n, (off_t)off);
        if (got <= 0) {
            fail("final read of the file at %llu: %zd (%s)", (unsigned long long)off, got, strerror(errno));
            break;
        }
        file_sum = fnv1a(buf, (size_t)got, file_sum);
        off += (uint64_t)got;
    }
    free(buf);
    for (int i = 0; i < region_count; i++) {
        struct region *g = &regions[i];
        printf("file region %d: bytes %llu written fnv %016llx read back fnv %016llx\n", i,
               (unsigned long long)g->size, (unsigned long long)g->wsum, (unsigned long long)g->rsum);
        if (g->wsum != g->rsum)
            fail("file region %d: checksums differ", i);
    }
    printf("file: bytes %llu fnv %016llx\n", (unsigned long long)base, (unsigned long long)file_sum);
    printf("cancelled blocked readers: %d, ended cancelled %d, reused channel intact %d\n", cancel_rounds,
           cancel_ended_cancelled, cancel_reuse_intact);
    printf("forked children: %d, exited 0: %d, payload bytes %llu fnv %016llx\n", fork_rounds, fork_exited_ok,
           (unsigned long long)fork_bytes, (unsigned long long)fork_sum);
    printf("EINTR in threads whose handlers all restart: %ld\n", atomic_load(&restart_eintr));
    printf("EINTR or short counts from regular-file calls: %ld\n", atomic_load(&file_anomalies));
    printf("failed round trips inside signal handlers: %ld\n", atomic_load(&handler_failures));
    if (atomic_load(&restart_eintr) || atomic_load(&handler_failures))
        fail("EINTR where handlers restart, or a handler's round trip failed");
    if (getenv("STRESS_VERBOSE"))
        fprintf(stderr, "stress: signals sent %ld, handled %ld, EINTR in interrupting threads %ld\n",
                atomic_load(&signals_sent), atomic_load(&handled), atomic_load(&intr_eintr));
    int bad = atomic_load(&failures);
    printf("result: %s\n", bad ? "FAILED" : "ok");
    return bad ? 1 : 0;
}
