/* sig_intr CALL MODE [thread|process]: a thread blocked in CALL gets a signal (SEMANTICS row 5).
 *   CALL read           read on an empty pipe
 *        recv           recv on a TCP socket with nothing queued
 *        accept         accept on a TCP listener with no client
 *        write          write of 100 bytes into a full pipe (no byte can move)
 *        write-partial  write of 1 MiB into an empty pipe: 64 KiB move, then it blocks
 *        send-partial   send of 8 MiB on an AF_UNIX stream nobody reads: some bytes move, then it blocks
 *        recv-waitall   recv of 100 bytes MSG_WAITALL on TCP with 10 queued: it takes them, then blocks
 *   MODE norestart      sigaction handler without SA_RESTART        -> EINTR, or the short count when
 *                                                                      bytes moved (*-partial, recv-waitall:
 *                                                                      so in every mode that wakes the call)
 *        restart        sigaction handler with SA_RESTART           -> the call goes on
 *        signal         handler installed with signal() (BSD: restarts)
 *        siginterrupt   signal() then siginterrupt(sig, 1)          -> EINTR
 *        sysv           sysv_signal() (SA_RESETHAND|SA_NODEFER)     -> EINTR, handler reset to SIG_DFL
 *        resethand      sigaction SA_RESETHAND|SA_RESTART           -> the call goes on
 *        ignore         SIG_IGN'd SIGUSR1                           -> the call goes on
 *        dflignored     SIGWINCH left at SIG_DFL (ignored by default) -> the call goes on
 *        stopcont       another process sends SIGSTOP, then SIGCONT -> the call goes on
 *   Sender: thread (pthread_kill from the main thread, default) or process (a child kill()s this process;
 *   every thread but the blocked one blocks the signal).
 * The helper knows what libc does in each case and acts on it: when the call must end, it waits (bounded)
 * for the end before it gives the call its data; when the call must go on, it waits until the call is
 * blocked again, then gives the data. Afterwards it checks that nothing was consumed or written behind the
 * program's back (no request left in flight). Everything is printed, for comparison with and without the
 * shim. */
#include "netsig.h"
#include <sys/wait.h>

#define PARTIAL_LEN (1u << 20)
#define SEND_LEN (8u << 20)

static const char *call, *mode;
static int sig = SIGUSR1;
static atomic_int handled;

/* Like many real handlers it clobbers errno: the interrupted call must still report its own. */
static void on_signal(int s)
{
    (void)s;
    atomic_fetch_add(&handled, 1);
    errno = ENOTRECOVERABLE;
}

struct worker {
    pid_t tid;
    atomic_int started, done;
    int fd;
    long result;
    int err;
    unsigned char *buf;
    size_t len;
    int unblock; /* unblock sig in this thread (the process sender blocks it everywhere else) */
};

static void *worker_main(void *p)
{
    struct worker *w = p;
    if (w->unblock) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, sig);
        pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    }
    w->tid = gettid();
    atomic_store(&w->started, 1);
    errno = 0;
    if (strcmp(call, "read") == 0)
        w->result = read(w->fd, w->buf, w->len);
    else if (strcmp(call, "recv") == 0)
        w->result = recv(w->fd, w->buf, w->len, 0);
    else if (strcmp(call, "recv-waitall") == 0)
        w->result = recv(w->fd, w->buf, w->len, MSG_WAITALL);
    else if (strcmp(call, "send-partial") == 0)
        w->result = send(w->fd, w->buf, w->len, 0);
    else if (strcmp(call, "accept") == 0)
        w->result = accept(w->fd, NULL, NULL);
    else
        w->result = write(w->fd, w->buf, w->len);
    w->err = errno;
    atomic_store(&w->done, 1);
    return NULL;
}

/* Waits (bounded) until the worker returned; 1 if it did. */
static int wait_done(struct worker *w)
{
    for (int i = 0; i < WAIT_TRIES; i++) {
        if (atomic_load(&w->done))
            return 1;
        tiny_sleep();
    }
    return 0;
}

