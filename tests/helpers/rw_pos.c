/* rw_pos FILE OP: explicit-offset calls on a regular file, made fresh (8192 bytes of a known pattern) at
 * FILE. Prints every result, the bytes read, the file position after each call (it must never move), the
 * size, and a checksum of the whole file read back with raw system calls.
 * OP: pread pread64 pwrite pwrite64 preadv preadv64 pwritev pwritev64 preadv2 preadv64v2 pwritev2
 *     pwritev64v2, or preadv2-pos / pwritev2-pos (offset -1: use and advance the file position). */
#include "helper.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define FILE_SIZE 8192

static int fd;
static const char *path;
static char buf[16384];

/* Short results are shown in full, long ones by checksum. */
static void show_data(const void *p, long n)
{
    if (n <= 64)
        show("  data", p, n);
    else if (n > 0)
        printf("  data fnv1a %016llx\n", fnv1a(p, (size_t)n, 0));
    fflush(stdout);
}

static void position(int f)
{
    REPORT("  position", lseek(f, 0, SEEK_CUR));
}

/* Size and checksum of the file as the kernel has it, read without any interposable call. */
static void file_summary(void)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        die("fstat: %s", strerror(errno));
    unsigned long long h = 0;
    off_t off = 0;
    for (;;) {
        long n = syscall(SYS_pread64, fd, buf, sizeof buf, off);
        if (n < 0)
            die("raw pread64: %s", strerror(errno));
        if (n == 0)
            break;
        h = fnv1a(buf, (size_t)n, h);
        off += n;
    }
    printf("size %lld, read back %lld, fnv1a %016llx\n", (long long)st.st_size, (long long)off, h);
}

typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*preadv_fn)(int, const struct iovec *, int, off_t);
typedef ssize_t (*preadv2_fn)(int, const struct iovec *, int, off_t, int);

static void do_pread(const char *name, int use64)
{
    char label[64];
#define L(what) (snprintf(label, sizeof label, "%s " what, name), label)
    long n;
    n = REPORT(L("10 at 5"), use64 ? pread64(fd, buf, 10, 5) : pread(fd, buf, 10, 5));
    show_data(buf, n);
    position(fd);
    n = REPORT(L("100 at 8150 (crosses eof)"), use64 ? pread64(fd, buf, 100, 8150) : pread(fd, buf, 100, 8150));
    show_data(buf, n);
    n = REPORT(L("10 at eof"), use64 ? pread64(fd, buf, 10, FILE_SIZE) : pread(fd, buf, 10, FILE_SIZE));
    n = REPORT(L("10 at 2^40"), use64 ? pread64(fd, buf, 10, 1LL << 40) : pread(fd, buf, 10, 1LL << 40));
    n = REPORT(L("0 at 0"), use64 ? pread64(fd, buf, 0, 0) : pread(fd, buf, 0, 0));
    n = REPORT(L("5000 at 3000 (crosses pages)"), use64 ? pread64(fd, buf, 5000, 3000) : pread(fd, buf, 5000, 3000));
    show_data(buf, n);
    n = REPORT(L("whole file"), use64 ? pread64(fd, buf, sizeof buf, 0) : pread(fd, buf, sizeof buf, 0));
    show_data(buf, n);
    position(fd);
#undef L
}

static void do_pwrite(const char *name, int use64)
{
    char label[80];
#define L(what) (snprintf(label, sizeof label, "%s " what, name), label)
    static char big[5000];
    for (int i = 0; i < (int)sizeof big; i++)
        big[i] = (char)('A' + i % 23);
    REPORT(L("3 at 100"), use64 ? pwrite64(fd, "XYZ", 3, 100) : pwrite(fd, "XYZ", 3, 100));
    position(fd);
    REPORT(L("0 at 0"), use64 ? pwrite64(fd, "", 0, 0) : pwrite(fd, "", 0, 0));
    REPORT(L("5000 at 3000 (crosses pages)"), use64 ? pwrite64(fd, big, 5000, 3000) : pwrite(fd, big, 5000, 3000));
    REPORT(L("5 at 10000 (leaves a hole)"), use64 ? pwrite64(fd, "HOLE!", 5, 10000) : pwrite(fd, "HOLE!", 5, 10000));
    position(fd);
    long n = REPORT("  raw pread 20 at 95", syscall(SYS_pread64, fd, buf, 20, 95));
    show_data(buf, n);
    n = REPORT("  raw pread 20 at 9995", syscall(SYS_pread64, fd, buf, 20, 9995));
    show_data(buf, n);
    file_summary();
    /* Linux appends whatever the offset when the file is open with O_APPEND (pwrite(2), BUGS). */
    int afd = open(path, O_WRONLY | O_APPEND);
    if (afd < 0)
        die("open O_APPEND: %s", strerror(errno));
    REPORT(L("3 at 0 on an O_APPEND descriptor"), use64 ? pwrite64(afd, "APP", 3, 0) : pwrite(afd, "APP", 3, 0));
    position(afd);
    close(afd);
    position(fd);
    file_summary();
#undef L
}

