/* rw_nonblock CASE: O_NONBLOCK is honoured however and by whomever it is set (row 9 of SEMANTICS.md).
 * pipe2 | fcntl | fionbio | socket | sock-nonblock: a read on an empty nonblocking pipe or AF_UNIX socket
 *   fails EAGAIN; once O_NONBLOCK is cleared (the same way) a read blocks until a child writes.
 * other-process: a child sets O_NONBLOCK on its inherited copy of the parent's pipe (the same open file
 *   description): the parent's next read on the empty pipe fails EAGAIN; a second child clears it and the
 *   parent's read blocks again.
 * write-full: writes on a full nonblocking pipe fail EAGAIN; a nonblocking write bigger than the room left
 *   is short, as with libc (no continuation).
 * The child writes only once it sees the parent asleep (/proc/PID/task/PID/stat state S), polled with a
 * bound; the parent's result does not depend on when that happens. */
#include "helper.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* State letter of thread tid of process pid, or 0. */
static char thread_state(pid_t pid, pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = syscall(SYS_read, fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : 0;
}

/* Polls until the thread sleeps, at most about 20 s. */
static int wait_asleep(pid_t pid, pid_t tid)
{
    struct timespec ms = { 0, 1000000 };
    for (int i = 0; i < 20000; i++) {
        if (thread_state(pid, tid) == 'S')
            return 1;
        nanosleep(&ms, NULL);
    }
    return 0;
}

/* A read on r that must block: a child writes "late" to w once this thread sleeps. */
static void blocking_read(const char *label, int r, int w)
{
    char buf[64];
    pid_t me = getpid();
    pid_t tid = (pid_t)syscall(SYS_gettid);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        if (!wait_asleep(me, tid)) {
            fprintf(stderr, "rw_nonblock: the parent never blocked in its read\n");
            _exit(1);
        }
        _exit(syscall(SYS_write, w, "late", 4) == 4 ? 0 : 1);
    }
    long n = REPORT(label, read(r, buf, sizeof buf));
    show("  data", buf, n);
    int st;
    if (waitpid(pid, &st, 0) != pid)
        die("waitpid: %s", strerror(errno));
    printf("  writer child exit -> %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    fflush(stdout);
}

static void nonblock_flag(const char *label, int fd)
{
    printf("%s: O_NONBLOCK -> %d\n", label, (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    fflush(stdout);
}

static void set_fcntl(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) != 0)
        die("fcntl: %s", strerror(errno));
}

static void set_fionbio(int fd, int on)
{
    if (ioctl(fd, FIONBIO, &on) != 0)
        die("ioctl FIONBIO: %s", strerror(errno));
}

/* The common sequence: data is read normally, the empty descriptor gives EAGAIN, then blocks once cleared. */
static void eagain_then_block(int r, int w, void (*set)(int, int))
{
    char buf[64];
    nonblock_flag("start", r);
    REPORT("read on the empty nonblocking descriptor", read(r, buf, sizeof buf));
    REPORT("read of 0 bytes", read(r, buf, 0));
    REPORT("write 3", write(w, "abc", 3));
    long n = REPORT("read with data waiting", read(r, buf, sizeof buf));
    show("  data", buf, n);
    REPORT("read on the empty nonblocking descriptor again", read(r, buf, sizeof buf));
    set(r, 0);
    nonblock_flag("after clearing", r);
    blocking_read("read that blocks until the child writes", r, w);
    set(r, 1);
    nonblock_flag("after setting again", r);
    REPORT("read on the empty nonblocking descriptor", read(r, buf, sizeof buf));
    set(r, 0);
    blocking_read("read that blocks until the child writes", r, w);
}

static void other_process(void)
{
    char buf[64];
    int p[2];
    if (pipe(p) != 0)
        die("pipe: %s", strerror(errno));
    REPORT("write 2", write(p[1], "ab", 2));
    long n = REPORT("read 1 (blocking descriptor, data waiting)", read(p[0], buf, 1));
    show("  data", buf, n);
    for (int round = 0; round < 2; round++) {
        int on = round == 0;
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            die("fork: %s", strerror(errno));
        if (pid == 0) {
            int fl = fcntl(p[0], F_GETFL);
            _exit(fl >= 0 && fcntl(p[0], F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) == 0 ? 0 : 1);
        }
        int st;
        if (waitpid(pid, &st, 0) != pid)
            die("waitpid: %s", strerror(errno));
        printf("child that %s O_NONBLOCK exit -> %d\n", on ? "sets" : "clears", WIFEXITED(st) ? WEXITSTATUS(st) : 128);
        nonblock_flag("in the parent", p[0]);
        if (on) {
            n = REPORT("read 10 (1 byte waiting)", read(p[0], buf, 10));
            show("  data", buf, n);
            REPORT("read on the empty pipe", read(p[0], buf, 10));
            REPORT("read on the empty pipe again", read(p[0], buf, 10));
        } else {
            blocking_read("read that blocks until the child writes", p[0], p[1]);
        }
    }
}

static void write_full(void)
{
    static char block[100000];
    char buf[4096];
    int p[2];
    memset(block, 'w', sizeof block);
    if (pipe2(p, O_NONBLOCK) != 0)
        die("pipe2: %s", strerror(errno));
    long total = 0, n;
    int i;
    for (i = 0; i < 100; i++) {
        errno = 0;
        n = write(p[1], block, 4096);
        if (n < 0)
            break;
        total += n;
    }
    printf("writes of 4096 before failing -> %d, bytes %ld, error -> %s\n", i, total, n < 0 ? strerrorname_np(errno) : "none");
    REPORT("write 1 on the full pipe", write(p[1], block, 1));
    REPORT("write 0 on the full pipe", write(p[1], block, 0));
    long drained = 0;
    while ((n = read(p[0], buf, sizeof buf)) > 0)
        drained += n;
    printf("drained %ld bytes, then -> %s\n", drained, n < 0 ? strerrorname_np(errno) : "eof");
    REPORT("write 100000 on the empty nonblocking pipe", write(p[1], block, sizeof block));
    REPORT("write 1 on the full pipe", write(p[1], block, 1));
    drained = 0;
    while ((n = read(p[0], buf, sizeof buf)) > 0)
        drained += n;
    printf("drained %ld bytes, then -> %s\n", drained, n < 0 ? strerrorname_np(errno) : "eof");
    REPORT("write 10 on the empty nonblocking pipe", write(p[1], block, 10));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        die("usage: rw_nonblock pipe2|fcntl|fionbio|socket|sock-nonblock|other-process|write-full");
    alarm(60); /* a read that blocks where libc's fails EAGAIN ends the run instead of hanging the suite */
    signal(SIGPIPE, SIG_IGN);
    const char *c = argv[1];
    int fds[2];
    if (!strcmp(c, "pipe2")) {
        if (pipe2(fds, O_NONBLOCK) != 0)
            die("pipe2: %s", strerror(errno));
        eagain_then_block(fds[0], fds[1], set_fcntl);
    } else if (!strcmp(c, "fcntl")) {
        if (pipe(fds) != 0)
            die("pipe: %s", strerror(errno));
        set_fcntl(fds[0], 1);
        eagain_then_block(fds[0], fds[1], set_fcntl);
    } else if (!strcmp(c, "fionbio")) {
        if (pipe(fds) != 0)
            die("pipe: %s", strerror(errno));
        set_fionbio(fds[0], 1);
        eagain_then_block(fds[0], fds[1], set_fionbio);
    } else if (!strcmp(c, "socket")) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
            die("socketpair: %s", strerror(errno));
        set_fcntl(fds[0], 1);
        eagain_then_block(fds[0], fds[1], set_fcntl);
    } else if (!strcmp(c, "sock-nonblock")) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) != 0)
            die("socketpair: %s", strerror(errno));
        eagain_then_block(fds[0], fds[1], set_fionbio);
    } else if (!strcmp(c, "other-process")) {
        other_process();
    } else if (!strcmp(c, "write-full")) {
        write_full();
    } else {
        die("unknown case %s", c);
    }
    return 0;
}
