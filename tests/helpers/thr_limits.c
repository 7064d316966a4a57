/* thr_limits MODE ...: threads at the limits, printing only what must be the same with and without the shim.
 *   many N            N threads alive at once (64 KiB stacks); each does a pipe round trip while all N are
 *                     alive, and ends only when every round trip is done (past IOU_SHIM_MAX_RINGS the shim
 *                     must use libc for the rest)
 *   churn N           N threads created and ended in a tight loop, 8 alive at a time, each doing a pipe and a
 *                     socketpair round trip; descriptors and resident memory at thread 1000 and thread N
 *                     must agree (no leak per thread)
 *   nproc LIMIT       RLIMIT_NPROC=LIMIT for a user with no other process: threads that each did a round trip
 *                     are created until pthread_create fails, then released; the count and the error are
 *                     printed, and threads and fork work again afterwards (needs root to switch user)
 *   seccomp           io_uring refused halfway through (a seccomp filter on every thread, TSYNC): threads
 *                     that already have a ring, readers blocked in a call when it lands (one of them then
 *                     interrupted by a restarting signal), new threads and a forked child all go on
 * Exit 0 when every check held; waits are bounded (a thread that does not end in time is reported). */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "threads.h"

#define JOIN_BOUND_S 20

static atomic_int failures;

static long vm_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static void trip_or_count(bool ok)
{
    if (!ok)
        atomic_fetch_add(&failures, 1);
}

/* A join with this helper's bound; false (and a report) when the thread is still running. */
static bool join_bounded(pthread_t t, void **ret, const char *what)
{
    return join_or_count(t, ret, JOIN_BOUND_S, what, &failures);
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ---- many: N threads alive at once ------------------------------------------------------------------- */

static pthread_barrier_t all_alive, all_done;
static sem_t trips_at_once; /* bounds the descriptors open at once, not the threads alive */

static void *many_thread(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&all_alive);
    while (sem_wait(&trips_at_once) && errno == EINTR)
        ;
    trip_or_count(pipe_round_trip(0));
    sem_post(&trips_at_once);
    pthread_barrier_wait(&all_done);
    return NULL;
}

static void many(int n)
{
    raise_nofile();
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_barrier_init(&all_alive, NULL, (unsigned)n);
    pthread_barrier_init(&all_done, NULL, (unsigned)n);
    sem_init(&trips_at_once, 0, 200);
    pthread_t *t = calloc((size_t)n, sizeof(*t));
    int created = 0;
    for (; created < n; created++)
        if (pthread_create(&t[created], &attr, many_thread, NULL))
            break;
    if (created < n)
        die("pthread_create of thread %d of %d: %s", created + 1, n, strerror(errno));
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    printf("threads alive at once: %d\n", created);
    printf("round trips that failed: %d\n", atomic_load(&failures));
    free(t);
}

/* ---- churn: threads created and ended in a tight loop ------------------------------------------------ */

static void *churn_thread(void *arg)
{
    (void)arg;
    trip_or_count(pipe_round_trip(0));
    trip_or_count(socket_round_trip(0));
    return NULL;
}

static void churn(int n)
{
    enum { WINDOW = 8 };
    pthread_t t[WINDOW]; /* thread i sits in slot i % WINDOW */
    int live = 0, fds_early = 0;
    long rss_early = 0;
    if (n < 2000)
        die("churn needs at least 2000 threads");
    for (int i = 1; i <= n; i++) {
        if (live == WINDOW) {
            pthread_join(t[i % WINDOW], NULL); /* thread i - WINDOW */
            live--;
        }
        if (pthread_create(&t[i % WINDOW], NULL, churn_thread, NULL))
            die("pthread_create of thread %d: %s", i, strerror(errno));
        live++;
        if (i != 1000 && i != n)
            continue;
        /* A quiet point: every thread so far has ended. */
        for (int k = i - live + 1; k <= i; k++)
            pthread_join(t[k % WINDOW], NULL);
        live = 0;
        int fds = open_fds();
        long rss = vm_rss_kb();
        if (i == 1000) {
            fds_early = fds;
            rss_early = rss;
            continue;
        }
        /* Generous: glibc caches thread stacks and the allocator keeps its arenas, but a leak of one page
         * per thread would be 16 MiB here. ASan's runtime (make asan) keeps about 5 KiB for every thread
         * that ever ran, with or without the shim: allowed for when it is loaded. */
        long bound_kb = 8 * 1024;
        if (dlsym(RTLD_DEFAULT, "__asan_init"))
            bound_kb += 8L * (n - 1000);
        bool flat = rss - rss_early < bound_kb;
        printf("descriptors at thread 1000 and at thread %d: %s\n", n, fds == fds_early ? "same" : "differ");
        printf("resident memory growth from thread 1000 to thread %d below 8 MiB: %s\n", n, flat ? "yes" : "no");
        if (fds != fds_early || !flat || getenv("THR_VERBOSE"))
            fprintf(stderr, "descriptors %d -> %d, VmRSS %ld kB -> %ld kB\n", fds_early, fds, rss_early, rss);
    }
    printf("threads created and ended: %d\n", n);
    printf("round trips that failed: %d\n", atomic_load(&failures));
}

