/* Route `auto`: per thread and per (call, descriptor kind), both paths are timed while the program
 * runs and the faster one is kept (include/iou/autoroute.h).
 *
 * - What is compared: the lowest time of SAMPLES calls on each path, taken alternately (ring, libc,
 *   ring...). The minimum is what the path costs when nothing else gets in the way: a call that waited
 *   for data, lost its CPU or took a page fault only raises its own sample. Alternating keeps both paths
 *   under the same mix of sizes and outcomes. Only calls that passed every other routing rule are
 *   sampled (a call the ring would not take anyway says nothing about the ring), and a ring sample the
 *   op module then sent to libc (nonblock, flags...) is dropped: if no ring sample completes, auto has
 *   no opinion and the call routes as in `ring`. A ring sample sent to libc because the kernel would
 *   hand it to a worker (punt) says the ring is the slow path: if every ring sample of a round was
 *   that, the calls take the fast path to libc, still counted as `punt` (the punt state is per file
 *   system and the table per descriptor kind: a round's samples speak for the files they hit).
 * - The ring is kept when it measured faster by more than 1/RING_MARGIN (or when it could not be
 *   measured: then the other routing rules decide, as in route `ring`); otherwise libc.
 * - Warm-up: a thread's first WARMUP_CALLS calls of each (call, kind) go to libc unmeasured, and make no
 *   ring. Setting a ring up and tearing it down costs ~60 us here (the price of ~600 system calls), so a
 *   short-lived process or thread, which could never win that back, runs exactly as on libc; one that
 *   keeps calling has paid at most a few percent before the first round.
 * - Schedule: after a round the choice holds for 2^10 calls, then both paths are sampled again so a
 *   change of workload is seen; every round that confirms the choice doubles the interval (up to 2^16
 *   calls), a change starts again from 2^10. A round costs SAMPLES calls on the slower path, so on
 *   a program doing nothing but ~100 ns calls the measuring costs well under 1%.
 * - Cost of a decided call: a libc decision is taken in the exported wrapper before the op module
 *   (iou_auto_libc_first: the descriptor table's word, this thread's entry, one counter), because on
 *   this kind of machine even the shim's ordinary routing (~10 ns) is several percent of a ~100 ns
 *   system call. Such a call skips the op module's argument checks too: one that libc would reject
 *   (bad flags, offset) is counted as `auto` instead of `flags`, and libc gives its error as ever.
 * - Times come from clock_gettime(CLOCK_MONOTONIC) (the vDSO: no system call where the clock source
 *   allows), only on sampled calls. The libc side is timed from the routing decision to the wrapper's
 *   iou_auto_after_libc, the ring side to iou_call_end: each includes what the shim does on that path.
 * - The table (IOU_OP_COUNT x IOU_FD_KIND_COUNT entries, one page) is mapped on a thread's first call
 *   under route `auto` only, and stays with the thread block, so a thread that reuses the block starts
 *   from its predecessor's choices, and a forked child from its parent's. */
#include <errno.h>
#include <sys/mman.h>
#include <time.h>

#include "iou/autoroute.h"
#include "iou/call.h"
#include "iou/config.h"
#include "iou/fdtable.h"
#include "iou/stats.h"
#include "iou/sys.h"
#include "iou/thread.h"

#define SAMPLES 8
#define WARMUP_CALLS (1u << 14)
#define WARMUP_INTERVAL 0xff /* interval_log of an entry in its warm-up: WARMUP_CALLS long */
#define FIRST_INTERVAL_LOG 10
#define MAX_INTERVAL_LOG 16
#define NONE UINT32_MAX
#define PUNTED (UINT32_MAX - 1) /* no ring sample completed, and one was sent to libc as a punt */
/* The ring is kept only when faster by more than 1/RING_MARGIN: what a sample cannot see (the ring's
 * memory in the caches, its wake-ups) is all on the ring's side, and at equal cost libc is the path
 * with nothing to go wrong. It also keeps two nearly equal paths from flipping on noise. */
#define RING_MARGIN 32
#define PRETEND_PENALTY_NS 1000000000ull /* IOU_SHIM_PRETEND=auto-ring-slow / auto-libc-slow */

enum { PATH_RING = IOU_AUTO_PATH_RING, PATH_LIBC = IOU_AUTO_PATH_LIBC };
enum {
    CHOICE_NONE = IOU_AUTO_CHOICE_NONE,
    CHOICE_RING = IOU_AUTO_CHOICE_RING,
    CHOICE_LIBC = IOU_AUTO_CHOICE_LIBC,
    CHOICE_PUNT = IOU_AUTO_CHOICE_PUNT,
};

_Static_assert(sizeof(struct iou_auto_table) <= 4096, "the table is meant to fit in one page");

