/* fb_io DIR: a little of every routed kind of I/O (read, write, pread, fsync on a pipe and a file in DIR;
 * accept, send, recv on loopback TCP), printing what each call returned. The output has no descriptor
 * numbers, ports or paths, so runs with and without the shim (or with io_uring refused) compare line by line. */
#include "helper.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

/* Prints label, result and, for a positive count, the bytes themselves. */
static void report_data(const char *label, long ret, int err, const char *buf)
{
    if (ret > 0)
        printf("%s -> %ld \"%.*s\"\n", label, ret, (int)ret, buf);
    else
        report(label, ret, err);
    fflush(stdout);
}

static void pipe_io(void)
{
    int p[2];
    char buf[64];
    if (pipe(p) != 0)
        die("pipe: %s", strerror(errno));
    REPORT("pipe write", write(p[1], "hello", 5));
    errno = 0;
    long n = read(p[0], buf, sizeof buf);
    report_data("pipe read", n, errno, buf);
    REPORT("pipe pread", pread(p[0], buf, sizeof buf, 0));
    REPORT("pipe write 2", write(p[1], "world", 5));
    close(p[1]);
    errno = 0;
    n = read(p[0], buf, sizeof buf);
    report_data("pipe read 2", n, errno, buf);
    REPORT("pipe read at eof", read(p[0], buf, sizeof buf));
    close(p[0]);
    if (pipe(p) != 0)
        die("pipe: %s", strerror(errno));
    close(p[0]);
    REPORT("pipe write without reader", write(p[1], "x", 1));
    close(p[1]);
}

static void file_io(const char *dir)
{
    char path[4096], buf[64];
    snprintf(path, sizeof path, "%s/fb_io.XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        die("mkstemp %s: %s", path, strerror(errno));
    unlink(path);
    REPORT("file write", write(fd, "0123456789", 10));
    errno = 0;
    long n = pread(fd, buf, 5, 2);
    report_data("file pread at 2", n, errno, buf);
    errno = 0;
    n = pread(fd, buf, sizeof buf, 8);
    report_data("file pread at 8", n, errno, buf);
    REPORT("file pread at eof", pread(fd, buf, sizeof buf, 10));
    REPORT("file pread at -1", pread(fd, buf, sizeof buf, -1));
    REPORT("file fsync", fsync(fd));
    close(fd);
    REPORT("closed fd read", read(fd, buf, sizeof buf));
}

static void tcp_io(void)
{
    char buf[64];
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof addr;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 4) != 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &len) != 0)
        die("listen on loopback: %s", strerror(errno));
    int cfd = socket(AF_INET, SOCK_STREAM, 0);
    /* A loopback connect completes through the listen backlog, before accept is called. */
    if (cfd < 0 || connect(cfd, (struct sockaddr *)&addr, sizeof addr) != 0)
        die("connect to loopback: %s", strerror(errno));
    errno = 0;
    int sfd = accept(lfd, NULL, NULL);
    report("tcp accept (1 = got a descriptor)", sfd >= 0 ? 1 : -1, errno);
    if (sfd < 0)
        exit(1);
    REPORT("tcp send", send(cfd, "ping", 4, 0));
    errno = 0;
    long n = recv(sfd, buf, sizeof buf, 0);
    report_data("tcp recv", n, errno, buf);
    REPORT("tcp send back", send(sfd, "pong!", 5, 0));
    errno = 0;
    n = recv(cfd, buf, 5, MSG_WAITALL);
    report_data("tcp recv back", n, errno, buf);
    REPORT("tcp write", write(cfd, "abc", 3));
    errno = 0;
    n = read(sfd, buf, 3);
    report_data("tcp read", n, errno, buf);
    close(cfd);
    REPORT("tcp recv after peer close", recv(sfd, buf, sizeof buf, 0));
    close(sfd);
    close(lfd);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        die("usage: fb_io DIR");
    signal(SIGPIPE, SIG_IGN);
    pipe_io();
    file_io(argv[1]);
    tcp_io();
    return 0;
}
