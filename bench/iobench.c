/* iobench: one micro-benchmark, measured once, for bench/run.
 *
 * `iobench libc TEST ITERS [ARG]` makes the calls through libc: run as it is it measures libc, run with
 * LD_PRELOAD=build/libiou_shim.so it measures the shim (same binary, same loop). `iobench uring ...` makes
 * the same synchronous calls through liburing directly, the best way this kernel allows (the floor):
 * IORING_SETUP_SINGLE_ISSUER|DEFER_TASKRUN, registered ring fd, registered files with IOSQE_FIXED_FILE,
 * one request per io_uring_enter, then a peek, waiting only if the completion is not there yet. That mode
 * refuses to run under the shim (the shim would see none of its I/O but its close() calls).
 * `iobench sqpoll ...` is that floor with IORING_SETUP_SQPOLL instead: one kernel submission thread shared
 * by every thread's ring (IORING_SETUP_ATTACH_WQ), and the caller polling the completion queue for up to
 * 20 us before it waits in the kernel.
 *
 * Prints one line of key=value pairs on stdout: ns=<ns per op> for the timing tests, KiB figures for
 * `mem`. Exit 0, 77 when the test cannot run here (says why on stderr), 1 on failure. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define FILE_IO 512    /* bytes per pread/pwrite and per /dev/zero, /dev/null call */
#define FLOOR_DEPTH 64 /* the hand-written ring's depth */
#define BATCHES 5      /* timed batches per run; the fastest is reported */

static bool use_ring;   /* modes `uring` and `sqpoll` */
static bool use_sqpoll; /* mode `sqpoll`: the floor's rings share one kernel submission thread */
/* IOBENCH_PLAIN_FILES=1: the floor uses plain descriptors, not registered files, as the shim does in a
 * process with more than one thread: what registration buys. */
static bool plain_files;
/* IOBENCH_RING_FLAGS=coop|clamp|plain|single: the floor's ring without SINGLE_ISSUER|DEFER_TASKRUN
 * (COOP_TASKRUN|CLAMP, CLAMP only, or no flag), as a ring other threads can reach must be: what those
 * flags buy; `single` keeps SINGLE_ISSUER without DEFER_TASKRUN. Unset: the best the kernel accepts. */
static const char *ring_flags;
#define SQPOLL_IDLE_MS 1000
#define SQPOLL_SPIN_NS 20000 /* how long the caller polls the CQ before it waits in the kernel */

static void die(const char *what)
{
    fprintf(stderr, "iobench: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void skip(const char *why)
{
    fprintf(stderr, "iobench: skipped: %s\n", why);
    exit(77);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__)
    __builtin_ia32_pause();
#else
    __asm__ volatile("yield");
#endif
}

static double cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
}

/* ---- the floor: one ring per thread, files registered, one request per enter ---- */

struct floor {
    struct io_uring ring;
    int files[8]; /* program fd -> fixed index is its position here */
    int nfiles;
};
/* Per thread, in TLS rather than malloc: a thread's first malloc would make it an arena, and the memory
 * test would count that. */
static __thread struct floor floor_tls;
static __thread struct floor *fl;
static const char *floor_setup_name = "none";

/* Mode `sqpoll`: the first ring (IORING_SETUP_SQPOLL) starts the kernel submission thread; every later
 * ring attaches to it (IORING_SETUP_ATTACH_WQ with the first ring's descriptor). */
static int sqpoll_anchor = -1;
static pthread_mutex_t sqpoll_lock = PTHREAD_MUTEX_INITIALIZER;

static void floor_init_sqpoll(void)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SQPOLL;
    p.sq_thread_idle = SQPOLL_IDLE_MS;
    pthread_mutex_lock(&sqpoll_lock);
    if (sqpoll_anchor >= 0) {
        p.flags |= IORING_SETUP_ATTACH_WQ;
        p.wq_fd = (unsigned)sqpoll_anchor;
    }
    int r = io_uring_queue_init_params(FLOOR_DEPTH, &fl->ring, &p);
    if (r == 0 && sqpoll_anchor < 0)
        sqpoll_anchor = fl->ring.ring_fd;
    pthread_mutex_unlock(&sqpoll_lock);
    if (r == -EPERM || r == -EINVAL)
        skip("the kernel refuses IORING_SETUP_SQPOLL here");
    if (r < 0) {
        errno = -r;
        die("io_uring_queue_init_params (sqpoll)");
    }
    floor_setup_name = p.flags & IORING_SETUP_ATTACH_WQ ? "sqpoll+attach_wq" : "sqpoll";
}

