/* Raw system calls for the shim's own use.
 * The shim must never call a symbol it interposes (close, fcntl, syscall...), must not touch the
 * program's errno, and must stay safe inside signal handlers: these helpers return the kernel's
 * result directly, a value or -errno, like liburing's own nolibc build. */
#ifndef IOU_SYS_H
#define IOU_SYS_H

#include <stdint.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
static inline long iou_sys6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__)
static inline long iou_sys6(long n, long a, long b, long c, long d, long e, long f)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory", "cc");
    return x0;
}
#else
#error "iou-shim: raw system calls are implemented for x86_64 and aarch64 only"
#endif

#define iou_sys0(n) iou_sys6((n), 0, 0, 0, 0, 0, 0)
#define iou_sys1(n, a) iou_sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define iou_sys2(n, a, b) iou_sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define iou_sys3(n, a, b, c) iou_sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define iou_sys4(n, a, b, c, d) iou_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define iou_sys5(n, a, b, c, d, e) iou_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

static inline int iou_sys_close(int fd) { return (int)iou_sys1(SYS_close, fd); }
static inline int iou_sys_getfl(int fd) { return (int)iou_sys2(SYS_fcntl, fd, 3 /* F_GETFL */); }
static inline int iou_sys_gettid(void) { return (int)iou_sys0(SYS_gettid); }
static inline int iou_sys_getpid(void) { return (int)iou_sys0(SYS_getpid); }
static inline long iou_sys_write(int fd, const void *buf, unsigned long n) { return iou_sys3(SYS_write, fd, buf, n); }

#endif
