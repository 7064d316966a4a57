/* rw_espipe CASE: explicit-offset calls where libc fails them before any data moves (row 2 of SEMANTICS.md).
 * CASE pipe | socket: every pread/pwrite-family call on a pipe or AF_UNIX socket fails ESPIPE, and no
 *   byte is consumed or written (the bytes waiting are counted with FIONREAD and read back afterwards).
 * CASE negoff FILE: a negative offset fails EINVAL, also on a bad descriptor (the kernel checks the offset
 *   first); preadv2/pwritev2 take -1 as "the file position" and only -2 and below as invalid.
 * CASE stream-pos: preadv2/pwritev2 with offset -1 on a pipe and a socket behave like readv/writev. */
#include "helper.h"
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static int waiting(const char *label, int rfd)
{
    int n = -1;
    if (ioctl(rfd, FIONREAD, &n) != 0)
        die("FIONREAD: %s", strerror(errno));
    printf("%s: bytes waiting -> %d\n", label, n);
    fflush(stdout);
    return n;
}

/* Every explicit-offset call at offset off; r holds "0123456789", w is its writing end. */
static void all_offset_calls(int r, int w, off_t off)
{
    char buf[32], label[64];
    struct iovec riov = { buf, sizeof buf };
    struct iovec wiov = { "xyz", 3 };
#define L(what) (snprintf(label, sizeof label, "%s at %lld", what, (long long)off), label)
    REPORT(L("pread"), pread(r, buf, sizeof buf, off));
    REPORT(L("pread64"), pread64(r, buf, sizeof buf, off));
    REPORT(L("preadv"), preadv(r, &riov, 1, off));
    REPORT(L("preadv64"), preadv64(r, &riov, 1, off));
    REPORT(L("preadv2"), preadv2(r, &riov, 1, off, 0));
    REPORT(L("preadv64v2"), preadv64v2(r, &riov, 1, off, 0));
    REPORT(L("pread of 0 bytes"), pread(r, buf, 0, off));
    waiting("  after the reads", r);
    REPORT(L("pwrite"), pwrite(w, "xyz", 3, off));
    REPORT(L("pwrite64"), pwrite64(w, "xyz", 3, off));
    REPORT(L("pwritev"), pwritev(w, &wiov, 1, off));
    REPORT(L("pwritev64"), pwritev64(w, &wiov, 1, off));
    REPORT(L("pwritev2"), pwritev2(w, &wiov, 1, off, 0));
    REPORT(L("pwritev64v2"), pwritev64v2(w, &wiov, 1, off, 0));
    REPORT(L("pwrite of 0 bytes"), pwrite(w, "", 0, off));
    waiting("  after the writes", r);
#undef L
}

static void stream_espipe(int r, int w)
{
    char buf[32];
    signal(SIGPIPE, SIG_IGN);
    if (syscall(SYS_write, w, "0123456789", 10) != 10)
        die("raw write: %s", strerror(errno));
    all_offset_calls(r, w, 0);
    all_offset_calls(r, w, 5);
    all_offset_calls(r, w, 1LL << 40);
    long n = REPORT("raw read of what is waiting", syscall(SYS_read, r, buf, sizeof buf));
    show("  data", buf, n);
}