/* One set-up attempt of the floor's ring; names the set-up when the kernel accepts it. 0 or -errno. */
static int floor_try(unsigned flags, const char *name)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = flags;
    int r = io_uring_queue_init_params(FLOOR_DEPTH, &fl->ring, &p);
    if (r == 0)
        floor_setup_name = name;
    return r;
}

static void floor_init(const int *fds, int n)
{
    static const struct {
        unsigned flags;
        const char *name;
    } steps[] = {
        {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "single_issuer+defer_taskrun"},
        {IORING_SETUP_COOP_TASKRUN, "coop_taskrun"},
        {0, "plain"},
    };
    fl = &floor_tls;
    int r = use_sqpoll ? 0 : -EINVAL;
    if (use_sqpoll)
        floor_init_sqpoll();
    static const struct {
        unsigned flags;
        const char *name;
    } asked[] = {
        {IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CLAMP, "coop"},
        {IORING_SETUP_CLAMP, "clamp"},
        {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_CLAMP, "single"}, /* which of the two flags pays */
        {0, "plain"},
    };
    for (unsigned i = 0; ring_flags && !use_sqpoll && i < sizeof(asked) / sizeof(asked[0]); i++) {
        if (strcmp(ring_flags, asked[i].name))
            continue;
        r = floor_try(asked[i].flags, asked[i].name);
        if (r == -EINVAL)
            skip("the kernel refuses the IOBENCH_RING_FLAGS set-up");
    }
    for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]) && r == -EINVAL; i++)
        r = floor_try(steps[i].flags, steps[i].name);
    if (r < 0) {
        errno = -r;
        die("io_uring_queue_init_params");
    }
    if (io_uring_register_ring_fd(&fl->ring) != 1)
        floor_setup_name = "unregistered-ring-fd"; /* before 5.18: still measured, but say so */
    for (int i = 0; i < n; i++)
        fl->files[i] = fds[i];
    fl->nfiles = n;
    if (plain_files)
        return;
    r = io_uring_register_files(&fl->ring, fds, (unsigned)n);
    if (r < 0) {
        errno = -r;
        die("io_uring_register_files");
    }
}

static int fixed(int fd)
{
    if (plain_files)
        return fd;
    for (int i = 0; i < fl->nfiles; i++)
        if (fl->files[i] == fd)
            return i;
    fprintf(stderr, "iobench: fd %d not registered\n", fd);
    exit(1);
}

static struct io_uring_sqe *sqe_for(void)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&fl->ring);
    if (!sqe) {
        fprintf(stderr, "iobench: ring full\n");
        exit(1);
    }
    return sqe;
}

/* Submits the one prepared request and returns its result as the system call would (-1/errno). */
static long floor_run(struct io_uring_sqe *sqe)
{
    struct io_uring_cqe *cqe;
    if (!plain_files)
        sqe->flags |= IOSQE_FIXED_FILE;
    int r = io_uring_submit(&fl->ring);
    /* With SQPOLL the count is what the submission thread has not consumed yet: 0 or 1 or more. */
    if (use_sqpoll ? r < 0 : r != 1) {
        errno = r < 0 ? -r : EIO;
        die("io_uring_submit");
    }
    if (use_sqpoll && io_uring_peek_cqe(&fl->ring, &cqe) != 0) {
        /* The submission thread picks the request up asynchronously: poll for a while first. */
        double until = now_ns() + SQPOLL_SPIN_NS;
        for (unsigned i = 1; io_uring_peek_cqe(&fl->ring, &cqe) != 0; i++) {
            cpu_relax();
            if (!(i & 63) && now_ns() > until)
                break;
        }
    }
    if (io_uring_peek_cqe(&fl->ring, &cqe) != 0) {
        while ((r = io_uring_wait_cqe(&fl->ring, &cqe)) == -EINTR)
            ;
        if (r < 0) {
            errno = -r;
            die("io_uring_wait_cqe");
        }
    }
    long res = cqe->res;
    io_uring_cqe_seen(&fl->ring, cqe);
    if (res < 0) {
        errno = (int)-res;
        return -1;
    }
    return res;
}

