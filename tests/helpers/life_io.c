/* Pipe and socketpair round trips in a configurable process/thread shape, printing only what must be
 * equal with and without the shim. Modes:
 *   threads N      N threads one after another, each doing one round trip (ring per thread, released)
 *   concurrent N   N threads at once, each doing round trips until all have started
 *   fork           parent and child both do I/O at once after fork, before and without exec
 *   vfork          vfork children write into a pipe before _exit, many times; the parent goes on
 *   atfork         the program's own pthread_atfork handlers (registered before its first I/O) do
 *                  I/O in the parent and in the child while fork is under way
 *   forkbusy       a thread does round trips while the main thread forks, 20 times, a process whose
 *                  256 MiB take the kernel a while to copy
 *   closeall       close_range(3, ~0U, 0) like a daemon, then keep doing I/O on new pipes
 *   lowfd          RLIMIT_NOFILE set so the program has exactly one free descriptor, then I/O
 *   nofree         RLIMIT_NOFILE set so the program has no free descriptor, then I/O
 * At the end it prints the number of open descriptors, so a leak shows as a difference. */

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

/* One write and read through a new pipe and a new socketpair; false on any mismatch. */
static bool round_trip(void)
{
    bool piped = pipe_round_trip(0);
    return socket_round_trip(0) && piped;
}

static atomic_int started, failures;
static int atfork_pipe[2];

static void atfork_io(void)
{
    char c;
    if (write(atfork_pipe[1], "a", 1) != 1 || read(atfork_pipe[0], &c, 1) != 1)
        _exit(3);
}
static int thread_count;

static void *one_trip(void *arg)
{
    (void)arg;
    if (!round_trip())
        atomic_fetch_add(&failures, 1);
    return NULL;
}

static void *trips_until_all_started(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    do
        if (!round_trip())
            atomic_fetch_add(&failures, 1);
    while (atomic_load(&started) < thread_count);
    return NULL;
}

static atomic_bool forks_done;

