/* Pieces shared by the helpers that run many threads at once (reent, stress, thr_limits): joining a thread
 * with a bound, so that one that hangs fails the helper instead of hanging the suite, and installing a
 * signal handler. */
#ifndef IOU_TEST_THREADS_H
#define IOU_TEST_THREADS_H
#include "helper.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

/* pthread_join that gives up seconds from now: 0 once joined, else pthread_timedjoin_np's error (ETIMEDOUT:
 * the thread is still running). The deadline is on CLOCK_REALTIME because pthread_timedjoin_np says so. */
static inline int join_within(pthread_t t, void **ret, int seconds)
{
    struct timespec limit;
    clock_gettime(CLOCK_REALTIME, &limit);
    limit.tv_sec += seconds;
    return pthread_timedjoin_np(t, ret, &limit);
}

/* join_within, and when the thread is still running: prints "WHAT: still running after N s" (on stdout, as
 * part of what the run compares) and counts one into *failures. True once joined. */
static inline bool join_or_count(pthread_t t, void **ret, int seconds, const char *what, atomic_int *failures)
{
    int r = join_within(t, ret, seconds);
    if (r) {
        printf("%s: still running after %d s\n", what, seconds);
        fflush(stdout);
        atomic_fetch_add(failures, 1);
    }
    return r == 0;
}

/* Installs fn for sig with flags (SA_RESTART or not, ...) and nothing added to the mask; dies if refused. */
static inline void install_handler(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL))
        die("sigaction: %s", strerror(errno));
}
#endif