/* ---- the calls, through libc or through the floor ---- */

static ssize_t x_read(int fd, void *buf, size_t n)
{
    if (!use_ring)
        return read(fd, buf, n);
    struct io_uring_sqe *sqe = sqe_for();
    io_uring_prep_read(sqe, fixed(fd), buf, (unsigned)n, (uint64_t)-1);
    return floor_run(sqe);
}

static ssize_t x_write(int fd, const void *buf, size_t n)
{
    if (!use_ring)
        return write(fd, buf, n);
    struct io_uring_sqe *sqe = sqe_for();
    io_uring_prep_write(sqe, fixed(fd), buf, (unsigned)n, (uint64_t)-1);
    return floor_run(sqe);
}

static ssize_t x_pread(int fd, void *buf, size_t n, off_t off)
{
    if (!use_ring)
        return pread(fd, buf, n, off);
    struct io_uring_sqe *sqe = sqe_for();
    io_uring_prep_read(sqe, fixed(fd), buf, (unsigned)n, (uint64_t)off);
    return floor_run(sqe);
}

static ssize_t x_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    if (!use_ring)
        return pwrite(fd, buf, n, off);
    struct io_uring_sqe *sqe = sqe_for();
    io_uring_prep_write(sqe, fixed(fd), buf, (unsigned)n, (uint64_t)off);
    return floor_run(sqe);
}

static ssize_t x_readv(int fd, const struct iovec *iov, int cnt)
{
    if (!use_ring)
        return readv(fd, iov, cnt);
    struct io_uring_sqe *sqe = sqe_for();
    io_uring_prep_readv(sqe, fixed(fd), iov, (unsigned)cnt, (uint64_t)-1);
    return floor_run(sqe);
}

static ssize_t x_writev(int fd, const struct iovec *iov, int cnt)
{
    if (!use_ring)
        return writev(fd, iov, cnt);
    struct io_uring_sqe *sqe = sqe_for();
    io_uring_prep_writev(sqe, fixed(fd), iov, (unsigned)cnt, (uint64_t)-1);
    return floor_run(sqe);
}

static ssize_t x_send(int fd, const void *buf, size_t n)
{
    if (!use_ring)
        return send(fd, buf, n, 0);
    struct io_uring_sqe *sqe = sqe_for();
    io_uring_prep_send(sqe, fixed(fd), buf, n, 0);
    return floor_run(sqe);
}

static ssize_t x_recv(int fd, void *buf, size_t n)
{
    if (!use_ring)
        return recv(fd, buf, n, 0);
    struct io_uring_sqe *sqe = sqe_for();
    io_uring_prep_recv(sqe, fixed(fd), buf, n, 0);
    return floor_run(sqe);
}

static int x_fsync(int fd)
{
    if (!use_ring)
        return fsync(fd);
    struct io_uring_sqe *sqe = sqe_for();
    io_uring_prep_fsync(sqe, fixed(fd), 0);
    return (int)floor_run(sqe);
}

static int x_accept(int fd)
{
    if (!use_ring)
        return accept(fd, NULL, NULL);
    struct io_uring_sqe *sqe = sqe_for();
    io_uring_prep_accept(sqe, fixed(fd), NULL, NULL, 0);
    return (int)floor_run(sqe);
}

/* ---- the tests: each measures ITERS operations after a warm-up ---- */

static void must(long r, long want, const char *what)
{
    if (r != want) {
        if (r >= 0)
            errno = EIO;
        die(what);
    }
}

static char *test_dir(void)
{
    const char *d = getenv("IOBENCH_DIR");
    return strdup(d && *d ? d : ".");
}

