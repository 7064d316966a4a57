/* Messages and output files for the shim. Everything goes through raw system calls, so the program's
 * stdio buffers, errno and interposed symbols are never touched. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "iou/log.h"
#include "iou/sys.h"

/* Replaces %p in pattern by the pid. */
static void expand_path(const char *pattern, char *out, size_t size)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 1 < size; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            o += (size_t)snprintf(out + o, size - o, "%d", iou_sys_getpid());
            p++;
        } else {
            out[o++] = *p;
        }
    }
    out[o < size ? o : size - 1] = '\0';
}

void iou_write_out(const char *path, const char *buf, unsigned long len)
{
    int fd = 2;
    if (path && path[0]) {
        char name[IOU_PATH_MAX + 32];
        expand_path(path, name, sizeof(name));
        fd = (int)iou_sys4(SYS_openat, AT_FDCWD, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
            return;
    }
    iou_write_fd(fd, buf, len);
    if (fd != 2)
        iou_sys_close(fd);
}

void iou_write_fd(int fd, const char *buf, unsigned long len)
{
    while (len > 0) {
        long n = iou_sys_write(fd, buf, len);
        if (n == -4 /* EINTR */)
            continue;
        if (n <= 0)
            break;
        buf += n;
        len -= (unsigned long)n;
    }
}

static void vlog_line(const char *path, const char *fmt, va_list ap)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "iou-shim[%d]: ", iou_sys_getpid());
    n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    iou_write_out(path, line, (unsigned long)n);
}

void iou_log(enum iou_log_level level, const char *fmt, ...)
{
    const struct iou_config *cfg = iou_config();
    if (level == IOU_LOG_OFF || cfg->log_level < level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog_line(cfg->log_path, fmt, ap);
    va_end(ap);
}

void iou_warn(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    iou_write_out(NULL, line, (unsigned long)n);
}
