/* reent MODE ...: the shim's first call arriving from unusual places, and children of every kind doing I/O
 * at once. Prints only what must be the same with and without the shim. Modes:
 *   ctor               the program half of tests/reentry/ctorlib.c: collects the thread the library's
 *                      constructor started (ctorlib_wait) and says how it did; main itself does no I/O
 *   signal-first       the first I/O of the main thread, then of 40 threads, happens inside a signal handler
 *                      (SA_RESTART for some, not for others), then each thread goes on with ordinary I/O
 *   signal-storm       80 threads start and do their first calls while signals whose handlers do I/O keep
 *                      arriving, so a handler's call can land inside the thread's own first call
 *   timer-first        a timer signals the thread every 25 us while it makes its first calls (so the handler,
 *                      which does I/O too, lands inside the shim's ring set-up), for the main thread (the
 *                      process's first call) and 60 threads in turn, with and without SA_RESTART
 *   spawn DIR          popen("cat FILE"), system("cat A | cat > B"), posix_spawn with close/dup2/open file
 *                      actions, fork and vfork+exec, each from its own thread at the same time, while other
 *                      threads do round trips; every child's output is checked
 *   child SIZE FD      (used by spawn) writes SIZE bytes of a known payload to fd 1, after checking that FD
 *                      is closed (-1: no check) and that fd 0 reads EOF; exit 0 when all held */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "threads.h"

#define JOIN_BOUND_S 20

static atomic_int failures;

static bool trips(void)
{
    bool a = pipe_round_trip(O_CLOEXEC);
    bool b = socket_round_trip(SOCK_CLOEXEC);
    return a && b;
}

/* A pipe round trip that goes on through EINTR (for threads whose handlers do not restart). */
static bool pipe_trip_retry(void)
{
    int p[2];
    char in[8];
    if (pipe2(p, O_CLOEXEC))
        return false;
    ssize_t w, r;
    while ((w = write(p[1], "retry", 5)) < 0 && errno == EINTR)
        ;
    while ((r = read(p[0], in, sizeof(in))) < 0 && errno == EINTR)
        ;
    close(p[0]);
    close(p[1]);
    return w == 5 && r == 5 && !memcmp(in, "retry", 5);
}

static void check(bool ok)
{
    if (!ok)
        atomic_fetch_add(&failures, 1);
}

static bool join_bounded(pthread_t t, const char *what)
{
    return join_or_count(t, NULL, JOIN_BOUND_S, what, &failures);
}

/* The payload byte at offset i. */
static unsigned char payload(uint64_t i)
{
    return (unsigned char)((i * 2654435761u) >> 13);
}

/* ---- ctor -------------------------------------------------------------------------------------------- */

static void ctor_mode(void)
{
    int (*wait_fn)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "ctorlib_wait");
    int r = wait_fn ? wait_fn() : -3;
    static const char *const what[] = {"library not loaded", "still running after 20 s", "no thread",
                                       "a round trip failed", "200 round trips ok"};
    printf("main: the constructor's thread: %s\n", what[r + 3]);
}

/* ---- signal-first ----------------------------------------------------------------------------------- */

#define SIGNAL_THREADS 40

static __thread int slot = -1;
static atomic_int handled[SIGNAL_THREADS + 1];
static atomic_int handler_ok[SIGNAL_THREADS + 1];

static void first_io_handler(int sig)
{
    (void)sig;
    int saved = errno;
    int i = slot < 0 ? SIGNAL_THREADS : slot;
    atomic_store(&handler_ok[i], trips());
    atomic_store(&handled[i], 1);
    errno = saved;
}

static void *first_io_thread(void *arg)
{
    slot = (int)(intptr_t)arg;
    /* SIGUSR1 and SIGUSR2 are blocked (inherited): nothing interposed runs before the handler. */
    sigset_t waiting;
    pthread_sigmask(SIG_SETMASK, NULL, &waiting);
    sigdelset(&waiting, SIGUSR1);
    sigdelset(&waiting, SIGUSR2);
    while (!atomic_load(&handled[slot]))
        sigsuspend(&waiting);
    check(trips()); /* ordinary calls, on whatever the handler set up */
    return NULL;
}

