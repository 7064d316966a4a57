/* net_accept: accept and accept4 on TCP (127.0.0.1, port 0) and AF_UNIX stream listeners.
 *   net_accept FAMILY CALL FLAGS LISTENER
 *     FAMILY tcp|unix; CALL accept|accept4; FLAGS 0|cloexec|nonblock|both (accept4's SOCK_ flags);
 *     LISTENER block: the call waits until a client thread connects (the thread connects once it sees the
 *     caller blocked); nonblock: the call first fails EAGAIN, then returns the pending connection.
 *     Prints the result, the peer address reported, FD_CLOEXEC and O_NONBLOCK of the new descriptor, and a
 *     round trip of data over it.
 *   net_accept FAMILY addr       NULL address, too small and zero-length address buffers, a bound client
 *   net_accept FAMILY errors     EBADF, ENOTSOCK, EINVAL, EOPNOTSUPP as libc gives them
 *   net_accept FAMILY shutdown   a blocked accept ends (EINVAL) when another thread shuts the listener down */
#include "netsig.h"

static const char *call_name;
static int call_flags;

static int parse_flags(const char *s)
{
    if (strcmp(s, "0") == 0)
        return 0;
    if (strcmp(s, "cloexec") == 0)
        return SOCK_CLOEXEC;
    if (strcmp(s, "nonblock") == 0)
        return SOCK_NONBLOCK;
    if (strcmp(s, "both") == 0)
        return SOCK_CLOEXEC | SOCK_NONBLOCK;
    die("unknown flags %s", s);
}

/* The call under test. */
static int do_accept(int lfd, struct sockaddr *sa, socklen_t *len)
{
    if (strcmp(call_name, "accept") == 0)
        return accept(lfd, sa, len);
    return accept4(lfd, sa, len, call_flags);
}

static const char *family_name(int f)
{
    return f == AF_INET ? "AF_INET" : f == AF_UNIX ? "AF_UNIX" : "other";
}

static void print_fd_flags(const char *who, int fd)
{
    int fdfl = fcntl(fd, F_GETFD), fl = fcntl(fd, F_GETFL);
    CHECK(fdfl >= 0 && fl >= 0, "fcntl: %s", strerror(errno));
    say("%s FD_CLOEXEC -> %d", who, !!(fdfl & FD_CLOEXEC));
    say("%s O_NONBLOCK -> %d", who, !!(fl & O_NONBLOCK));
}

/* What accept reported about the peer, checked against the client's own address. */
static void print_peer(const struct sockaddr_storage *ss, socklen_t slen, int cfd)
{
    say("addrlen -> %u", (unsigned)slen);
    say("family -> %s", family_name(ss->ss_family));
    struct sockaddr_storage mine;
    socklen_t mlen = sizeof mine;
    CHECK(getsockname(cfd, (struct sockaddr *)&mine, &mlen) == 0, "getsockname: %s", strerror(errno));
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)ss, *b = (const void *)&mine;
        say("peer address is 127.0.0.1: %s", yesno(a->sin_addr.s_addr == htonl(INADDR_LOOPBACK)));
        say("peer port is the client's port: %s", yesno(a->sin_port == b->sin_port));
    } else {
        say("peer address is the client's address: %s",
            yesno(slen == mlen && memcmp(ss, &mine, slen) == 0));
    }
}

struct connector {
    pid_t waiter;
    struct sockaddr_storage addr;
    socklen_t len;
    int fd;
};

/* Connects once the accepting thread is blocked, then sends "hello". */
static void *connector_main(void *p)
{
    struct connector *c = p;
    wait_blocked(c->waiter, NULL);
    c->fd = connect_to(&c->addr, c->len);
    write_all(c->fd, "hello", 5);
    return NULL;
}