static void negoff(const char *path)
{
    char buf[32], label[160];
    struct iovec riov = { buf, sizeof buf };
    struct iovec wiov = { "xyz", 3 };
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("open %s: %s", path, strerror(errno));
    if (syscall(SYS_pwrite64, fd, "0123456789", 10, 0) != 10)
        die("raw pwrite: %s", strerror(errno));
    int p[2];
    if (pipe(p) != 0)
        die("pipe: %s", strerror(errno));
    int closed = open("/dev/null", O_RDONLY);
    close(closed);
    struct { const char *name; int fd; } fds[] = {
        { "file", fd }, { "pipe (read end)", p[0] }, { "pipe (write end)", p[1] }, { "fd -1", -1 }, { "closed fd", closed }, { "fd 1000000", 1000000 },
    };
    static const off_t offs[] = { -1, -2, -4096, LLONG_MIN };
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        int f = fds[i].fd;
        for (size_t j = 0; j < sizeof offs / sizeof offs[0]; j++) {
            off_t off = offs[j];
#define L(what) (snprintf(label, sizeof label, "%s on %s at %lld", what, fds[i].name, (long long)off), label)
            REPORT(L("pread"), pread(f, buf, sizeof buf, off));
            REPORT(L("pread64"), pread64(f, buf, sizeof buf, off));
            REPORT(L("pread of 0 bytes"), pread(f, buf, 0, off));
            REPORT(L("pwrite"), pwrite(f, "xyz", 3, off));
            REPORT(L("pwrite64"), pwrite64(f, "xyz", 3, off));
            REPORT(L("preadv"), preadv(f, &riov, 1, off));
            REPORT(L("preadv64"), preadv64(f, &riov, 1, off));
            REPORT(L("pwritev"), pwritev(f, &wiov, 1, off));
            REPORT(L("pwritev64"), pwritev64(f, &wiov, 1, off));
            if (off != -1 || f != p[0]) {
                /* -1 on the (empty) pipe would be a blocking readv: the stream-pos case covers that. */
                REPORT(L("preadv2"), preadv2(f, &riov, 1, off, 0));
                REPORT(L("preadv64v2"), preadv64v2(f, &riov, 1, off, 0));
            }
            REPORT(L("pwritev2"), pwritev2(f, &wiov, 1, off, 0));
            REPORT(L("pwritev64v2"), pwritev64v2(f, &wiov, 1, off, 0));
#undef L
        }
    }
    REPORT("file position", lseek(fd, 0, SEEK_CUR));
    long n = REPORT("raw pread of the file", syscall(SYS_pread64, fd, buf, sizeof buf, 0));
    show("  data", buf, n);
    if (waiting("pipe", p[0]) > 0) {
        n = REPORT("raw read of the pipe", syscall(SYS_read, p[0], buf, sizeof buf));
        show("  data", buf, n);
    }
}

/* Offset -1 on a stream: preadv2/pwritev2 are readv/writev. */
static void stream_pos(const char *kind, int r, int w)
{
    char a[3], b[10];
    struct iovec riov[2] = { { a, sizeof a }, { b, sizeof b } };
    struct iovec wiov[2] = { { "hello ", 6 }, { "world", 5 } };
    printf("-- %s\n", kind);
    REPORT("pwritev2 6+5 at -1", pwritev2(w, wiov, 2, -1, 0));
    REPORT("pwritev64v2 6+5 at -1", pwritev64v2(w, wiov, 2, -1, 0));
    waiting("  after the writes", r);
    long n = REPORT("preadv2 3+10 at -1", preadv2(r, riov, 2, -1, 0));
    show("  a", a, n < 3 ? (n > 0 ? n : 0) : 3);
    show("  b", b, n > 3 ? n - 3 : 0);
    n = REPORT("preadv64v2 3+10 at -1", preadv64v2(r, riov, 2, -1, 0));
    show("  a", a, n < 3 ? (n > 0 ? n : 0) : 3);
    show("  b", b, n > 3 ? n - 3 : 0);
    close(w);
    REPORT("preadv2 at -1 at eof", preadv2(r, riov, 2, -1, 0));
    close(r);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: rw_espipe pipe|socket|negoff FILE|stream-pos");
    alarm(30);
    const char *c = argv[1];
    if (!strcmp(c, "pipe")) {
        int p[2];
        if (pipe(p) != 0)
            die("pipe: %s", strerror(errno));
        stream_espipe(p[0], p[1]);
    } else if (!strcmp(c, "socket")) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            die("socketpair: %s", strerror(errno));
        stream_espipe(sv[0], sv[1]);
    } else if (!strcmp(c, "negoff")) {
        if (argc != 3)
            die("negoff needs a file");
        negoff(argv[2]);
    } else if (!strcmp(c, "stream-pos")) {
        int p[2], sv[2];
        if (pipe(p) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            die("pipe/socketpair: %s", strerror(errno));
        stream_pos("pipe", p[0], p[1]);
        stream_pos("socket", sv[0], sv[1]);
    } else {
        die("unknown case %s", c);
    }
    return 0;
}
