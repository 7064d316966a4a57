/* Resolves the real libc functions behind the shim's interposed symbols, once per process.
 * dlsym(RTLD_NEXT) finds the next definition after the shim: glibc's. Resolution may run from inside
 * another library's constructor or a signal handler's first call, so it takes no lock: two threads
 * racing both resolve the same addresses and publish identical tables. */
#include <dlfcn.h>
#include <errno.h>

#include "iou/libc.h"

static struct iou_libc resolved;
static int resolved_ready;

static void resolve_all(void)
{
    int saved_errno = errno; /* dlsym may set errno; the program must not see it */
#define IOU_LIBC_RESOLVE(ret, name, params) \
    __atomic_store_n((void **)&resolved.name, dlsym(RTLD_NEXT, #name), __ATOMIC_RELAXED);
    IOU_LIBC_FUNCTIONS(IOU_LIBC_RESOLVE)
#undef IOU_LIBC_RESOLVE
    errno = saved_errno;
    __atomic_store_n(&resolved_ready, 1, __ATOMIC_RELEASE);
}

const struct iou_libc *iou_libc(void)
{
    if (__builtin_expect(!__atomic_load_n(&resolved_ready, __ATOMIC_ACQUIRE), 0))
        resolve_all();
    return &resolved;
}
