/* Which signal handlers may interrupt a blocking call (SEMANTICS row 5).
 * io_uring_enter returns EINTR for every signal, whatever the handler's SA_RESTART flag, and also for
 * SIGSTOP/SIGCONT. The shim installs a small trampoline in front of each handler the program installs
 * WITHOUT SA_RESTART; the trampoline counts, per thread, that such a handler ran, then calls it. A wait
 * interrupted while the count did not move is resumed, as the kernel would have restarted the call. */
#ifndef IOU_SIGNALS_H
#define IOU_SIGNALS_H

#include <signal.h>

/* Records which process owns the handler table (called once at start). */
void iou_signals_start(void);

/* How many handlers without SA_RESTART have run in this thread so far. */
unsigned iou_signals_interrupting(void);

/* The interposed signal API. Return values and errno exactly as libc's. */
int iou_sig_action(int sig, const struct sigaction *act, struct sigaction *old);
__sighandler_t iou_sig_signal(int sig, __sighandler_t handler, int flags_mode);
int iou_sig_interrupt(int sig, int interrupt);

/* flags_mode for iou_sig_signal */
#define IOU_SIGNAL_BSD 0   /* signal(), bsd_signal(): restart unless siginterrupt() said otherwise */
#define IOU_SIGNAL_SYSV 1  /* sysv_signal(): one-shot, no restart */

#endif