static void do_preadv(const char *name, preadv_fn fn)
{
    char label[80];
#define L(what) (snprintf(label, sizeof label, "%s " what, name), label)
    char a[3], b[5], c[4096];
    struct iovec iov[4] = { { a, sizeof a }, { NULL, 0 }, { b, sizeof b }, { c, sizeof c } };
    long n = REPORT(L("3+0+5 at 20"), fn(fd, iov, 3, 20));
    show_iov(iov, 3, n);
    position(fd);
    n = REPORT(L("3+0+5+4096 at 8190 (crosses eof)"), fn(fd, iov, 4, 8190));
    show_iov(iov, 3, n);
    n = REPORT(L("3+0+5+4096 at 4000 (crosses pages)"), fn(fd, iov, 4, 4000));
    show_iov(iov, 3, n);
    printf("  iov[3] fnv1a %016llx\n", fnv1a(c, sizeof c, 0));
    REPORT(L("at eof"), fn(fd, iov, 4, FILE_SIZE));
    REPORT(L("0 segments"), fn(fd, iov, 0, 0));
    position(fd);
#undef L
}

static void do_pwritev(const char *name, preadv_fn fn)
{
    char label[80];
#define L(what) (snprintf(label, sizeof label, "%s " what, name), label)
    static char big[6000];
    for (int i = 0; i < (int)sizeof big; i++)
        big[i] = (char)('a' + i % 19);
    struct iovec iov[3] = { { "ab", 2 }, { "", 0 }, { "cde", 3 } };
    REPORT(L("2+0+3 at 30"), fn(fd, iov, 3, 30));
    position(fd);
    struct iovec iov2[2] = { { big, 3000 }, { big + 3000, 3000 } };
    REPORT(L("3000+3000 at 4000 (crosses pages and eof)"), fn(fd, iov2, 2, 4000));
    REPORT(L("2+0+3 at 12000 (leaves a hole)"), fn(fd, iov, 3, 12000));
    REPORT(L("0 segments"), fn(fd, iov, 0, 0));
    position(fd);
    file_summary();
#undef L
}

static void do_preadv2(const char *name, preadv2_fn fn)
{
    char label[80];
#define L(what) (snprintf(label, sizeof label, "%s " what, name), label)
    char a[3], b[5];
    struct iovec iov[2] = { { a, sizeof a }, { b, sizeof b } };
    long n = REPORT(L("3+5 at 20, flags 0"), fn(fd, iov, 2, 20, 0));
    show_iov(iov, 2, n);
    position(fd);
    n = REPORT(L("3+5 at 8190, flags 0 (crosses eof)"), fn(fd, iov, 2, 8190, 0));
    show_iov(iov, 2, n);
    n = REPORT(L("3+5 at 100, RWF_HIPRI"), fn(fd, iov, 2, 100, RWF_HIPRI));
    show_iov(iov, 2, n);
    REPORT(L("at eof"), fn(fd, iov, 2, FILE_SIZE, 0));
    position(fd);
#undef L
}

