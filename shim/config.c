/* Reads IOU_SHIM_* once per process (secure_getenv: ignored in setuid programs) into one immutable
 * struct. A bad value gets one line on stderr naming the variable, the value and the default used
 * instead; the program always runs on. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iou/config.h"
#include "iou/log.h"
#include "iou/ops.h"
#include "iou/parse.h"

static inline void iou_cpu_relax(void)
{
#if defined(__x86_64__)
    __builtin_ia32_pause();
#else
    __asm__ volatile("yield");
#endif
}

static struct iou_config config;
static int config_state; /* 0 unread, 1 being read, 2 ready */
static __thread int reading_here __attribute__((tls_model("initial-exec")));

static const struct iou_config defaults = {
    .route = IOU_ROUTE_RING,
    .queue_depth = IOU_DEFAULT_QUEUE_DEPTH,
    .max_rings = IOU_DEFAULT_MAX_RINGS,
    .files = IOU_DEFAULT_FILES,
    .ops_enabled = (1u << IOU_OP_COUNT) - 1,
};

static void bad_value(const char *var, const char *value, const char *expected, const char *fallback)
{
    iou_warn("iou-shim: %s=\"%s\" is invalid (expected %s); using %s", var, value, expected, fallback);
}

static void read_number(const char *var, unsigned min, unsigned max, unsigned *field)
{
    const char *value = secure_getenv(var);
    if (!value)
        return;
    if (!iou_parse_number(value, min, max, field)) {
        char expected[64], fallback[16];
        snprintf(expected, sizeof(expected), "a number from %u to %u", min, max);
        snprintf(fallback, sizeof(fallback), "%u", *field);
        bad_value(var, value, expected, fallback);
    }
}

/* Chooses value's index in names[]; keeps *field and complains when value is not one of them. */
static void read_choice(const char *var, const char *const *names, unsigned count, const char *expected,
                        unsigned *field)
{
    const char *value = secure_getenv(var);
    if (!value)
        return;
    for (unsigned i = 0; i < count; i++)
        if (names[i] && !strcmp(value, names[i])) {
            *field = i;
            return;
        }
    bad_value(var, value, expected, names[*field]);
}

static void read_path(const char *var, char *field)
{
    const char *value = secure_getenv(var);
    if (!value || !*value)
        return;
    if (strlen(value) >= IOU_PATH_MAX) {
        bad_value(var, value, "a path shorter than 512 bytes", "stderr");
        return;
    }
    strcpy(field, value);
}

/* IOU_SHIM_OPS: which calls to route (see iou/parse.h). */
static void read_ops(struct iou_config *c)
{
    const char *value = secure_getenv("IOU_SHIM_OPS");
    if (value && !iou_parse_ops(value, defaults.ops_enabled, iou_op_by_name, &c->ops_enabled))
        bad_value("IOU_SHIM_OPS", value, "call names such as read,write,-fsync", "all");
}

/* IOU_SHIM_STATS_SIGNAL: a signal name (USR2, SIGUSR2, RTMIN+3) or number. */
static void read_signal(struct iou_config *c)
{
    const char *value = secure_getenv("IOU_SHIM_STATS_SIGNAL");
    if (value && *value && !iou_parse_signal(value, &c->stats_signal))
        bad_value("IOU_SHIM_STATS_SIGNAL", value, "a signal name such as USR2 or a number", "none");
}

static void read_pretend(struct iou_config *c)
{
    const char *value = secure_getenv("IOU_SHIM_PRETEND");
    if (!value)
        return;
    c->pretend_no_setup_flags = strstr(value, "no-setup-flags") != NULL;
    c->pretend_no_ring_fd = strstr(value, "no-ring-fd") != NULL;
    c->pretend_no_probe = strstr(value, "no-probe") != NULL;
    c->pretend_no_cancel = strstr(value, "no-cancel") != NULL;
    c->pretend_auto_ring_slow = strstr(value, "auto-ring-slow") != NULL;
    c->pretend_auto_libc_slow = strstr(value, "auto-libc-slow") != NULL;
    c->pretend_auto_no_warmup = strstr(value, "auto-no-warmup") != NULL;
}

