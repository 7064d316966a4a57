/* The per-thread ring.
 *
 * Set-up (once per thread, on its first routed call): the best flags this kernel accepts, falling back
 * step by step down to none; the ring's own descriptor registered (IORING_REGISTER_RING_FDS, 5.18) and
 * then closed, so the ring costs the program no descriptor and survives close_range() (SEMANTICS rows
 * 14, 18); ring memory marked MADV_DONTFORK so a forked child never shares it (row 8). The opcode probe
 * runs once per process. Any refusal means libc, never a failure of the program (row 17).
 *
 * Running a call: the request is submitted alone (one io_uring_enter without waiting). Most calls
 * complete inside that submission. Only if it did not is the caller about to block, and then (and only
 * then) the shim pays for what a blocking system call implies:
 *  - O_NONBLOCK may have been set on the file description behind the shim's back (another process,
 *    row 9): checked with one F_GETFL, and the request cancelled if so;
 *  - pthread_cancel must be able to end the wait (row 12): the wait runs in asynchronous cancellation
 *    mode, with a cleanup handler that cancels and reaps the request, so nothing stays in flight;
 *  - signals (row 5): an interrupted wait cancels and reaps the request; what it did is returned; if it
 *    did nothing, EINTR is returned only when a handler without SA_RESTART ran (iou/signals.h),
 *    otherwise the request is submitted again, as the kernel restarts the system call. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "iou/config.h"
#include "iou/ftable.h"
#include "iou/log.h"
#include "iou/ring.h"
#include "iou/signals.h"
#include "iou/stats.h"
#include "iou/sys.h"


#define TAG_CALL 1u
#define TAG_CANCEL 2u

static int process_refused;  /* io_uring is not allowed in this process (seccomp, sysctl...) */
static unsigned live_rings;

/* What the kernel offers, learned with the first ring (iou_ring_ready waits for it). */
static struct {
    int state; /* 0 not probed, 1 probing, 2 done */
    uint8_t have_op[IORING_OP_LAST];
    bool accept_dontwait;
} features;

static inline uint64_t tag(const struct iou_thread *t, unsigned kind)
{
    return t->seq << 2 | kind;
}

/* Negotiates set-up flags: each step drops what an older kernel refuses with EINVAL. */
static int setup_ring(struct iou_thread *t, unsigned depth)
{
    static const unsigned flag_steps[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CLAMP, /* 6.1 */
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CLAMP,                              /* 5.19 */
        IORING_SETUP_CLAMP,                                                          /* 5.6 */
        0,                                                                           /* 5.1 */
    };
    const struct iou_config *cfg = iou_config();
    int r = -EINVAL;
    for (unsigned i = 0; i < sizeof(flag_steps) / sizeof(flag_steps[0]); i++) {
        if (cfg->pretend_no_setup_flags && flag_steps[i])
            continue;
        struct io_uring_params p;
        memset(&p, 0, sizeof(p));
        p.flags = flag_steps[i];
        r = io_uring_queue_init_params(depth, &t->ring, &p);
        if (r != -EINVAL)
            break;
    }
    return r;
}

/* Learns which opcodes exist; kernels before 5.6 have no probe and only the 5.1 opcodes. */
static void probe_features(struct iou_thread *t)
{
    static union {
        struct io_uring_probe probe;
        char space[sizeof(struct io_uring_probe) + IORING_OP_LAST * sizeof(struct io_uring_probe_op)];
    } buf;
    const struct iou_config *cfg = iou_config();
    memset(&buf, 0, sizeof(buf));
    int r = cfg->pretend_no_probe ? -EINVAL : io_uring_register_probe(&t->ring, &buf.probe, IORING_OP_LAST);
    if (r >= 0) {
        for (unsigned i = 0; i < buf.probe.ops_len && i < IORING_OP_LAST; i++)
            features.have_op[i] = (buf.probe.ops[i].flags & IO_URING_OP_SUPPORTED) != 0;
    } else {
        features.have_op[IORING_OP_NOP] = 1;
        features.have_op[IORING_OP_READV] = 1;
        features.have_op[IORING_OP_WRITEV] = 1;
        features.have_op[IORING_OP_FSYNC] = 1;
    }
    if (cfg->pretend_no_cancel)
        features.have_op[IORING_OP_ASYNC_CANCEL] = 0;

    /* IORING_ACCEPT_DONTWAIT: a kernel that knows it fails accept on fd -1 with EBADF, one that does
     * not rejects the flag with EINVAL before looking at the fd. */
    if (features.have_op[IORING_OP_ACCEPT]) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);
        struct io_uring_cqe *cqe;
        io_uring_prep_accept(sqe, -1, NULL, NULL, 0);
        sqe->ioprio |= IORING_ACCEPT_DONTWAIT;
        sqe->user_data = 0;
        if (io_uring_submit_and_wait(&t->ring, 1) == 1 && io_uring_wait_cqe(&t->ring, &cqe) == 0) {
            features.accept_dontwait = cqe->res == -EBADF;
            io_uring_cqe_seen(&t->ring, cqe);
        }
    }
    iou_log(IOU_LOG_INFO, "io_uring probe: %s, cancel %s, accept-dontwait %s", r >= 0 ? "ok" : "refused",
            features.have_op[IORING_OP_ASYNC_CANCEL] ? "yes" : "no", features.accept_dontwait ? "yes" : "no");
}