static int make_file(size_t size)
{
    char *dir = test_dir();
    char path[4096];
    snprintf(path, sizeof(path), "%s/iobench.%d", dir, (int)getpid());
    free(dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        die(path);
    unlink(path);
    char buf[4096];
    memset(buf, 'x', sizeof(buf));
    for (size_t done = 0; done < size; done += sizeof(buf))
        must(write(fd, buf, sizeof(buf)), sizeof(buf), "write file");
    if (fsync(fd) < 0)
        die("fsync");
    return fd;
}

struct test {
    int fds[4];
    int nfds;
    int listen_fd;
    struct sockaddr_in addr;
    void (*op)(struct test *t);
};

static void op_pair(struct test *t) /* write then read 1 byte: fds[0] read end, fds[1] write end */
{
    char c = 'x';
    must(x_write(t->fds[1], &c, 1), 1, "write");
    must(x_read(t->fds[0], &c, 1), 1, "read");
}

static void op_send_recv(struct test *t)
{
    char c = 'x';
    must(x_send(t->fds[1], &c, 1), 1, "send");
    must(x_recv(t->fds[0], &c, 1), 1, "recv");
}

static void op_vec(struct test *t)
{
    char a[8] = "abcdefg", b[8] = "hijklmn";
    struct iovec iov[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
    must(x_writev(t->fds[1], iov, 2), 16, "writev");
    must(x_readv(t->fds[0], iov, 2), 16, "readv");
}

static void op_zero_read(struct test *t)
{
    char buf[FILE_IO];
    must(x_read(t->fds[0], buf, sizeof(buf)), sizeof(buf), "read /dev/zero");
}

static void op_null_write(struct test *t)
{
    static char buf[FILE_IO];
    must(x_write(t->fds[0], buf, sizeof(buf)), sizeof(buf), "write /dev/null");
}

static void op_pread(struct test *t)
{
    char buf[FILE_IO];
    must(x_pread(t->fds[0], buf, sizeof(buf), 4096), sizeof(buf), "pread");
}

static void op_pwrite(struct test *t)
{
    static char buf[FILE_IO];
    must(x_pwrite(t->fds[0], buf, sizeof(buf), 4096), sizeof(buf), "pwrite");
}

static void op_fsync(struct test *t)
{
    must(x_fsync(t->fds[0]), 0, "fsync");
}

static void op_write_fsync(struct test *t)
{
    static char buf[FILE_IO];
    must(x_pwrite(t->fds[0], buf, sizeof(buf), 0), sizeof(buf), "pwrite");
    must(x_fsync(t->fds[0]), 0, "fsync");
}

static void op_accept(struct test *t)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        die("socket");
    /* Reset on close: no TIME_WAIT, so the loop never runs out of ports. */
    struct linger lg = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    if (connect(s, (struct sockaddr *)&t->addr, sizeof(t->addr)) < 0)
        die("connect");
    int a = x_accept(t->listen_fd);
    if (a < 0)
        die("accept");
    close(s);
    close(a);
}

static void setup(struct test *t, const char *name)
{
    memset(t, 0, sizeof(*t));
    t->listen_fd = -1;
    if (!strcmp(name, "pipe") || !strcmp(name, "vec")) {
        int p[2];
        if (pipe(p) < 0)
            die("pipe");
        t->fds[0] = p[0], t->fds[1] = p[1], t->nfds = 2;
        t->op = name[0] == 'p' ? op_pair : op_vec;
    } else if (!strcmp(name, "unix-rw") || !strcmp(name, "unix-send")) {
        int p[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) < 0)
            die("socketpair");
        t->fds[0] = p[0], t->fds[1] = p[1], t->nfds = 2;
        t->op = !strcmp(name, "unix-rw") ? op_pair : op_send_recv;
    } else if (!strcmp(name, "zero-read") || !strcmp(name, "null-write")) {
        bool zero = name[0] == 'z';
        t->fds[0] = open(zero ? "/dev/zero" : "/dev/null", zero ? O_RDONLY : O_WRONLY);
        if (t->fds[0] < 0)
            die("open device");
        t->nfds = 1;
        t->op = zero ? op_zero_read : op_null_write;
    } else if (!strcmp(name, "pread") || !strcmp(name, "pwrite") || !strcmp(name, "fsync") ||
               !strcmp(name, "write-fsync")) {
        t->fds[0] = make_file(16384);
        t->nfds = 1;
        t->op = !strcmp(name, "pread") ? op_pread : !strcmp(name, "pwrite") ? op_pwrite
              : !strcmp(name, "fsync") ? op_fsync : op_write_fsync;
    } else if (!strcmp(name, "accept")) {
        t->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
        if (t->listen_fd < 0)
            die("socket");
        t->addr.sin_family = AF_INET;
        t->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(t->addr);
        if (bind(t->listen_fd, (struct sockaddr *)&t->addr, len) < 0 || listen(t->listen_fd, 64) < 0 ||
            getsockname(t->listen_fd, (struct sockaddr *)&t->addr, &len) < 0)
            die("listen");
        t->fds[0] = t->listen_fd, t->nfds = 1;
        t->op = op_accept;
    } else {
        fprintf(stderr, "iobench: unknown test %s\n", name);
        exit(1);
    }
    if (use_ring)
        floor_init(t->fds, t->nfds);
}

