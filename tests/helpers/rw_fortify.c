/* build: fortify
 * rw_fortify FILE: read, pread, pread64, recv and recvfrom as a program built with _FORTIFY_SOURCE=2 calls
 * them: into buffers of known size with counts the compiler cannot fold, so glibc's headers turn the calls
 * into __read_chk, __pread_chk, __pread64_chk, __recv_chk and __recvfrom_chk (row 15 of SEMANTICS.md).
 * The Makefile builds helpers with -O1 and no _FORTIFY_SOURCE; -O1 is enough for glibc's fortify. */
#undef _FORTIFY_SOURCE
#define _FORTIFY_SOURCE 2
#include "helper.h"
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A count the compiler cannot see, so the fortified inline picks the checking __*_chk entry point. */
static size_t opaque(size_t v)
{
    volatile size_t x = v;
    return x;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        die("usage: rw_fortify FILE");
    alarm(30);
    char buf[32];
    int p[2], sv[2];
    if (pipe(p) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        die("pipe/socketpair: %s", strerror(errno));
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("open %s: %s", argv[1], strerror(errno));
    if (syscall(SYS_pwrite64, fd, "0123456789abcdef", 16, 0) != 16)
        die("raw pwrite: %s", strerror(errno));

    long n;
    REPORT("write 5 to the pipe", write(p[1], "hello", 5));
    n = REPORT("read (__read_chk) from the pipe", read(p[0], buf, opaque(sizeof buf)));
    show("  data", buf, n);
    REPORT("write 3 to the pipe", write(p[1], "abc", 3));
    n = REPORT("read (__read_chk) of 2 from the pipe", read(p[0], buf, opaque(2)));
    show("  data", buf, n);
    n = REPORT("read (__read_chk) of the rest", read(p[0], buf, opaque(sizeof buf)));
    show("  data", buf, n);
    close(p[1]);
    REPORT("read (__read_chk) at eof", read(p[0], buf, opaque(sizeof buf)));

    n = REPORT("pread (__pread_chk) 4 at 3", pread(fd, buf, opaque(4), 3));
    show("  data", buf, n);
    n = REPORT("pread (__pread_chk) 32 at 10", pread(fd, buf, opaque(sizeof buf), 10));
    show("  data", buf, n);
    n = REPORT("pread64 (__pread64_chk) 5 at 1", pread64(fd, buf, opaque(5), 1));
    show("  data", buf, n);
    REPORT("pread (__pread_chk) at -1", pread(fd, buf, opaque(4), -1));
    REPORT("position", lseek(fd, 0, SEEK_CUR));

    REPORT("send 6 on the socket", send(sv[1], "socket", 6, 0));
    n = REPORT("recv (__recv_chk)", recv(sv[0], buf, opaque(sizeof buf), 0));
    show("  data", buf, n);
    REPORT("send 4 on the socket", send(sv[1], "from", 4, 0));
    n = REPORT("recvfrom (__recvfrom_chk)", recvfrom(sv[0], buf, opaque(sizeof buf), 0, NULL, NULL));
    show("  data", buf, n);
    REPORT("recv (__recv_chk) MSG_DONTWAIT on the empty socket", recv(sv[0], buf, opaque(sizeof buf), MSG_DONTWAIT));
    return 0;
}
