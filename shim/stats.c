/* Stats: counts per call kept per thread (iou/stats.h), summed and printed once at process exit when
 * IOU_SHIM_STATS asks, as text lines or one JSON object. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "iou/autoroute.h"
#include "iou/config.h"
#include "iou/libc.h"
#include "iou/log.h"
#include "iou/stats.h"
#include "iou/sys.h"
#include "iou/thread.h"

/* IOU_SHIM_STATS=1 prints to stderr at exit, but many programs close stderr before they exit
 * (coreutils' close_stdout does), so a copy is kept from the start, far above the descriptors programs
 * use, close-on-exec, and checked to still be that file before anything is written to it. */
#define STDERR_COPY_MIN 900
static int stderr_copy = -1;
static int stats_pid;      /* the process these counts belong to; a vfork child shares them */
static int reported;
static struct stat stderr_identity;

/* Calls made by threads that have no state block (exiting, or out of memory). */
static struct iou_stats homeless;
static uint64_t rings_created, ring_failures;

void iou_stats_libc(enum iou_op op, enum iou_bypass why)
{
    struct iou_thread *t = iou_thread_get();
    if (t)
        iou_stat_bump(&t->stats.libc[op][why]);
    else
        __atomic_add_fetch(&homeless.libc[op][why], 1, __ATOMIC_RELAXED);
}

void iou_stats_ring_created(void)
{
    __atomic_add_fetch(&rings_created, 1, __ATOMIC_RELAXED);
}

void iou_stats_ring_failed(void)
{
    __atomic_add_fetch(&ring_failures, 1, __ATOMIC_RELAXED);
}

void iou_stats_reset_process(void)
{
    memset(&homeless, 0, sizeof(homeless));
    rings_created = ring_failures = 0;
}

static void add_counts(struct iou_stats *sum, const struct iou_stats *part)
{
    const uint64_t *from = (const uint64_t *)part;
    uint64_t *to = (uint64_t *)sum;
    for (size_t i = 0; i < sizeof(*sum) / sizeof(uint64_t); i++)
        to[i] += __atomic_load_n(&from[i], __ATOMIC_RELAXED);
}

static void add_block(struct iou_thread *t, void *arg)
{
    add_counts(arg, &t->stats);
    iou_auto_add_counts(t, arg);
}

static uint64_t libc_total(const struct iou_stats *s, int op)
{
    uint64_t n = 0;
    for (int why = 0; why < IOU_BYPASS_COUNT; why++)
        n += s->libc[op][why];
    return n;
}

/* Appends to a fixed buffer; output is cut, never overflowed. */
struct out {
    char buf[8192];
    size_t len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n < sizeof(o->buf) - o->len ? (size_t)n : sizeof(o->buf) - o->len - 1;
}

static const char *route_name(enum iou_route_mode r)
{
    static const char *const names[] = {"ring", "all", "auto", "libc"};
    return names[r];
}

/* Route `auto`: what the threads chose per (call, descriptor kind), and the times that decided it. */
static const char *auto_choice(const struct iou_auto_summary *a)
{
    if (!a->ring_threads && !a->libc_threads)
        return "sampling";
    if (a->ring_threads && a->libc_threads)
        return "mixed";
    return a->ring_threads ? "ring" : "libc";
}

/* A time, or none_text when the path was never measured. */
static void put_ns(struct out *o, const char *fmt, uint64_t ns, const char *none_text)
{
    if (ns == UINT64_MAX)
        put(o, fmt, none_text);
    else {
        char n[24];
        snprintf(n, sizeof(n), "%llu", (unsigned long long)ns);
        put(o, fmt, n);
    }
}

static void format_auto_text(struct out *o, int pid)
{
    struct iou_auto_summary a;
    for (int op = 0; op < IOU_OP_COUNT; op++)
        for (unsigned kind = 0; kind < IOU_FD_KIND_COUNT; kind++) {
            if (!iou_auto_summary((enum iou_op)op, kind, &a))
                continue;
            put(o, "iou-shim[%d] auto %s/%s: choice=%s", pid, iou_ops[op].name, iou_fd_kind_names[kind],
                auto_choice(&a));
            put_ns(o, " ring_ns=%s", a.ring_ns, "-");
            put_ns(o, " libc_ns=%s", a.libc_ns, "-");
            put(o, " ring_threads=%u libc_threads=%u sampling_threads=%u\n", a.ring_threads, a.libc_threads,
                a.sampling_threads);
        }
}

static void format_auto_json(struct out *o)
{
    struct iou_auto_summary a;
    const char *sep = "";
    put(o, ",\"auto\":{");
    for (int op = 0; op < IOU_OP_COUNT; op++)
        for (unsigned kind = 0; kind < IOU_FD_KIND_COUNT; kind++) {
            if (!iou_auto_summary((enum iou_op)op, kind, &a))
                continue;
            put(o, "%s\"%s/%s\":{\"choice\":\"%s\"", sep, iou_ops[op].name, iou_fd_kind_names[kind],
                auto_choice(&a));
            put_ns(o, ",\"ring_ns\":%s", a.ring_ns, "null");
            put_ns(o, ",\"libc_ns\":%s", a.libc_ns, "null");
            put(o, ",\"ring_threads\":%u,\"libc_threads\":%u,\"sampling_threads\":%u}", a.ring_threads,
                a.libc_threads, a.sampling_threads);
            sep = ",";
        }
    put(o, "}");
}