/* Reads what is in the pipe until the writer returned (it normally has already: then this just empties the
 * pipe; if the call wrongly went on, this lets it finish instead of hanging). Returns the bytes read. */
static long drain_until_done(struct worker *w, int fd, unsigned long long *sum)
{
    long got = 0;
    for (int i = 0; i < WAIT_TRIES; i++) {
        int was_done = atomic_load(&w->done);
        got += drain_now(fd, sum);
        if (was_done)
            return got;
        tiny_sleep();
    }
    die("the writer never returned");
}

static void install(void)
{
    struct sigaction sa = {0};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_signal;
    if (strcmp(mode, "norestart") == 0) {
        CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction: %s", strerror(errno));
    } else if (strcmp(mode, "restart") == 0) {
        sa.sa_flags = SA_RESTART;
        CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction: %s", strerror(errno));
    } else if (strcmp(mode, "resethand") == 0) {
        sa.sa_flags = SA_RESTART | SA_RESETHAND;
        CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction: %s", strerror(errno));
    } else if (strcmp(mode, "signal") == 0) {
        CHECK(signal(sig, on_signal) != SIG_ERR, "signal: %s", strerror(errno));
    } else if (strcmp(mode, "siginterrupt") == 0) {
        CHECK(signal(sig, on_signal) != SIG_ERR, "signal: %s", strerror(errno));
/* deprecated, but programs still call it: that is the point */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        CHECK(siginterrupt(sig, 1) == 0, "siginterrupt: %s", strerror(errno));
#pragma GCC diagnostic pop
    } else if (strcmp(mode, "sysv") == 0) {
        CHECK(sysv_signal(sig, on_signal) != SIG_ERR, "sysv_signal: %s", strerror(errno));
    } else if (strcmp(mode, "ignore") == 0) {
        CHECK(signal(sig, SIG_IGN) != SIG_ERR, "signal: %s", strerror(errno));
    } else if (strcmp(mode, "dflignored") == 0) {
        sig = SIGWINCH;
        CHECK(signal(sig, SIG_DFL) != SIG_ERR, "signal: %s", strerror(errno));
    } else {
        CHECK(strcmp(mode, "stopcont") == 0, "unknown mode %s", mode);
    }
}

static int has_handler(void)
{
    return strcmp(mode, "ignore") != 0 && strcmp(mode, "dflignored") != 0 && strcmp(mode, "stopcont") != 0;
}

/* What libc does: does the signal end the call? */
static int signal_ends_call(void)
{
    if (strcmp(call, "write-partial") == 0 || strcmp(call, "send-partial") == 0 || strcmp(call, "recv-waitall") == 0)
        /* bytes moved: any signal that wakes the call ends it with the short count */
        return strcmp(mode, "ignore") != 0 && strcmp(mode, "dflignored") != 0;
    return strcmp(mode, "norestart") == 0 || strcmp(mode, "siginterrupt") == 0 || strcmp(mode, "sysv") == 0;
}

/* SIGSTOP, then SIGCONT once the worker is seen stopped, from a child process. */
static void stop_and_continue(pid_t worker_tid)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (kill(parent, SIGSTOP) != 0)
            _exit(2);
        int stopped = 0;
        for (int i = 0; i < WAIT_TRIES && !stopped; i++) {
            char st = task_state(parent, worker_tid);
            stopped = st == 'T' || st == 't';
            if (!stopped)
                tiny_sleep();
        }
        kill(parent, SIGCONT);
        _exit(stopped ? 0 : 3);
    }
    int st;
    pid_t r;
    do
        r = waitpid(pid, &st, 0);
    while (r < 0 && errno == EINTR);
    CHECK(r == pid, "waitpid: %s", strerror(errno));
    say("stopped and continued: %s", yesno(WIFEXITED(st) && WEXITSTATUS(st) == 0));
}

static void send_from_process(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0)
        _exit(kill(parent, sig) == 0 ? 0 : 1);
    int st;
    pid_t r;
    do
        r = waitpid(pid, &st, 0);
    while (r < 0 && errno == EINTR);
    CHECK(r == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the signalling child failed");
}

