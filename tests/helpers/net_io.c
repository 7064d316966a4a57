/* net_io MODE FAMILY: send, sendto, sendmsg, recv, recvfrom, recvmsg (and read/write) on a connected stream
 * pair over 127.0.0.1 (FAMILY tcp) or AF_UNIX (FAMILY unix), printing every result and the data moved.
 * MODE:
 *   basic          flags 0: data, address lengths, scatter/gather, zero-length calls
 *   large          one blocking send/sendmsg of 4 MiB transfers everything; recv MSG_WAITALL gets all of it
 *   peek           MSG_PEEK leaves the data queued, also when it has to wait for it
 *   dontwait       MSG_DONTWAIT on a blocking socket: EAGAIN, then data; send until EAGAIN, nothing lost
 *   waitall        MSG_WAITALL waits for the whole length while the writer sends in pieces; EOF cuts it short
 *   nosignal       MSG_NOSIGNAL on a healthy connection changes nothing
 *   nonblock-fcntl | nonblock-ioctl | nonblock-child
 *                  O_NONBLOCK set after the socket was used (fcntl, ioctl FIONBIO, or another process
 *                  through the shared open file description): EAGAIN; cleared again: the calls block again
 *   errors         EBADF, ENOTSOCK, ENOTCONN, EISCONN, EFAULT, EMSGSIZE as libc gives them */
#include "netsig.h"
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <sys/wait.h>

static int family;

static void print_addrlen(const char *who, socklen_t len) { say("%s addrlen -> %u", who, (unsigned)len); }

static void run_basic(int a, int b)
{
    char buf[256];
    long n;
    struct sockaddr_storage ss;
    socklen_t slen;

    REPORT("send 5", send(a, "hello", 5, 0));
    n = REPORT("recv 100", recv(b, buf, 100, 0));
    show("  data", buf, n);

    REPORT("sendto 5 without an address", sendto(b, "world", 5, 0, NULL, 0));
    slen = sizeof ss;
    n = REPORT("recvfrom 100 on the client", recvfrom(a, buf, 100, 0, (struct sockaddr *)&ss, &slen));
    show("  data", buf, n);
    print_addrlen("  recvfrom", slen);
    REPORT("sendto 3 without an address", sendto(a, "abc", 3, 0, NULL, 0));
    slen = sizeof ss;
    n = REPORT("recvfrom 100 on the server", recvfrom(b, buf, 100, 0, (struct sockaddr *)&ss, &slen));
    show("  data", buf, n);
    print_addrlen("  recvfrom", slen);
    n = REPORT("write 9", write(a, "via write", 9));
    n = REPORT("recvfrom 100 with NULL address", recvfrom(b, buf, 100, 0, NULL, NULL));
    show("  data", buf, n);

    /* scatter/gather: 3 pieces out, 2 pieces in */
    struct iovec out[3] = {{"abc", 3}, {"defg", 4}, {"hi", 2}};
    struct msghdr m = {.msg_iov = out, .msg_iovlen = 3};
    REPORT("sendmsg 3 iovecs", sendmsg(a, &m, 0));
    char in0[4], in1[100];
    struct iovec in[2] = {{in0, sizeof in0}, {in1, sizeof in1}};
    struct msghdr r = {.msg_name = &ss, .msg_namelen = sizeof ss, .msg_iov = in, .msg_iovlen = 2};
    n = REPORT("recvmsg 2 iovecs", recvmsg(b, &r, 0));
    show("  iov[0]", in0, n < 4 ? n : 4);
    show("  iov[1]", in1, n - 4);
    say("  msg_flags -> 0x%x", r.msg_flags);
    say("  msg_namelen -> %u", (unsigned)r.msg_namelen);

    REPORT("read side: send 4", send(b, "back", 4, 0));
    n = REPORT("read 100", read(a, buf, 100));
    show("  data", buf, n);

    REPORT("send 0 bytes", send(a, "", 0, 0));
    REPORT("sendmsg 0 iovecs", sendmsg(a, &(struct msghdr){0}, 0));
    REPORT("send 1", send(a, "x", 1, 0));
    REPORT("poll", wait_fd(b, POLLIN));
    REPORT("recv 0 bytes with data queued", recv(b, buf, 0, 0));
    n = REPORT("recv 10", recv(b, buf, 10, 0));
    show("  data", buf, n);
}

struct bigsend {
    int fd;
    int use_msg;
    size_t len;
    unsigned char *buf;
    long result;
    int err;
};