static void format_text(struct out *o, const struct iou_stats *s, int pid, const struct iou_config *cfg)
{
    for (int op = 0; op < IOU_OP_COUNT; op++) {
        uint64_t libc = libc_total(s, op);
        if (!s->ring[op] && !s->fallback[op] && !libc)
            continue;
        put(o, "iou-shim[%d] %s: ring=%llu fixed=%llu fallback=%llu errors=%llu libc=%llu", pid,
            iou_ops[op].name, (unsigned long long)s->ring[op], (unsigned long long)s->fixed[op],
            (unsigned long long)s->fallback[op],
            (unsigned long long)s->errors[op], (unsigned long long)libc);
        for (int why = 0; why < IOU_BYPASS_COUNT; why++)
            if (s->libc[op][why])
                put(o, " libc.%s=%llu", iou_bypass_names[why], (unsigned long long)s->libc[op][why]);
        put(o, "\n");
    }
    if (cfg->route == IOU_ROUTE_AUTO)
        format_auto_text(o, pid);
    put(o, "iou-shim[%d] process: route=%s rings=%llu ring_failures=%llu\n", pid, route_name(cfg->route),
        (unsigned long long)rings_created, (unsigned long long)ring_failures);
}

static void format_json(struct out *o, const struct iou_stats *s, int pid, const struct iou_config *cfg)
{
    put(o, "{\"pid\":%d,\"route\":\"%s\",\"rings\":%llu,\"ring_failures\":%llu,\"calls\":{", pid,
        route_name(cfg->route), (unsigned long long)rings_created, (unsigned long long)ring_failures);
    const char *sep = "";
    for (int op = 0; op < IOU_OP_COUNT; op++) {
        uint64_t libc = libc_total(s, op);
        if (!s->ring[op] && !s->fallback[op] && !libc)
            continue;
        put(o, "%s\"%s\":{\"ring\":%llu,\"fixed\":%llu,\"fallback\":%llu,\"errors\":%llu,\"libc\":%llu,"
            "\"libc_reasons\":{", sep, iou_ops[op].name, (unsigned long long)s->ring[op],
            (unsigned long long)s->fixed[op], (unsigned long long)s->fallback[op],
            (unsigned long long)s->errors[op], (unsigned long long)libc);
        const char *rsep = "";
        for (int why = 0; why < IOU_BYPASS_COUNT; why++)
            if (s->libc[op][why]) {
                put(o, "%s\"%s\":%llu", rsep, iou_bypass_names[why], (unsigned long long)s->libc[op][why]);
                rsep = ",";
            }
        put(o, "}}");
        sep = ",";
    }
    put(o, "}");
    if (cfg->route == IOU_ROUTE_AUTO)
        format_auto_json(o);
    put(o, "}\n");
}

static void install_stats_signal(int sig);

/* A forked child reports its own counts under its own pid (thread.c resets the counts). */
static void stats_after_fork_in_child(void)
{
    stats_pid = iou_sys_getpid();
    reported = 0;
}

void iou_stats_start(void)
{
    const struct iou_config *cfg = iou_config();
    stats_pid = iou_sys_getpid();
    pthread_atfork(NULL, NULL, stats_after_fork_in_child);
    if (cfg->stats_signal)
        install_stats_signal(cfg->stats_signal);
    if ((!cfg->stats && !cfg->stats_signal) || cfg->stats_path[0])
        return;
    int fd = (int)iou_sys3(SYS_fcntl, 2, F_DUPFD_CLOEXEC, STDERR_COPY_MIN);
    if (fd >= 0 && iou_sys4(SYS_newfstatat, fd, "", &stderr_identity, AT_EMPTY_PATH) == 0)
        stderr_copy = fd;
    else if (fd >= 0)
        iou_sys_close(fd);
}

/* The descriptor for stats on stderr: the kept copy if it is still the same file, else fd 2. */
static int stderr_fd(void)
{
    struct stat now;
    if (stderr_copy >= 0 && iou_sys4(SYS_newfstatat, stderr_copy, "", &now, AT_EMPTY_PATH) == 0 &&
        now.st_dev == stderr_identity.st_dev && now.st_ino == stderr_identity.st_ino)
        return stderr_copy;
    return 2;
}

/* Sums every thread's counts and writes them where IOU_SHIM_STATS says (stderr if it says nothing).
 * Buffers are on the stack: a stats signal may arrive while the exit report is being written. */
static void write_stats(int pid)
{
    const struct iou_config *cfg = iou_config();
    struct iou_stats sum;
    struct out o;
    memset(&sum, 0, sizeof(sum));
    o.len = 0;
    add_counts(&sum, &homeless);
    iou_thread_foreach(add_block, &sum);
    if (cfg->stats_json)
        format_json(&o, &sum, pid, cfg);
    else
        format_text(&o, &sum, pid, cfg);
    if (cfg->stats_path[0])
        iou_write_out(cfg->stats_path, o.buf, o.len);
    else
        iou_write_fd(stderr_fd(), o.buf, o.len);
}

void iou_stats_report(void)
{
    if (!iou_config()->stats)
        return;
    /* Once per process (exit runs destructors and may then reach _exit), and never from a vfork child,
     * which would report its parent's counts under its own pid. */
    int pid = iou_sys_getpid();
    if (pid != stats_pid || __atomic_exchange_n(&reported, 1, __ATOMIC_ACQ_REL))
        return;
    write_stats(pid);
}

/* IOU_SHIM_STATS_SIGNAL: the counts so far, for long-running servers. */
static void on_stats_signal(int sig)
{
    (void)sig;
    int pid = iou_sys_getpid();
    if (pid == stats_pid)
        write_stats(pid);
}

static void install_stats_signal(int sig)
{
    struct sigaction act;
    memset(&act, 0, sizeof(act));
    act.sa_handler = on_stats_signal;
    act.sa_flags = SA_RESTART; /* never interrupts the program's calls */
    sigemptyset(&act.sa_mask);
    iou_libc()->sigaction(sig, &act, NULL);
}
