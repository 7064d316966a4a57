/* net_timeo MODE tcp|unix: SO_RCVTIMEO and SO_SNDTIMEO (100 ms) on sockets already used through the shim
 * (SEMANTICS row 11). Only outcomes are printed, never times.
 *   recv     recv, read, recvfrom, recvmsg with nothing to read fail EAGAIN; queued data still comes at
 *            once; with the timeout set back to 0 a recv waits again until data comes
 *   accept   accept and accept4 on a listener with SO_RCVTIMEO and no client fail EAGAIN, then accept one
 *   waitall  MSG_WAITALL with fewer bytes than asked returns what came once the timeout expires
 *   send     blocking send, write, sendto, sendmsg into a full socket fail EAGAIN (after any partial
 *            count); every byte a call reported arrives */
#include "netsig.h"
#include <sys/uio.h>

static void set_timeo(int fd, int opt, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    REPORT(opt == SO_RCVTIMEO ? "setsockopt SO_RCVTIMEO" : "setsockopt SO_SNDTIMEO",
           setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv));
    struct timeval got;
    socklen_t len = sizeof got;
    CHECK(getsockopt(fd, SOL_SOCKET, opt, &got, &len) == 0, "getsockopt: %s", strerror(errno));
    say("  timeout now -> %ld ms", (long)(got.tv_sec * 1000 + got.tv_usec / 1000));
}

struct waiter {
    int fd;
    pid_t tid;
    atomic_int started, done;
    long result;
    int err;
    char buf[16];
};

static void *recv_thread(void *p)
{
    struct waiter *w = p;
    w->tid = gettid();
    atomic_store(&w->started, 1);
    errno = 0;
    w->result = recv(w->fd, w->buf, sizeof w->buf, 0);
    w->err = errno;
    atomic_store(&w->done, 1);
    return NULL;
}

static void run_recv(int family)
{
    int a, b;
    char buf[64];
    long n;
    make_pair(family, &a, &b);
    REPORT("send 4", send(a, "warm", 4, 0));
    n = REPORT("recv before any timeout", recv(b, buf, sizeof buf, 0));
    show("  data", buf, n);

    set_timeo(b, SO_RCVTIMEO, 100);
    every_receive(b, buf, sizeof buf, "with nothing to read");
    REPORT("send 3", send(a, "now", 3, 0));
    REPORT("poll", wait_fd(b, POLLIN));
    n = REPORT("recv with data queued", recv(b, buf, sizeof buf, 0));
    show("  data", buf, n);

    set_timeo(b, SO_RCVTIMEO, 0);
    struct waiter w = {.fd = b};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, recv_thread, &w) == 0, "pthread_create");
    wait_atomic_at_least(&w.started, 1, "thread start");
    say("recv without a timeout was blocked: %s", yesno(wait_blocked(w.tid, &w.done)));
    CHECK(send(a, "late", 4, 0) == 4, "send: %s", strerror(errno));
    pthread_join(t, NULL);
    report("recv without a timeout", w.result, w.err);
    show("  data", w.buf, w.result);
    close(a);
    close(b);
}

static void run_accept(int family)
{
    struct sockaddr_storage addr;
    socklen_t len;
    int l = make_listener(family, &addr, &len);
    int c0 = connect_to(&addr, len);
    int s0 = REPORT_FD("accept before any timeout", accept(l, NULL, NULL));
    set_timeo(l, SO_RCVTIMEO, 100);
    REPORT("accept with no client", accept(l, NULL, NULL));
    REPORT("accept4 with no client", accept4(l, NULL, NULL, SOCK_CLOEXEC));
    int c = connect_to(&addr, len);
    int s = REPORT_FD("accept with a client waiting", accept(l, NULL, NULL));
    close(s);
    close(c);
    close(s0);
    close(c0);
    close(l);
}

static void run_waitall(int family)
{
    int a, b;
    char buf[128];
    long n;
    make_pair(family, &a, &b);
    REPORT("send 4", send(a, "warm", 4, 0));
    REPORT("recv 4 MSG_WAITALL", recv(b, buf, 4, MSG_WAITALL));
    set_timeo(b, SO_RCVTIMEO, 100);
    REPORT("send 10", send(a, "0123456789", 10, 0));
    n = REPORT("recv 100 MSG_WAITALL", recv(b, buf, 100, MSG_WAITALL));
    show("  data", buf, n);
    REPORT("send 7", send(a, "abcdefg", 7, 0));
    struct iovec iov[2] = {{buf, 3}, {buf + 3, 97}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    n = REPORT("recvmsg 100 MSG_WAITALL", recvmsg(b, &m, MSG_WAITALL));
    show("  data", buf, n);
    REPORT("recv MSG_WAITALL with nothing at all", recv(b, buf, 100, MSG_WAITALL));
    close(a);
    close(b);
}

static void run_send(int family)
{
    int a, b;
    make_pair(family, &a, &b);
    char buf[16];
    REPORT("send 4", send(a, "warm", 4, 0));
    REPORT("recv 4", recv(b, buf, 4, MSG_WAITALL));
    set_timeo(a, SO_SNDTIMEO, 100);

    unsigned long long sent_sum = 0, got_sum = 0;
    long sent = 0;
    send_each_way_until_error(a, "blocking ", "", &sent, &sent_sum);
    shutdown(a, SHUT_WR);
    long got = recv_until_eof(b, &got_sum);
    say("received every byte the calls reported sent: %s", yesno(got == sent && got_sum == sent_sum));
    close(a);
    close(b);
}

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: net_timeo recv|accept|waitall|send tcp|unix");
    int family = family_of(argv[2]);
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(argv[1], "recv") == 0)
        run_recv(family);
    else if (strcmp(argv[1], "accept") == 0)
        run_accept(family);
    else if (strcmp(argv[1], "waitall") == 0)
        run_waitall(family);
    else if (strcmp(argv[1], "send") == 0)
        run_send(family);
    else
        die("unknown mode %s", argv[1]);
    return 0;
}