int main(int argc, char **argv)
{
    CHECK(argc == 3 || argc == 4, "usage: sig_intr read|recv|accept|write|write-partial|send-partial|recv-waitall MODE [thread|process]");
    call = argv[1];
    mode = argv[2];
    int from_process = argc == 4 && strcmp(argv[3], "process") == 0;
    CHECK(argc == 3 || from_process || strcmp(argv[3], "thread") == 0, "unknown sender %s", argv[3]);
    install();
    if (from_process) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, sig);
        pthread_sigmask(SIG_BLOCK, &s, NULL);
    }

    static unsigned char buf[SEND_LEN], back[SEND_LEN];
    struct worker w = {.buf = buf, .len = 64, .unblock = from_process};
    int p[2] = {-1, -1}, a = -1, b = -1, l = -1;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    long filled = 0;
    if ((w.fd = make_wait_target(call, p, &a, &b, &l, &addr, &addr_len)) >= 0) {
        /* read, recv or accept: the empty pipe, the TCP pair or the listener is all it needs */
    } else if (strcmp(call, "write") == 0) {
        CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
        set_nonblock(p[1], 1);
        static char page[4096];
        while (write(p[1], page, sizeof page) == (long)sizeof page)
            filled += (long)sizeof page;
        set_nonblock(p[1], 0);
        say("pipe filled with %ld bytes", filled);
        memset(buf, 'W', 100);
        w.fd = p[1];
        w.len = 100;
    } else if (strcmp(call, "recv-waitall") == 0) {
        make_pair(AF_INET, &a, &b);
        CHECK(send(a, "0123456789", 10, 0) == 10, "send: %s", strerror(errno));
        CHECK(wait_fd(b, POLLIN) == 1, "poll: %s", strerror(errno));
        w.fd = b;
        w.len = 100;
    } else if (strcmp(call, "send-partial") == 0) {
        make_pair(AF_UNIX, &a, &b);
        fill_pattern(buf, SEND_LEN, 0);
        w.fd = a;
        w.len = SEND_LEN;
    } else if (strcmp(call, "write-partial") == 0) {
        CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
        fill_pattern(buf, PARTIAL_LEN, 0);
        w.fd = p[1];
        w.len = PARTIAL_LEN;
    } else {
        die("unknown call %s", call);
    }

    pthread_t t;
    CHECK(pthread_create(&t, NULL, worker_main, &w) == 0, "pthread_create");
    wait_atomic_at_least(&w.started, 1, "worker start");
    say("%s was blocked: %s", call, yesno(wait_blocked(w.tid, &w.done)));

    if (strcmp(mode, "stopcont") == 0)
        stop_and_continue(w.tid);
    else if (from_process)
        send_from_process();
    else
        CHECK(pthread_kill(t, sig) == 0, "pthread_kill");
    if (has_handler()) {
        wait_atomic_at_least(&handled, 1, "the handler");
        say("handler runs -> %d", atomic_load(&handled));
    }

    int ends = signal_ends_call();
    if (ends)
        say("%s ended after the signal: %s", call, yesno(wait_done(&w)));
    else
        say("%s still blocked after the signal: %s", call, yesno(wait_blocked(w.tid, &w.done)));

    /* the data the call waits for; if it already ended, the main thread takes the data itself */
    char small[64];
    long n;
    int c = -1;
    if (strcmp(call, "read") == 0 || strcmp(call, "recv") == 0) {
        int out = a >= 0 ? a : p[1], in = a >= 0 ? b : p[0];
        CHECK(write(out, "data", 4) == 4, "write: %s", strerror(errno));
        pthread_join(t, NULL);
        report(call, w.result, w.err);
        show("  data", buf, w.result);
        if (w.result < 0) {
            say("main thread: data is there: %s", yesno(wait_fd(in, POLLIN) == 1));
            n = REPORT("main thread reads", read(in, small, sizeof small));
            show("  data", small, n);
        }
    } else if (strcmp(call, "recv-waitall") == 0) {
        if (!ends || !atomic_load(&w.done)) { /* (the second case only when the call wrongly went on) */
            static char rest[90];
            memset(rest, 'r', sizeof rest);
            CHECK(send(a, rest, sizeof rest, 0) == (long)sizeof rest, "send: %s", strerror(errno));
        }
        pthread_join(t, NULL);
        report(call, w.result, w.err);
        show("  data", buf, w.result);
        CHECK(send(a, "after", 5, 0) == 5, "send: %s", strerror(errno));
        say("main thread: data is there: %s", yesno(wait_fd(b, POLLIN) == 1));
        n = REPORT("main thread receives", recv(b, small, sizeof small, MSG_DONTWAIT));
        show("  data", small, n);
    } else if (strcmp(call, "send-partial") == 0) {
        unsigned long long sum = 0;
        long got;
        if (ends) {
            got = drain_until_done(&w, b, &sum);
            pthread_join(t, NULL);
            if (w.result > 0 && (size_t)w.result < SEND_LEN) /* how much fit is the kernel's business */
                say("%s -> a short count", call);
            else
                report(call, w.result, w.err);
        } else {
            got = (long)read_full(b, back, SEND_LEN);
            sum = fnv1a(back, (size_t)got, 0);
            pthread_join(t, NULL);
            report(call, w.result, w.err);
        }
        say("the peer got exactly what send reported: %s", yesno(w.result >= 0 && got == w.result && sum == fnv1a(buf, (size_t)got, 0)));
        struct pollfd pf = {.fd = b, .events = POLLIN};
        say("no stray send shows up later: %s", yesno(poll(&pf, 1, 300) == 0));
    } else if (strcmp(call, "accept") == 0) {
        c = connect_to(&addr, addr_len);
        pthread_join(t, NULL);
        report_fd(call, w.result, w.err);
        if (w.result >= 0) {
            close((int)w.result);
        } else {
            say("main thread: the connection is pending: %s", yesno(wait_fd(l, POLLIN) == 1));
            int s = REPORT_FD("main thread accepts", accept4(l, NULL, NULL, SOCK_NONBLOCK));
            close(s);
        }
    } else if (strcmp(call, "write") == 0) {
        if (ends) {
            long got = drain_until_done(&w, p[0], NULL);
            pthread_join(t, NULL);
            report(call, w.result, w.err);
            say("pipe holds exactly the fill: %s", yesno(got == filled));
        } else {
            size_t got = read_full(p[0], back, (size_t)filled + 100);
            pthread_join(t, NULL);
            report(call, w.result, w.err);
            say("main thread read the fill and the 100 bytes: %s", yesno(got == (size_t)filled + 100 && back[filled] == 'W' && back[filled + 99] == 'W'));
            say("nothing more: %s", yesno(drain_now(p[0], NULL) == 0));
        }
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        say("no stray write shows up later: %s", yesno(poll(&pf, 1, 300) == 0));
    } else {
        unsigned long long sum = 0;
        long got;
        if (ends) {
            got = drain_until_done(&w, p[0], &sum);
            pthread_join(t, NULL);
            report(call, w.result, w.err);
        } else {
            got = (long)read_full(p[0], back, PARTIAL_LEN);
            sum = fnv1a(back, (size_t)got, 0);
            pthread_join(t, NULL);
            report(call, w.result, w.err);
        }
        say("the pipe held exactly what write reported: %s", yesno(w.result >= 0 && got == w.result && sum == fnv1a(buf, (size_t)got, 0)));
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        say("no stray write shows up later: %s", yesno(poll(&pf, 1, 300) == 0));
    }
    say("handler runs in all -> %d", atomic_load(&handled));
    struct sigaction now;
    sigaction(sig, NULL, &now);
    say("disposition afterwards -> %s", now.sa_handler == SIG_DFL ? "SIG_DFL" : now.sa_handler == SIG_IGN ? "SIG_IGN" : "handler");
    int fds[] = {p[0], p[1], a, b, l, c};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return 0;
}
