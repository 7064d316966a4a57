/* Signal handler bookkeeping for EINTR fidelity (see iou/signals.h).
 *
 * For each signal the table holds the program's own handler and flags when the shim put its trampoline
 * in front of it. sigaction() reports the program's handler back, so the shim stays invisible; a
 * handler installed WITH SA_RESTART (or SIG_DFL / SIG_IGN) is installed untouched. Handlers installed
 * through raw system calls are not seen: their signals are treated as restarting. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "iou/libc.h"
#include "iou/signals.h"
#include "iou/sys.h"

static __thread unsigned interrupting_runs __attribute__((tls_model("initial-exec")));

struct wrapped {
    void *handler;      /* the program's handler, NULL when the trampoline is not installed */
    int flags;          /* the program's sa_flags */
};
static struct wrapped wrapped[NSIG];
static sigset_t interrupt_set; /* signals siginterrupt() made interrupting, for signal() */

/* A vfork child shares this table with its parent but has its own handlers in the kernel. Python's
 * subprocess resets every handler to SIG_DFL in its vfork child: written to the table, that would
 * make the parent's trampolines drop the parent's signals. So the table belongs to one process, and
 * a child that shares its memory (a vfork or CLONE_VM child) passes straight through to libc. */
static int table_pid;

static void signals_after_fork_in_child(void)
{
    table_pid = iou_sys_getpid();
}

void iou_signals_start(void)
{
    table_pid = iou_sys_getpid();
    pthread_atfork(NULL, NULL, signals_after_fork_in_child);
}

unsigned iou_signals_interrupting(void)
{
    return __atomic_load_n(&interrupting_runs, __ATOMIC_RELAXED);
}

static void trampoline(int sig, siginfo_t *info, void *context)
{
    __atomic_store_n(&interrupting_runs, interrupting_runs + 1, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    void *handler = __atomic_load_n(&wrapped[sig].handler, __ATOMIC_ACQUIRE);
    int flags = __atomic_load_n(&wrapped[sig].flags, __ATOMIC_RELAXED);
    if (!handler || handler == (void *)SIG_IGN || handler == (void *)SIG_DFL)
        return;
    if (flags & SA_SIGINFO)
        ((void (*)(int, siginfo_t *, void *))handler)(sig, info, context);
    else
        ((void (*)(int))handler)(sig);
}

static bool needs_trampoline(const struct sigaction *act)
{
    return act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN && !(act->sa_flags & SA_RESTART);
}

int iou_sig_action(int sig, const struct sigaction *act, struct sigaction *old)
{
    const struct iou_libc *libc = iou_libc();
    if (!libc->sigaction) {
        errno = ENOSYS;
        return -1;
    }
    if (sig <= 0 || sig >= NSIG || (table_pid && iou_sys_getpid() != table_pid))
        return libc->sigaction(sig, act, old);

    struct sigaction installed, previous;
    struct wrapped before = {__atomic_load_n(&wrapped[sig].handler, __ATOMIC_ACQUIRE), wrapped[sig].flags};
    const struct sigaction *request = act;
    if (act && needs_trampoline(act)) {
        installed = *act;
        installed.sa_sigaction = trampoline;
        installed.sa_flags |= SA_SIGINFO;
        request = &installed;
        /* Publish the program's handler before the trampoline can run. */
        __atomic_store_n(&wrapped[sig].flags, act->sa_flags, __ATOMIC_RELAXED);
        __atomic_store_n(&wrapped[sig].handler, (void *)act->sa_sigaction, __ATOMIC_RELEASE);
    }
    int r = libc->sigaction(sig, request, &previous);
    if (r != 0) {
        __atomic_store_n(&wrapped[sig].flags, before.flags, __ATOMIC_RELAXED);
        __atomic_store_n(&wrapped[sig].handler, before.handler, __ATOMIC_RELEASE);
        return r;
    }
    if (act && request == act)
        __atomic_store_n(&wrapped[sig].handler, NULL, __ATOMIC_RELEASE);
    if (old) {
        *old = previous;
        /* The kernel holds the trampoline: tell the program what it installed. SA_RESETHAND may have
         * put SIG_DFL back in the meantime; then previous is not the trampoline and is right as is. */
        if (previous.sa_sigaction == trampoline && before.handler) {
            old->sa_sigaction = (void (*)(int, siginfo_t *, void *))before.handler;
            /* The kernel's flags (glibc adds SA_RESTORER) less the SA_SIGINFO the shim added. */
            old->sa_flags = (previous.sa_flags & ~SA_SIGINFO) | (before.flags & SA_SIGINFO);
        }
    }
    return 0;
}

__sighandler_t iou_sig_signal(int sig, __sighandler_t handler, int flags_mode)
{
    struct sigaction act, old;
    if (handler == SIG_ERR || sig <= 0 || sig >= NSIG) {
        errno = EINVAL;
        return SIG_ERR;
    }
    memset(&act, 0, sizeof(act));
    act.sa_handler = handler;
    sigemptyset(&act.sa_mask);
    if (flags_mode == IOU_SIGNAL_SYSV) {
        act.sa_flags = SA_RESETHAND | SA_NODEFER;
    } else {
        /* glibc's BSD semantics: block the signal in its handler, restart unless siginterrupt(). */
        sigaddset(&act.sa_mask, sig);
        act.sa_flags = sigismember(&interrupt_set, sig) ? 0 : SA_RESTART;
    }
    if (iou_sig_action(sig, &act, &old) < 0)
        return SIG_ERR;
    return old.sa_handler;
}

int iou_sig_interrupt(int sig, int interrupt)
{
    struct sigaction act;
    if (sig <= 0 || sig >= NSIG) {
        errno = EINVAL;
        return -1;
    }
    if (iou_sig_action(sig, NULL, &act) < 0)
        return -1;
    if (interrupt) {
        sigaddset(&interrupt_set, sig);
        act.sa_flags &= ~SA_RESTART;
    } else {
        sigdelset(&interrupt_set, sig);
        act.sa_flags |= SA_RESTART;
    }
    return iou_sig_action(sig, &act, NULL);
}