/* One blocking call sends all of it (printed by the main thread after the join). */
static void *big_sender(void *p)
{
    struct bigsend *s = p;
    if (s->use_msg) {
        size_t q = s->len / 4;
        struct iovec iov[4] = {{s->buf, q}, {s->buf + q, q}, {s->buf + 2 * q, q}, {s->buf + 3 * q, s->len - 3 * q}};
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = 4};
        errno = 0;
        s->result = sendmsg(s->fd, &m, 0);
    } else {
        errno = 0;
        s->result = send(s->fd, s->buf, s->len, 0);
    }
    s->err = errno;
    return NULL;
}

static void run_large(int a, int b)
{
    const size_t len = 4u << 20;
    unsigned char *src = malloc(len), *dst = malloc(len);
    CHECK(src && dst, "malloc");
    fill_pattern(src, len, 0);
    unsigned long long want = fnv1a(src, len, 0);
    for (int use_msg = 0; use_msg <= 2; use_msg++) {
        struct bigsend s = {.fd = a, .use_msg = use_msg == 1, .len = len, .buf = src};
        pthread_t t;
        CHECK(pthread_create(&t, NULL, big_sender, &s) == 0, "pthread_create");
        size_t got = 0;
        long n = 0;
        int err = 0;
        if (use_msg == 2) {
            /* the receiving side in one call as well */
            errno = 0;
            n = recv(b, dst, len, MSG_WAITALL);
            err = errno;
            got = n > 0 ? (size_t)n : 0;
        } else {
            while (got < len) {
                long n = recv(b, dst + got, len - got, 0);
                CHECK(n > 0, "recv: %s", n < 0 ? strerror(errno) : "EOF");
                got += (size_t)n;
            }
        }
        pthread_join(t, NULL);
        report(s.use_msg ? "sendmsg 4 MiB in 4 iovecs, one call" : "send 4 MiB, one call", s.result, s.err);
        if (use_msg == 2)
            report("recv 4 MiB MSG_WAITALL, one call", n, err);
        say("received %zu bytes, checksum matches: %s", got, yesno(got == len && fnv1a(dst, len, 0) == want));
    }
    free(src);
    free(dst);
}

struct waiter {
    int fd;
    int flags;
    int kind; /* 0 recv, 1 recvfrom, 2 recvmsg */
    size_t len;
    char *buf;
    const char *label;
    pid_t tid;
    atomic_int started, done;
    long result;
    int err, msg_flags;
};

/* Receives once, blocking; the result is printed by the main thread after the join, so lines never mix. */
static void *receiver(void *p)
{
    struct waiter *w = p;
    w->tid = gettid();
    atomic_store(&w->started, 1);
    errno = 0;
    if (w->kind == 0) {
        w->result = recv(w->fd, w->buf, w->len, w->flags);
    } else if (w->kind == 1) {
        struct sockaddr_storage ss;
        socklen_t slen = sizeof ss;
        w->result = recvfrom(w->fd, w->buf, w->len, w->flags, (struct sockaddr *)&ss, &slen);
    } else {
        size_t h = w->len / 2;
        struct iovec iov[2] = {{w->buf, h}, {w->buf + h, w->len - h}};
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
        w->result = recvmsg(w->fd, &m, w->flags);
        w->msg_flags = m.msg_flags;
    }
    w->err = errno;
    atomic_store(&w->done, 1);
    return NULL;
}

static pthread_t start_receiver(struct waiter *w)
{
    pthread_t t;
    CHECK(pthread_create(&t, NULL, receiver, w) == 0, "pthread_create");
    wait_atomic_at_least(&w->started, 1, "receiver start");
    return t;
}

static void join_receiver(pthread_t t, struct waiter *w)
{
    pthread_join(t, NULL);
    report(w->label, w->result, w->err);
    if (w->kind == 2)
        say("  msg_flags -> 0x%x", w->msg_flags);
}

