/* iou-check: what iou-shim would do on this machine and why (run by `iou-run --check`).
 * It makes a ring the way shim/ring.c does (the same set-up flag steps, opcode probe, registered ring fd and
 * IORING_ACCEPT_DONTWAIT probe, IOU_SHIM_PRETEND included), reads IOU_SHIM_* the way shim/config.c does
 * (the same complaints, word for word), and prints plain lines or, with --json, one JSON object.
 * Exit status: 0 when the shim would send calls through io_uring, 1 when every call would use libc, 2 for
 * a usage error. The report describes processes started like this one: same user, limits and seccomp. */
#include <dlfcn.h>
#include <errno.h>
#include <liburing.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "iou/parse.h"
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK_VERSION "0.1.0"

/* Kernel ABI values missing from liburing 2.3's headers (as in shim/ring.c). */
#ifndef IORING_ACCEPT_DONTWAIT
#define IORING_ACCEPT_DONTWAIT (1U << 1) /* 6.10 */
#endif

/* ---- the configuration, read as shim/config.c reads it ---- */

#define DEFAULT_QUEUE_DEPTH 16 /* include/iou/config.h */
#define DEFAULT_MAX_RINGS 1024
#define DEFAULT_FILES 4096
#define PATH_LIMIT 512 /* IOU_PATH_MAX */

enum source { FROM_DEFAULT, FROM_ENV, FROM_INVALID };
static const char *const source_names[] = {"default", "set", "invalid"};

enum { V_DISABLE, V_ROUTE, V_QUEUE_DEPTH, V_OPS, V_MAX_RINGS, V_FILES, V_STATS, V_STATS_SIGNAL,
       V_STATS_FORMAT, V_LOG, V_LOG_FILE, V_COUNT };
static const char *const var_names[V_COUNT] = {
    "IOU_SHIM_DISABLE", "IOU_SHIM_ROUTE", "IOU_SHIM_QUEUE_DEPTH", "IOU_SHIM_OPS",
    "IOU_SHIM_MAX_RINGS", "IOU_SHIM_FILES", "IOU_SHIM_STATS", "IOU_SHIM_STATS_SIGNAL",
    "IOU_SHIM_STATS_FORMAT", "IOU_SHIM_LOG", "IOU_SHIM_LOG_FILE",
};

/* The interposed calls (shim/ops.c): the opcodes each needs and the descriptors it serves. */
enum kinds {
    K_STREAM,         /* pipes, sockets, character devices: position-less descriptors */
    K_FILES,          /* regular files and block devices, at an explicit offset */
    K_SOCKETS,        /* any socket */
    K_STREAM_SOCKETS, /* listening stream sockets */
    K_ANY,            /* every kind the shim tells apart but eventfd, signalfd, epoll... */
};
static const struct call {
    const char *name;
    unsigned opcode, opcode_also; /* opcode_also 0: none */
    enum kinds kinds;
} calls[] = {
    {"read", IORING_OP_READ, 0, K_STREAM},          {"write", IORING_OP_WRITE, 0, K_STREAM},
    {"pread", IORING_OP_READ, 0, K_FILES},          {"pwrite", IORING_OP_WRITE, 0, K_FILES},
    {"readv", IORING_OP_READV, 0, K_STREAM},        {"writev", IORING_OP_WRITEV, 0, K_STREAM},
    {"preadv", IORING_OP_READV, 0, K_FILES},        {"pwritev", IORING_OP_WRITEV, 0, K_FILES},
    {"preadv2", IORING_OP_READV, 0, K_FILES},       {"pwritev2", IORING_OP_WRITEV, 0, K_FILES},
    {"fsync", IORING_OP_FSYNC, 0, K_ANY},           {"fdatasync", IORING_OP_FSYNC, 0, K_ANY},
    {"accept", IORING_OP_ACCEPT, 0, K_STREAM_SOCKETS}, {"accept4", IORING_OP_ACCEPT, 0, K_STREAM_SOCKETS},
    {"recv", IORING_OP_RECV, 0, K_SOCKETS},         {"recvfrom", IORING_OP_RECV, 0, K_SOCKETS},
    {"recvmsg", IORING_OP_RECVMSG, 0, K_SOCKETS},   {"send", IORING_OP_SEND, 0, K_SOCKETS},
    {"sendto", IORING_OP_SENDMSG, IORING_OP_SEND, K_SOCKETS},
    {"sendmsg", IORING_OP_SENDMSG, IORING_OP_SEND, K_SOCKETS},
};
#define CALL_COUNT (sizeof(calls) / sizeof(calls[0]))
#define ALL_CALLS ((1u << CALL_COUNT) - 1)

