/* A library that does I/O before main, built by tests/reentry.bats and preloaded before or after the shim.
 * REENT_CTOR (comma list) says what its constructor does:
 *   io      pipe and socketpair round trips, then one line written to fd 1 with write()
 *   thread  starts a thread doing 200 round trips; the program collects it with ctorlib_wait()
 * Depending on the order in LD_PRELOAD this constructor runs before or after the shim's own, so the shim's
 * first call may come from here, and the thread's calls may race with the shim's constructor. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static bool round_trip(void)
{
    int p[2], s[2];
    char in[16];
    if (pipe(p))
        return false;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s)) {
        close(p[0]);
        close(p[1]);
        return false;
    }
    bool ok = write(p[1], "ctor", 4) == 4 && read(p[0], in, sizeof(in)) == 4 && !memcmp(in, "ctor", 4) &&
              send(s[0], "sock", 4, 0) == 4 && recv(s[1], in, sizeof(in), 0) == 4 && !memcmp(in, "sock", 4);
    close(p[0]);
    close(p[1]);
    close(s[0]);
    close(s[1]);
    return ok;
}

static void say(const char *line)
{
    size_t n = strlen(line);
    if (write(1, line, n) != (ssize_t)n)
        _exit(3);
}

static pthread_t worker;
static bool worker_started;

static void *worker_main(void *arg)
{
    (void)arg;
    bool ok = true;
    for (int i = 0; i < 200; i++)
        ok = round_trip() && ok;
    return ok ? (void *)1 : NULL;
}

static bool wants(const char *what)
{
    const char *mode = getenv("REENT_CTOR");
    if (!mode)
        return false;
    size_t n = strlen(what);
    for (const char *p = mode; (p = strstr(p, what)); p += n)
        if ((p == mode || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

__attribute__((constructor)) static void ctorlib_start(void)
{
    if (wants("thread"))
        worker_started = pthread_create(&worker, NULL, worker_main, NULL) == 0;
    if (wants("io")) {
        bool ok = true;
        for (int i = 0; i < 20; i++)
            ok = round_trip() && ok;
        say(ok ? "constructor: 20 round trips ok\n" : "constructor: round trips FAILED\n");
    }
}

/* Called by the program (found with dlsym): waits, bounded, for the constructor's thread. 1 = its round
 * trips all succeeded, 0 = one failed, -1 = no thread, -2 = still running after 20 s. */
__attribute__((visibility("default"))) int ctorlib_wait(void)
{
    if (!worker_started)
        return -1;
    struct timespec limit;
    clock_gettime(CLOCK_REALTIME, &limit);
    limit.tv_sec += 20;
    void *ret = NULL;
    if (pthread_timedjoin_np(worker, &ret, &limit))
        return -2;
    worker_started = false;
    return ret ? 1 : 0;
}
