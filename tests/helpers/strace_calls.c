/* strace_calls CALL TARGET K [DIR]: makes K calls of one routed kind, each checked, so that `strace -f -c`
 * can show whether they reached the kernel as their own system call or went through io_uring.
 *   CALL    read readv write writev pread64 pwrite64 send recv sendmsg recvmsg fsync, or
 *           fresh: K times, a new TARGET (pipe, socketpair, or file opened with open), one byte written
 *           and read back, closed
 *   TARGET  pipe | socketpair | devnull | file (file: explicit offsets only, in DIR)
 * Everything the calls need (prefilled pipes, the file) is set up with one call before the loop.
 * Prints "CALL TARGET K ok" and exits 0, or says what went wrong and exits 1. */
#include "helper.h"
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static int rfd = -1, wfd = -1; /* the two ends (the same descriptor for devnull and file) */

static void open_target(const char *target, const char *dir, int k)
{
    int p[2];
    if (strcmp(target, "pipe") == 0) {
        if (pipe(p) != 0)
            die("pipe: %s", strerror(errno));
        rfd = p[0], wfd = p[1];
    } else if (strcmp(target, "socketpair") == 0) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) != 0)
            die("socketpair: %s", strerror(errno));
        rfd = p[0], wfd = p[1];
    } else if (strcmp(target, "devnull") == 0) {
        rfd = wfd = open("/dev/null", O_RDWR);
        if (rfd < 0)
            die("/dev/null: %s", strerror(errno));
    } else if (strcmp(target, "file") == 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/strace_calls.XXXXXX", dir ? dir : "/tmp");
        rfd = wfd = mkstemp(path);
        if (rfd < 0)
            die("mkstemp %s: %s", path, strerror(errno));
        unlink(path);
    } else {
        die("unknown target %s", target);
    }
    (void)k;
}

/* One call writing k bytes the loop will read back one by one. */
static void prefill(const char *target, int k)
{
    char buf[4096];
    if (strcmp(target, "devnull") == 0)
        return;
    for (int i = 0; i < k; i++)
        buf[i] = (char)('a' + i % 26);
    long n = strcmp(target, "file") == 0 ? pwrite(wfd, buf, k, 0) : write(wfd, buf, k);
    if (n != k)
        die("prefill: %ld of %d bytes: %s", n, k, strerror(errno));
}

static int is_reading(const char *call)
{
    return !strcmp(call, "read") || !strcmp(call, "readv") || !strcmp(call, "pread64") ||
           !strcmp(call, "recv") || !strcmp(call, "recvmsg");
}

/* Call number i: returns what the call returned; *want gets what it must return. */
static long one_call(const char *call, int i, char *byte, long *want, int devnull)
{
    struct iovec iov = { .iov_base = byte, .iov_len = 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    *want = devnull && is_reading(call) ? 0 : 1;
    if (!strcmp(call, "read"))
        return read(rfd, byte, 1);
    if (!strcmp(call, "readv"))
        return readv(rfd, &iov, 1);
    if (!strcmp(call, "write"))
        return write(wfd, byte, 1);
    if (!strcmp(call, "writev"))
        return writev(wfd, &iov, 1);
    if (!strcmp(call, "pread64"))
        return pread(rfd, byte, 1, i);
    if (!strcmp(call, "pwrite64"))
        return pwrite(wfd, byte, 1, i);
    if (!strcmp(call, "send"))
        return send(wfd, byte, 1, 0);
    if (!strcmp(call, "recv"))
        return recv(rfd, byte, 1, 0);
    if (!strcmp(call, "sendmsg"))
        return sendmsg(wfd, &msg, 0);
    if (!strcmp(call, "recvmsg"))
        return recvmsg(rfd, &msg, 0);
    if (!strcmp(call, "fsync")) {
        *want = 0;
        return fsync(wfd);
    }
    die("unknown call %s", call);
}

/* CALL fresh: K new descriptors, each used once. */
static void fresh_targets(const char *target, const char *dir, int k)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/strace_calls.fresh", dir ? dir : "/tmp");
    for (int i = 0; i < k; i++) {
        char out = (char)('a' + i % 26), in = 0;
        long w, r;
        if (!strcmp(target, "file")) {
            rfd = wfd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
            if (rfd < 0)
                die("open %s: %s", path, strerror(errno));
            w = pwrite(wfd, &out, 1, 0);
            r = pread(rfd, &in, 1, 0);
        } else {
            open_target(target, dir, k);
            w = write(wfd, &out, 1);
            r = read(rfd, &in, 1);
        }
        if (w != 1 || r != 1 || in != out)
            die("fresh %s %d: wrote %ld, read %ld ('%c'): %s", target, i, w, r, in, strerror(errno));
        close(rfd);
        if (wfd != rfd)
            close(wfd);
    }
    unlink(path);
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5)
        die("usage: strace_calls CALL pipe|socketpair|devnull|file K [DIR]");
    const char *call = argv[1], *target = argv[2];
    int k = atoi(argv[3]);
    if (k < 1 || k > 4096)
        die("K must be 1..4096");
    if (!strcmp(call, "fresh")) {
        fresh_targets(target, argc == 5 ? argv[4] : NULL, k);
        printf("%s %s %d ok\n", call, target, k);
        return 0;
    }
    int devnull = strcmp(target, "devnull") == 0;
    open_target(target, argc == 5 ? argv[4] : NULL, k);
    if (is_reading(call))
        prefill(target, k);
    for (int i = 0; i < k; i++) {
        char byte = (char)('a' + i % 26);
        long want;
        errno = 0;
        long n = one_call(call, i, &byte, &want, devnull);
        if (n != want)
            die("%s call %d on %s returned %ld (%s), expected %ld", call, i, target, n, strerror(errno), want);
        if (want == 1 && is_reading(call) && byte != (char)('a' + i % 26))
            die("%s call %d on %s read '%c', expected '%c'", call, i, target, byte, 'a' + i % 26);
    }
    printf("%s %s %d ok\n", call, target, k);
    return 0;
}