/* Other names of the same calls, accepted in IOU_SHIM_OPS (shim/ops.c). */
static const struct {
    const char *name;
    const char *call;
} aliases[] = {
    {"__read_chk", "read"},      {"pread64", "pread"},       {"__pread_chk", "pread"},
    {"__pread64_chk", "pread"},  {"pwrite64", "pwrite"},     {"preadv64", "preadv"},
    {"pwritev64", "pwritev"},    {"preadv64v2", "preadv2"},  {"pwritev64v2", "pwritev2"},
    {"__recv_chk", "recv"},      {"__recvfrom_chk", "recvfrom"},
};

static struct config {
    const char *raw[V_COUNT]; /* as found in the environment, NULL when unset */
    enum source source[V_COUNT];
    unsigned route;           /* index in route_names */
    bool disabled;            /* IOU_SHIM_DISABLE=1 */
    unsigned queue_depth, max_rings, files;
    uint32_t ops;             /* bit per calls[] entry */
    const char *stats;        /* NULL: off; "": stderr; else a path */
    int stats_signal;         /* 0: none */
    unsigned stats_format, log;
    const char *log_file;     /* "": stderr */
    const char *pretend;      /* IOU_SHIM_PRETEND, NULL when unset */
    bool no_setup_flags, no_ring_fd, no_probe, no_cancel;
    char complaints[V_COUNT][511]; /* the library's lines stop at 510 characters (shim/log.c) */
    unsigned complaint_count;
} cfg;

static const char *const route_names[] = {"ring", "all", "auto", "libc"};
static const char *const log_names[] = {"off", "error", "info", "debug"};
static const char *const format_names[] = {"text", "json"};
#define ROUTE_LIBC 3

/* The library's own line for a bad value (shim/config.c bad_value). */
static void bad_value(unsigned var, const char *value, const char *expected, const char *fallback)
{
    cfg.source[var] = FROM_INVALID;
    snprintf(cfg.complaints[cfg.complaint_count++], sizeof(cfg.complaints[0]),
             "iou-shim: %s=\"%s\" is invalid (expected %s); using %s", var_names[var], value, expected,
             fallback);
}

static const char *env(unsigned var)
{
    const char *value = secure_getenv(var_names[var]);
    cfg.raw[var] = value;
    if (value)
        cfg.source[var] = FROM_ENV;
    return value;
}

static void read_number(unsigned var, unsigned min, unsigned max, unsigned *field)
{
    const char *value = env(var);
    if (!value || iou_parse_number(value, min, max, field))
        return;
    char expected[64], fallback[16];
    snprintf(expected, sizeof(expected), "a number from %u to %u", min, max);
    snprintf(fallback, sizeof(fallback), "%u", *field);
    bad_value(var, value, expected, fallback);
}

static void read_choice(unsigned var, const char *const *names, unsigned count, const char *expected,
                        unsigned *field)
{
    const char *value = env(var);
    if (!value)
        return;
    for (unsigned i = 0; i < count; i++)
        if (!strcmp(value, names[i])) {
            *field = i;
            return;
        }
    bad_value(var, value, expected, names[*field]);
}

/* A path that does not fit leaves stderr in place, as the library does. */
static void read_path(unsigned var, const char *value, const char **field)
{
    if (!value || !*value)
        return;
    if (strlen(value) >= PATH_LIMIT) {
        bad_value(var, value, "a path shorter than 512 bytes", "stderr");
        return;
    }
    *field = value;
}

static int call_by_name(const char *name, size_t len)
{
    for (unsigned i = 0; i < CALL_COUNT; i++)
        if (strlen(calls[i].name) == len && !memcmp(calls[i].name, name, len))
            return (int)i;
    for (unsigned i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strlen(aliases[i].name) == len && !memcmp(aliases[i].name, name, len))
            return call_by_name(aliases[i].call, strlen(aliases[i].call));
    return -1;
}

static int call_bit(const char *name, unsigned len)
{
    return call_by_name(name, len);
}

/* IOU_SHIM_OPS, parsed as the library parses it (iou/parse.h). */
static void read_ops(void)
{
    const char *value = env(V_OPS);
    if (value && !iou_parse_ops(value, ALL_CALLS, call_bit, &cfg.ops))
        bad_value(V_OPS, value, "call names such as read,write,-fsync", "all");
}

/* IOU_SHIM_STATS_SIGNAL, parsed as the library parses it (iou/parse.h). */
static void read_signal(void)
{
    const char *value = env(V_STATS_SIGNAL);
    if (!value || !*value) {
        cfg.source[V_STATS_SIGNAL] = FROM_DEFAULT; /* empty means none */
        return;
    }
    if (!iou_parse_signal(value, &cfg.stats_signal))
        bad_value(V_STATS_SIGNAL, value, "a signal name such as USR2 or a number", "none");
}