static void run_loop(struct test *t, long iters)
{
    for (long i = 0; i < iters; i++)
        t->op(t);
}

/* One test in the main thread: ns per op by the wall clock. */
static void run_simple(const char *name, long iters)
{
    struct test t;
    setup(&t, name);
    /* Warm-up (ring set-up, descriptor lookups, punt probes, caches), which also calibrates: without
     * ITERS, as many operations as fit in IOBENCH_TARGET_MS (default 100 ms) are timed. */
    long n = 100;
    double spent;
    for (;;) {
        double w0 = now_ns();
        run_loop(&t, n);
        spent = now_ns() - w0;
        if (spent >= 10e6 || (iters > 0 && n >= iters / 10))
            break;
        n *= 4;
    }
    if (iters <= 0) {
        const char *ms = getenv("IOBENCH_TARGET_MS");
        double target = (ms && atof(ms) > 0 ? atof(ms) : 100) * 1e6;
        iters = (long)(target / (spent / n));
        if (iters < 20 * BATCHES)
            iters = 20 * BATCHES;
    }
    /* The fastest of a few batches: on a shared machine a batch that lost its CPU to another process
     * says nothing about the call. bench/run then takes the median of that over rounds. */
    long per = iters / BATCHES > 0 ? iters / BATCHES : 1;
    double best = 0, total = 0;
    for (int b = 0; b < BATCHES; b++) {
        double t0 = now_ns();
        run_loop(&t, per);
        double ns = (now_ns() - t0) / per;
        total += ns;
        if (b == 0 || ns < best)
            best = ns;
    }
    printf("ns=%.1f mean_ns=%.1f iters=%ld setup=%s\n", best, total / BATCHES, per * BATCHES,
           use_ring ? floor_setup_name : "libc");
}

/* ---- threads: N threads, each pipe write+read on its own pipe; CPU ns per pair ---- */

static pthread_barrier_t ready, go, done;
static long thread_iters;

static void *pipe_thread(void *arg)
{
    (void)arg;
    struct test t;
    setup(&t, "pipe");
    run_loop(&t, thread_iters / 10 + 100);
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&go);
    run_loop(&t, thread_iters);
    pthread_barrier_wait(&done);
    return NULL;
}

/* Starts n threads running fn (argument: the thread's index) that each set up, wait at `ready`, run
 * together from `go` to `done`; measures that span. thread_iters is iters / n. */
static void run_together(int n, long iters, void *(*fn)(void *), double *cpu, double *wall)
{
    pthread_t tid[256];
    if (n < 1 || n > 256)
        skip("thread count out of range");
    thread_iters = iters / n;
    pthread_barrier_init(&ready, NULL, (unsigned)n + 1);
    pthread_barrier_init(&go, NULL, (unsigned)n + 1);
    pthread_barrier_init(&done, NULL, (unsigned)n + 1);
    for (long i = 0; i < n; i++)
        if ((errno = pthread_create(&tid[i], NULL, fn, (void *)i)))
            die("pthread_create");
    pthread_barrier_wait(&ready);
    double c0 = cpu_ns(), t0 = now_ns();
    pthread_barrier_wait(&go);
    pthread_barrier_wait(&done);
    *cpu = cpu_ns() - c0, *wall = now_ns() - t0;
    for (int i = 0; i < n; i++)
        pthread_join(tid[i], NULL);
}

