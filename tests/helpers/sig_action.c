/* sig_action MODE: the program's signal dispositions stay exactly its own under the shim, whatever the
 * shim does internally with handlers (SEMANTICS row 5: "track it, e.g. by wrapping sigaction/signal").
 *   startup    no disposition or blocked signal differs from the defaults the program inherited, before
 *              and after I/O through the shim in two threads
 *   query      sigaction(sig, NULL, &old), the old action returned by sigaction and signal(), flags and
 *              masks after sigaction, signal, siginterrupt, sysv_signal, SIG_IGN, SA_SIGINFO, SA_NOCLDSTOP
 *   siginfo    an SA_SIGINFO|SA_RESTART handler gets the right si_signo, si_code, si_pid and si_value for
 *              pthread_kill, kill, sigqueue and a real-time signal, delivered to a thread blocked in read;
 *              the read then returns the data written afterwards
 *   mask       while the handler runs, sa_mask and the signal itself are blocked (not with SA_NODEFER);
 *              after it, the thread's mask is what it was
 *   resethand  SA_RESETHAND (no SA_RESTART): the blocked read fails EINTR, the handler ran once, the
 *              disposition reads back as SIG_DFL, and the next SIGUSR1 kills the process (status 138) */
#include "netsig.h"

static atomic_int handled;
static int seen_signo, seen_code, seen_pid, seen_value, seen_ctx;
static sigset_t seen_mask;

static void h1(int s) { (void)s; atomic_fetch_add(&handled, 1); }
static void h2(int s) { (void)s; atomic_fetch_add(&handled, 1); }
static void h3(int s, siginfo_t *si, void *ctx)
{
    seen_signo = si->si_signo;
    seen_code = si->si_code;
    seen_pid = si->si_pid;
    seen_value = si->si_value.sival_int;
    seen_ctx = ctx != NULL;
    pthread_sigmask(SIG_BLOCK, NULL, &seen_mask);
    (void)s;
    atomic_fetch_add(&handled, 1);
}
static void h_mask(int s)
{
    pthread_sigmask(SIG_BLOCK, NULL, &seen_mask);
    (void)s;
    atomic_fetch_add(&handled, 1);
}

static const char *handler_name(void (*h)(int))
{
    if (h == SIG_DFL) return "SIG_DFL";
    if (h == SIG_IGN) return "SIG_IGN";
    if (h == h1) return "h1";
    if (h == h2) return "h2";
    if (h == h_mask) return "h_mask";
    return "a handler the program never installed";
}

static const char *action_name(const struct sigaction *a)
{
    return a->sa_sigaction == h3 ? "h3" : handler_name(a->sa_handler);
}

static void print_set(const char *label, const sigset_t *set)
{
    printf("%s ->", label);
    int any = 0;
    for (int s = 1; s <= SIGRTMAX; s++) {
        if (sigismember(set, s) == 1) {
            printf(" %d", s);
            any = 1;
        }
    }
    printf("%s\n", any ? "" : " none");
    fflush(stdout);
}

static void print_action(const char *label, int signo)
{
    struct sigaction old;
    memset(&old, 0, sizeof old);
    int r = sigaction(signo, NULL, &old);
    say("%s: sigaction -> %d", label, r);
    say("  handler -> %s", action_name(&old));
    say("  flags -> 0x%x", (unsigned)old.sa_flags);
    print_set("  mask", &old.sa_mask);
}

static void install(int signo, void (*h)(int), int flags, int mask_sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    if (mask_sig)
        sigaddset(&sa.sa_mask, mask_sig);
    sa.sa_handler = h;
    sa.sa_flags = flags;
    CHECK(sigaction(signo, &sa, NULL) == 0, "sigaction: %s", strerror(errno));
}