/* Same order as shim/config.c read_all, so the complaints come in the library's order. */
static void read_config(void)
{
    static const char *const bool_names[] = {"0", "1"};
    cfg.queue_depth = DEFAULT_QUEUE_DEPTH;
    cfg.max_rings = DEFAULT_MAX_RINGS;
    cfg.files = DEFAULT_FILES;
    cfg.ops = ALL_CALLS;
    cfg.log_file = "";

    read_choice(V_ROUTE, route_names, 4, "ring, all, auto or libc", &cfg.route);
    const char *disable = env(V_DISABLE);
    if (disable && *disable) {
        unsigned choice = 0;
        read_choice(V_DISABLE, bool_names, 2, "0 or 1", &choice);
        cfg.disabled = choice == 1;
    } else if (disable) {
        cfg.source[V_DISABLE] = FROM_DEFAULT; /* empty means 0 */
    }
    read_number(V_QUEUE_DEPTH, 2, 4096, &cfg.queue_depth);
    read_number(V_MAX_RINGS, 0, 65536, &cfg.max_rings);
    read_number(V_FILES, 0, 65536, &cfg.files);
    read_ops();

    const char *stats = env(V_STATS);
    if (stats && *stats && strcmp(stats, "0")) {
        cfg.stats = "";
        if (strcmp(stats, "1"))
            read_path(V_STATS, stats, &cfg.stats);
    }
    read_choice(V_STATS_FORMAT, format_names, 2, "text or json", &cfg.stats_format);
    read_choice(V_LOG, log_names, 4, "off, error, info or debug", &cfg.log);
    read_path(V_LOG_FILE, env(V_LOG_FILE), &cfg.log_file);
    read_signal();

    cfg.pretend = secure_getenv("IOU_SHIM_PRETEND");
    if (cfg.pretend) {
        cfg.no_setup_flags = strstr(cfg.pretend, "no-setup-flags") != NULL;
        cfg.no_ring_fd = strstr(cfg.pretend, "no-ring-fd") != NULL;
        cfg.no_probe = strstr(cfg.pretend, "no-probe") != NULL;
        cfg.no_cancel = strstr(cfg.pretend, "no-cancel") != NULL;
    }
}

/* The effective value of a variable, as text. */
static const char *effective(unsigned var, char *buf, size_t size)
{
    switch (var) {
    case V_DISABLE:
        return cfg.disabled ? "1" : "0";
    case V_ROUTE:
        return route_names[cfg.route];
    case V_QUEUE_DEPTH:
        snprintf(buf, size, "%u", cfg.queue_depth);
        return buf;
    case V_MAX_RINGS:
        snprintf(buf, size, "%u", cfg.max_rings);
        return buf;
    case V_FILES:
        snprintf(buf, size, "%u", cfg.files);
        return buf;
    case V_OPS: {
        if (cfg.ops == ALL_CALLS)
            return "all";
        if (!cfg.ops)
            return "none";
        size_t n = 0;
        buf[0] = '\0';
        for (unsigned i = 0; i < CALL_COUNT; i++)
            if (cfg.ops & (1u << i))
                n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "," : "", calls[i].name);
        return buf;
    }
    case V_STATS:
        return !cfg.stats ? "off" : cfg.stats[0] ? cfg.stats : "stderr";
    case V_STATS_SIGNAL:
        if (!cfg.stats_signal)
            return "none";
        if (cfg.stats_signal >= SIGRTMIN)
            snprintf(buf, size, "SIGRTMIN+%d", cfg.stats_signal - SIGRTMIN);
        else if (sigabbrev_np(cfg.stats_signal))
            snprintf(buf, size, "SIG%s", sigabbrev_np(cfg.stats_signal));
        else
            snprintf(buf, size, "%d", cfg.stats_signal);
        return buf;
    case V_STATS_FORMAT:
        return format_names[cfg.stats_format];
    case V_LOG:
        return log_names[cfg.log];
    case V_LOG_FILE:
        return cfg.log_file[0] ? cfg.log_file : "stderr";
    }
    return "";
}

/* ---- the machine ---- */

static struct machine {
    struct utsname uts;
    int uring_disabled;  /* kernel.io_uring_disabled, -1 when the file is absent, -2 unreadable */
    int uring_group;     /* kernel.io_uring_group, -1 when absent */
    int seccomp_mode;    /* 0 none, 1 strict, 2 filter, -1 unknown */
    int seccomp_filters;
    struct rlimit memlock, nofile;
} mach;

/* The number in a /proc file: -1 when there is no such file, -2 when it cannot be read. */
static int read_int_file(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? -1 : -2;
    int value;
    if (fscanf(f, "%d", &value) != 1)
        value = -2;
    fclose(f);
    return value;
}