static void ensure_probed(struct iou_thread *t)
{
    int state = __atomic_load_n(&features.state, __ATOMIC_ACQUIRE);
    if (state == 2)
        return;
    if (state == 0 && __atomic_compare_exchange_n(&features.state, &state, 1, false, __ATOMIC_ACQ_REL,
                                                  __ATOMIC_ACQUIRE)) {
        probe_features(t);
        __atomic_store_n(&features.state, 2, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&features.state, __ATOMIC_ACQUIRE) != 2)
        sched_yield();
}

static bool refusal_is_final(int err)
{
    /* Not allowed at all: seccomp (EPERM, ENOSYS), kernel.io_uring_disabled (EPERM), LSMs (EACCES). */
    return err == -EPERM || err == -ENOSYS || err == -EACCES;
}

static int create_ring(struct iou_thread *t)
{
    const struct iou_config *cfg = iou_config();
    if (__atomic_load_n(&process_refused, __ATOMIC_RELAXED))
        goto failed;
    if (__atomic_add_fetch(&live_rings, 1, __ATOMIC_RELAXED) > cfg->max_rings) {
        __atomic_sub_fetch(&live_rings, 1, __ATOMIC_RELAXED);
        iou_log(IOU_LOG_DEBUG, "ring limit %u reached: this thread uses libc", cfg->max_rings);
        goto failed;
    }
    int r = setup_ring(t, cfg->queue_depth);
    if (r < 0) {
        __atomic_sub_fetch(&live_rings, 1, __ATOMIC_RELAXED);
        if (refusal_is_final(r))
            __atomic_store_n(&process_refused, 1, __ATOMIC_RELAXED);
        iou_log(IOU_LOG_INFO, "io_uring_setup failed (%s): using libc%s", strerror(-r),
                refusal_is_final(r) ? " for the whole process" : " in this thread");
        iou_stats_ring_failed();
        goto failed;
    }
    t->ring_fd = t->ring.ring_fd;
    io_uring_ring_dontfork(&t->ring);
    ensure_probed(t);
    /* Once registered, the ring is reached by its index and its descriptor can go. */
    if (!cfg->pretend_no_ring_fd && io_uring_register_ring_fd(&t->ring) == 1) {
        iou_sys_close(t->ring_fd);
        t->ring_fd = -1;
        t->ring.ring_fd = -1;
    }
    t->ring_state = IOU_RING_READY;
    iou_stats_ring_created();
    return 0;
failed:
    t->ring_state = IOU_RING_FAILED;
    return IOU_BYPASS_NORING;
}

int iou_ring_ready(struct iou_thread *t, uint8_t opcode)
{
    if (__builtin_expect(t->ring_state != IOU_RING_READY, 0)) {
        if (t->ring_state == IOU_RING_FAILED || create_ring(t) != 0)
            return IOU_BYPASS_NORING;
    }
    return features.have_op[opcode] ? 0 : IOU_BYPASS_UNSUPPORTED;
}

bool iou_ring_refused_for_process(void)
{
    return __atomic_load_n(&process_refused, __ATOMIC_RELAXED);
}

bool iou_ring_can_wait(void)
{
    return features.have_op[IORING_OP_ASYNC_CANCEL];
}

bool iou_ring_accept_dontwait(void)
{
    return features.accept_dontwait;
}

/* Submits the pending request. 0, or the error when the kernel refused it; then the request is
 * taken back off the ring so it can never be submitted later. */
static int submit_request(struct iou_thread *t)
{
    struct io_uring *ring = &t->ring;
    unsigned tail = *ring->sq.ktail; /* the kernel's tail before this request */
    t->pending->user_data = tag(t, TAG_CALL);
    int r = io_uring_submit(ring);
    if (r == 1)
        return 0;
    if (io_uring_smp_load_acquire(ring->sq.khead) != tail)
        return 0; /* consumed even though the enter call reported an error */
    io_uring_smp_store_release(ring->sq.ktail, tail);
    ring->sq.sqe_head = ring->sq.sqe_tail = tail;
    return r < 0 ? r : -EAGAIN;
}