static void signal_first(void)
{
    install_handler(SIGUSR1, first_io_handler, SA_RESTART);
    install_handler(SIGUSR2, first_io_handler, 0);
    /* The process's very first routed call: in a handler, on the main thread. */
    raise(SIGUSR1);
    printf("main thread, first I/O inside a handler: %s\n", handler_ok[SIGNAL_THREADS] ? "ok" : "failed");
    check(handler_ok[SIGNAL_THREADS]);
    check(trips());

    sigset_t both;
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &both, NULL);
    pthread_t t[SIGNAL_THREADS];
    for (int i = 0; i < SIGNAL_THREADS; i++)
        if (pthread_create(&t[i], NULL, first_io_thread, (void *)(intptr_t)i))
            die("pthread_create: %s", strerror(errno));
    for (int i = 0; i < SIGNAL_THREADS; i++)
        pthread_kill(t[i], i % 2 ? SIGUSR2 : SIGUSR1);
    int ok = 0;
    for (int i = 0; i < SIGNAL_THREADS; i++)
        if (join_bounded(t[i], "a thread waiting for its signal"))
            ok += atomic_load(&handler_ok[i]);
    printf("threads whose first I/O was inside a handler: %d, ok %d\n", SIGNAL_THREADS, ok);
    check(ok == SIGNAL_THREADS);
}

/* ---- signal-storm ----------------------------------------------------------------------------------- */

#define STORM_THREADS 80
#define STORM_TRIPS 20

static atomic_int storm_alive[STORM_THREADS], storm_handler_failures, storm_stop;
static pthread_t storm_threads[STORM_THREADS];
static pthread_barrier_t storm_end;

static void storm_handler(int sig)
{
    (void)sig;
    int saved = errno;
    if (!pipe_round_trip(O_CLOEXEC))
        atomic_fetch_add(&storm_handler_failures, 1);
    errno = saved;
}

static void *storm_thread(void *arg)
{
    int i = (int)(intptr_t)arg;
    bool ok = true;
    /* Signals are already arriving when the first call starts. */
    while (atomic_load(&storm_alive[i]) == 0)
        sched_yield();
    for (int k = 0; k < STORM_TRIPS; k++)
        ok = pipe_trip_retry() && ok; /* EINTR is possible (SIGUSR2 has no SA_RESTART), a failure is not */
    check(ok);
    atomic_store(&storm_alive[i], 2); /* done; stays alive until the sender stops */
    pthread_barrier_wait(&storm_end);
    return NULL;
}

static void *storm_sender(void *arg)
{
    (void)arg;
    uint64_t x = 88172645463325252ULL;
    while (!atomic_load(&storm_stop)) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int i = (int)(x % STORM_THREADS);
        if (atomic_load(&storm_alive[i]))
            pthread_kill(storm_threads[i], x & 0x100 ? SIGUSR1 : SIGUSR2);
        if ((x & 7) == 0) {
            struct timespec pause = {0, 20 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    return NULL;
}

static void signal_storm(void)
{
    install_handler(SIGUSR1, storm_handler, SA_RESTART);
    install_handler(SIGUSR2, storm_handler, 0);
    pthread_barrier_init(&storm_end, NULL, STORM_THREADS + 1);
    pthread_t sender;
    for (int i = 0; i < STORM_THREADS; i++) {
        if (pthread_create(&storm_threads[i], NULL, storm_thread, (void *)(intptr_t)i))
            die("pthread_create: %s", strerror(errno));
        atomic_store(&storm_alive[i], 1); /* the sender may signal it now, and it may start its calls */
        if (i == 0 && pthread_create(&sender, NULL, storm_sender, NULL))
            die("pthread_create: %s", strerror(errno));
    }
    for (int i = 0; i < STORM_THREADS; i++)
        while (atomic_load(&storm_alive[i]) != 2)
            sched_yield();
    atomic_store(&storm_stop, 1);
    pthread_join(sender, NULL);
    pthread_barrier_wait(&storm_end);
    for (int i = 0; i < STORM_THREADS; i++)
        join_bounded(storm_threads[i], "a thread of the storm");
    printf("threads started under a signal storm: %d, each %d round trips, failed: %d\n", STORM_THREADS,
           STORM_TRIPS, atomic_load(&failures));
    printf("round trips inside the handlers that failed: %d\n", atomic_load(&storm_handler_failures));
    check(atomic_load(&storm_handler_failures) == 0);
}

/* ---- timer-first: a periodic signal lands inside each thread's ring set-up ---------------------------- */

#define TIMER_THREADS 60
#define TIMER_PERIOD_NS (25 * 1000)

static atomic_int timer_handler_failures, timer_handled;

static void timer_handler(int sig)
{
    (void)sig;
    int saved = errno;
    atomic_fetch_add(&timer_handled, 1);
    if (!pipe_trip_retry())
        atomic_fetch_add(&timer_handler_failures, 1);
    errno = saved;
}

/* Starts a timer that signals this thread every TIMER_PERIOD_NS, the first time after first_ns (varied
 * from thread to thread so the signals land at different points of the set-up); the first I/O follows. */
static timer_t start_thread_timer(int sig, long first_ns)
{
    struct sigevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = sig;
    ev._sigev_un._tid = gettid();
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &ev, &timer))
        die("timer_create: %s", strerror(errno));
    struct itimerspec every = {{0, TIMER_PERIOD_NS}, {0, first_ns}};
    timer_settime(timer, 0, &every, NULL);
    return timer;
}