static void read_machine(void)
{
    uname(&mach.uts);
    mach.uring_disabled = read_int_file("/proc/sys/kernel/io_uring_disabled");
    mach.uring_group = read_int_file("/proc/sys/kernel/io_uring_group");
    mach.seccomp_mode = -1;
    FILE *f = fopen("/proc/self/status", "re");
    if (f) {
        char line[256];
        while (fgets(line, sizeof(line), f)) {
            sscanf(line, "Seccomp: %d", &mach.seccomp_mode);
            sscanf(line, "Seccomp_filters: %d", &mach.seccomp_filters);
        }
        fclose(f);
    }
    getrlimit(RLIMIT_MEMLOCK, &mach.memlock);
    getrlimit(RLIMIT_NOFILE, &mach.nofile);
}

/* ---- the ring, made as shim/ring.c makes it ---- */

static const struct {
    unsigned opcode;
    const char *name;
} shown_ops[] = {
    {IORING_OP_READ, "READ"},     {IORING_OP_WRITE, "WRITE"},     {IORING_OP_READV, "READV"},
    {IORING_OP_WRITEV, "WRITEV"}, {IORING_OP_FSYNC, "FSYNC"},     {IORING_OP_ACCEPT, "ACCEPT"},
    {IORING_OP_RECV, "RECV"},     {IORING_OP_SEND, "SEND"},       {IORING_OP_RECVMSG, "RECVMSG"},
    {IORING_OP_SENDMSG, "SENDMSG"}, {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"},
};
#define SHOWN_COUNT (sizeof(shown_ops) / sizeof(shown_ops[0]))

static const char *op_name(unsigned opcode)
{
    for (unsigned i = 0; i < SHOWN_COUNT; i++)
        if (shown_ops[i].opcode == opcode)
            return shown_ops[i].name;
    return "?";
}

static struct ring_report {
    bool made;             /* a ring exists and a request went through it */
    int err;               /* -errno of the step that failed */
    const char *failed_at; /* "io_uring_setup" or "io_uring_enter" */
    unsigned flags;
    bool registered_fd, probe_ok, accept_dontwait;
    int last_op;           /* the kernel's last opcode, from the probe; -1 without one */
    uint8_t have_op[IORING_OP_LAST];
} ring;

static int setup_ring(struct io_uring *r, unsigned depth)
{
    static const unsigned flag_steps[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CLAMP, /* 6.1 */
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CLAMP,                              /* 5.19 */
        IORING_SETUP_CLAMP,                                                          /* 5.6 */
        0,                                                                           /* 5.1 */
    };
    int res = -EINVAL;
    for (unsigned i = 0; i < sizeof(flag_steps) / sizeof(flag_steps[0]); i++) {
        if (cfg.no_setup_flags && flag_steps[i])
            continue;
        struct io_uring_params p;
        memset(&p, 0, sizeof(p));
        p.flags = flag_steps[i];
        res = io_uring_queue_init_params(depth, r, &p);
        if (res != -EINVAL) {
            ring.flags = flag_steps[i];
            break;
        }
    }
    return res;
}

/* One request through the ring and its completion: the result, or -errno of io_uring_enter. */
static int round_trip(struct io_uring *r, struct io_uring_sqe *sqe, int *res)
{
    struct io_uring_cqe *cqe;
    sqe->user_data = 1;
    int n = io_uring_submit_and_wait(r, 1);
    if (n < 0)
        return n;
    n = io_uring_wait_cqe(r, &cqe);
    if (n < 0)
        return n;
    *res = cqe->res;
    io_uring_cqe_seen(r, cqe);
    return 0;
}

static void probe_opcodes(struct io_uring *r)
{
    static union {
        struct io_uring_probe probe;
        char space[sizeof(struct io_uring_probe) + IORING_OP_LAST * sizeof(struct io_uring_probe_op)];
    } buf;
    int res = cfg.no_probe ? -EINVAL : io_uring_register_probe(r, &buf.probe, IORING_OP_LAST);
    ring.probe_ok = res >= 0;
    ring.last_op = -1;
    if (ring.probe_ok) {
        ring.last_op = buf.probe.last_op;
        for (unsigned i = 0; i < buf.probe.ops_len && i < IORING_OP_LAST; i++)
            ring.have_op[i] = (buf.probe.ops[i].flags & IO_URING_OP_SUPPORTED) != 0;
    } else {
        /* Kernels before 5.6 have no probe: the library assumes the 5.1 opcodes only. */
        ring.have_op[IORING_OP_NOP] = ring.have_op[IORING_OP_READV] = 1;
        ring.have_op[IORING_OP_WRITEV] = ring.have_op[IORING_OP_FSYNC] = 1;
    }
    if (cfg.no_cancel)
        ring.have_op[IORING_OP_ASYNC_CANCEL] = 0;
}

/* A kernel that knows IORING_ACCEPT_DONTWAIT fails accept on fd -1 with EBADF; one that does not
 * rejects the flag with EINVAL before it looks at the descriptor. */
static void probe_accept_dontwait(struct io_uring *r)
{
    if (!ring.have_op[IORING_OP_ACCEPT])
        return;
    struct io_uring_sqe *sqe = io_uring_get_sqe(r);
    int res;
    io_uring_prep_accept(sqe, -1, NULL, NULL, 0);
    sqe->ioprio |= IORING_ACCEPT_DONTWAIT;
    ring.accept_dontwait = round_trip(r, sqe, &res) == 0 && res == -EBADF;
}

static void check_ring(void)
{
    struct io_uring r;
    int res = setup_ring(&r, cfg.queue_depth);
    if (res < 0) {
        ring.err = res;
        ring.failed_at = "io_uring_setup";
        return;
    }
    /* A seccomp filter may allow io_uring_setup and refuse io_uring_enter: only a request proves it. */
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r);
    int nop;
    io_uring_prep_nop(sqe);
    res = round_trip(&r, sqe, &nop);
    if (res < 0) {
        ring.err = res;
        ring.failed_at = "io_uring_enter";
        io_uring_queue_exit(&r);
        return;
    }
    ring.made = true;
    probe_opcodes(&r);
    probe_accept_dontwait(&r);
    ring.registered_fd = !cfg.no_ring_fd && io_uring_register_ring_fd(&r) == 1;
    io_uring_queue_exit(&r);
}