/* Without a registered ring (kernels before 5.18) the program can close the ring's descriptor, and
 * its number may already name another file of the program: the ring is dropped without touching that
 * descriptor, and the next call makes a new one (SEMANTICS row 14). */
static void abandon_lost_ring(struct iou_thread *t)
{
    iou_ftable_release(t);
    t->ring.int_flags = 0;
    t->ring.ring_fd = -1;
    t->ring.enter_ring_fd = -1;
    io_uring_queue_exit(&t->ring); /* unmaps only */
    t->ring_fd = -1;
    t->ring_state = IOU_RING_NONE;
    __atomic_sub_fetch(&live_rings, 1, __ATOMIC_RELAXED);
    iou_log(IOU_LOG_INFO, "the ring's descriptor was closed by the program: making a new ring");
}

/* The next completion, waiting if asked; stale completions of abandoned requests are dropped.
 * Returns 0 with *res and *kind, -EAGAIN when none is ready and wait is false, -EINTR, or
 * -ENOTRECOVERABLE when the kernel now refuses io_uring_enter itself (a seccomp filter installed
 * mid-run): with DEFER_TASKRUN a request in flight then never runs, so it did nothing and never will;
 * the ring is given up and the call goes to libc. */
static int next_completion(struct iou_thread *t, bool wait, int *res, unsigned *kind)
{
    for (;;) {
        struct io_uring_cqe *cqe;
        int r = wait ? io_uring_wait_cqe(&t->ring, &cqe) : io_uring_peek_cqe(&t->ring, &cqe);
        if (r < 0) {
            if (r == -EINTR || r == -EAGAIN)
                return r;
            if (refusal_is_final(r) && (t->ring.flags & IORING_SETUP_DEFER_TASKRUN)) {
                t->ring_state = IOU_RING_FAILED;
                __atomic_store_n(&process_refused, 1, __ATOMIC_RELAXED);
                return -ENOTRECOVERABLE;
            }
            /* The ring can no longer be entered (should not happen with a registered ring): the
             * completion still arrives in shared memory, so look there. */
            struct timespec pause = {0, 1000000};
            iou_sys2(SYS_nanosleep, &pause, NULL);
            continue;
        }
        uint64_t data = cqe->user_data;
        int value = cqe->res;
        io_uring_cqe_seen(&t->ring, cqe);
        if ((data >> 2) != t->seq)
            continue;
        *res = value;
        *kind = (unsigned)(data & 3);
        return 0;
    }
}

/* Most requests complete inside their submission: their completion is then the next one in the
 * queue, taken here without the general loop of next_completion (which handles everything else). */
static inline bool own_completion_ready(struct iou_thread *t, int *res)
{
    struct io_uring_cq *cq = &t->ring.cq;
    unsigned head = *cq->khead;
    if (head == io_uring_smp_load_acquire(cq->ktail))
        return false;
    const struct io_uring_cqe *cqe = &cq->cqes[head & cq->ring_mask];
    if (cqe->user_data != tag(t, TAG_CALL))
        return false;
    *res = cqe->res;
    io_uring_smp_store_release(cq->khead, head + 1);
    return true;
}

/* Cancels the call's request and waits until both it and the cancellation have completed.
 * Returns the request's own result (-ECANCELED if it did nothing). */
static int cancel_and_reap(struct iou_thread *t)
{
    bool call_done = false, cancel_done = true;
    int call_res = -ECANCELED;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);
    if (sqe) {
        unsigned tail = *t->ring.sq.ktail;
        io_uring_prep_cancel64(sqe, tag(t, TAG_CALL), 0);
        sqe->user_data = tag(t, TAG_CANCEL);
        if (io_uring_submit(&t->ring) == 1 || io_uring_smp_load_acquire(t->ring.sq.khead) != tail) {
            cancel_done = false;
        } else {
            io_uring_smp_store_release(t->ring.sq.ktail, tail);
            t->ring.sq.sqe_head = t->ring.sq.sqe_tail = tail;
        }
    }
    while (!call_done || !cancel_done) {
        int res;
        unsigned kind;
        int r = next_completion(t, true, &res, &kind);
        if (r == -ENOTRECOVERABLE)
            return -ECANCELED; /* never ran, never will */
        if (r < 0)
            continue; /* EINTR: the request must be reaped before the call may end */
        if (kind == TAG_CALL)
            call_done = true, call_res = res;
        else
            cancel_done = true;
    }
    return call_res;
}

/* Cleanup handler for a thread cancelled while it waits (asynchronous cancellation). */
static void reap_on_thread_cancel(void *arg)
{
    struct iou_thread *t = arg;
    cancel_and_reap(t);
    t->busy = 0;
}