static void stop_thread_timer(timer_t timer)
{
    timer_delete(timer);
}

static bool first_calls_under_timer(int sig, long first_ns)
{
    timer_t timer = start_thread_timer(sig, first_ns);
    bool ok = true;
    for (int k = 0; k < 5; k++)
        ok = pipe_trip_retry() && ok;
    stop_thread_timer(timer);
    return ok;
}

static void *timer_thread(void *arg)
{
    int i = (int)(intptr_t)arg;
    check(first_calls_under_timer(i % 2 ? SIGRTMIN + 1 : SIGRTMIN, 1000 + (i * 7919L) % TIMER_PERIOD_NS));
    return NULL;
}

static void timer_first(void)
{
    install_handler(SIGRTMIN, timer_handler, SA_RESTART);
    install_handler(SIGRTMIN + 1, timer_handler, 0);
    /* The process's first routed call (and the shim's one-time probe of the kernel) under the timer. */
    bool main_ok = first_calls_under_timer(SIGRTMIN, 5000);
    check(main_ok);
    printf("main thread, first calls under a %d us timer signal: %s\n", TIMER_PERIOD_NS / 1000,
           main_ok ? "ok" : "failed");
    for (int i = 0; i < TIMER_THREADS; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, timer_thread, (void *)(intptr_t)i))
            die("pthread_create: %s", strerror(errno));
        join_bounded(t, "a thread under its timer");
    }
    printf("threads whose first calls ran under a timer signal: %d, failed: %d\n", TIMER_THREADS,
           atomic_load(&failures));
    printf("round trips inside the handlers that failed: %d\n", atomic_load(&timer_handler_failures));
    check(atomic_load(&timer_handler_failures) == 0);
    if (getenv("REENT_VERBOSE"))
        fprintf(stderr, "timer signals handled: %d\n", atomic_load(&timer_handled));
}

/* ---- spawn: children of every kind at once ---------------------------------------------------------- */

#define SPAWN_ROUNDS 10
#define SOURCE_SIZE (200 * 1024)

static const char *self_path, *work_dir;
static char source_path[4096];
static atomic_int background_stop;

/* Reads fd to EOF into buf (at most cap); the byte count, -1 on error. */
static long read_all(int fd, unsigned char *buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0 || (got += (size_t)r) == cap)
            return (long)got;
    }
}

static bool is_payload(const unsigned char *buf, long n, long want)
{
    if (n != want)
        return false;
    for (long i = 0; i < n; i++)
        if (buf[i] != payload((uint64_t)i))
            return false;
    return true;
}

static bool exited_zero(int status)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

struct spawner {
    const char *name;
    void (*round)(struct spawner *s, int i, unsigned char *buf);
    int intact, status_ok, extra_ok;
    pthread_t thread;
};

