/* rw_stream KIND OP [FIFO_PATH]: read, write, readv or writev on a stream descriptor, printing every result
 * and the bytes moved, so runs with and without the shim compare line by line.
 * KIND: pipe | fifo (needs FIFO_PATH, made here) | socketpair (AF_UNIX stream) | zero (/dev/zero) |
 * null (/dev/null). OP: read | write | readv | writev. */
#include "helper.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static long count_byte(const unsigned char *b, long n, unsigned char c)
{
    long k = 0;
    for (long i = 0; i < n; i++)
        k += b[i] == c;
    return k;
}

/* Read, write, readv, writev on a pipe-like pair: r reads what w writes, EOF once w is closed. */
static void stream_read(int r, int w)
{
    char buf[128];
    long n;
    REPORT("write 12", write(w, "hello world\n", 12));
    n = REPORT("read 100", read(r, buf, 100));
    show("  data", buf, n);
    REPORT("write 5", write(w, "abcde", 5));
    n = REPORT("read 3", read(r, buf, 3));
    show("  data", buf, n);
    n = REPORT("read 100", read(r, buf, 100));
    show("  data", buf, n);
    REPORT("read 0 on an empty stream", read(r, buf, 0));
    REPORT("write 1", write(w, "z", 1));
    REPORT("read 0 with data waiting", read(r, buf, 0));
    n = REPORT("read 1", read(r, buf, 1));
    show("  data", buf, n);
    close(w);
    REPORT("read at eof", read(r, buf, 100));
    REPORT("read at eof again", read(r, buf, 100));
}

static void stream_write(int r, int w)
{
    unsigned char pat[300], buf[400];
    long n;
    for (int i = 0; i < (int)sizeof pat; i++)
        pat[i] = (unsigned char)(i * 7 + 1);
    REPORT("write 300", write(w, pat, 300));
    n = REPORT("read back 400", read(r, buf, 400));
    printf("  same bytes -> %d\n", n == 300 && memcmp(buf, pat, 300) == 0);
    REPORT("write 0", write(w, pat, 0));
    REPORT("write 1", write(w, "A", 1));
    REPORT("write 2", write(w, "BC", 2));
    n = REPORT("read back 100", read(r, buf, 100));
    show("  data", buf, n);
    signal(SIGPIPE, SIG_IGN);
    close(r);
    REPORT("write with the reader gone (SIGPIPE ignored)", write(w, pat, 10));
    REPORT("write 0 with the reader gone", write(w, pat, 0));
}

static void stream_readv(int r, int w)
{
    char a[3], b[4], c[10], d[2], e[2];
    long n;
    REPORT("write 10", write(w, "abcdefghij", 10));
    struct iovec iov[4] = { { a, sizeof a }, { NULL, 0 }, { b, sizeof b }, { c, sizeof c } };
    n = REPORT("readv 3+0+4+10", readv(r, iov, 4));
    show_iov(iov, 4, n);
    REPORT("write 5", write(w, "vwxyz", 5));
    struct iovec iov2[2] = { { d, sizeof d }, { e, sizeof e } };
    n = REPORT("readv 2+2", readv(r, iov2, 2));
    show_iov(iov2, 2, n);
    n = REPORT("readv 2+2 again", readv(r, iov2, 2));
    show_iov(iov2, 2, n);
    struct iovec iov0[2] = { { a, 0 }, { b, 0 } };
    REPORT("readv of zero-length segments on an empty stream", readv(r, iov0, 2));
    close(w);
    REPORT("readv at eof", readv(r, iov, 4));
}

static void stream_writev(int r, int w)
{
    char buf[100];
    long n;
    struct iovec iov[4] = { { "abc", 3 }, { "", 0 }, { "defg", 4 }, { "hij", 3 } };
    REPORT("writev 3+0+4+3", writev(w, iov, 4));
    n = REPORT("read back 100", read(r, buf, 100));
    show("  data", buf, n);
    struct iovec one = { "k", 1 };
    REPORT("writev 1 segment", writev(w, &one, 1));
    n = REPORT("read back 100", read(r, buf, 100));
    show("  data", buf, n);
    struct iovec zero[2] = { { "x", 0 }, { "y", 0 } };
    REPORT("writev of zero-length segments", writev(w, zero, 2));
    signal(SIGPIPE, SIG_IGN);
    close(r);
    REPORT("writev with the reader gone (SIGPIPE ignored)", writev(w, iov, 4));
}