static void run_peek(int a, int b)
{
    char buf[64];
    long n;
    REPORT("send 6", send(a, "abcdef", 6, 0));
    REPORT("poll", wait_fd(b, POLLIN));
    n = REPORT("recv 3 MSG_PEEK", recv(b, buf, 3, MSG_PEEK));
    show("  data", buf, n);
    n = REPORT("recv 10 MSG_PEEK", recv(b, buf, 10, MSG_PEEK));
    show("  data", buf, n);
    struct sockaddr_storage ss;
    socklen_t slen = sizeof ss;
    n = REPORT("recvfrom 10 MSG_PEEK", recvfrom(b, buf, 10, MSG_PEEK, (struct sockaddr *)&ss, &slen));
    show("  data", buf, n);
    struct iovec iov = {buf, 10};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    n = REPORT("recvmsg 10 MSG_PEEK", recvmsg(b, &m, MSG_PEEK));
    show("  data", buf, n);
    n = REPORT("recv 10", recv(b, buf, 10, 0));
    show("  data", buf, n);
    REPORT("recv MSG_PEEK|MSG_DONTWAIT with nothing queued", recv(b, buf, 10, MSG_PEEK | MSG_DONTWAIT));

    /* a blocking peek waits for data and still leaves it queued */
    for (int kind = 0; kind < 3; kind++) {
        static const char *labels[] = {"blocked recv MSG_PEEK", "blocked recvfrom MSG_PEEK", "blocked recvmsg MSG_PEEK"};
        char pbuf[16];
        struct waiter w = {.fd = b, .flags = MSG_PEEK, .kind = kind, .len = sizeof pbuf, .buf = pbuf, .label = labels[kind]};
        pthread_t t = start_receiver(&w);
        say("receiver was blocked: %s", yesno(wait_blocked(w.tid, &w.done)));
        CHECK(send(a, "xyz", 3, 0) == 3, "send: %s", strerror(errno));
        join_receiver(t, &w);
        show("  peeked", pbuf, w.result);
        n = REPORT("recv 10", recv(b, buf, 10, 0));
        show("  data", buf, n);
    }
}

static void run_dontwait(int a, int b)
{
    char buf[64];
    long n;
    struct sockaddr_storage ss;
    socklen_t slen = sizeof ss;
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    REPORT("recv MSG_DONTWAIT with nothing queued", recv(b, buf, sizeof buf, MSG_DONTWAIT));
    REPORT("recvfrom MSG_DONTWAIT with nothing queued", recvfrom(b, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&ss, &slen));
    REPORT("recvmsg MSG_DONTWAIT with nothing queued", recvmsg(b, &m, MSG_DONTWAIT));
    REPORT("send 3 MSG_DONTWAIT", send(a, "abc", 3, MSG_DONTWAIT));
    REPORT("poll", wait_fd(b, POLLIN));
    n = REPORT("recv MSG_DONTWAIT", recv(b, buf, sizeof buf, MSG_DONTWAIT));
    show("  data", buf, n);
    REPORT("recv MSG_DONTWAIT again", recv(b, buf, sizeof buf, MSG_DONTWAIT));
    say("socket O_NONBLOCK after MSG_DONTWAIT -> %d", !!(fcntl(b, F_GETFL) & O_NONBLOCK));

    /* send MSG_DONTWAIT until the socket is full; every byte that a call accepted arrives, in order */
    unsigned long long sent_sum = 0, got_sum = 0;
    long sent = 0;
    for (int via = 0; via < VIA_COUNT; via++) {
        if (via == VIA_WRITE)
            continue; /* write has no flags */
        int err;
        long last = send_until_error(a, via, MSG_DONTWAIT, &sent, &sent_sum, &err);
        char label[80];
        snprintf(label, sizeof label, "%s MSG_DONTWAIT of 64 KiB, repeated until one fails", via_name[via]);
        report(label, last, err);
    }
    say("socket O_NONBLOCK after MSG_DONTWAIT -> %d", !!(fcntl(a, F_GETFL) & O_NONBLOCK));
    shutdown(a, SHUT_WR);
    long got = recv_until_eof(b, &got_sum);
    say("received every byte sent: %s", yesno(got == sent && got_sum == sent_sum));
}