/* A thread whose table could not be mapped routes as `ring`. */
#define NO_TABLE ((struct iou_auto_table *)1)

__thread struct iou_auto_tls iou_auto_tls __attribute__((tls_model("initial-exec")));

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Every entry of a new table: libc for WARMUP_CALLS calls, unmeasured. */
static void start_warmup(struct iou_auto_table *tab)
{
    const struct iou_auto_entry warm = {
        .best = {NONE, NONE}, .left = WARMUP_CALLS, .choice = CHOICE_LIBC, .interval_log = WARMUP_INTERVAL};
    for (int op = 0; op < IOU_OP_COUNT; op++)
        for (int kind = 0; kind < IOU_FD_KIND_COUNT; kind++)
            tab->entry[op][kind] = warm;
}

static struct iou_auto_table *table_of(struct iou_thread *t)
{
    struct iou_auto_table *tab = t->auto_table;
    if (__builtin_expect(tab != NULL, 1)) {
        if (tab == NO_TABLE)
            return NULL;
        return iou_auto_tls.mine = tab;
    }
    size_t size = (sizeof(*tab) + 4095) & ~(size_t)4095;
    long p = iou_sys6(SYS_mmap, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p < 0 && p > -4096) {
        t->auto_table = NO_TABLE;
        return NULL;
    }
    tab = (struct iou_auto_table *)p;
    if (!iou_config()->pretend_auto_no_warmup)
        start_warmup(tab);
    return iou_auto_tls.mine = t->auto_table = tab;
}

void iou_auto_thread_exit(void)
{
    iou_auto_tls.mine = NULL;
}

/* How many calls the entry's current choice holds for. */
static uint32_t interval(const struct iou_auto_entry *e)
{
    return e->interval_log == WARMUP_INTERVAL ? WARMUP_CALLS : 1u << e->interval_log;
}

/* The calls the fast path took while (op, kind) was decided for libc: the interval less what is left
 * of it. They are added to the stats when the next round starts (after which, until the round ends,
 * there are none), or when the stats are read. */
static uint64_t fast_calls(const struct iou_auto_entry *e)
{
    if (e->choice < CHOICE_LIBC || e->tries[PATH_RING] || e->tries[PATH_LIBC])
        return 0;
    return interval(e) - e->left;
}

static enum iou_bypass fast_reason(const struct iou_auto_entry *e)
{
    return e->choice == CHOICE_PUNT ? IOU_BYPASS_PUNT : IOU_BYPASS_AUTO;
}

/* The end of a round: keep the faster path, and space the next round out if nothing changed. */
static void decide(struct iou_auto_entry *e)
{
    uint32_t ring = e->best[PATH_RING], libc = e->best[PATH_LIBC];
    bool libc_faster = ring != NONE && libc != NONE && libc - libc / RING_MARGIN < ring;
    uint8_t choice = ring == PUNTED ? CHOICE_PUNT : libc_faster ? CHOICE_LIBC : CHOICE_RING;
    if (e->interval_log == WARMUP_INTERVAL) /* the first round after the warm-up */
        e->interval_log = FIRST_INTERVAL_LOG;
    else if (choice == e->choice && e->interval_log < MAX_INTERVAL_LOG)
        e->interval_log++;
    else if (choice != e->choice)
        e->interval_log = FIRST_INTERVAL_LOG;
    e->choice = choice;
    e->tries[PATH_RING] = e->tries[PATH_LIBC] = 0;
    e->left = 1u << e->interval_log;
}

bool iou_auto_holds_libc(struct iou_call *c)
{
    struct iou_auto_table *tab = table_of(c->t);
    if (!tab)
        return false;
    const struct iou_auto_entry *e = &tab->entry[c->op][c->fdi.kind];
    return e->left && e->choice == CHOICE_LIBC;
}

bool iou_auto_choose(struct iou_call *c)
{
    struct iou_auto_table *tab = table_of(c->t);
    if (!tab)
        return true;
    struct iou_auto_entry *e = &tab->entry[c->op][c->fdi.kind];
    if (!e->left && e->tries[PATH_RING] >= SAMPLES && e->tries[PATH_LIBC] >= SAMPLES)
        decide(e);
    if (e->left) {
        /* A libc call here (a descriptor the table did not know yet) is counted by the caller, not
         * as part of the interval; a punt is left to the op module, which counts it. */
        if (e->choice == CHOICE_LIBC)
            return false;
        if (e->choice == CHOICE_RING)
            e->left--;
        return true;
    }
    if (!e->tries[PATH_RING] && !e->tries[PATH_LIBC]) {
        /* A new round. */
        c->t->stats.libc[c->op][fast_reason(e)] += fast_calls(e);
        e->best[PATH_RING] = e->best[PATH_LIBC] = NONE;
    }
    if (e->tries[PATH_RING] <= e->tries[PATH_LIBC]) {
        e->tries[PATH_RING]++;
        c->sample = e;
        c->sample_start = now_ns();
        return true;
    }
    e->tries[PATH_LIBC]++;
    iou_auto_tls.libc_sample = e;
    iou_auto_tls.libc_sample_start = now_ns();
    return false;
}