static void run_threads(int n, long iters)
{
    double cpu, wall;
    run_together(n, iters, pipe_thread, &cpu, &wall);
    double ops = (double)thread_iters * n;
    printf("ns=%.1f wall_ns=%.1f iters=%.0f threads=%d\n", cpu / ops, wall / ops, ops, n);
}

/* ---- writers: N threads append-and-sync to one shared file (a database log); wall ns per pair ----
 * Each thread writes SYNC_BLOCK bytes at its own offsets, then fsyncs the shared descriptor: the
 * concurrent fsync-heavy pattern whose cost the device and the file system's journal decide. */

#define SYNC_BLOCK 4096
static int writers_fd;

static void *writer_thread(void *arg)
{
    long id = (long)arg;
    static const char block[SYNC_BLOCK];
    if (use_ring)
        floor_init(&writers_fd, 1);
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&go);
    for (long i = 0; i < thread_iters; i++) {
        must(x_pwrite(writers_fd, block, sizeof(block), (id * thread_iters + i) * (off_t)SYNC_BLOCK),
             sizeof(block), "pwrite");
        must(x_fsync(writers_fd), 0, "fsync");
    }
    pthread_barrier_wait(&done);
    return NULL;
}

static void run_writers(int n, long iters)
{
    double cpu, wall;
    writers_fd = make_file(SYNC_BLOCK);
    run_together(n, iters, writer_thread, &cpu, &wall);
    double ops = (double)thread_iters * n;
    printf("ns=%.1f cpu_ns=%.1f iters=%.0f threads=%d\n", wall / ops, cpu / ops, ops, n);
}

/* ---- descriptors: K descriptors open in the process, pipe write+read ---- */

static void run_fds(int k, long iters)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rlim_t want = (rlim_t)k + 64;
    if (rl.rlim_cur < want) {
        struct rlimit nl = {want, rl.rlim_max < want ? want : rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &nl) < 0)
            skip("cannot raise RLIMIT_NOFILE (needs CAP_SYS_RESOURCE above the hard limit)");
    }
    int base = open("/dev/null", O_RDONLY);
    if (base < 0)
        die("open /dev/null");
    /* 3 standard descriptors + /dev/null + 2 for the pipe are already counted. */
    for (int i = 6; i < k; i++)
        if (fcntl(base, F_DUPFD, 0) < 0)
            die("dup");
    run_simple("pipe", iters);
}

/* ---- memory: resident memory added by each thread's first I/O ---- */

static long status_kib(const char *file, const char *key)
{
    FILE *f = fopen(file, "r");
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            v = atol(line + kl + 1);
            break;
        }
    fclose(f);
    return v;
}

struct mem_sample {
    long rss, anon, file, slab, percpu, avail;
};

static void mem_sample(struct mem_sample *m)
{
    m->rss = status_kib("/proc/self/status", "VmRSS");
    m->anon = status_kib("/proc/self/status", "RssAnon");
    m->file = status_kib("/proc/self/status", "RssFile") + status_kib("/proc/self/status", "RssShmem");
    m->slab = status_kib("/proc/meminfo", "Slab");
    m->percpu = status_kib("/proc/meminfo", "Percpu");
    m->avail = status_kib("/proc/meminfo", "MemAvailable");
}

static pthread_barrier_t parked, io_go, io_done, leave;

static void *mem_thread(void *arg)
{
    (void)arg;
    int p[2];
    if (pipe(p) < 0)
        die("pipe");
    pthread_barrier_wait(&parked); /* thread and pipe exist: the baseline */
    pthread_barrier_wait(&io_go);
    if (use_ring)
        floor_init(p, 2);
    char c = 'x';
    must(x_write(p[1], &c, 1), 1, "write");
    must(x_read(p[0], &c, 1), 1, "read");
    pthread_barrier_wait(&io_done); /* parked again, ring (if any) alive */
    pthread_barrier_wait(&leave);
    return NULL;
}

