/* rw_filepos FILE OP: position-relative calls on a regular file (which the shim leaves to libc, whose f_pos
 * lock makes them atomic). OP read | write | readv | writev prints every result, the bytes and the position.
 * OP "shared N": the file is opened once, then the process forks and parent and child each write N lines
 * with write() through that one open file description; afterwards every line must be whole and present
 * once, in each writer's order, and the size the sum of both (row 1 of SEMANTICS.md). */
#include "helper.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void position(int fd)
{
    REPORT("  position", lseek(fd, 0, SEEK_CUR));
}

/* The whole file read with raw system calls (nothing the shim can see). Returns its length. */
static long slurp(int fd, char *buf, long cap)
{
    long off = 0;
    for (;;) {
        long n = syscall(SYS_pread64, fd, buf + off, cap - off, off);
        if (n < 0)
            die("raw pread64: %s", strerror(errno));
        if (n == 0 || off + n == cap)
            return off + n;
        off += n;
    }
}

static void summary(int fd)
{
    static char buf[1 << 16];
    long n = slurp(fd, buf, sizeof buf);
    if (n <= 200)
        show("file", buf, n);
    else
        printf("file size %ld fnv1a %016llx\n", n, fnv1a(buf, (size_t)n, 0));
    fflush(stdout);
}

static void do_read(int fd)
{
    char buf[128];
    long n;
    n = REPORT("read 10", read(fd, buf, 10));
    show("  data", buf, n);
    position(fd);
    n = REPORT("read 5", read(fd, buf, 5));
    show("  data", buf, n);
    position(fd);
    REPORT("lseek to 95", lseek(fd, 95, SEEK_SET));
    n = REPORT("read 10 (crosses eof)", read(fd, buf, 10));
    show("  data", buf, n);
    position(fd);
    REPORT("read at eof", read(fd, buf, 10));
    REPORT("read 0", read(fd, buf, 0));
    position(fd);
    REPORT("lseek to 200 (past eof)", lseek(fd, 200, SEEK_SET));
    REPORT("read past eof", read(fd, buf, 10));
    position(fd);
}

static void do_write(int fd)
{
    REPORT("write 10", write(fd, "ABCDEFGHIJ", 10));
    position(fd);
    REPORT("write 5", write(fd, "KLMNO", 5));
    position(fd);
    REPORT("lseek to 2", lseek(fd, 2, SEEK_SET));
    REPORT("write 3 (overwrites)", write(fd, "xyz", 3));
    position(fd);
    REPORT("write 0", write(fd, "", 0));
    position(fd);
    REPORT("lseek to 98", lseek(fd, 98, SEEK_SET));
    REPORT("write 5 (extends the file)", write(fd, "12345", 5));
    position(fd);
    REPORT("lseek to 110 (past eof)", lseek(fd, 110, SEEK_SET));
    REPORT("write 2 (leaves a hole)", write(fd, "!!", 2));
    position(fd);
}

static void do_readv(int fd)
{
    char a[3], b[4], c[50];
    struct iovec iov[4] = { { a, sizeof a }, { NULL, 0 }, { b, sizeof b }, { c, sizeof c } };
    long n = REPORT("readv 3+0+4", readv(fd, iov, 3));
    show_iov(iov, 3, n);
    position(fd);
    REPORT("lseek to 90", lseek(fd, 90, SEEK_SET));
    n = REPORT("readv 3+0+4+50 (crosses eof)", readv(fd, iov, 4));
    show_iov(iov, 4, n);
    position(fd);
    REPORT("readv at eof", readv(fd, iov, 4));
    position(fd);
}

static void do_writev(int fd)
{
    struct iovec iov[3] = { { "abc", 3 }, { "", 0 }, { "defg", 4 } };
    REPORT("writev 3+0+4", writev(fd, iov, 3));
    position(fd);
    REPORT("writev 3+0+4", writev(fd, iov, 3));
    position(fd);
    REPORT("lseek to 97", lseek(fd, 97, SEEK_SET));
    REPORT("writev 3+0+4 (extends the file)", writev(fd, iov, 3));
    position(fd);
}

/* Lines of two different lengths, so any overlap or lost byte breaks the parse. */
static int write_lines(int fd, const char *who, int n)
{
    char line[64];
    for (int i = 0; i < n; i++) {
        int len = snprintf(line, sizeof line, "%s %07d\n", who, i);
        ssize_t w = write(fd, line, (size_t)len);
        if (w != len) {
            fprintf(stderr, "%s: write %d returned %zd (%s)\n", who, i, w, strerror(errno));
            return 1;
        }
    }
    return 0;
}

static int do_shared(const char *path, int n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("open %s: %s", path, strerror(errno));
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0)
        exit(write_lines(fd, "child", n)); /* not _exit: the shim writes this process's stats at exit */
    int bad = write_lines(fd, "parent", n);
    int st;
    if (waitpid(pid, &st, 0) != pid)
        die("waitpid: %s", strerror(errno));
    printf("parent writes failed -> %d\n", bad);
    printf("child exit -> %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    position(fd);
    close(fd);

    int rfd = open(path, O_RDONLY);
    if (rfd < 0)
        die("open %s: %s", path, strerror(errno));
    long cap = (long)n * 40 + 4096;
    char *buf = malloc((size_t)cap + 1);
    if (!buf)
        die("malloc");
    long len = slurp(rfd, buf, cap);
    buf[len] = 0;
    printf("file size -> %ld (expected %ld)\n", len, (long)n * (6 + 1 + 7 + 1) + (long)n * (5 + 1 + 7 + 1));
    int next_parent = 0, next_child = 0, bad_lines = 0, out_of_order = 0;
    for (char *p = buf; p < buf + len;) {
        char *nl = memchr(p, '\n', (size_t)(buf + len - p));
        if (!nl) {
            bad_lines++;
            break;
        }
        *nl = 0;
        int k;
        char who[16], tail;
        if (sscanf(p, "%15s %d%c", who, &k, &tail) != 2 || strlen(p) != strlen(who) + 8) {
            bad_lines++;
        } else if (!strcmp(who, "parent")) {
            out_of_order += k != next_parent;
            next_parent = k + 1;
        } else if (!strcmp(who, "child")) {
            out_of_order += k != next_child;
            next_child = k + 1;
        } else {
            bad_lines++;
        }
        p = nl + 1;
    }
    printf("parent lines -> %d\n", next_parent);
    printf("child lines -> %d\n", next_child);
    printf("malformed lines -> %d\n", bad_lines);
    printf("lines out of order or missing -> %d\n", out_of_order);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        die("usage: rw_filepos FILE read|write|readv|writev|shared N");
    const char *path = argv[1], *op = argv[2];
    alarm(120);
    if (!strcmp(op, "shared")) {
        if (argc != 4)
            die("shared needs a line count");
        return do_shared(path, atoi(argv[3]));
    }
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("open %s: %s", path, strerror(errno));
    char init[100];
    for (int i = 0; i < 100; i++)
        init[i] = (char)('a' + i % 26);
    if (syscall(SYS_pwrite64, fd, init, sizeof init, 0) != (long)sizeof init)
        die("writing the initial content: %s", strerror(errno));
    position(fd);
    if (!strcmp(op, "read"))
        do_read(fd);
    else if (!strcmp(op, "write"))
        do_write(fd);
    else if (!strcmp(op, "readv"))
        do_readv(fd);
    else if (!strcmp(op, "writev"))
        do_writev(fd);
    else
        die("unknown op %s", op);
    summary(fd);
    return 0;
}