static void read_all(struct iou_config *c)
{
    static const char *const route_names[] = {"ring", "all", "auto", "libc"};
    static const char *const log_names[] = {"off", "error", "info", "debug"};
    static const char *const bool_names[] = {"0", "1"};
    static const char *const format_names[] = {"text", "json"};
    unsigned choice;

    *c = defaults;
    choice = c->route;
    read_choice("IOU_SHIM_ROUTE", route_names, 4, "ring, all, auto or libc", &choice);
    c->route = (enum iou_route_mode)choice;

    const char *disable = secure_getenv("IOU_SHIM_DISABLE");
    if (disable && *disable) {
        choice = 0;
        read_choice("IOU_SHIM_DISABLE", bool_names, 2, "0 or 1", &choice);
        if (choice)
            c->route = IOU_ROUTE_LIBC;
    }

    read_number("IOU_SHIM_QUEUE_DEPTH", 2, 4096, &c->queue_depth);
    read_number("IOU_SHIM_MAX_RINGS", 0, 65536, &c->max_rings);
    read_number("IOU_SHIM_FILES", 0, 65536, &c->files);
    read_ops(c);

    const char *stats = secure_getenv("IOU_SHIM_STATS");
    if (stats && *stats && strcmp(stats, "0")) {
        c->stats = true;
        if (strcmp(stats, "1"))
            read_path("IOU_SHIM_STATS", c->stats_path);
    }
    choice = 0;
    read_choice("IOU_SHIM_STATS_FORMAT", format_names, 2, "text or json", &choice);
    c->stats_json = choice == 1;

    choice = c->log_level;
    read_choice("IOU_SHIM_LOG", log_names, 4, "off, error, info or debug", &choice);
    c->log_level = (enum iou_log_level)choice;
    read_path("IOU_SHIM_LOG_FILE", c->log_path);
    read_signal(c);
    read_pretend(c);
}

const struct iou_config *iou_config(void)
{
    if (__builtin_expect(__atomic_load_n(&config_state, __ATOMIC_ACQUIRE) == 2, 1))
        return &config;
    /* A signal handler that interrupts the reading in this same thread gets the defaults. */
    if (reading_here)
        return &defaults;
    int expected = 0;
    if (__atomic_compare_exchange_n(&config_state, &expected, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        reading_here = 1;
        read_all(&config);
        reading_here = 0;
        __atomic_store_n(&config_state, 2, __ATOMIC_RELEASE);
        return &config;
    }
    /* Another thread is reading it: that takes microseconds. */
    while (__atomic_load_n(&config_state, __ATOMIC_ACQUIRE) != 2)
        iou_cpu_relax();
    return &config;
}

void iou_config_describe_changes(char *buf, unsigned size)
{
    static const char *const route_names[] = {"ring", "all", "auto", "libc"};
    static const char *const log_names[] = {"off", "error", "info", "debug"};
    const struct iou_config *c = iou_config();
    unsigned len = 0;
    buf[0] = '\0';
#define ADD(...) (len += (unsigned)snprintf(buf + len, len < size ? size - len : 0, __VA_ARGS__))
    const char *disable = secure_getenv("IOU_SHIM_DISABLE");
    if (c->route == IOU_ROUTE_LIBC && disable && !strcmp(disable, "1"))
        ADD(" disable=1");
    else if (c->route != defaults.route)
        ADD(" route=%s", route_names[c->route]);
    if (c->queue_depth != defaults.queue_depth)
        ADD(" queue_depth=%u", c->queue_depth);
    if (c->max_rings != defaults.max_rings)
        ADD(" max_rings=%u", c->max_rings);
    if (c->files != defaults.files)
        ADD(" files=%u", c->files);
    if (c->ops_enabled != defaults.ops_enabled) {
        ADD(" ops=");
        const char *sep = "";
        for (int op = 0; op < IOU_OP_COUNT; op++)
            if (c->ops_enabled & (1u << op)) {
                ADD("%s%s", sep, iou_ops[op].name);
                sep = ",";
            }
    }
    if (c->stats)
        ADD(" stats=%s%s", c->stats_path[0] ? c->stats_path : "stderr", c->stats_json ? " stats_format=json" : "");
    if (c->stats_signal)
        ADD(" stats_signal=%d", c->stats_signal);
    if (c->log_level != defaults.log_level)
        ADD(" log=%s", log_names[c->log_level]);
    if (c->log_path[0])
        ADD(" log_file=%s", c->log_path);
    const char *pretend = secure_getenv("IOU_SHIM_PRETEND");
    if (pretend && *pretend)
        ADD(" pretend=%s", pretend);
#undef ADD
    if (len >= size && size > 4)
        strcpy(buf + size - 4, "...");
}