/* Some I/O that goes through the shim, so that it has set itself up. */
static void *do_io(void *unused)
{
    (void)unused;
    int p[2], a, b;
    char buf[8];
    CHECK(pipe(p) == 0, "pipe");
    CHECK(write(p[1], "io", 2) == 2 && read(p[0], buf, sizeof buf) == 2, "pipe I/O");
    make_pair(AF_UNIX, &a, &b);
    CHECK(send(a, "io", 2, 0) == 2 && recv(b, buf, sizeof buf, 0) == 2, "socket I/O");
    close(p[0]);
    close(p[1]);
    close(a);
    close(b);
    return NULL;
}

static void print_dispositions(const char *when)
{
    printf("%s: signals not at SIG_DFL ->", when);
    int any = 0;
    for (int s = 1; s <= SIGRTMAX; s++) {
        struct sigaction old;
        if (s == SIGKILL || s == SIGSTOP || sigaction(s, NULL, &old) != 0)
            continue; /* glibc keeps two real-time signals for itself and refuses them */
        if (old.sa_handler != SIG_DFL) {
            printf(" %d=%s", s, old.sa_handler == SIG_IGN ? "SIG_IGN" : "handler");
            any = 1;
        }
    }
    printf("%s\n", any ? "" : " none");
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    char label[80];
    snprintf(label, sizeof label, "%s: blocked in this thread", when);
    print_set(label, &cur);
}

static void *print_thread_mask(void *unused)
{
    (void)unused;
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    print_set("a new thread: blocked", &cur);
    do_io(NULL);
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    print_set("a new thread after its I/O: blocked", &cur);
    return NULL;
}

static int run_startup(void)
{
    print_dispositions("at start");
    do_io(NULL);
    print_dispositions("after I/O in the main thread");
    pthread_t t;
    CHECK(pthread_create(&t, NULL, print_thread_mask, NULL) == 0, "pthread_create");
    pthread_join(t, NULL);
    print_dispositions("after I/O in a second thread");
    return 0;
}

static int run_query(void)
{
    do_io(NULL);
    print_action("SIGUSR1 untouched", SIGUSR1);
    install(SIGUSR1, h1, SA_RESTART, SIGUSR2);
    print_action("after sigaction h1 SA_RESTART mask USR2", SIGUSR1);
    do_io(NULL);
    print_action("after more I/O", SIGUSR1);

    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = h2;
    memset(&old, 0, sizeof old);
    REPORT("sigaction h2 flags 0, asking for the old action", sigaction(SIGUSR1, &sa, &old));
    say("  old handler -> %s", action_name(&old));
    say("  old flags -> 0x%x", (unsigned)old.sa_flags);
    print_set("  old mask", &old.sa_mask);
    print_action("after sigaction h2", SIGUSR1);

    void (*prev)(int) = signal(SIGUSR1, h1);
    say("signal(SIGUSR1, h1) returned -> %s", handler_name(prev));
    print_action("after signal h1", SIGUSR1);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    REPORT("siginterrupt(SIGUSR1, 1)", siginterrupt(SIGUSR1, 1));
    print_action("after siginterrupt 1", SIGUSR1);
    REPORT("siginterrupt(SIGUSR1, 0)", siginterrupt(SIGUSR1, 0));
    print_action("after siginterrupt 0", SIGUSR1);
#pragma GCC diagnostic pop
    prev = sysv_signal(SIGUSR1, h2);
    say("sysv_signal(SIGUSR1, h2) returned -> %s", handler_name(prev));
    print_action("after sysv_signal h2", SIGUSR1);
    prev = signal(SIGUSR1, SIG_IGN);
    say("signal(SIGUSR1, SIG_IGN) returned -> %s", handler_name(prev));
    print_action("after SIG_IGN", SIGUSR1);

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGTERM);
    sa.sa_sigaction = h3;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
    REPORT("sigaction h3 SA_SIGINFO|SA_RESTART|SA_NODEFER mask TERM", sigaction(SIGUSR2, &sa, NULL));
    memset(&old, 0, sizeof old);
    sigaction(SIGUSR2, NULL, &old);
    say("  sa_sigaction is h3: %s", yesno(old.sa_sigaction == h3));
    print_action("SIGUSR2", SIGUSR2);
    install(SIGCHLD, h1, SA_NOCLDSTOP | SA_RESTART, 0);
    print_action("SIGCHLD with SA_NOCLDSTOP", SIGCHLD);
    install(SIGRTMIN + 2, h2, SA_ONSTACK, SIGRTMIN + 3);
    print_action("SIGRTMIN+2 with SA_ONSTACK", SIGRTMIN + 2);
    install(SIGUSR1, SIG_DFL, 0, 0);
    print_action("SIGUSR1 back to SIG_DFL", SIGUSR1);
    REPORT("sigaction on SIGKILL", sigaction(SIGKILL, &sa, NULL));
    REPORT("sigaction on signal 0", sigaction(0, NULL, &old));
    REPORT("sigaction on signal 65", sigaction(65, NULL, &old));
    say("signal(SIGSTOP, h1) is SIG_ERR: %s", yesno(signal(SIGSTOP, h1) == SIG_ERR));
    return 0;
}

