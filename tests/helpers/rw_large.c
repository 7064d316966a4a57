/* rw_large CASE: transfers larger than one ring completion or one sqe length.
 * CASE write1m | write1m-socket | writev8m: one blocking write of 1 MiB (into a pipe or an AF_UNIX stream
 *   socket) or one writev of 8 MiB in uneven segments, while a child reads in small chunks: the write must
 *   return the full count (row 4: short ring completions are continued) and the child must see every byte.
 * CASE huge FILE: counts above 0x7ffff000 and above 4 GiB (row 3): libc clamps to 0x7ffff000 and fails
 *   EFAULT when buf+count wraps; a 32-bit truncation would show as a different count. Everything but the
 *   calls under test is done with raw system calls, so the stats count only them. */
#include "helper.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

struct result {
    long long total;
    unsigned long long sum;
    long reads;
    int error;
};

static unsigned char *make_data(size_t n)
{
    unsigned char *d = malloc(n);
    if (!d)
        die("malloc %zu", n);
    unsigned x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        d[i] = (unsigned char)(x >> 16);
    }
    return d;
}

/* Child: read r in chunks of 1000 bytes until EOF, into shared memory. */
static pid_t start_reader(int r, int w, struct result *res)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        close(w);
        char buf[1000];
        unsigned long long h = 0;
        for (;;) {
            ssize_t n = read(r, buf, sizeof buf);
            if (n < 0) {
                res->error = errno;
                exit(1);
            }
            if (n == 0)
                break;
            h = fnv1a(buf, (size_t)n, h);
            res->total += n;
            res->reads++;
        }
        res->sum = h;
        exit(0); /* not _exit: the shim writes this process's stats at exit */
    }
    close(r);
    return pid;
}

static void finish_reader(pid_t pid, struct result *res, unsigned long long want_sum, long long want_total)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        die("waitpid: %s", strerror(errno));
    printf("reader exit -> %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    if (res->error)
        printf("reader error -> %s\n", strerrorname_np(res->error));
    printf("reader got %lld bytes (expected %lld)\n", res->total, want_total);
    printf("reader checksum %016llx, expected %016llx, equal -> %d\n", res->sum, want_sum, res->sum == want_sum);
    printf("reader made more than one read -> %d\n", res->reads > 1);
}

static struct result *shared_result(void)
{
    struct result *res = mmap(NULL, sizeof *res, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (res == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    memset(res, 0, sizeof *res);
    return res;
}

static void big_write(const char *kind, int vectored)
{
    int fds[2];
    if (!strcmp(kind, "socket")) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
            die("socketpair: %s", strerror(errno));
    } else if (pipe(fds) != 0) {
        die("pipe: %s", strerror(errno));
    }
    size_t n = vectored ? 8u << 20 : 1u << 20;
    unsigned char *data = make_data(n);
    unsigned long long want = fnv1a(data, n, 0);
    struct result *res = shared_result();
    pid_t pid = start_reader(fds[0], fds[1], res);
    if (vectored) {
        /* Uneven segments, one empty, so a continuation has to resume inside a segment. */
        size_t a = 100003, b = 3000001, c = 1;
        struct iovec iov[5] = {
            { data, a }, { data + a, 0 }, { data + a, b }, { data + a + b, c }, { data + a + b + c, n - a - b - c },
        };
        REPORT("writev 8 MiB in 5 segments", writev(fds[1], iov, 5));
    } else {
        REPORT("write 1 MiB", write(fds[1], data, n));
    }
    close(fds[1]);
    finish_reader(pid, res, want, (long long)n);
}

/* Counts the compiler cannot see through, so it neither warns nor folds them. */
static size_t opaque(size_t v)
{
    volatile size_t x = v;
    return x;
}

static void refill(int w, int r)
{
    int waiting = 0;
    ioctl(r, FIONREAD, &waiting);
    if (waiting == 0 && syscall(SYS_write, w, "0123456789", 10) != 10)
        die("raw write: %s", strerror(errno));
}

static void show_waiting(int r)
{
    int waiting = -1;
    if (ioctl(r, FIONREAD, &waiting) != 0)
        die("FIONREAD: %s", strerror(errno));
    printf("  bytes waiting -> %d\n", waiting);
}

static void huge(const char *path)
{
    /* Static, so buf + count lands at the same side of the end of the address space in every run. */
    static char buf[64];
    int p[2];
    if (pipe(p) != 0)
        die("pipe: %s", strerror(errno));
    int null = open("/dev/null", O_RDWR);
    if (null < 0)
        die("open /dev/null: %s", strerror(errno));
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("open %s: %s", path, strerror(errno));
    if (syscall(SYS_pwrite64, fd, "0123456789", 10, 0) != 10)
        die("raw pwrite: %s", strerror(errno));

    static const struct { const char *name; size_t count; } counts[] = {
        { "0x7ffff001", 0x7ffff001 },
        { "0x80000000", 0x80000000 },
        { "0x100000005 (5 if truncated to 32 bits)", 0x100000005 },
        { "0x17ffff000", 0x17ffff000 },
        { "SIZE_MAX/2", SIZE_MAX / 2 },
        { "SIZE_MAX", SIZE_MAX },
    };
    char label[128];
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        size_t c = opaque(counts[i].count);
#define L(what) (snprintf(label, sizeof label, what " %s", counts[i].name), label)
        refill(p[1], p[0]);
        REPORT(L("read of a pipe holding 10 bytes, count"), read(p[0], buf, c));
        show_waiting(p[0]);
        refill(p[1], p[0]);
        struct iovec iov = { buf, c };
        REPORT(L("readv of a pipe holding 10 bytes, one segment of"), readv(p[0], &iov, 1));
        show_waiting(p[0]);
        REPORT(L("pread of a 10-byte file, count"), pread(fd, buf, c, 0));
        REPORT(L("preadv of a 10-byte file, one segment of"), preadv(fd, &iov, 1, 0));
        REPORT(L("write to /dev/null, count"), write(null, buf, c));
        REPORT(L("pwrite to /dev/null, count"), pwrite(null, buf, c, 0));
        REPORT(L("writev to /dev/null, one segment of"), writev(null, &iov, 1));
#undef L
    }
    /* Two segments whose sum passes 0x7ffff000: the kernel shortens the total to 0x7ffff000. */
    struct iovec two[2] = { { buf, 0x7ffff000 }, { buf, 0x7ffff000 } };
    REPORT("writev to /dev/null, two segments of 0x7ffff000", writev(null, two, 2));
    REPORT("pwritev to /dev/null, two segments of 0x7ffff000", pwritev(null, two, 2, 0));
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: rw_large write1m|write1m-socket|writev8m|huge FILE");
    alarm(120);
    const char *c = argv[1];
    if (!strcmp(c, "write1m"))
        big_write("pipe", 0);
    else if (!strcmp(c, "write1m-socket"))
        big_write("socket", 0);
    else if (!strcmp(c, "writev8m"))
        big_write("pipe", 1);
    else if (!strcmp(c, "huge") && argc == 3)
        huge(argv[2]);
    else
        die("unknown case %s", c);
    return 0;
}