/* ---- nproc: RLIMIT_NPROC stops thread creation ------------------------------------------------------- */

static pthread_mutex_t hold_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cond = PTHREAD_COND_INITIALIZER;
static bool released;

static void *held_thread(void *arg)
{
    (void)arg;
    trip_or_count(pipe_round_trip(0));
    trip_or_count(socket_round_trip(0));
    pthread_mutex_lock(&hold_lock);
    while (!released)
        pthread_cond_wait(&hold_cond, &hold_lock);
    pthread_mutex_unlock(&hold_lock);
    trip_or_count(pipe_round_trip(0));
    return NULL;
}

/* Root is never held to RLIMIT_NPROC (nor is CAP_SYS_RESOURCE or CAP_SYS_ADMIN): become a user that has no
 * other process as the real user, keep euid 0 (so files stay writable), and drop those two capabilities. */
static void become_limited_user(void)
{
    if (geteuid() != 0)
        die("nproc needs root, to become a user with no other process");
    uid_t uid = 600000 + (uid_t)(getpid() % 100000);
    if (setresuid(uid, 0, 0))
        die("setresuid: %s", strerror(errno));
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data))
        die("capget: %s", strerror(errno));
    data[CAP_SYS_RESOURCE / 32].effective &= ~(1u << (CAP_SYS_RESOURCE % 32));
    data[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
    if (syscall(SYS_capset, &hdr, data))
        die("capset: %s", strerror(errno));
}

static void nproc(int limit)
{
    become_limited_user();
    struct rlimit rl = {(rlim_t)limit, (rlim_t)limit};
    if (setrlimit(RLIMIT_NPROC, &rl))
        die("setrlimit: %s", strerror(errno));
    trip_or_count(pipe_round_trip(0));
    int cap = 4 * limit;
    pthread_t *t = calloc((size_t)cap, sizeof(*t));
    int created = 0, err = 0;
    while (created < cap && !(err = pthread_create(&t[created], NULL, held_thread, NULL)))
        created++;
    printf("threads created under RLIMIT_NPROC=%d: %d, then pthread_create -> %s\n", limit, created,
           err ? strerrorname_np(err) : "no error");
    pid_t pid = fork();
    if (pid == 0)
        _exit(pipe_round_trip(0) ? 0 : 1);
    printf("fork at the limit -> %s\n", pid < 0 ? strerrorname_np(errno) : "a child");
    if (pid > 0)
        waitpid(pid, NULL, 0);
    pthread_mutex_lock(&hold_lock);
    released = true;
    pthread_cond_broadcast(&hold_cond);
    pthread_mutex_unlock(&hold_lock);
    for (int i = 0; i < created; i++)
        join_bounded(t[i], NULL, "a released thread");
    free(t);
    /* Below the limit again: threads and children work. */
    pthread_t again;
    released = true;
    int r = pthread_create(&again, NULL, held_thread, NULL);
    printf("a thread after the others ended -> %s\n", r ? strerrorname_np(r) : "created");
    if (!r)
        join_bounded(again, NULL, "the thread after the others");
    int status = -1;
    pid = fork();
    if (pid == 0)
        _exit(pipe_round_trip(0) && socket_round_trip(0) ? 0 : 1);
    if (pid > 0)
        waitpid(pid, &status, 0);
    printf("a forked child's round trips after the others ended -> %s\n",
           pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "failed");
    printf("round trips that failed: %d\n", atomic_load(&failures));
}

/* ---- seccomp: io_uring refused on every thread halfway through ---------------------------------------- */

#if defined(__x86_64__)
#define FILTER_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FILTER_ARCH AUDIT_ARCH_AARCH64
#else
#error "thr_limits: add this architecture's AUDIT_ARCH"
#endif

/* io_uring_setup, io_uring_enter and io_uring_register fail EPERM, on every thread of the process. */
static long deny_io_uring_everywhere(void)
{
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FILTER_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 425, 0, 2), /* io_uring_setup, _enter, _register: 425..427 */
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 427, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = (unsigned short)(sizeof(filter) / sizeof(filter[0])), .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
        return -1;
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
}

static pthread_barrier_t phase;
static atomic_int handler_ran;

static void on_usr1(int sig)
{
    (void)sig;
    atomic_store(&handler_ran, 1);
}

static void *old_thread(void *arg)
{
    (void)arg;
    trip_or_count(pipe_round_trip(0)); /* this thread's ring is made before the filter */
    trip_or_count(socket_round_trip(0));
    pthread_barrier_wait(&phase); /* the filter is installed */
    pthread_barrier_wait(&phase);
    for (int i = 0; i < 3; i++) {
        trip_or_count(pipe_round_trip(0));
        trip_or_count(socket_round_trip(0));
    }
    return NULL;
}