struct reader {
    int fd;
    pid_t tid;
    atomic_int started, done;
    long result;
    int err;
    char buf[16];
    sigset_t before, after;
};

static void *reader_main(void *p)
{
    struct reader *r = p;
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    pthread_sigmask(SIG_BLOCK, NULL, &r->before);
    r->tid = gettid();
    atomic_store(&r->started, 1);
    errno = 0;
    r->result = read(r->fd, r->buf, sizeof r->buf);
    r->err = errno;
    pthread_sigmask(SIG_BLOCK, NULL, &r->after);
    atomic_store(&r->done, 1);
    return NULL;
}

/* A reader thread blocked in read on a fresh pipe; the main thread blocks every signal this helper sends,
 * so that those sent to the process go to the reader. */
static pthread_t start_reader(struct reader *r, int p[2])
{
    CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
    r->fd = p[0];
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGUSR2);
    sigaddset(&s, SIGRTMIN + 1);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, reader_main, r) == 0, "pthread_create");
    wait_atomic_at_least(&r->started, 1, "reader start");
    say("read was blocked: %s", yesno(wait_blocked(r->tid, &r->done)));
    return t;
}

static void print_seen(const char *how, int signo)
{
    say("%s: handler runs -> %d", how, atomic_load(&handled));
    say("  si_signo is the signal sent: %s", yesno(seen_signo == signo));
    const char *code = seen_code == SI_USER ? "SI_USER" : seen_code == SI_TKILL ? "SI_TKILL"
                     : seen_code == SI_QUEUE ? "SI_QUEUE" : "other";
    say("  si_code -> %s", code);
    say("  si_pid is this process: %s", yesno(seen_pid == getpid()));
    if (seen_code == SI_QUEUE)
        say("  si_value -> %d", seen_value);
    say("  context given: %s", yesno(seen_ctx));
}

/* Installs h3 for signo as an SA_SIGINFO handler (so it sees siginfo and the context), with flags besides. */
static void install_h3(int signo, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_sigaction = h3;
    sa.sa_flags = SA_SIGINFO | flags;
    CHECK(sigaction(signo, &sa, NULL) == 0, "sigaction");
}