static const char *flags_text(unsigned flags)
{
    if (flags == (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CLAMP))
        return "SINGLE_ISSUER|DEFER_TASKRUN|CLAMP";
    if (flags == (IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CLAMP))
        return "COOP_TASKRUN|CLAMP";
    if (flags == IORING_SETUP_CLAMP)
        return "CLAMP";
    return "none";
}

static const char *errno_name(int err)
{
    const char *name = strerrorname_np(err);
    return name ? name : "an unknown error";
}

/* ---- the library, loaded in a child so its constructor cannot touch this process ---- */

static struct {
    const char *path;
    bool loads;
    char error[512];
} lib;

static void check_library(void)
{
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(lib.error, sizeof(lib.error), "pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(lib.error, sizeof(lib.error), "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        freopen("/dev/null", "w", stderr); /* the library's own complaints are reported by us */
        const char *msg = dlopen(lib.path, RTLD_NOW | RTLD_LOCAL) ? "ok" : dlerror();
        ssize_t unused = write(fds[1], msg, strlen(msg));
        (void)unused;
        _exit(0);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], lib.error, sizeof(lib.error) - 1);
    close(fds[0]);
    waitpid(pid, NULL, 0);
    lib.error[n > 0 ? n : 0] = '\0';
    if (!strcmp(lib.error, "ok")) {
        lib.loads = true;
        lib.error[0] = '\0';
    } else if (!lib.error[0]) {
        snprintf(lib.error, sizeof(lib.error), "the loading process died");
    }
}

/* ---- what follows for each call ---- */

struct call_verdict {
    bool ring;
    char detail[256];
};

static const char *kinds_text(enum kinds k)
{
    switch (k) {
    case K_STREAM:
        return "pipes, sockets and character devices";
    case K_FILES:
        return "regular files and block devices";
    case K_SOCKETS:
        return "sockets";
    case K_STREAM_SOCKETS:
        return "stream sockets";
    case K_ANY:
        return "files, directories, pipes, sockets, devices and terminals";
    }
    return "";
}

/* Why nothing at all would go to the ring, or NULL. */
static const char *global_libc_reason(char *buf, size_t size)
{
    if (lib.path && !lib.loads)
        return "the library does not load";
    if (cfg.disabled)
        return "IOU_SHIM_DISABLE=1";
    if (cfg.route == ROUTE_LIBC)
        return "IOU_SHIM_ROUTE=libc";
    if (!ring.made) {
        snprintf(buf, size, "no ring: %s fails with %s", ring.failed_at, errno_name(-ring.err));
        return buf;
    }
    if (cfg.max_rings == 0)
        return "IOU_SHIM_MAX_RINGS=0: no thread may have a ring";
    return NULL;
}

/* Why an opcode is missing, when the kernel's own probe did not say so. */
static const char *probe_note(void)
{
    if (cfg.no_probe)
        return " (no opcode probe, IOU_SHIM_PRETEND=no-probe: only the 5.1 opcodes are assumed)";
    return ring.probe_ok ? "" : " (no opcode probe: only the 5.1 opcodes are assumed)";
}

static const char *cancel_note(void)
{
    if (cfg.no_cancel)
        return " (IOU_SHIM_PRETEND=no-cancel)";
    return ring.probe_ok ? "" : " (no opcode probe)";
}

