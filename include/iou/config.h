/* The shim's configuration: IOU_SHIM_* read once per process into one immutable struct. */
#ifndef IOU_CONFIG_H
#define IOU_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

enum iou_route_mode { IOU_ROUTE_RING, IOU_ROUTE_ALL, IOU_ROUTE_AUTO, IOU_ROUTE_LIBC };
enum iou_log_level { IOU_LOG_OFF, IOU_LOG_ERROR, IOU_LOG_INFO, IOU_LOG_DEBUG };

#define IOU_SHIM_VERSION "0.1.0"
#define IOU_PATH_MAX 512

struct iou_config {
    enum iou_route_mode route;
    unsigned queue_depth;
    unsigned max_rings;
    unsigned files;                /* registered-file slots per ring at most; 0: no registration */
    uint32_t ops_enabled;          /* bit per enum iou_op */
    bool stats;
    bool stats_json;
    int stats_signal;              /* IOU_SHIM_STATS_SIGNAL: dump stats when it arrives; 0 none */
    char stats_path[IOU_PATH_MAX]; /* empty: stderr */
    enum iou_log_level log_level;
    char log_path[IOU_PATH_MAX];   /* empty: stderr */
    /* IOU_SHIM_PRETEND: make the shim act as on an older kernel, to test its fallbacks. */
    bool pretend_no_setup_flags;   /* io_uring_setup refuses every flag (before 5.6) */
    bool pretend_no_ring_fd;       /* IORING_REGISTER_RING_FDS refused (before 5.18) */
    bool pretend_no_probe;         /* IORING_REGISTER_PROBE refused (before 5.6) */
    bool pretend_no_cancel;        /* IORING_OP_ASYNC_CANCEL missing (before 5.5) */
    /* ...and, to test route `auto` without depending on timing, make one path look 1 s slower. */
    bool pretend_auto_ring_slow;
    bool pretend_auto_libc_slow;
    bool pretend_auto_no_warmup;   /* ...and measure from a thread's first call, not after its warm-up */
};

#define IOU_DEFAULT_QUEUE_DEPTH 16
#define IOU_DEFAULT_MAX_RINGS 1024
#define IOU_DEFAULT_FILES 4096

/* The configuration, read on first use (safe from constructors and signal handlers). */
const struct iou_config *iou_config(void);

/* Writes the settings that differ from the defaults, as "name=value" words, into buf. */
void iou_config_describe_changes(char *buf, unsigned size);

#endif
