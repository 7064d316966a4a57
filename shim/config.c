/* Reads IOU_SHIM_* once per process (secure_getenv: ignored in setuid programs) into one immutable
 * struct. A bad value gets one line on stderr naming the variable, the value and the default used
 * instead; the program always runs on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iou/config.h"
#include "iou/log.h"
#include "iou/ops.h"

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

/* Parses a decimal number in [min, max]; false if value is anything else. */
static bool parse_number(const char *value, unsigned min, unsigned max, unsigned *out)
{
    if (!*value)
        return false;
    unsigned long n = 0;
    for (const char *p = value; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        n = n * 10 + (unsigned long)(*p - '0');
        if (n > max)
            return false;
    }
    if (n < min)
        return false;
    *out = (unsigned)n;
    return true;
}

static void read_number(const char *var, unsigned min, unsigned max, unsigned *field)
{
    const char *value = secure_getenv(var);
    if (!value)
        return;
    if (!parse_number(value, min, max, field)) {
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

/* IOU_SHIM_OPS: "read,write" routes only those; "-fsync" removes one from all; "all" is everything. */
static void read_ops(struct iou_config *c)
{
    const char *value = secure_getenv("IOU_SHIM_OPS");
    if (!value)
        return;
    uint32_t all = defaults.ops_enabled, chosen = 0, removed = 0;
    bool any_positive = false;
    for (const char *p = value; *p;) {
        const char *end = strchr(p, ',');
        unsigned len = end ? (unsigned)(end - p) : (unsigned)strlen(p);
        bool remove = len > 0 && p[0] == '-';
        const char *name = remove ? p + 1 : p;
        unsigned name_len = remove ? len - 1 : len;
        if (name_len == 3 && !memcmp(name, "all", 3)) {
            if (remove)
                removed = all;
            else
                chosen = all, any_positive = true;
        } else if (name_len > 0) {
            int op = iou_op_by_name(name, name_len);
            if (op < 0) {
                bad_value("IOU_SHIM_OPS", value, "call names such as read,write,-fsync", "all");
                return;
            }
            if (remove)
                removed |= 1u << op;
            else
                chosen |= 1u << op, any_positive = true;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    c->ops_enabled = (any_positive ? chosen : all) & ~removed;
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