static void run_waitall(int a, int b)
{
    static char buf[20000], piece[1000];
    static const char *labels[] = {"recv 10000 MSG_WAITALL", "recvfrom 10000 MSG_WAITALL", "recvmsg 10000 MSG_WAITALL"};
    unsigned long long off = 0;
    for (int kind = 0; kind < 3; kind++) {
        struct waiter w = {.fd = b, .flags = MSG_WAITALL, .kind = kind, .len = 10000, .buf = buf, .label = labels[kind]};
        unsigned long long want = 0;
        pthread_t t = start_receiver(&w);
        int blocked = 0;
        for (int i = 0; i < 10; i++) {
            blocked += wait_blocked(w.tid, &w.done);
            fill_pattern((unsigned char *)piece, sizeof piece, off);
            off += sizeof piece;
            want = fnv1a(piece, sizeof piece, want);
            CHECK(send(a, piece, sizeof piece, 0) == (long)sizeof piece, "send: %s", strerror(errno));
        }
        join_receiver(t, &w);
        say("  receiver was blocked before each of the 10 pieces: %s", yesno(blocked == 10));
        say("  checksum matches: %s", yesno(w.result == 10000 && fnv1a(buf, 10000, 0) == want));
    }
    /* the peer shuts its side down: MSG_WAITALL returns what it has */
    struct waiter w = {.fd = b, .flags = MSG_WAITALL, .kind = 0, .len = 10000, .buf = buf, .label = "recv 10000 MSG_WAITALL, peer sends 3000 and shuts down"};
    pthread_t t = start_receiver(&w);
    wait_blocked(w.tid, &w.done);
    memset(buf + 10000, 'q', 3000);
    CHECK(send(a, buf + 10000, 3000, 0) == 3000, "send: %s", strerror(errno));
    wait_blocked(w.tid, &w.done);
    CHECK(shutdown(a, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
    join_receiver(t, &w);
    REPORT("recv MSG_WAITALL at EOF", recv(b, buf, 100, MSG_WAITALL));
}

static void run_nosignal(int a, int b)
{
    char buf[64];
    long n;
    REPORT("send 5 MSG_NOSIGNAL", send(a, "hello", 5, MSG_NOSIGNAL));
    REPORT("sendto 3 MSG_NOSIGNAL", sendto(a, "abc", 3, MSG_NOSIGNAL, NULL, 0));
    struct iovec iov = {"xy", 2};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    REPORT("sendmsg 2 MSG_NOSIGNAL", sendmsg(a, &m, MSG_NOSIGNAL));
    REPORT("send 2 MSG_NOSIGNAL|MSG_DONTWAIT", send(a, "zz", 2, MSG_NOSIGNAL | MSG_DONTWAIT));
    n = REPORT("recv 12 MSG_WAITALL", recv(b, buf, 12, MSG_WAITALL));
    show("  data", buf, n);
}

/* Sets or clears O_NONBLOCK the way the mode says. */
static void set_nb(int fd, int on, const char *how)
{
    if (strcmp(how, "fcntl") == 0) {
        set_nonblock(fd, on);
    } else if (strcmp(how, "ioctl") == 0) {
        int v = on;
        CHECK(ioctl(fd, FIONBIO, &v) == 0, "FIONBIO: %s", strerror(errno));
    } else if (strcmp(how, "child") == 0) {
        pid_t pid = fork();
        CHECK(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0) {
            int fl = fcntl(fd, F_GETFL);
            _exit(fl >= 0 && fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) == 0 ? 0 : 1);
        }
        int st;
        CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child fcntl failed");
    } else {
        die("unknown way %s", how);
    }
}

static void run_nonblock(int a, int b, const char *how)
{
    char buf[64];
    long n;
    /* first use both ends while they block, so whatever the shim learnt about them is now stale */
    REPORT("send 4", send(a, "warm", 4, 0));
    n = REPORT("recv 100", recv(b, buf, 100, 0));
    show("  data", buf, n);

    set_nb(b, 1, how);
    say("O_NONBLOCK -> %d", !!(fcntl(b, F_GETFL) & O_NONBLOCK));
    every_receive(b, buf, sizeof buf, "on the now nonblocking socket");

    /* the sending side: nonblocking calls until EAGAIN, every accepted byte arrives */
    set_nb(a, 1, how);
    unsigned long long sent_sum = 0, got_sum = 0;
    long sent = 0;
    send_each_way_until_error(a, "", " on the nonblocking socket", &sent, &sent_sum);
    set_nb(a, 0, how);
    shutdown(a, SHUT_WR);
    set_nb(b, 0, how);
    say("O_NONBLOCK -> %d", !!(fcntl(b, F_GETFL) & O_NONBLOCK));
    long got = recv_until_eof(b, &got_sum);
    say("received every byte sent: %s", yesno(got == sent && got_sum == sent_sum));
}

/* O_NONBLOCK cleared again: a recv blocks until data comes (on a fresh pair: the old one is shut down). */
static void run_nonblock_cleared(const char *how)
{
    int a, b;
    char buf[16];
    make_pair(family, &a, &b);
    set_nb(b, 1, how);
    REPORT("recv while nonblocking", recv(b, buf, sizeof buf, 0));
    set_nb(b, 0, how);
    struct waiter w = {.fd = b, .len = sizeof buf, .buf = buf, .label = "recv after O_NONBLOCK was cleared"};
    pthread_t t = start_receiver(&w);
    say("receiver was blocked: %s", yesno(wait_blocked(w.tid, &w.done)));
    CHECK(send(a, "late", 4, 0) == 4, "send: %s", strerror(errno));
    join_receiver(t, &w);
    show("  data", buf, w.result);
    close(a);
    close(b);
}

static void run_errors(int a, int b)
{
    char buf[64];
    long n;
    int p[2];
    CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

    REPORT("recv on fd -1", recv(-1, buf, 1, 0));
    REPORT("send on fd -1", send(-1, "x", 1, 0));
    REPORT("recvmsg on fd -1", recvmsg(-1, &m, 0));
    REPORT("sendmsg on fd -1", sendmsg(-1, &m, 0));
    REPORT("recv on a pipe", recv(p[0], buf, 1, MSG_DONTWAIT));
    REPORT("send on a pipe", send(p[1], "x", 1, 0));
    REPORT("recvfrom on a pipe", recvfrom(p[0], buf, 1, 0, NULL, NULL));
    REPORT("sendto on a pipe", sendto(p[1], "x", 1, 0, NULL, 0));
    REPORT("recvmsg on a pipe", recvmsg(p[0], &m, 0));
    REPORT("sendmsg on a pipe", sendmsg(p[1], &m, 0));

    int u = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REPORT("recv on an unconnected socket", recv(u, buf, 1, 0));
    REPORT("recvmsg on an unconnected socket", recvmsg(u, &m, 0));
    REPORT("send MSG_NOSIGNAL on an unconnected socket", send(u, "x", 1, MSG_NOSIGNAL));
    REPORT("sendmsg MSG_NOSIGNAL on an unconnected socket", sendmsg(u, &m, MSG_NOSIGNAL));
    close(u);

    struct sockaddr_storage ss;
    socklen_t slen = sizeof ss;
    CHECK(getsockname(b, (struct sockaddr *)&ss, &slen) == 0, "getsockname");
    REPORT("sendto with an address on a connected socket", sendto(a, "x", 1, 0, (struct sockaddr *)&ss, slen));
    REPORT("send 5", send(a, "hello", 5, 0));
    REPORT("poll", wait_fd(b, POLLIN));
    REPORT("recv into a NULL buffer", recv(b, NULL, 5, 0));
    REPORT("recvmsg into a NULL iovec base", recvmsg(b, &(struct msghdr){.msg_iov = &(struct iovec){NULL, 5}, .msg_iovlen = 1}, 0));
    /* TCP ignores the address and sent the "x"; AF_UNIX refused it */
    n = REPORT("recv the queued bytes after the faults", recv(b, buf, family == AF_INET ? 6 : 5, MSG_WAITALL));
    show("  data", buf, n);
    REPORT("send from a NULL buffer", send(a, NULL, 5, MSG_NOSIGNAL));
    REPORT("recv MSG_DONTWAIT", recv(b, buf, 100, MSG_DONTWAIT));

    static struct iovec many[1025];
    for (int i = 0; i < 1025; i++)
        many[i] = (struct iovec){buf, 1};
    REPORT("sendmsg with 1025 iovecs", sendmsg(a, &(struct msghdr){.msg_iov = many, .msg_iovlen = 1025}, 0));
    REPORT("recvmsg with 1025 iovecs", recvmsg(b, &(struct msghdr){.msg_iov = many, .msg_iovlen = 1025}, MSG_DONTWAIT));
    if (family == AF_INET) /* AF_UNIX stream ignores the flag and would block */
        REPORT("recv MSG_ERRQUEUE with nothing queued", recv(b, buf, sizeof buf, MSG_ERRQUEUE));
    close(p[0]);
    close(p[1]);
}

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: net_io MODE tcp|unix");
    const char *mode = argv[1];
    family = family_of(argv[2]);
    signal(SIGPIPE, SIG_IGN); /* the error cases must not kill the helper */
    int a, b;
    make_pair(family, &a, &b);
    if (strcmp(mode, "basic") == 0)
        run_basic(a, b);
    else if (strcmp(mode, "large") == 0)
        run_large(a, b);
    else if (strcmp(mode, "peek") == 0)
        run_peek(a, b);
    else if (strcmp(mode, "dontwait") == 0)
        run_dontwait(a, b);
    else if (strcmp(mode, "waitall") == 0)
        run_waitall(a, b);
    else if (strcmp(mode, "nosignal") == 0)
        run_nosignal(a, b);
    else if (strncmp(mode, "nonblock-", 9) == 0) {
        run_nonblock(a, b, mode + 9);
        run_nonblock_cleared(mode + 9);
    } else if (strcmp(mode, "errors") == 0)
        run_errors(a, b);
    else
        die("unknown mode %s", mode);
    close(a);
    close(b);
    return 0;
}