static void run_mem(int n)
{
    pthread_t tid[1024];
    if (n < 1 || n > 1024)
        skip("thread count out of range");
    pthread_barrier_init(&parked, NULL, (unsigned)n + 1);
    pthread_barrier_init(&io_go, NULL, (unsigned)n + 1);
    pthread_barrier_init(&io_done, NULL, (unsigned)n + 1);
    pthread_barrier_init(&leave, NULL, (unsigned)n + 1);
    /* The main thread does one round trip first, so process-wide set-up (descriptor table, probe)
     * is not counted per thread. */
    int p[2];
    char c = 'x';
    if (pipe(p) < 0)
        die("pipe");
    if (use_ring)
        floor_init(p, 2);
    must(x_write(p[1], &c, 1), 1, "write");
    must(x_read(p[0], &c, 1), 1, "read");
    for (int i = 0; i < n; i++) {
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, 256 * 1024);
        if ((errno = pthread_create(&tid[i], &at, mem_thread, NULL)))
            die("pthread_create");
        pthread_attr_destroy(&at);
    }
    struct mem_sample a, b;
    pthread_barrier_wait(&parked);
    mem_sample(&a);
    pthread_barrier_wait(&io_go);
    pthread_barrier_wait(&io_done);
    mem_sample(&b);
    pthread_barrier_wait(&leave);
    for (int i = 0; i < n; i++)
        pthread_join(tid[i], NULL);
    printf("rss_kib=%.2f anon_kib=%.2f file_kib=%.2f slab_kib=%.2f percpu_kib=%.2f avail_kib=%.2f threads=%d\n",
           (double)(b.rss - a.rss) / n, (double)(b.anon - a.anon) / n, (double)(b.file - a.file) / n,
           (double)(b.slab - a.slab) / n, (double)(b.percpu - a.percpu) / n, (double)(a.avail - b.avail) / n, n);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr,
                "usage: iobench libc|uring|sqpoll TEST [ITERS|N] (no ITERS: calibrated to IOBENCH_TARGET_MS)\n"
                "  tests: pipe unix-rw unix-send vec zero-read null-write pread pwrite fsync write-fsync\n"
                "         accept (ITERS), threads N ITERS, writers N ITERS, fds K ITERS, mem N\n"
                "  libc: the calls through libc (run it under LD_PRELOAD to measure the shim);\n"
                "  uring: the same calls through liburing directly (never under the shim);\n"
                "  sqpoll: as uring, with IORING_SETUP_SQPOLL (one submission thread shared by every\n"
                "         thread's ring, ATTACH_WQ) and the caller polling the CQ before it waits.\n"
                "  IOBENCH_DIR: where test files are made (default .)\n"
                "  IOBENCH_PLAIN_FILES=1: the floor uses plain descriptors instead of registered files\n"
                "  IOBENCH_RING_FLAGS=coop|clamp|plain|single: the floor without SINGLE_ISSUER|DEFER_TASKRUN\n");
        return 1;
    }
    if (!strcmp(argv[1], "uring") || !strcmp(argv[1], "sqpoll")) {
        const char *pre = getenv("LD_PRELOAD");
        if (pre && strstr(pre, "iou_shim")) {
            fprintf(stderr, "iobench: uring mode must not run under the shim (LD_PRELOAD=%s)\n", pre);
            return 1;
        }
        use_ring = true;
        plain_files = getenv("IOBENCH_PLAIN_FILES") && !strcmp(getenv("IOBENCH_PLAIN_FILES"), "1");
        ring_flags = getenv("IOBENCH_RING_FLAGS") && *getenv("IOBENCH_RING_FLAGS") ? getenv("IOBENCH_RING_FLAGS")
                                                                                   : NULL;
        use_sqpoll = argv[1][0] == 's';
    } else if (strcmp(argv[1], "libc")) {
        fprintf(stderr, "iobench: mode must be libc, uring or sqpoll\n");
        return 1;
    }
    const char *test = argv[2];
    long a3 = argc > 3 ? atol(argv[3]) : 0;
    long a4 = argc > 4 ? atol(argv[4]) : 0;
    if (!strcmp(test, "threads"))
        run_threads((int)a3, a4 > 0 ? a4 : 100000);
    else if (!strcmp(test, "writers"))
        run_writers((int)a3, a4 > 0 ? a4 : 2000);
    else if (!strcmp(test, "fds"))
        run_fds((int)a3, a4);
    else if (!strcmp(test, "mem"))
        run_mem(a3 > 0 ? (int)a3 : 64);
    else
        run_simple(test, a3);
    return 0;
}