static void popen_round(struct spawner *s, int i, unsigned char *buf)
{
    (void)i;
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "cat '%s'", source_path);
    FILE *f = popen(cmd, "re");
    if (!f)
        return;
    long n = read_all(fileno(f), buf, SOURCE_SIZE + 1);
    s->intact += is_payload(buf, n, SOURCE_SIZE);
    s->status_ok += exited_zero(pclose(f));
}

static void system_round(struct spawner *s, int i, unsigned char *buf)
{
    char cmd[8400], out[4200];
    snprintf(out, sizeof(out), "%s/system.%d", work_dir, i);
    snprintf(cmd, sizeof(cmd), "cat '%s' | cat > '%s'", source_path, out);
    s->status_ok += exited_zero(system(cmd));
    int fd = open(out, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    long n = 0;
    for (ssize_t r; n <= SOURCE_SIZE && (r = pread(fd, buf + n, SOURCE_SIZE + 1 - (size_t)n, n)) > 0;)
        n += r;
    close(fd);
    unlink(out);
    s->intact += is_payload(buf, n, SOURCE_SIZE);
}

/* Reads the payload of size bytes a child writes to fd and reaps the child, counting an intact payload and
 * a zero exit status into s. Returns the wait status (-1 if waitpid failed) for checks of the caller's own. */
static int collect_child(struct spawner *s, int fd, pid_t pid, unsigned char *buf, long size)
{
    long n = read_all(fd, buf, (size_t)size + 1);
    s->intact += is_payload(buf, n, size);
    int status = -1;
    waitpid(pid, &status, 0);
    s->status_ok += exited_zero(status);
    return status;
}

/* posix_spawn of "reent child": its stdout is our pipe (dup2), stdin /dev/null (open), and a descriptor
 * that it would otherwise inherit is closed (close). */
static void spawn_round(struct spawner *s, int i, unsigned char *buf)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC))
        return;
    int extra = dup(p[0]); /* inheritable: only the close action keeps it from the child */
    long size = 1000 + i * 7000;
    char size_arg[32], fd_arg[32];
    snprintf(size_arg, sizeof(size_arg), "%ld", size);
    snprintf(fd_arg, sizeof(fd_arg), "%d", extra);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addclose(&fa, extra);
    char *argv[] = {(char *)self_path, "child", size_arg, fd_arg, NULL};
    pid_t pid;
    int r = posix_spawn(&pid, self_path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    close(extra);
    if (r == 0) {
        int status = collect_child(s, p[0], pid, buf, size);
        s->extra_ok += WIFEXITED(status) && WEXITSTATUS(status) != 4;
    }
    close(p[0]);
}

static void fork_round(struct spawner *s, int i, unsigned char *buf)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC))
        return;
    long size = 5000 + i * 9000;
    pid_t pid = fork();
    if (pid == 0) {
        bool ok = trips();
        for (long k = 0; k < size; k++)
            buf[k] = payload((uint64_t)k);
        for (long done = 0; ok && done < size;) {
            ssize_t w = write(p[1], buf + done, (size_t)(size - done));
            ok = w > 0;
            done += w > 0 ? w : 0;
        }
        _exit(ok && trips() ? 0 : 1);
    }
    close(p[1]);
    if (pid > 0)
        collect_child(s, p[0], pid, buf, size);
    close(p[0]);
}

/* vfork, then in the child dup2 (an interposed call, in the parent's memory) and exec. */
static void vfork_round(struct spawner *s, int i, unsigned char *buf)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC))
        return;
    long size = 3000 + i * 5000;
    char size_arg[32];
    snprintf(size_arg, sizeof(size_arg), "%ld", size);
    char *argv[] = {(char *)self_path, "child", size_arg, "-1", NULL};
    pid_t pid = vfork();
    if (pid == 0) {
        if (dup2(p[1], 1) == 1)
            execv(self_path, argv);
        _exit(127);
    }
    close(p[1]);
    if (pid > 0)
        collect_child(s, p[0], pid, buf, size);
    close(p[0]);
}

static void *spawner_thread(void *arg)
{
    struct spawner *s = arg;
    unsigned char *buf = malloc(SOURCE_SIZE + 100000);
    for (int i = 0; i < SPAWN_ROUNDS; i++)
        s->round(s, i, buf);
    free(buf);
    return NULL;
}