static void *new_thread(void *arg)
{
    (void)arg;
    trip_or_count(pipe_round_trip(0));
    trip_or_count(socket_round_trip(0));
    return NULL;
}

struct reader {
    int p[2];
    atomic_int tid;
    long result;
    char buf[16];
};

static void *reader_thread(void *arg)
{
    struct reader *r = arg;
    trip_or_count(pipe_round_trip(0));
    atomic_store(&r->tid, (int)gettid());
    r->result = read(r->p[0], r->buf, sizeof(r->buf));
    return NULL;
}

/* Waits (bounded) until the thread sleeps in read or io_uring_enter; only makes the case more likely. */
static void wait_blocked(struct reader *r)
{
    for (int i = 0; i < 100000; i++) {
        int tid = atomic_load(&r->tid);
        if (tid) {
            char path[64], line[512];
            snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
            FILE *f = fopen(path, "r");
            long nr = -1;
            if (f) {
                if (fscanf(f, "%ld", &nr) != 1)
                    nr = -1;
                fclose(f);
            }
            snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
            f = fopen(path, "r");
            char *ok = f ? fgets(line, sizeof(line), f) : NULL;
            if (f)
                fclose(f);
            char *paren = ok ? strrchr(line, ')') : NULL;
            if (paren && paren[2] == 'S' && (nr == SYS_read || nr == SYS_io_uring_enter))
                return;
        }
        struct timespec pause = {0, 100 * 1000};
        nanosleep(&pause, NULL);
    }
}

static void seccomp_mode(void)
{
    enum { OLD = 4, NEW = 4 };
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);

    trip_or_count(pipe_round_trip(0));
    pthread_barrier_init(&phase, NULL, OLD + 1);
    pthread_t old[OLD], fresh[NEW], rt[2];
    for (int i = 0; i < OLD; i++)
        if (pthread_create(&old[i], NULL, old_thread, NULL))
            die("pthread_create: %s", strerror(errno));
    static struct reader readers[2];
    for (int i = 0; i < 2; i++) {
        if (pipe(readers[i].p))
            die("pipe: %s", strerror(errno));
        if (pthread_create(&rt[i], NULL, reader_thread, &readers[i]))
            die("pthread_create: %s", strerror(errno));
        wait_blocked(&readers[i]);
    }

    REPORT("seccomp filter refusing io_uring on every thread", deny_io_uring_everywhere());
    pthread_barrier_wait(&phase);

    /* A read that was blocked when the filter landed gets the data written now. */
    REPORT("write to the first blocked reader", write(readers[0].p[1], "one!", 4));
    if (join_bounded(rt[0], NULL, "reader blocked before the filter"))
        REPORT("  its read", readers[0].result);
    /* The same, after a restarting signal interrupted it with io_uring already refused. */
    pthread_kill(rt[1], SIGUSR1);
    for (int i = 0; i < 200000 && !atomic_load(&handler_ran); i++)
        sched_yield();
    printf("handler ran in the second blocked reader: %s\n", atomic_load(&handler_ran) ? "yes" : "no");
    REPORT("write to the second blocked reader", write(readers[1].p[1], "two!", 4));
    if (join_bounded(rt[1], NULL, "reader blocked before the filter, then signalled"))
        REPORT("  its read", readers[1].result);

    /* Threads that had a ring, the main thread, new threads and a child all go on. */
    pthread_barrier_wait(&phase);
    for (int i = 0; i < OLD; i++)
        join_bounded(old[i], NULL, "a thread that had a ring");
    for (int i = 0; i < 3; i++) {
        trip_or_count(pipe_round_trip(0));
        trip_or_count(socket_round_trip(0));
    }
    for (int i = 0; i < NEW; i++)
        if (pthread_create(&fresh[i], NULL, new_thread, NULL))
            die("pthread_create: %s", strerror(errno));
    for (int i = 0; i < NEW; i++)
        join_bounded(fresh[i], NULL, "a thread started after the filter");
    int status = -1;
    pid_t pid = fork();
    if (pid == 0)
        _exit(pipe_round_trip(0) && socket_round_trip(0) ? 0 : 1);
    if (pid > 0)
        waitpid(pid, &status, 0);
    printf("a forked child's round trips -> %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "failed");
    printf("round trips that failed: %d\n", atomic_load(&failures));
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: thr_limits many N | churn N | nproc LIMIT | seccomp");
    const char *mode = argv[1];
    int n = argc > 2 ? atoi(argv[2]) : 0;
    if (!strcmp(mode, "many"))
        many(n);
    else if (!strcmp(mode, "churn"))
        churn(n);
    else if (!strcmp(mode, "nproc"))
        nproc(n);
    else if (!strcmp(mode, "seccomp"))
        seccomp_mode();
    else
        die("unknown mode %s", mode);
    return atomic_load(&failures) ? 1 : 0;
}