/* /dev/zero and /dev/null: fd is open O_RDWR. */
static void device_ops(const char *kind, const char *op, int fd)
{
    unsigned char buf[200];
    long n;
    memset(buf, 0xAA, sizeof buf);
    if (!strcmp(op, "read")) {
        n = REPORT("read 100", read(fd, buf, 100));
        printf("  zero bytes -> %ld, untouched bytes -> %ld\n", count_byte(buf, 200, 0), count_byte(buf, 200, 0xAA));
        REPORT("read 0", read(fd, buf, 0));
        n = REPORT("read 1", read(fd, buf, 1));
        printf("  zero bytes -> %ld\n", count_byte(buf, 200, 0));
    } else if (!strcmp(op, "write")) {
        REPORT("write 100", write(fd, buf, 100));
        REPORT("write 0", write(fd, buf, 0));
        REPORT("write 200", write(fd, buf, 200));
    } else if (!strcmp(op, "readv")) {
        struct iovec iov[3] = { { buf, 3 }, { buf + 3, 0 }, { buf + 10, 50 } };
        n = REPORT("readv 3+0+50", readv(fd, iov, 3));
        printf("  zero bytes -> %ld, untouched bytes -> %ld\n", count_byte(buf, 200, 0), count_byte(buf, 200, 0xAA));
        REPORT("readv 1 segment", readv(fd, iov, 1));
    } else if (!strcmp(op, "writev")) {
        struct iovec iov[3] = { { buf, 3 }, { buf, 0 }, { buf, 50 } };
        REPORT("writev 3+0+50", writev(fd, iov, 3));
        REPORT("writev 1 segment", writev(fd, iov, 1));
    } else {
        die("unknown op %s for %s", op, kind);
    }
    (void)n;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        die("usage: rw_stream pipe|fifo PATH|socketpair|zero|null read|write|readv|writev [FIFO_PATH]");
    const char *kind = argv[1], *op = argv[2];
    alarm(30); /* a call that blocks where libc's would not ends the run instead of hanging the suite */
    int r, w;
    if (!strcmp(kind, "zero") || !strcmp(kind, "null")) {
        int fd = open(!strcmp(kind, "zero") ? "/dev/zero" : "/dev/null", O_RDWR);
        if (fd < 0)
            die("open /dev/%s: %s", kind, strerror(errno));
        device_ops(kind, op, fd);
        return 0;
    }
    if (!strcmp(kind, "pipe")) {
        int p[2];
        if (pipe(p) != 0)
            die("pipe: %s", strerror(errno));
        r = p[0], w = p[1];
    } else if (!strcmp(kind, "socketpair")) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            die("socketpair: %s", strerror(errno));
        r = sv[0], w = sv[1];
    } else if (!strcmp(kind, "fifo")) {
        if (argc < 4)
            die("fifo needs a path");
        unlink(argv[3]);
        if (mkfifo(argv[3], 0600) != 0)
            die("mkfifo %s: %s", argv[3], strerror(errno));
        /* Opening the read end blocks until a writer exists unless O_NONBLOCK; clear it afterwards. */
        r = open(argv[3], O_RDONLY | O_NONBLOCK);
        if (r < 0)
            die("open fifo for reading: %s", strerror(errno));
        w = open(argv[3], O_WRONLY);
        if (w < 0)
            die("open fifo for writing: %s", strerror(errno));
        if (fcntl(r, F_SETFL, fcntl(r, F_GETFL) & ~O_NONBLOCK) != 0)
            die("fcntl: %s", strerror(errno));
    } else {
        die("unknown kind %s", kind);
    }
    if (!strcmp(op, "read"))
        stream_read(r, w);
    else if (!strcmp(op, "write"))
        stream_write(r, w);
    else if (!strcmp(op, "readv"))
        stream_readv(r, w);
    else if (!strcmp(op, "writev"))
        stream_writev(r, w);
    else
        die("unknown op %s", op);
    return 0;
}
