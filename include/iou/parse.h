/* Parsing of IOU_SHIM_* values, shared by the library (shim/config.c) and iou-check (tools/), so both
 * read every variable the same way. Header-only: iou-check does not link the library. */
#ifndef IOU_PARSE_H
#define IOU_PARSE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* A decimal number in [min, max]; false if value is anything else. */
static inline bool iou_parse_number(const char *value, unsigned min, unsigned max, unsigned *out)
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

/* A signal name (USR2, SIGUSR2, RTMIN+3) or number, never SIGKILL or SIGSTOP. */
static inline bool iou_parse_signal(const char *value, int *out)
{
    static const struct {
        const char *name;
        int number;
    } names[] = {{"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
                 {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"WINCH", SIGWINCH}, {"PWR", SIGPWR}};
    const char *name = strncmp(value, "SIG", 3) ? value : value + 3;
    unsigned n;
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(name, names[i].name)) {
            *out = names[i].number;
            return true;
        }
    if (!strncmp(name, "RTMIN+", 6) && iou_parse_number(name + 6, 0, (unsigned)(SIGRTMAX - SIGRTMIN), &n)) {
        *out = SIGRTMIN + (int)n;
        return true;
    }
    if (iou_parse_number(value, 1, (unsigned)SIGRTMAX, &n) && n != SIGKILL && n != SIGSTOP) {
        *out = (int)n;
        return true;
    }
    return false;
}

/* IOU_SHIM_OPS: "read,write" chooses only those, "-fsync" removes one from all, "all" is everything.
 * lookup gives a call's bit number from its name (or alias), -1 when unknown. False on a bad name. */
static inline bool iou_parse_ops(const char *value, uint32_t all, int (*lookup)(const char *, unsigned),
                                 uint32_t *out)
{
    uint32_t chosen = 0, removed = 0;
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
            int bit = lookup(name, name_len);
            if (bit < 0)
                return false;
            if (remove)
                removed |= 1u << bit;
            else
                chosen |= 1u << bit, any_positive = true;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    *out = (any_positive ? chosen : all) & ~removed;
    return true;
}

#endif