static void *background_thread(void *arg)
{
    (void)arg;
    while (!atomic_load(&background_stop))
        check(trips());
    return NULL;
}

static void spawn_mode(const char *dir)
{
    work_dir = dir;
    snprintf(source_path, sizeof(source_path), "%s/source", dir);
    unsigned char *buf = malloc(SOURCE_SIZE);
    for (long i = 0; i < SOURCE_SIZE; i++)
        buf[i] = payload((uint64_t)i);
    int fd = open(source_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || pwrite(fd, buf, SOURCE_SIZE, 0) != SOURCE_SIZE)
        die("%s: %s", source_path, strerror(errno));
    close(fd);
    free(buf);

    enum { BACKGROUND = 3 };
    pthread_t bg[BACKGROUND];
    for (int i = 0; i < BACKGROUND; i++)
        if (pthread_create(&bg[i], NULL, background_thread, NULL))
            die("pthread_create: %s", strerror(errno));
    struct spawner spawners[] = {
        {"popen of cat", popen_round, 0, 0, 0, 0},
        {"system of a cat | cat pipeline", system_round, 0, 0, 0, 0},
        {"posix_spawn with dup2, open and close actions", spawn_round, 0, 0, 0, 0},
        {"fork, the child does I/O at once", fork_round, 0, 0, 0, 0},
        {"vfork, dup2 and exec", vfork_round, 0, 0, 0, 0},
    };
    enum { KINDS = sizeof(spawners) / sizeof(spawners[0]) };
    for (int k = 0; k < KINDS; k++)
        if (pthread_create(&spawners[k].thread, NULL, spawner_thread, &spawners[k]))
            die("pthread_create: %s", strerror(errno));
    for (int k = 0; k < KINDS; k++)
        join_bounded(spawners[k].thread, spawners[k].name);
    atomic_store(&background_stop, 1);
    for (int i = 0; i < BACKGROUND; i++)
        join_bounded(bg[i], "a background thread");
    for (int k = 0; k < KINDS; k++) {
        struct spawner *s = &spawners[k];
        printf("%s: %d rounds, output intact %d, exit status 0: %d\n", s->name, SPAWN_ROUNDS, s->intact,
               s->status_ok);
        check(s->intact == SPAWN_ROUNDS && s->status_ok == SPAWN_ROUNDS);
    }
    printf("posix_spawn: the descriptor named in a close action was closed in the child: %d of %d\n",
           spawners[2].extra_ok, SPAWN_ROUNDS);
    printf("background round trips that failed: %d\n", atomic_load(&failures));
}

/* The child of spawn rounds: exit 4 if the descriptor FD is open, 5 if fd 0 does not read EOF. */
static int child_mode(long size, int closed_fd)
{
    if (closed_fd >= 0 && fcntl(closed_fd, F_GETFD) != -1)
        return 4;
    char c;
    if (closed_fd >= 0 && read(0, &c, 1) != 0)
        return 5;
    if (!trips())
        return 6;
    unsigned char *buf = malloc((size_t)size + 1);
    for (long k = 0; k < size; k++)
        buf[k] = payload((uint64_t)k);
    for (long done = 0; done < size;) {
        ssize_t w = write(1, buf + done, (size_t)(size - done));
        if (w <= 0)
            return 7;
        done += w;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: reent ctor | signal-first | signal-storm | timer-first | spawn DIR | child SIZE FD");
    const char *mode = argv[1];
    self_path = "/proc/self/exe";
    if (!strcmp(mode, "ctor")) {
        ctor_mode();
    } else if (!strcmp(mode, "signal-first")) {
        signal_first();
    } else if (!strcmp(mode, "signal-storm")) {
        signal_storm();
    } else if (!strcmp(mode, "timer-first")) {
        timer_first();
    } else if (!strcmp(mode, "spawn") && argc == 3) {
        static char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
            die("readlink: %s", strerror(errno));
        self_path = exe;
        spawn_mode(argv[2]);
    } else if (!strcmp(mode, "child") && argc == 4) {
        return child_mode(atol(argv[2]), atoi(argv[3]));
    } else {
        die("unknown mode %s", mode);
    }
    return atomic_load(&failures) ? 1 : 0;
}