static void do_pwritev2(const char *name, preadv2_fn fn)
{
    char label[80];
#define L(what) (snprintf(label, sizeof label, "%s " what, name), label)
    struct iovec iov[3] = { { "ab", 2 }, { "", 0 }, { "cde", 3 } };
    REPORT(L("2+0+3 at 30, flags 0"), fn(fd, iov, 3, 30, 0));
    position(fd);
    REPORT(L("2+0+3 at 40, RWF_DSYNC"), fn(fd, iov, 3, 40, RWF_DSYNC));
    REPORT(L("2+0+3 at 50, RWF_SYNC"), fn(fd, iov, 3, 50, RWF_SYNC));
    REPORT(L("2+0+3 at 60, RWF_APPEND (appends, position kept)"), fn(fd, iov, 3, 60, RWF_APPEND));
    position(fd);
    REPORT(L("2+0+3 at -1, RWF_APPEND (appends, position moves to eof)"), fn(fd, iov, 3, -1, RWF_APPEND));
    position(fd);
    REPORT(L("2+0+3 at 9000 (leaves a hole)"), fn(fd, iov, 3, 9000, 0));
    position(fd);
    file_summary();
#undef L
}

/* Offset -1: like readv/writev, at the file position, which moves. */
static void do_v2_pos(int write_side)
{
    char a[3], b[5];
    struct iovec riov[2] = { { a, sizeof a }, { b, sizeof b } };
    struct iovec wiov[2] = { { "PQR", 3 }, { "stuvw", 5 } };
    REPORT("lseek to 5", lseek(fd, 5, SEEK_SET));
    for (int i = 0; i < 3; i++) {
        if (write_side) {
            REPORT("pwritev2 3+5 at -1", pwritev2(fd, wiov, 2, -1, 0));
        } else {
            long n = REPORT("preadv2 3+5 at -1", preadv2(fd, riov, 2, -1, 0));
            show_iov(riov, 2, n);
        }
        position(fd);
    }
    REPORT("lseek to 8188", lseek(fd, 8188, SEEK_SET));
    if (write_side) {
        REPORT("pwritev64v2 3+5 at -1 (extends the file)", pwritev64v2(fd, wiov, 2, -1, 0));
    } else {
        long n = REPORT("preadv64v2 3+5 at -1 (crosses eof)", preadv64v2(fd, riov, 2, -1, 0));
        show_iov(riov, 2, n);
        REPORT("preadv64v2 3+5 at -1 at eof", preadv64v2(fd, riov, 2, -1, 0));
    }
    position(fd);
    file_summary();
}

int main(int argc, char **argv)
{
    if (argc != 3)
        die("usage: rw_pos FILE OP");
    const char *op = argv[2];
    path = argv[1];
    alarm(30);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("open %s: %s", path, strerror(errno));
    /* A text pattern so short reads are readable in the output; written with raw calls. */
    for (int i = 0; i < FILE_SIZE; i++)
        buf[i] = i % 64 == 63 ? '\n' : (char)('0' + (i / 64 + i) % 43);
    if (syscall(SYS_pwrite64, fd, buf, FILE_SIZE, 0) != FILE_SIZE)
        die("writing the initial content: %s", strerror(errno));
    if (lseek(fd, 7, SEEK_SET) != 7)
        die("lseek: %s", strerror(errno));
    memset(buf, 0, sizeof buf);

    if (!strcmp(op, "pread"))
        do_pread(op, 0);
    else if (!strcmp(op, "pread64"))
        do_pread(op, 1);
    else if (!strcmp(op, "pwrite"))
        do_pwrite(op, 0);
    else if (!strcmp(op, "pwrite64"))
        do_pwrite(op, 1);
    else if (!strcmp(op, "preadv"))
        do_preadv(op, preadv);
    else if (!strcmp(op, "preadv64"))
        do_preadv(op, preadv64);
    else if (!strcmp(op, "pwritev"))
        do_pwritev(op, pwritev);
    else if (!strcmp(op, "pwritev64"))
        do_pwritev(op, pwritev64);
    else if (!strcmp(op, "preadv2"))
        do_preadv2(op, preadv2);
    else if (!strcmp(op, "preadv64v2"))
        do_preadv2(op, preadv64v2);
    else if (!strcmp(op, "pwritev2"))
        do_pwritev2(op, pwritev2);
    else if (!strcmp(op, "pwritev64v2"))
        do_pwritev2(op, pwritev64v2);
    else if (!strcmp(op, "preadv2-pos"))
        do_v2_pos(0);
    else if (!strcmp(op, "pwritev2-pos"))
        do_v2_pos(1);
    else
        die("unknown op %s", op);
    if (strstr(op, "pread") && !strstr(op, "-pos"))
        file_summary();
    return 0;
}