static int run_siginfo(void)
{
    install_h3(SIGUSR1, SA_RESTART);
    install_h3(SIGRTMIN + 1, SA_RESTART);
    do_io(NULL);
    struct reader r = {0};
    int p[2];
    pthread_t t = start_reader(&r, p);
    int want = 0;

    CHECK(pthread_kill(t, SIGUSR1) == 0, "pthread_kill");
    wait_atomic_at_least(&handled, ++want, "handler");
    print_seen("pthread_kill SIGUSR1", SIGUSR1);
    say("  read still blocked: %s", yesno(wait_blocked(r.tid, &r.done)));

    CHECK(kill(getpid(), SIGUSR1) == 0, "kill");
    wait_atomic_at_least(&handled, ++want, "handler");
    print_seen("kill SIGUSR1", SIGUSR1);
    say("  read still blocked: %s", yesno(wait_blocked(r.tid, &r.done)));

    CHECK(sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 4242}) == 0, "sigqueue");
    wait_atomic_at_least(&handled, ++want, "handler");
    print_seen("sigqueue SIGUSR1 4242", SIGUSR1);
    say("  read still blocked: %s", yesno(wait_blocked(r.tid, &r.done)));

    CHECK(sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = -7}) == 0, "sigqueue");
    wait_atomic_at_least(&handled, ++want, "handler");
    print_seen("sigqueue SIGRTMIN+1 -7", SIGRTMIN + 1);
    say("  read still blocked: %s", yesno(wait_blocked(r.tid, &r.done)));

    CHECK(write(p[1], "after", 5) == 5, "write");
    pthread_join(t, NULL);
    report("read", r.result, r.err);
    show("  data", r.buf, r.result);
    say("handler runs in all -> %d", atomic_load(&handled));
    return 0;
}

static int run_mask(void)
{
    int p[2];
    for (int nodefer = 0; nodefer <= 1; nodefer++) {
        install(SIGUSR1, h_mask, SA_RESTART | (nodefer ? SA_NODEFER : 0), SIGUSR2);
        atomic_store(&handled, 0);
        do_io(NULL);
        struct reader r = {0};
        pthread_t t = start_reader(&r, p);
        CHECK(pthread_kill(t, SIGUSR1) == 0, "pthread_kill");
        wait_atomic_at_least(&handled, 1, "handler");
        say("%s: in the handler, SIGUSR1 blocked -> %d", nodefer ? "SA_NODEFER" : "no SA_NODEFER", sigismember(&seen_mask, SIGUSR1));
        say("  in the handler, SIGUSR2 (sa_mask) blocked -> %d", sigismember(&seen_mask, SIGUSR2));
        say("  in the handler, SIGTERM blocked -> %d", sigismember(&seen_mask, SIGTERM));
        say("  read still blocked: %s", yesno(wait_blocked(r.tid, &r.done)));
        CHECK(write(p[1], "x", 1) == 1, "write");
        pthread_join(t, NULL);
        report("  read", r.result, r.err);
        say("  thread mask after the read is the one before: %s", yesno(memcmp(&r.before, &r.after, sizeof r.before) == 0));
        print_set("  thread mask after", &r.after);
        close(p[0]);
        close(p[1]);
        sigset_t s;
        sigemptyset(&s);
        pthread_sigmask(SIG_SETMASK, &s, NULL);
    }
    return 0;
}

static int run_resethand(void)
{
    install_h3(SIGUSR1, SA_RESETHAND);
    print_action("installed", SIGUSR1);
    do_io(NULL);
    struct reader r = {0};
    int p[2];
    pthread_t t = start_reader(&r, p);
    CHECK(pthread_kill(t, SIGUSR1) == 0, "pthread_kill");
    pthread_join(t, NULL);
    report("read", r.result, r.err);
    say("handler runs -> %d", atomic_load(&handled));
    print_action("after the handler ran", SIGUSR1);
    do_io(NULL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    say("sending SIGUSR1 again: the default action ends the process");
    raise(SIGUSR1);
    say("still alive after the second SIGUSR1");
    return 0;
}

int main(int argc, char **argv)
{
    CHECK(argc == 2, "usage: sig_action startup|query|siginfo|mask|resethand");
    if (strcmp(argv[1], "startup") == 0)
        return run_startup();
    if (strcmp(argv[1], "query") == 0)
        return run_query();
    if (strcmp(argv[1], "siginfo") == 0)
        return run_siginfo();
    if (strcmp(argv[1], "mask") == 0)
        return run_mask();
    if (strcmp(argv[1], "resethand") == 0)
        return run_resethand();
    die("unknown mode %s", argv[1]);
}
