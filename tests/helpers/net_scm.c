/* net_scm stream|dgram: passing descriptors with SCM_RIGHTS over AF_UNIX (a connected stream pair from a
 * listener, or a SOCK_DGRAM socketpair). The received descriptor must reach the same object (compared by
 * device and inode, never printed as a number), carry FD_CLOEXEC only with MSG_CMSG_CLOEXEC, and be usable
 * at once; a control buffer that is too small gives MSG_CTRUNC and leaks no descriptor; a recvmsg blocked
 * waiting for the message gets the descriptor too. */
#include "netsig.h"
#include <sys/stat.h>
#include <sys/uio.h>

static long send_fds(int sock, const char *data, const int *fds, int nfds)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct iovec iov = {(void *)data, strlen(data)};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                       .msg_controllen = CMSG_SPACE(sizeof(int) * nfds)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    return sendmsg(sock, &m, 0);
}

struct received {
    long result;
    int err;
    int msg_flags;
    int nfds;
    int fds[4];
    char data[64];
};

/* recvmsg with a control buffer of ctl bytes; prints nothing (the caller does). */
static void recv_fds(int sock, size_t ctl, int flags, struct received *r)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    memset(r, 0, sizeof *r);
    struct iovec iov = {r->data, sizeof r->data};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl ? u.buf : NULL, .msg_controllen = ctl};
    errno = 0;
    r->result = recvmsg(sock, &m, flags);
    r->err = errno;
    r->msg_flags = m.msg_flags;
    if (r->result < 0)
        return;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < n && r->nfds < 4; i++)
                memcpy(&r->fds[r->nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        }
    }
}

static void print_received(const char *label, const struct received *r)
{
    report(label, r->result, r->err);
    if (r->result >= 0) {
        show("  data", r->data, r->result);
        say("  msg_flags -> 0x%x", r->msg_flags);
        say("  descriptors received -> %d", r->nfds);
    }
}

static int same_file(int a, int b)
{
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int open_fd_count(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

struct blocked {
    int sock;
    pid_t tid;
    atomic_int started, done;
    struct received r;
};

static void *recv_thread(void *p)
{
    struct blocked *b = p;
    b->tid = gettid();
    atomic_store(&b->started, 1);
    recv_fds(b->sock, CMSG_SPACE(sizeof(int) * 4), 0, &b->r);
    atomic_store(&b->done, 1);
    return NULL;
}

int main(int argc, char **argv)
{
    CHECK(argc == 2, "usage: net_scm stream|dgram");
    int a, b;
    if (strcmp(argv[1], "stream") == 0) {
        make_pair(AF_UNIX, &a, &b);
    } else {
        CHECK(strcmp(argv[1], "dgram") == 0, "unknown kind %s", argv[1]);
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair: %s", strerror(errno));
        a = sv[0];
        b = sv[1];
    }
    int p[2];
    CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
    char buf[64];
    long n;
    struct received r;

    REPORT("sendmsg with one descriptor", send_fds(a, "fd!", &p[0], 1));
    recv_fds(b, CMSG_SPACE(sizeof(int) * 4), 0, &r);
    print_received("recvmsg", &r);
    if (r.nfds == 1) {
        say("  same pipe: %s", yesno(same_file(r.fds[0], p[0])));
        say("  FD_CLOEXEC -> %d", !!(fcntl(r.fds[0], F_GETFD) & FD_CLOEXEC));
        REPORT("write into the pipe", write(p[1], "through the passed fd", 21));
        n = REPORT("read from the received descriptor", read(r.fds[0], buf, sizeof buf));
        show("  data", buf, n);
        close(r.fds[0]);
    }

    int both[2] = {p[0], p[1]};
    REPORT("sendmsg with two descriptors", send_fds(a, "two", both, 2));
    recv_fds(b, CMSG_SPACE(sizeof(int) * 4), MSG_CMSG_CLOEXEC, &r);
    print_received("recvmsg MSG_CMSG_CLOEXEC", &r);
    if (r.nfds == 2) {
        say("  same pipe ends: %s", yesno(same_file(r.fds[0], p[0]) && same_file(r.fds[1], p[1])));
        say("  FD_CLOEXEC -> %d %d", !!(fcntl(r.fds[0], F_GETFD) & FD_CLOEXEC), !!(fcntl(r.fds[1], F_GETFD) & FD_CLOEXEC));
        REPORT("write into the received write end", write(r.fds[1], "back", 4));
        n = REPORT("read from the original read end", read(p[0], buf, sizeof buf));
        show("  data", buf, n);
        close(r.fds[0]);
        close(r.fds[1]);
    }

    /* a connected socket passed along: the receiver talks through it at once */
    int c, s;
    make_pair(AF_INET, &c, &s);
    REPORT("sendmsg with a TCP socket", send_fds(a, "sock", &s, 1));
    close(s);
    recv_fds(b, CMSG_SPACE(sizeof(int) * 4), 0, &r);
    print_received("recvmsg", &r);
    if (r.nfds == 1) {
        REPORT("send through the received socket", send(r.fds[0], "over tcp", 8, 0));
        n = REPORT("recv on the peer", recv(c, buf, sizeof buf, 0));
        show("  data", buf, n);
        REPORT("send from the peer", send(c, "reply", 5, 0));
        n = REPORT("recv through the received socket", recv(r.fds[0], buf, sizeof buf, 0));
        show("  data", buf, n);
        close(r.fds[0]);
        n = REPORT("peer reads EOF once the received socket is closed", recv(c, buf, sizeof buf, 0));
    }
    close(c);

    /* control buffers too small for the descriptors: MSG_CTRUNC, and the descriptors are not installed */
    int before = open_fd_count();
    REPORT("sendmsg with one descriptor", send_fds(a, "cut", &p[0], 1));
    recv_fds(b, CMSG_LEN(0), 0, &r);
    print_received("recvmsg with a control buffer for no descriptor", &r);
    say("  MSG_CTRUNC -> %d", !!(r.msg_flags & MSG_CTRUNC));
    REPORT("sendmsg with one descriptor", send_fds(a, "nil", &p[0], 1));
    recv_fds(b, 0, 0, &r);
    print_received("recvmsg without a control buffer", &r);
    say("  MSG_CTRUNC -> %d", !!(r.msg_flags & MSG_CTRUNC));
    say("no descriptor leaked: %s", yesno(open_fd_count() == before));

    /* a recvmsg that waits for the message */
    struct blocked bl = {.sock = b};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, recv_thread, &bl) == 0, "pthread_create");
    wait_atomic_at_least(&bl.started, 1, "thread start");
    say("recvmsg was blocked: %s", yesno(wait_blocked(bl.tid, &bl.done)));
    CHECK(send_fds(a, "late", &p[1], 1) == 4, "sendmsg: %s", strerror(errno));
    pthread_join(t, NULL);
    print_received("blocked recvmsg", &bl.r);
    if (bl.r.nfds == 1) {
        say("  same pipe end: %s", yesno(same_file(bl.r.fds[0], p[1])));
        close(bl.r.fds[0]);
    }
    close(p[0]);
    close(p[1]);
    close(a);
    close(b);
    return 0;
}