/* In the order of shim/call.c: configuration, ring, opcodes, then cancellation for blocking calls. */
static void judge_call(const struct call *c, unsigned index, struct call_verdict *v)
{
    char why[160];
    const char *global = global_libc_reason(why, sizeof(why));
    v->ring = false;
    if (global) {
        snprintf(v->detail, sizeof(v->detail), "%s", global);
        return;
    }
    if (!(cfg.ops & (1u << index))) {
        snprintf(v->detail, sizeof(v->detail), "left out by IOU_SHIM_OPS");
        return;
    }
    if (!ring.have_op[c->opcode] || (c->opcode_also && !ring.have_op[c->opcode_also])) {
        unsigned missing = ring.have_op[c->opcode] ? c->opcode_also : c->opcode;
        snprintf(v->detail, sizeof(v->detail), "IORING_OP_%s is missing%s", op_name(missing), probe_note());
        return;
    }
    bool cancel = ring.have_op[IORING_OP_ASYNC_CANCEL];
    if (!cancel && c->kinds != K_FILES && c->kinds != K_ANY) {
        snprintf(v->detail, sizeof(v->detail),
                 "IORING_OP_ASYNC_CANCEL is missing%s: a blocking call on %s could not be interrupted",
                 cancel_note(), kinds_text(c->kinds));
        return;
    }
    v->ring = true;
    char ops[64];
    if (c->opcode_also)
        snprintf(ops, sizeof(ops), "IORING_OP_%s, IORING_OP_%s", op_name(c->opcode), op_name(c->opcode_also));
    else
        snprintf(ops, sizeof(ops), "IORING_OP_%s", op_name(c->opcode));
    if (c->kinds == K_ANY && !cancel)
        snprintf(v->detail, sizeof(v->detail),
                 "%s on files, directories and terminals; libc on pipes, sockets and devices: "
                 "IORING_OP_ASYNC_CANCEL is missing%s", ops, cancel_note());
    else if (c->kinds == K_STREAM_SOCKETS && !ring.accept_dontwait)
        snprintf(v->detail, sizeof(v->detail),
                 "%s on %s; libc on nonblocking ones: no IORING_ACCEPT_DONTWAIT (6.10)", ops,
                 kinds_text(c->kinds));
    else
        snprintf(v->detail, sizeof(v->detail), "%s on %s", ops, kinds_text(c->kinds));
}

/* ---- why io_uring was refused, in words ---- */

static void refusal_text(char *buf, size_t size)
{
    int err = -ring.err;
    const char *enter = !strcmp(ring.failed_at, "io_uring_enter") ? " (io_uring_setup works)" : "";
    int n = snprintf(buf, size, "%s fails with %s (%s)%s: ", ring.failed_at, errno_name(err),
                     strerror(err), enter);
    buf += n, size -= (size_t)n;
    bool filtered = mach.seccomp_mode == 2;
    if (err == EPERM && mach.uring_disabled == 2)
        snprintf(buf, size, "kernel.io_uring_disabled=2 disables io_uring for every process");
    else if (err == EPERM && mach.uring_disabled == 1 && mach.uring_group >= 0)
        snprintf(buf, size, "kernel.io_uring_disabled=1 allows io_uring only to CAP_SYS_ADMIN and to "
                 "group %d (kernel.io_uring_group)%s", mach.uring_group,
                 filtered ? ", or a seccomp filter refuses it" : "");
    else if (err == EPERM && mach.uring_disabled == 1)
        snprintf(buf, size, "kernel.io_uring_disabled=1 allows io_uring only to CAP_SYS_ADMIN%s",
                 filtered ? ", or a seccomp filter refuses it" : "");
    else if ((err == EPERM || err == ENOSYS) && filtered)
        snprintf(buf, size, "a seccomp filter refuses io_uring (this process runs under %d seccomp filter%s, "
                 "as container runtimes and service managers install)", mach.seccomp_filters,
                 mach.seccomp_filters == 1 ? "" : "s");
    else if (err == ENOSYS)
        snprintf(buf, size, "this kernel has no io_uring (before 5.1, or built without CONFIG_IO_URING)");
    else if (err == EPERM || err == EACCES)
        snprintf(buf, size, "a security module (SELinux, AppArmor...) or a policy refuses io_uring");
    else if (err == ENOMEM && mach.memlock.rlim_cur != RLIM_INFINITY)
        snprintf(buf, size, "not enough lockable memory: RLIMIT_MEMLOCK (ulimit -l) is %llu KiB and kernels "
                 "before 5.12 charge rings to it; raise it or lower IOU_SHIM_QUEUE_DEPTH",
                 (unsigned long long)mach.memlock.rlim_cur / 1024);
    else if (err == ENOMEM)
        snprintf(buf, size, "the kernel is out of memory for a ring");
    else if (err == EMFILE || err == ENFILE)
        snprintf(buf, size, "no file descriptor left (RLIMIT_NOFILE is %llu)",
                 (unsigned long long)mach.nofile.rlim_cur);
    else if (err == EINVAL)
        snprintf(buf, size, "the kernel refuses every set-up the shim knows");
    else
        snprintf(buf, size, "io_uring is not usable here");
}