static void *trips_until_forks_done(void *arg)
{
    (void)arg;
    do
        if (!round_trip())
            atomic_fetch_add(&failures, 1);
    while (!atomic_load(&forks_done));
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: life_io MODE [N] (modes: see the top of tests/helpers/life_io.c)");
    const char *mode = argv[1];
    int n = argc > 2 ? atoi(argv[2]) : 0;
    int before = open_fds();
    if (!strcmp(mode, "threads")) {
        for (int i = 0; i < n; i++) {
            pthread_t t;
            if (pthread_create(&t, NULL, one_trip, NULL))
                die("pthread_create: %s", strerror(errno));
            pthread_join(t, NULL);
        }
    } else if (!strcmp(mode, "concurrent")) {
        thread_count = n;
        pthread_t *t = calloc((size_t)n, sizeof(*t));
        for (int i = 0; i < n; i++)
            if (pthread_create(&t[i], NULL, trips_until_all_started, NULL))
                die("pthread_create: %s", strerror(errno));
        for (int i = 0; i < n; i++)
            pthread_join(t[i], NULL);
        free(t);
    } else if (!strcmp(mode, "fork")) {
        if (!round_trip())
            failures++;
        for (int i = 0; i < 20; i++) {
            pid_t pid = fork();
            if (pid == 0)
                _exit(round_trip() && round_trip() ? 0 : 1);
            if (!round_trip())
                failures++;
            int status;
            waitpid(pid, &status, 0);
            if (!WIFEXITED(status) || WEXITSTATUS(status))
                failures++;
        }
    } else if (!strcmp(mode, "forkbusy")) {
        size_t size = 256u << 20;
        char *memory = malloc(size);
        if (!memory)
            die("malloc");
        memset(memory, 1, size);
        pthread_t t;
        if (pthread_create(&t, NULL, trips_until_forks_done, NULL))
            die("pthread_create: %s", strerror(errno));
        for (int i = 0; i < 20; i++) {
            pid_t pid = fork();
            if (pid == 0)
                _exit(0);
            int status;
            waitpid(pid, &status, 0);
            if (!WIFEXITED(status) || WEXITSTATUS(status))
                failures++;
        }
        atomic_store(&forks_done, true);
        pthread_join(t, NULL);
        free(memory);
    } else if (!strcmp(mode, "atfork")) {
        if (pipe(atfork_pipe))
            die("pipe");
        pthread_atfork(atfork_io, atfork_io, atfork_io);
        for (int i = 0; i < 10; i++) {
            if (!round_trip())
                failures++;
            pid_t pid = fork();
            if (pid == 0)
                _exit(round_trip() ? 0 : 1);
            int status;
            waitpid(pid, &status, 0);
            if (!WIFEXITED(status) || WEXITSTATUS(status))
                failures++;
        }
        close(atfork_pipe[0]);
        close(atfork_pipe[1]);
    } else if (!strcmp(mode, "vfork")) {
        int p[2];
        if (pipe(p) || !round_trip())
            die("pipe");
        for (volatile int i = 0; i < 50; i++) {
            pid_t pid = vfork();
            if (pid == 0) {
                /* A vfork child shares the parent's memory, so also its thread state: it must not
                 * disturb the parent's ring. */
                if (write(p[1], "c", 1) != 1)
                    _exit(1);
                _exit(0);
            }
            int status;
            waitpid(pid, &status, 0);
            if (!WIFEXITED(status) || WEXITSTATUS(status))
                failures++;
        }
        char buf[64];
        REPORT("bytes the children wrote", read(p[0], buf, sizeof(buf)));
        if (!round_trip())
            failures++;
        close(p[0]);
        close(p[1]);
    } else if (!strcmp(mode, "closeall")) {
        if (!round_trip())
            failures++;
        if (syscall(SYS_close_range, 3, ~0U, 0))
            die("close_range: %s", strerror(errno));
        before = open_fds();
        for (int i = 0; i < 10; i++)
            if (!round_trip())
                failures++;
    } else if (!strcmp(mode, "lowfd")) {
        /* Exactly one descriptor free: a round trip needs four, so it must fail with EMFILE exactly as
         * without the shim, and after closing two the program can still use its last descriptors. */
        int p[2];
        if (pipe(p))
            die("pipe");
        struct rlimit rl = {(rlim_t)p[1] + 2, (rlim_t)p[1] + 2};
        if (setrlimit(RLIMIT_NOFILE, &rl))
            die("setrlimit: %s", strerror(errno));
        REPORT("write", write(p[1], "x", 1));
        char c;
        REPORT("read", read(p[0], &c, 1));
        int q[2];
        REPORT("pipe with one free descriptor", pipe(q));
        int last = REPORT("dup into the last descriptor", dup(p[0]));
        REPORT("write", write(p[1], "y", 1));
        REPORT("read from the last descriptor", read(last, &c, 1));
        close(last);
        close(p[0]);
        close(p[1]);
        before = open_fds();
    } else if (!strcmp(mode, "nofree")) {
        int p[2];
        if (pipe(p))
            die("pipe");
        struct rlimit rl = {(rlim_t)p[1] + 1, (rlim_t)p[1] + 1};
        if (setrlimit(RLIMIT_NOFILE, &rl))
            die("setrlimit: %s", strerror(errno));
        char c;
        for (int i = 0; i < 3; i++) {
            REPORT("write", write(p[1], "x", 1));
            REPORT("read", read(p[0], &c, 1));
        }
        close(p[0]);
        close(p[1]);
        before = open_fds();
    } else {
        die("unknown mode %s", mode);
    }
    printf("failures %d\n", atomic_load(&failures));
    printf("descriptors leaked %d\n", open_fds() - before);
    return atomic_load(&failures) ? 1 : 0;
}
