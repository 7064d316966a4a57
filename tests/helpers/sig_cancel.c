/* sig_cancel read|accept|recv [disabled]: pthread_cancel of a thread blocked in read on a pipe, accept on
 * a TCP listener or recv on a TCP socket (SEMANTICS row 12). The thread must end as with libc (its cleanup
 * handler runs, pthread_join returns PTHREAD_CANCELED), and no request may be left behind: the main thread
 * then gives the object data (a write, a connection) and takes it itself.
 * With "disabled" the thread has cancellation disabled: the call is not cancelled, returns the data that
 * comes, and the pending cancel acts at the next pthread_testcancel. */
#include "netsig.h"

static const char *call;

struct worker {
    int fd;
    int disabled;
    pid_t tid;
    atomic_int started, done, cleanup_ran;
    long result;
    int err;
    char buf[16];
};

static void cleanup(void *p)
{
    struct worker *w = p;
    atomic_store(&w->cleanup_ran, 1);
}

static void *worker_main(void *p)
{
    struct worker *w = p;
    if (w->disabled)
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    pthread_cleanup_push(cleanup, w);
    w->tid = gettid();
    atomic_store(&w->started, 1);
    errno = 0;
    if (strcmp(call, "read") == 0)
        w->result = read(w->fd, w->buf, sizeof w->buf);
    else if (strcmp(call, "recv") == 0)
        w->result = recv(w->fd, w->buf, sizeof w->buf, 0);
    else
        w->result = accept(w->fd, NULL, NULL);
    w->err = errno;
    atomic_store(&w->done, 1);
    if (w->disabled) {
        pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
        pthread_testcancel();
    }
    pthread_cleanup_pop(0);
    return NULL;
}

int main(int argc, char **argv)
{
    CHECK(argc == 2 || (argc == 3 && strcmp(argv[2], "disabled") == 0), "usage: sig_cancel read|accept|recv [disabled]");
    call = argv[1];
    struct worker w = {.disabled = argc == 3};
    int p[2] = {-1, -1}, a = -1, b = -1, l = -1;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    w.fd = make_wait_target(call, p, &a, &b, &l, &addr, &addr_len);
    if (w.fd < 0)
        die("unknown call %s", call);
    /* one call through the shim first, so the descriptor is known to it */
    char buf[16];
    if (p[0] >= 0) {
        CHECK(write(p[1], "warm", 4) == 4 && read(p[0], buf, sizeof buf) == 4, "warm-up");
    } else if (b >= 0) {
        CHECK(send(a, "warm", 4, 0) == 4 && recv(b, buf, sizeof buf, 0) == 4, "warm-up");
    } else {
        int c = connect_to(&addr, addr_len);
        int s = accept(l, NULL, NULL);
        CHECK(s >= 0, "warm-up accept: %s", strerror(errno));
        close(s);
        close(c);
    }

    pthread_t t;
    CHECK(pthread_create(&t, NULL, worker_main, &w) == 0, "pthread_create");
    wait_atomic_at_least(&w.started, 1, "worker start");
    say("%s was blocked: %s", call, yesno(wait_blocked(w.tid, &w.done)));
    REPORT("pthread_cancel", pthread_cancel(t));

    int c = -1;
    if (w.disabled) {
        say("%s still blocked with the cancel pending: %s", call, yesno(wait_blocked(w.tid, &w.done)));
        if (p[1] >= 0)
            CHECK(write(p[1], "data", 4) == 4, "write");
        else if (a >= 0)
            CHECK(send(a, "data", 4, 0) == 4, "send");
        else
            c = connect_to(&addr, addr_len);
    }
    void *ret = NULL;
    REPORT("pthread_join", pthread_join(t, &ret));
    say("thread was cancelled: %s", yesno(ret == PTHREAD_CANCELED));
    say("cleanup handler ran: %s", yesno(atomic_load(&w.cleanup_ran)));
    say("%s returned before the cancel acted: %s", call, yesno(atomic_load(&w.done)));
    if (atomic_load(&w.done)) {
        if (strcmp(call, "accept") == 0) {
            report_fd(call, w.result, w.err);
            if (w.result >= 0)
                close((int)w.result);
        } else {
            report(call, w.result, w.err);
            show("  data", w.buf, w.result);
        }
    }

    /* nothing of the cancelled call may still be waiting for the object: the main thread gets it all */
    long n;
    if (p[0] >= 0 || b >= 0) {
        int out = p[1] >= 0 ? p[1] : a, in = p[0] >= 0 ? p[0] : b;
        REPORT("main thread writes", write(out, "after", 5));
        say("main thread: data is there: %s", yesno(wait_fd(in, POLLIN) == 1));
        set_nonblock(in, 1); /* a stray request that took the data must not hang the helper */
        n = REPORT("main thread reads", read(in, buf, sizeof buf));
        show("  data", buf, n);
    } else {
        int c2 = connect_to(&addr, addr_len);
        say("main thread: the connection is pending: %s", yesno(wait_fd(l, POLLIN) == 1));
        int s = REPORT_FD("main thread accepts", accept4(l, NULL, NULL, SOCK_NONBLOCK));
        close(s);
        close(c2);
    }
    int fds[] = {p[0], p[1], a, b, l, c};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return 0;
}
