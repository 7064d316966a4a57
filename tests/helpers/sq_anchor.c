/* sq_anchor MODE: what a program does to descriptors it does not know about, while the shim keeps its
 * SQPOLL anchor (IOU_SHIM_SQPOLL) at 900 and above. Each mode prints the same lines with and without the
 * shim when nothing is disturbed.
 *   lost    a thread does I/O and stays; the main thread closes every descriptor from 3 up
 *           (close_range, as daemons do); then a new thread does I/O
 *   reuse   as lost, then the program puts its own pipe at 900 (dup2); the first thread exits; the
 *           program's descriptor 900 must still be its pipe
 *   fork    the main thread does I/O; a forked child does I/O in a thread that exits, then reports how
 *           many descriptors at 900 and above it has open (the parent's anchor must not stay in it) */
#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

static sem_t go_on, trip_done;

static bool round_trip(void)
{
    int p[2];
    char in[8];
    if (pipe(p))
        return false;
    bool ok = write(p[1], "ping", 4) == 4 && read(p[0], in, sizeof(in)) == 4 && !memcmp(in, "ping", 4);
    close(p[0]);
    close(p[1]);
    return ok;
}

static void *trip_then_wait(void *arg)
{
    (void)arg;
    printf("first thread: %s\n", round_trip() ? "ok" : "failed");
    fflush(stdout);
    sem_post(&trip_done);
    sem_wait(&go_on);
    return NULL;
}

static void *trip(void *arg)
{
    (void)arg;
    printf("new thread: %s\n", round_trip() ? "ok" : "failed");
    fflush(stdout);
    return NULL;
}

static int high_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    if (!d)
        die("opendir: %s", strerror(errno));
    while ((e = readdir(d)))
        n += atoi(e->d_name) >= 900;
    closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: sq_anchor lost|reuse|fork");
    const char *mode = argv[1];
    pthread_t first, second;
    sem_init(&go_on, 0, 0);
    sem_init(&trip_done, 0, 0);
    if (!strcmp(mode, "lost") || !strcmp(mode, "reuse")) {
        pthread_create(&first, NULL, trip_then_wait, NULL);
        sem_wait(&trip_done);
        if (syscall(SYS_close_range, 3, ~0U, 0) && close_range(3, ~0U, 0))
            die("close_range: %s", strerror(errno));
        pthread_create(&second, NULL, trip, NULL);
        pthread_join(second, NULL);
        int p[2];
        if (!strcmp(mode, "reuse")) {
            if (pipe(p) || dup2(p[1], 900) != 900)
                die("pipe/dup2: %s", strerror(errno));
        }
        sem_post(&go_on);
        pthread_join(first, NULL);
        if (!strcmp(mode, "reuse")) {
            char c = 0;
            REPORT("write to the program's descriptor 900", write(900, "z", 1));
            REPORT("read it back", read(p[0], &c, 1));
            printf("byte: %c\n", c);
        }
    } else if (!strcmp(mode, "fork")) {
        printf("parent: %s\n", round_trip() ? "ok" : "failed");
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            pthread_create(&second, NULL, trip, NULL);
            pthread_join(second, NULL);
            printf("child: descriptors at 900 and above: %d\n", high_fds());
            fflush(stdout);
            _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
        printf("child exit: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    } else {
        die("unknown mode %s", mode);
    }
    return 0;
}
