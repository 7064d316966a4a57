/* net_close MODE tcp|unix: closing a socket that was used through the shim (SEMANTICS row 7).
 *   eof-close | eof-dup2 | eof-close_range
 *       a thread of the peer is blocked in read on its end; the main thread closes its end (close, dup2 of
 *       another descriptor over it, close_range); the blocked read must return 0 (EOF). If the socket
 *       stayed open behind the program's back the read would never return: run this under `timeout`.
 *   reuse-pipe | reuse-socket
 *       the closed socket still had unread data queued; its number is taken by a new pipe (or a newly
 *       accepted socket), and reads on that number must return the new object's data, never the old. */
#include "netsig.h"
#include <linux/close_range.h>
#include <sys/syscall.h>

struct reader {
    int fd;
    pid_t tid;
    atomic_int reads_started, done;
    long first, second;
    int err1, err2;
    char buf[64];
};

/* Peer side: says "pong", reads the "ping", then blocks in a second read that only EOF can end. */
static void *reader_main(void *p)
{
    struct reader *r = p;
    r->tid = gettid();
    CHECK(write(r->fd, "pong", 4) == 4, "write: %s", strerror(errno));
    atomic_store(&r->reads_started, 1);
    errno = 0;
    r->first = read(r->fd, r->buf, 4);
    r->err1 = errno;
    atomic_store(&r->reads_started, 2);
    errno = 0;
    r->second = read(r->fd, r->buf + 4, sizeof r->buf - 4);
    r->err2 = errno;
    atomic_store(&r->done, 1);
    return NULL;
}

static void run_eof(int family, const char *how)
{
    int c, s;
    make_pair(family, &c, &s);
    struct reader r = {.fd = c};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, reader_main, &r) == 0, "pthread_create");

    char buf[16];
    long n = REPORT("recv on the server end", recv(s, buf, 4, MSG_WAITALL));
    show("  data", buf, n);
    REPORT("send on the server end", send(s, "ping", 4, 0));
    wait_atomic_at_least(&r.reads_started, 2, "second read");
    say("peer's second read was blocked: %s", yesno(wait_blocked(r.tid, &r.done)));

    if (strcmp(how, "close") == 0) {
        REPORT("close", close(s));
    } else if (strcmp(how, "dup2") == 0) {
        int p[2];
        CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
        REPORT("dup2 a pipe over it", dup2(p[0], s) == s ? 0 : -1);
        close(p[0]);
        close(p[1]);
        REPORT("read on the number, now the pipe", read(s, buf, sizeof buf));
        close(s);
    } else if (strcmp(how, "close_range") == 0) {
        REPORT("close_range", syscall(SYS_close_range, (unsigned)s, (unsigned)s, 0));
    } else {
        die("unknown way to close: %s", how);
    }
    pthread_join(t, NULL);
    report("peer's first read", r.first, r.err1);
    show("  data", r.buf, r.first);
    report("peer's read after the close", r.second, r.err2);
    REPORT("peer's read once more", read(c, buf, sizeof buf));
    close(c);
}

static void run_reuse(int family, const char *what)
{
    struct sockaddr_storage addr;
    socklen_t len;
    int l = make_listener(family, &addr, &len);
    int c = connect_to(&addr, len);
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0, "accept: %s", strerror(errno));
    char buf[64];
    long n;

    /* use the socket through the shim, then leave unread data queued on it */
    REPORT("send from the peer", send(c, "first", 5, 0));
    n = REPORT("recv", recv(s, buf, sizeof buf, 0));
    show("  data", buf, n);
    REPORT("read with nothing queued (nonblocking)", recv(s, buf, sizeof buf, MSG_DONTWAIT));
    REPORT("send stale data from the peer", send(c, "stale", 5, 0));
    REPORT("poll", wait_fd(s, POLLIN));
    int old = s;
    /* the new client connects first, so that the accept below is the first to want a number */
    int c2 = strcmp(what, "socket") == 0 ? connect_to(&addr, len) : -1;
    REPORT("close", close(s));

    int fresh, other = -1;
    if (strcmp(what, "pipe") == 0) {
        int p[2];
        CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
        fresh = p[0];
        other = p[1];
        say("the pipe's read end took the closed number: %s", yesno(fresh == old));
        REPORT("write into the new pipe", write(other, "fresh", 5));
    } else {
        fresh = accept(l, NULL, NULL);
        CHECK(fresh >= 0, "accept: %s", strerror(errno));
        say("the new connection took the closed number: %s", yesno(fresh == old));
        REPORT("send from the new peer", send(c2, "fresh", 5, 0));
    }
    n = REPORT("read on the reused number", read(fresh, buf, sizeof buf));
    show("  data", buf, n);
    if (strcmp(what, "pipe") == 0) {
        REPORT("write into the new pipe", write(other, "again", 5));
        n = REPORT("read on the reused number", read(fresh, buf, sizeof buf));
        show("  data", buf, n);
    } else {
        REPORT("send from the new peer", send(c2, "again", 5, 0));
        n = REPORT("recv on the reused number", recv(fresh, buf, sizeof buf, 0));
        show("  data", buf, n);
        REPORT("send on the reused number", send(fresh, "to new", 6, 0));
        n = REPORT("recv on the new peer", recv(c2, buf, sizeof buf, 0));
        show("  data", buf, n);
    }
    /* the old peer saw its connection go away, not the new object's data */
    n = REPORT("old peer recv", recv(c, buf, sizeof buf, 0));
    close(fresh);
    if (other >= 0)
        close(other);
    if (c2 >= 0)
        close(c2);
    close(c);
    close(l);
}

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: net_close eof-close|eof-dup2|eof-close_range|reuse-pipe|reuse-socket tcp|unix");
    int family = family_of(argv[2]);
    signal(SIGPIPE, SIG_IGN);
    if (strncmp(argv[1], "eof-", 4) == 0)
        run_eof(family, argv[1] + 4);
    else if (strncmp(argv[1], "reuse-", 6) == 0)
        run_reuse(family, argv[1] + 6);
    else
        die("unknown mode %s", argv[1]);
    return 0;
}