static void record(struct iou_auto_entry *e, int path, uint64_t ns)
{
    const struct iou_config *cfg = iou_config();
    if (path == PATH_RING ? cfg->pretend_auto_ring_slow : cfg->pretend_auto_libc_slow)
        ns += PRETEND_PENALTY_NS;
    if (ns >= PUNTED)
        ns = PUNTED - 1;
    if (ns < e->best[path])
        e->best[path] = (uint32_t)ns;
}

void iou_auto_ring_done(struct iou_call *c)
{
    record(c->sample, PATH_RING, now_ns() - c->sample_start);
}

void iou_auto_ring_punted(struct iou_call *c)
{
    if (c->sample->best[PATH_RING] == NONE)
        c->sample->best[PATH_RING] = PUNTED;
    c->sample = NULL;
}

void iou_auto_libc_done(void)
{
    /* A signal handler whose own call replaced the marker took it: that sample is simply lost. A
     * handler's undecided call that ended this one's timing only made it longer (the minimum ignores
     * it). */
    struct iou_auto_entry *e = iou_auto_tls.libc_sample;
    iou_auto_tls.libc_sample = NULL;
    int saved_errno = errno; /* the program reads errno right after the libc call */
    uint64_t end = now_ns();
    errno = saved_errno;
    if (e)
        record(e, PATH_LIBC, end - iou_auto_tls.libc_sample_start);
}

void iou_auto_add_counts(struct iou_thread *t, struct iou_stats *sum)
{
    struct iou_auto_table *tab = __atomic_load_n(&t->auto_table, __ATOMIC_ACQUIRE);
    if (!tab || tab == NO_TABLE)
        return;
    for (int op = 0; op < IOU_OP_COUNT; op++)
        for (int kind = 0; kind < IOU_FD_KIND_COUNT; kind++)
            sum->libc[op][fast_reason(&tab->entry[op][kind])] += fast_calls(&tab->entry[op][kind]);
}

void iou_auto_after_fork_in_child(struct iou_thread *t)
{
    /* The child counts from zero (thread.c clears its stats): what the parent's fast path did in the
     * current intervals is not the child's, so those intervals start again. */
    struct iou_auto_table *tab = t->auto_table;
    if (!tab || tab == NO_TABLE)
        return;
    for (int op = 0; op < IOU_OP_COUNT; op++)
        for (int kind = 0; kind < IOU_FD_KIND_COUNT; kind++)
            if (fast_calls(&tab->entry[op][kind]))
                tab->entry[op][kind].left = interval(&tab->entry[op][kind]);
}

struct summing {
    enum iou_op op;
    unsigned kind;
    bool any;
    struct iou_auto_summary *s;
};

static void add_thread(struct iou_thread *t, void *arg)
{
    struct summing *m = arg;
    struct iou_auto_table *tab = __atomic_load_n(&t->auto_table, __ATOMIC_ACQUIRE);
    if (!tab || tab == NO_TABLE)
        return;
    const struct iou_auto_entry *e = &tab->entry[m->op][m->kind];
    bool unused = e->interval_log == WARMUP_INTERVAL ? e->left == WARMUP_CALLS
                                                     : e->choice == CHOICE_NONE && !e->tries[PATH_RING] &&
                                                           !e->tries[PATH_LIBC];
    if (unused)
        return;
    m->any = true;
    if (e->choice == CHOICE_RING)
        m->s->ring_threads++;
    else if (e->choice == CHOICE_LIBC || e->choice == CHOICE_PUNT)
        m->s->libc_threads++;
    else
        m->s->sampling_threads++;
    if (e->best[PATH_RING] < PUNTED && e->best[PATH_RING] < m->s->ring_ns)
        m->s->ring_ns = e->best[PATH_RING];
    if (e->best[PATH_LIBC] != NONE && e->best[PATH_LIBC] < m->s->libc_ns)
        m->s->libc_ns = e->best[PATH_LIBC];
}

bool iou_auto_summary(enum iou_op op, unsigned kind, struct iou_auto_summary *s)
{
    struct summing m = {.op = op, .kind = kind, .s = s};
    *s = (struct iou_auto_summary){.ring_ns = UINT64_MAX, .libc_ns = UINT64_MAX};
    if (op >= IOU_OP_COUNT || kind >= IOU_FD_KIND_COUNT)
        return false;
    iou_thread_foreach(add_thread, &m);
    return m.any;
}
