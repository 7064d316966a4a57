/* Per-thread state blocks: created on a thread's first interposed call, released by a pthread key
 * destructor when the thread exits, reset in a forked child.
 *
 * Blocks live in a lock-free registry that only grows: a thread claims a free block (compare-and-swap)
 * or pushes a new one, and gives it back at exit. Nothing here takes a lock, so a thread's first call
 * may come from a signal handler, and fork can never find the registry locked. Counters stay in the
 * block after its thread exits, so the sum at exit covers every thread that ever ran. */
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "iou/autoroute.h"
#include "iou/ftable.h"
#include "iou/log.h"
#include "iou/ring.h"
#include "iou/sys.h"
#include "iou/thread.h"

static struct iou_thread *registry;
static __thread struct iou_thread *self __attribute__((tls_model("initial-exec")));
static __thread uint8_t exited __attribute__((tls_model("initial-exec")));
static __thread uint8_t claiming __attribute__((tls_model("initial-exec")));

static pthread_key_t exit_key;
static int key_state; /* 0 none, 1 being made, 2 ready, 3 failed */

static void thread_exit(void *arg)
{
    struct iou_thread *t = arg;
    exited = 1;
    self = NULL;
    iou_auto_thread_exit();
    iou_ring_release(t);
    t->busy = 0;
    __atomic_store_n(&t->claimed, 0, __ATOMIC_RELEASE);
}

/* fork runs the program's and other libraries' pthread_atfork child handlers too, in registration
 * order; one that does I/O before this module's handler has reset the child's state would use the
 * parent's ring, whose memory the child does not have (MADV_DONTFORK). So from the moment fork
 * begins (prepare) until this module's handler has run, the forking thread's calls go to libc. The
 * handlers run in the forking thread, and it is the child's only thread: the other threads of the
 * parent go on using their rings (a process-wide flag sent their calls to libc for the whole fork). */
static __thread uint8_t forking __attribute__((tls_model("initial-exec")));

bool iou_thread_forking(void)
{
    return forking != 0;
}

static void before_fork(void)
{
    forking = 1;
}

static void after_fork_in_parent(void)
{
    forking = 0;
}

/* In a forked child only the forking thread exists: every other block is free again, no ring of the
 * parent may be touched, and counting starts from zero. */
static void after_fork_in_child(void)
{
    for (struct iou_thread *t = __atomic_load_n(&registry, __ATOMIC_ACQUIRE); t; t = t->next) {
        iou_ring_forget_after_fork(t);
        memset(&t->stats, 0, sizeof(t->stats));
        iou_auto_after_fork_in_child(t);
        if (t != self) {
            t->busy = 0;
            __atomic_store_n(&t->claimed, 0, __ATOMIC_RELEASE);
        }
    }
    iou_stats_reset_process();
    iou_ftable_after_fork_in_child();
    forking = 0;
}

void iou_thread_start(void)
{
    /* Registered from the constructor, before the program can register its own: prepare handlers
     * run last-registered first, so ours runs last, right before the fork; child and parent
     * handlers run in registration order, so ours runs first. */
    pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

static bool make_key(void)
{
    int state = __atomic_load_n(&key_state, __ATOMIC_ACQUIRE);
    if (state == 2)
        return true;
    if (state == 0 && __atomic_compare_exchange_n(&key_state, &state, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        bool ok = pthread_key_create(&exit_key, thread_exit) == 0;
        __atomic_store_n(&key_state, ok ? 2 : 3, __ATOMIC_RELEASE);
        return ok;
    }
    if (claiming)
        return false; /* re-entered from a signal handler while this thread makes the key */
    while ((state = __atomic_load_n(&key_state, __ATOMIC_ACQUIRE)) == 1)
        sched_yield();
    return state == 2;
}

static struct iou_thread *claim_free_block(void)
{
    for (struct iou_thread *t = __atomic_load_n(&registry, __ATOMIC_ACQUIRE); t; t = t->next) {
        uint32_t expected = 0;
        if (__atomic_load_n(&t->claimed, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&t->claimed, &expected, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            return t;
    }
    return NULL;
}

static struct iou_thread *new_block(void)
{
    size_t size = (sizeof(struct iou_thread) + 4095) & ~(size_t)4095;
    long p = iou_sys6(SYS_mmap, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p < 0 && p > -4096)
        return NULL;
    struct iou_thread *t = (struct iou_thread *)p;
    t->claimed = 1;
    t->ring_fd = -1;
    struct iou_thread *head = __atomic_load_n(&registry, __ATOMIC_RELAXED);
    do
        t->next = head;
    while (!__atomic_compare_exchange_n(&registry, &head, t, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
    return t;
}

static struct iou_thread *claim(void)
{
    if (claiming)
        return NULL;
    claiming = 1;
    struct iou_thread *t = NULL;
    if (make_key()) {
        t = claim_free_block();
        if (!t)
            t = new_block();
        if (t) {
            t->ring_state = IOU_RING_NONE;
            t->busy = 0;
            pthread_setspecific(exit_key, t);
            self = t;
        }
    }
    claiming = 0;
    return t;
}

struct iou_thread *iou_thread_get(void)
{
    struct iou_thread *t = self;
    if (__builtin_expect(t != NULL, 1))
        return t;
    if (exited)
        return NULL;
    return claim();
}

void iou_thread_foreach(void (*fn)(struct iou_thread *t, void *arg), void *arg)
{
    for (struct iou_thread *t = __atomic_load_n(&registry, __ATOMIC_ACQUIRE); t; t = t->next)
        fn(t, arg);
}