static int run_accept(int family, const char *listener)
{
    struct connector c = {.waiter = gettid(), .fd = -1};
    int lfd = make_listener(family, &c.addr, &c.len);
    struct sockaddr_storage ss;
    socklen_t slen = sizeof ss;
    int nfd;
    char label[64];
    snprintf(label, sizeof label, "%s", call_name);

    if (strcmp(listener, "nonblock") == 0) {
        set_nonblock(lfd, 1);
        REPORT("accept with nothing pending", do_accept(lfd, NULL, NULL));
        REPORT("accept with nothing pending (address asked)", do_accept(lfd, (struct sockaddr *)&ss, &slen));
        c.fd = connect_to(&c.addr, c.len);
        write_all(c.fd, "hello", 5);
        REPORT("poll listener", wait_fd(lfd, POLLIN));
        slen = sizeof ss;
        nfd = REPORT_FD(label, do_accept(lfd, (struct sockaddr *)&ss, &slen));
        REPORT("accept once more, nothing pending", do_accept(lfd, NULL, NULL));
    } else if (strcmp(listener, "block") == 0) {
        pthread_t t;
        CHECK(pthread_create(&t, NULL, connector_main, &c) == 0, "pthread_create");
        nfd = REPORT_FD(label, do_accept(lfd, (struct sockaddr *)&ss, &slen));
        pthread_join(t, NULL);
    } else {
        die("unknown listener kind %s", listener);
    }
    if (nfd < 0)
        return 1;
    print_peer(&ss, slen, c.fd);
    print_fd_flags("new fd", nfd);
    print_fd_flags("listener", lfd);

    char buf[64];
    long n;
    REPORT("poll new socket", wait_fd(nfd, POLLIN));
    n = REPORT("recv on the new socket", recv(nfd, buf, sizeof buf, 0));
    show("  data", buf, n);
    REPORT("send on the new socket", send(nfd, "bye", 3, 0));
    n = REPORT("client read", read(c.fd, buf, sizeof buf));
    show("  data", buf, n);
    REPORT("close new fd", close(nfd));
    n = REPORT("client read after close", read(c.fd, buf, sizeof buf));
    close(c.fd);
    close(lfd);
    return 0;
}

static int run_addr(int family)
{
    struct sockaddr_storage addr, ss;
    socklen_t len, slen;
    int lfd = make_listener(family, &addr, &len);

    int c1 = connect_to(&addr, len);
    int n1 = REPORT_FD("accept NULL, NULL", accept(lfd, NULL, NULL));
    int c2 = connect_to(&addr, len);
    memset(&ss, 0, sizeof ss);
    slen = 4;
    int n2 = REPORT_FD("accept with a 4-byte address buffer", accept(lfd, (struct sockaddr *)&ss, &slen));
    say("addrlen -> %u", (unsigned)slen);
    say("family -> %s", family_name(ss.ss_family));
    int c3 = connect_to(&addr, len);
    memset(&ss, 0, sizeof ss);
    slen = 0;
    int n3 = REPORT_FD("accept4 with a 0-byte address buffer", accept4(lfd, (struct sockaddr *)&ss, &slen, 0));
    say("addrlen -> %u", (unsigned)slen);
    say("buffer untouched: %s", yesno(ss.ss_family == 0));

    /* A client with its own address: accept must report exactly that address. */
    struct sockaddr_storage caddr;
    socklen_t clen;
    int c4 = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(c4 >= 0, "socket: %s", strerror(errno));
    if (family == AF_UNIX) {
        clen = unix_name((struct sockaddr_un *)&caddr);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&caddr;
        memset(&caddr, 0, sizeof caddr);
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        clen = sizeof *sin;
    }
    CHECK(bind(c4, (struct sockaddr *)&caddr, clen) == 0, "bind: %s", strerror(errno));
    CHECK(connect(c4, (struct sockaddr *)&addr, len) == 0, "connect: %s", strerror(errno));
    slen = sizeof ss;
    int n4 = REPORT_FD("accept4 from a bound client", accept4(lfd, (struct sockaddr *)&ss, &slen, SOCK_CLOEXEC));
    print_peer(&ss, slen, c4);

    int fds[] = {c1, n1, c2, n2, c3, n3, c4, n4, lfd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return 0;
}

static int run_errors(int family)
{
    struct sockaddr_storage addr;
    socklen_t len;
    int lfd = make_listener(family, &addr, &len);
    int p[2];
    CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));

    REPORT("accept on fd -1", accept(-1, NULL, NULL));
    REPORT("accept4 on fd -1", accept4(-1, NULL, NULL, SOCK_CLOEXEC));
    int closed = 900;
    while (fcntl(closed, F_GETFD) >= 0)
        closed++;
    REPORT("accept on a closed fd number", accept(closed, NULL, NULL));
    REPORT("accept on a pipe", accept(p[0], NULL, NULL));
    REPORT("accept4 on a pipe", accept4(p[0], NULL, NULL, 0));
    int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REPORT("accept on a socket that does not listen", accept(s, NULL, NULL));
    REPORT("accept4 with an unknown flag", accept4(lfd, NULL, NULL, 0x40000000));
    REPORT("accept4 with O_APPEND as a flag", accept4(lfd, NULL, NULL, O_APPEND));
    int d = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REPORT("accept on a datagram socket", accept(d, NULL, NULL));
    int c = connect_to(&addr, len);
    REPORT("accept on a connected client socket", accept(c, NULL, NULL));
    int n = REPORT_FD("accept the pending connection", accept(lfd, NULL, NULL));
    close(n);
    close(c);
    close(d);
    close(s);
    close(p[0]);
    close(p[1]);
    close(lfd);
    return 0;
}