/* ---- output ---- */

static void json_string(const char *s)
{
    if (!s) {
        fputs("null", stdout);
        return;
    }
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", stdout);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static const char *yes(bool b)
{
    return b ? "yes" : "no";
}

static const char *seccomp_text(void)
{
    static const char *const modes[] = {"none", "strict", "filter"};
    return mach.seccomp_mode >= 0 && mach.seccomp_mode <= 2 ? modes[mach.seccomp_mode] : "unknown";
}

static unsigned ring_call_count(struct call_verdict *v)
{
    unsigned n = 0;
    for (unsigned i = 0; i < CALL_COUNT; i++)
        n += v[i].ring;
    return n;
}

static void summary_text(char *buf, size_t size, unsigned ring_calls)
{
    char why[160], refusal[512];
    const char *global = global_libc_reason(why, sizeof(why));
    if (lib.path && !lib.loads) {
        snprintf(buf, size, "libc: the library %s does not load (%s); nothing is routed", lib.path,
                 lib.error);
    } else if (global && !ring.made && !cfg.disabled && cfg.route != ROUTE_LIBC) {
        refusal_text(refusal, sizeof(refusal));
        snprintf(buf, size, "libc: io_uring is not available: %s; every call uses libc", refusal);
    } else if (global) {
        snprintf(buf, size, "libc: %s; every call uses libc", global);
    } else if (!ring_calls) {
        snprintf(buf, size, "libc: io_uring works here but no call can use it (see the call lines)");
    } else {
        snprintf(buf, size, "ring: io_uring works here; %u of %u calls can go through it%s", ring_calls,
                 (unsigned)CALL_COUNT, cfg.pretend ? " (IOU_SHIM_PRETEND in effect)" : "");
    }
}

static void print_text(struct call_verdict *v, const char *summary)
{
    char buf[PATH_LIMIT + 64];
    printf("result: %s\n", summary);
    printf("iou-check: %s\n", CHECK_VERSION);
    if (lib.path)
        printf("library: %s (%s%s)\n", lib.path, lib.loads ? "loads" : "does not load: ", lib.error);
    printf("kernel: Linux %s %s\n", mach.uts.release, mach.uts.machine);
    if (mach.uring_disabled == -1)
        printf("kernel.io_uring_disabled: absent (no such switch before 6.6)\n");
    else if (mach.uring_disabled < 0)
        printf("kernel.io_uring_disabled: unreadable\n");
    else
        printf("kernel.io_uring_disabled: %d (%s)\n", mach.uring_disabled,
               mach.uring_disabled == 0   ? "io_uring allowed"
               : mach.uring_disabled == 1 ? "only CAP_SYS_ADMIN and group kernel.io_uring_group"
                                          : "io_uring disabled");
    printf("seccomp: %s", seccomp_text());
    if (mach.seccomp_mode == 2)
        printf(" (%d filter%s)", mach.seccomp_filters, mach.seccomp_filters == 1 ? "" : "s");
    putchar('\n');
    if (ring.made) {
        printf("ring: yes (queue depth %u, a request went through it)\n", cfg.queue_depth);
        printf("setup flags: %s%s\n", flags_text(ring.flags),
               cfg.no_setup_flags ? " (IOU_SHIM_PRETEND=no-setup-flags)" : "");
        printf("registered ring fd: %s%s\n", yes(ring.registered_fd),
               cfg.no_ring_fd ? " (IOU_SHIM_PRETEND=no-ring-fd)" : "");
        if (ring.probe_ok)
            printf("opcode probe: yes (the kernel knows opcodes 0 to %d)\n", ring.last_op);
        else
            printf("opcode probe: no%s: only the 5.1 opcodes NOP, READV, WRITEV, FSYNC are assumed\n",
                   cfg.no_probe ? " (IOU_SHIM_PRETEND=no-probe)" : "");
        printf("opcodes:");
        for (unsigned i = 0; i < SHOWN_COUNT; i++)
            printf(" %s=%s", shown_ops[i].name, yes(ring.have_op[shown_ops[i].opcode]));
        putchar('\n');
        printf("IORING_ACCEPT_DONTWAIT: %s\n", yes(ring.accept_dontwait));
    } else {
        char refusal[512];
        refusal_text(refusal, sizeof(refusal));
        printf("ring: no: %s\n", refusal);
    }
    for (unsigned i = 0; i < CALL_COUNT; i++)
        printf("call %s: %s: %s\n", calls[i].name, v[i].ring ? "ring" : "libc", v[i].detail);
    for (unsigned var = 0; var < V_COUNT; var++) {
        printf("config: %s=%s (%s", var_names[var], effective(var, buf, sizeof(buf)),
               source_names[cfg.source[var]]);
        if (cfg.source[var] == FROM_INVALID)
            printf(": \"%s\" ignored", cfg.raw[var]);
        printf(")\n");
    }
    if (cfg.pretend)
        printf("config: IOU_SHIM_PRETEND=%s (testing only: simulates an older kernel or a slower path)\n",
               cfg.pretend);
    for (unsigned i = 0; i < cfg.complaint_count; i++)
        printf("%s\n", cfg.complaints[i]);
}

static void print_json(struct call_verdict *v, const char *summary, bool ok)
{
    char buf[PATH_LIMIT + 64];
    printf("{\"ok\":%s,\"summary\":", ok ? "true" : "false");
    json_string(summary);
    printf(",\"version\":\"%s\",\"library\":", CHECK_VERSION);
    json_string(lib.path);
    if (lib.path) {
        printf(",\"library_loads\":%s,\"library_error\":", lib.loads ? "true" : "false");
        json_string(lib.loads ? NULL : lib.error);
    } else {
        printf(",\"library_loads\":null,\"library_error\":null");
    }
    printf(",\"kernel\":");
    json_string(mach.uts.release);
    printf(",\"machine\":");
    json_string(mach.uts.machine);
    if (mach.uring_disabled < 0)
        printf(",\"io_uring_disabled\":null");
    else
        printf(",\"io_uring_disabled\":%d", mach.uring_disabled);
    printf(",\"seccomp\":\"%s\",\"seccomp_filters\":%d", seccomp_text(), mach.seccomp_filters);
    if (mach.memlock.rlim_cur == RLIM_INFINITY)
        printf(",\"memlock_bytes\":null");
    else
        printf(",\"memlock_bytes\":%llu", (unsigned long long)mach.memlock.rlim_cur);
    printf(",\"ring\":%s", ring.made ? "true" : "false");
    if (ring.made) {
        printf(",\"ring_errno\":null,\"ring_error\":null,\"setup_flags\":\"%s\"", flags_text(ring.flags));
    } else {
        char refusal[512];
        refusal_text(refusal, sizeof(refusal));
        printf(",\"ring_errno\":\"%s\",\"ring_error\":", errno_name(-ring.err));
        json_string(refusal);
        printf(",\"setup_flags\":null");
    }
    printf(",\"registered_ring_fd\":%s,\"probe\":%s,\"accept_dontwait\":%s,\"opcodes\":{",
           ring.registered_fd ? "true" : "false", ring.probe_ok ? "true" : "false",
           ring.accept_dontwait ? "true" : "false");
    for (unsigned i = 0; i < SHOWN_COUNT; i++)
        printf("%s\"%s\":%s", i ? "," : "", shown_ops[i].name,
               ring.have_op[shown_ops[i].opcode] ? "true" : "false");
    printf("},\"calls\":{");
    for (unsigned i = 0; i < CALL_COUNT; i++) {
        printf("%s\"%s\":{\"path\":\"%s\",\"detail\":", i ? "," : "", calls[i].name,
               v[i].ring ? "ring" : "libc");
        json_string(v[i].detail);
        putchar('}');
    }
    printf("},\"config\":{");
    for (unsigned var = 0; var < V_COUNT; var++) {
        printf("%s\"%s\":{\"value\":", var ? "," : "", var_names[var]);
        json_string(effective(var, buf, sizeof(buf)));
        printf(",\"source\":\"%s\",\"raw\":", source_names[cfg.source[var]]);
        json_string(cfg.raw[var]);
        putchar('}');
    }
    printf("},\"pretend\":");
    json_string(cfg.pretend);
    printf(",\"complaints\":[");
    for (unsigned i = 0; i < cfg.complaint_count; i++) {
        if (i)
            putchar(',');
        json_string(cfg.complaints[i]);
    }
    printf("]}\n");
}

static void usage(FILE *to)
{
    fprintf(to, "Usage: iou-check [--json] [--library PATH]\n"
                "Reports what iou-shim would do on this machine and why; run by `iou-run --check`.\n"
                "Exit status: 0 when calls would go through io_uring, 1 when all would use libc, 2 usage.\n");
}

int main(int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "--library") && i + 1 < argc) {
            lib.path = argv[++i];
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "iou-check: unknown argument \"%s\"\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    read_config();
    read_machine();
    if (lib.path)
        check_library();
    check_ring();

    struct call_verdict v[CALL_COUNT];
    for (unsigned i = 0; i < CALL_COUNT; i++)
        judge_call(&calls[i], i, &v[i]);
    unsigned ring_calls = ring_call_count(v);
    char summary[1024];
    summary_text(summary, sizeof(summary), ring_calls);
    bool ok = ring_calls > 0;
    if (json)
        print_json(v, summary, ok);
    else
        print_text(v, summary);
    return ok ? 0 : 1;
}
