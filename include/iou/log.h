/* Messages from the shim: silent unless IOU_SHIM_LOG asks, never through the program's stdio. */
#ifndef IOU_LOG_H
#define IOU_LOG_H

#include "iou/config.h"

/* Writes one line "iou-shim[pid]: ..." if level is enabled. Off the hot path only. */
void iou_log(enum iou_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes one line to stderr whatever the log level: for bad configuration values. */
void iou_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes all of buf to fd (or to a file named by path, %p replaced by the pid, when path is set). */
void iou_write_out(const char *path, const char *buf, unsigned long len);

/* Writes all of buf to fd. */
void iou_write_fd(int fd, const char *buf, unsigned long len);

#endif