struct blocked_accept {
    int lfd;
    pid_t tid;
    atomic_int started, done;
    long result;
    int err;
};

/* Prints nothing: the main thread prints the result after the join, so lines never mix. */
static void *accept_thread(void *p)
{
    struct blocked_accept *b = p;
    b->tid = gettid();
    atomic_store(&b->started, 1);
    errno = 0;
    b->result = accept(b->lfd, NULL, NULL);
    b->err = errno;
    if (b->result >= 0)
        close((int)b->result);
    atomic_store(&b->done, 1);
    return NULL;
}

static int run_shutdown(int family)
{
    struct sockaddr_storage addr;
    socklen_t len;
    struct blocked_accept b = {.lfd = make_listener(family, &addr, &len)};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, accept_thread, &b) == 0, "pthread_create");
    wait_atomic_at_least(&b.started, 1, "thread start");
    say("accept was blocked: %s", yesno(wait_blocked(b.tid, &b.done)));
    REPORT("shutdown listener", shutdown(b.lfd, SHUT_RDWR));
    pthread_join(t, NULL);
    report_fd("blocked accept", b.result, b.err);
    REPORT("accept after shutdown", accept(b.lfd, NULL, NULL));
    close(b.lfd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        die("usage: net_accept tcp|unix accept|accept4 FLAGS block|nonblock | tcp|unix addr|errors|shutdown");
    int family = family_of(argv[1]);
    if (argc == 3) {
        if (strcmp(argv[2], "addr") == 0)
            return run_addr(family);
        if (strcmp(argv[2], "errors") == 0)
            return run_errors(family);
        if (strcmp(argv[2], "shutdown") == 0)
            return run_shutdown(family);
        die("unknown mode %s", argv[2]);
    }
    CHECK(argc == 5, "usage: net_accept FAMILY CALL FLAGS LISTENER");
    call_name = argv[2];
    CHECK(strcmp(call_name, "accept") == 0 || strcmp(call_name, "accept4") == 0, "unknown call %s", call_name);
    call_flags = parse_flags(argv[3]);
    CHECK(strcmp(call_name, "accept4") == 0 || call_flags == 0, "accept takes no flags");
    return run_accept(family, argv[4]);
}