/* Waits for the call's completion; the thread may be cancelled here as in a blocking system call. */
static int wait_cancellable(struct iou_thread *t, int *res)
{
    int r;
    unsigned kind;
    int oldtype;
    pthread_cleanup_push(reap_on_thread_cancel, t);
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &oldtype);
    do
        r = next_completion(t, true, res, &kind);
    while (r == 0 && kind != TAG_CALL);
    pthread_setcanceltype(oldtype, NULL);
    pthread_cleanup_pop(0);
    return r;
}

static bool did_nothing(int res)
{
    return res == -ECANCELED || res == -EINTR;
}

int iou_ring_run(struct iou_thread *t, const struct iou_run *how)
{
    for (;;) {
        int res;
        unsigned kind;
        unsigned signals_before = iou_signals_interrupting();
        t->seq++;
        int refused = submit_request(t);
        if (refused) {
            if (t->ring_fd >= 0 && (refused == -EBADF || refused == -EOPNOTSUPP || refused == -ENXIO))
                abandon_lost_ring(t);
            else if (refusal_is_final(refused))
                t->ring_state = IOU_RING_FAILED; /* a seccomp filter installed mid-run */
            /* Other refusals change nothing: a vfork child runs on its parent's thread state and is
             * refused (EBADF: the registered ring is not its; EEXIST: single issuer), and must leave
             * the parent's ring as it found it. */
            return IOU_RING_REFUSED;
        }
        if (own_completion_ready(t, &res))
            return res;
        int r;
        while ((r = next_completion(t, false, &res, &kind)) == 0)
            if (kind == TAG_CALL)
                return res;
        if (r == -ENOTRECOVERABLE)
            return IOU_RING_REFUSED;

        /* The call is going to block. Keep a copy of the request before anything else takes a
         * slot: a signal may make it necessary to submit it again. */
        t->req = *t->pending;
        if (how->nonblock_fd >= 0) {
            int fl = iou_sys_getfl(how->nonblock_fd);
            if (fl >= 0 && (fl & O_NONBLOCK)) {
                res = cancel_and_reap(t);
                return did_nothing(res) ? -EAGAIN : res;
            }
        }
        if (how->interruptible && iou_signals_interrupting() != signals_before) {
            res = cancel_and_reap(t);
            return did_nothing(res) ? -EINTR : res;
        }
        for (;;) {
            int r = wait_cancellable(t, &res);
            if (r == 0)
                return res;
            if (r == -ENOTRECOVERABLE)
                return IOU_RING_REFUSED; /* the request never ran: libc does the call */
            if (how->interruptible)
                break;
            /* fsync: not interruptible, through libc or here. */
        }
        res = cancel_and_reap(t);
        if (!did_nothing(res))
            return res;
        if (how->any_signal_ends || iou_signals_interrupting() != signals_before)
            return -EINTR;
        pthread_testcancel();
        /* Restart, as the kernel does for SA_RESTART handlers, stops and ignored signals. */
        iou_ring_request(t);
        *t->pending = t->req;
    }
}

void iou_ring_release(struct iou_thread *t)
{
    iou_ftable_release(t); /* the registrations go with the ring */
    if (t->ring_state == IOU_RING_READY) {
        /* Drop the registered index (6.3+ can do it without the descriptor; older kernels drop it
         * when the thread exits anyway), then unmap; the kernel frees the ring with its last ref. */
        if (t->ring_fd < 0 && t->ring.enter_ring_fd >= 0) {
            struct io_uring_rsrc_update up = {.offset = (unsigned)t->ring.enter_ring_fd};
            iou_sys4(SYS_io_uring_register, t->ring.enter_ring_fd,
                     IORING_UNREGISTER_RING_FDS | IORING_REGISTER_USE_REGISTERED_RING, &up, 1);
        }
        t->ring.int_flags = 0; /* liburing must not unregister or close on its own */
        t->ring.ring_fd = -1;
        t->ring.enter_ring_fd = -1;
        io_uring_queue_exit(&t->ring);
        if (t->ring_fd >= 0)
            iou_sys_close(t->ring_fd);
        t->ring_fd = -1;
        __atomic_sub_fetch(&live_rings, 1, __ATOMIC_RELAXED);
    }
    t->ring_state = IOU_RING_NONE;
}

void iou_ring_forget_after_fork(struct iou_thread *t)
{
    if (t->ring_state == IOU_RING_READY) {
        /* The child has none of the ring memory (MADV_DONTFORK) and no registered index; only an
         * unregistered descriptor (kernels before 5.18) was inherited and is the child's to close. */
        if (t->ring_fd >= 0)
            iou_sys_close(t->ring_fd);
        t->ring_fd = -1;
        __atomic_sub_fetch(&live_rings, 1, __ATOMIC_RELAXED);
    }
    t->ring_state = IOU_RING_NONE;
}
