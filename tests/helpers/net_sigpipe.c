/* net_sigpipe TARGET CALL DISPOSITION: writing to a connection that cannot take data (SEMANTICS row 10).
 *   TARGET unix       AF_UNIX stream whose peer closed
 *          tcp        TCP socket shut down for writing (shutdown SHUT_WR)
 *          tcp-reset  TCP socket whose peer reset the connection: the first call fails ECONNRESET with no
 *                     signal, the next one EPIPE with SIGPIPE
 *          pipe       pipe whose read end is closed (CALL write only)
 *   CALL write|send|sendto|sendmsg (each is made twice)
 *   DISPOSITION default   SIGPIPE kills the process (exit status 141 seen by the shell)
 *               ignore    SIG_IGN: EPIPE, nothing else
 *               handler   a handler: it ran once per failed call, in the calling thread, before the call
 *                         returned
 *               siginfo   an SA_SIGINFO handler: si_signo, si_code, si_pid and si_uid as the kernel sets them
 *               blocked   SIGPIPE blocked: EPIPE, and SIGPIPE pending for the calling thread
 *               nosignal  MSG_NOSIGNAL (send, sendto, sendmsg): EPIPE, the installed handler never runs */
#include "netsig.h"
#include <sys/uio.h>

static atomic_int handled;
static atomic_int in_call;
static atomic_int ran_during_call;
static pid_t handler_tid;
static int info_signo, info_code, info_pid, info_uid;

static void on_sigpipe(int sig)
{
    (void)sig;
    handler_tid = gettid();
    if (atomic_load(&in_call))
        atomic_fetch_add(&ran_during_call, 1);
    atomic_fetch_add(&handled, 1);
}

static void on_sigpipe_info(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    info_signo = si->si_signo;
    info_code = si->si_code;
    info_pid = si->si_pid;
    info_uid = (int)si->si_uid;
    on_sigpipe(sig);
}

static const char *code_name(int code)
{
    switch (code) {
    case SI_USER: return "SI_USER";
    case SI_KERNEL: return "SI_KERNEL";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TKILL: return "SI_TKILL";
    case SI_TIMER: return "SI_TIMER";
    case SI_MESGQ: return "SI_MESGQ";
    case SI_ASYNCIO: return "SI_ASYNCIO";
    default: return "other";
    }
}

static const char *call;
static int msg_flags;
static int out_fd;

static long do_call(void)
{
    long r;
    atomic_store(&in_call, 1);
    if (strcmp(call, "write") == 0) {
        r = write(out_fd, "data", 4);
    } else if (strcmp(call, "send") == 0) {
        r = send(out_fd, "data", 4, msg_flags);
    } else if (strcmp(call, "sendto") == 0) {
        r = sendto(out_fd, "data", 4, msg_flags, NULL, 0);
    } else {
        struct iovec iov = {"data", 4};
        r = sendmsg(out_fd, &(struct msghdr){.msg_iov = &iov, .msg_iovlen = 1}, msg_flags);
    }
    int e = errno;
    atomic_store(&in_call, 0);
    errno = e;
    return r;
}

/* Is SIGPIPE pending for this thread alone (SigPnd) and for the whole process (ShdPnd)? */
static void print_pending_where(void)
{
    char buf[4096];
    CHECK(read_small_file("/proc/thread-self/status", buf, sizeof buf) > 0, "status: %s", strerror(errno));
    unsigned long long bit = 1ULL << (SIGPIPE - 1), thread = 0, shared = 0;
    char *p = strstr(buf, "\nSigPnd:");
    if (p)
        thread = strtoull(p + 8, NULL, 16);
    p = strstr(buf, "\nShdPnd:");
    if (p)
        shared = strtoull(p + 8, NULL, 16);
    say("  SIGPIPE pending for the thread -> %d", !!(thread & bit));
    say("  SIGPIPE pending for the process -> %d", !!(shared & bit));
}

int main(int argc, char **argv)
{
    CHECK(argc == 4, "usage: net_sigpipe unix|tcp|tcp-reset|pipe write|send|sendto|sendmsg DISPOSITION");
    const char *target = argv[1], *disp = argv[3];
    call = argv[2];
    CHECK(strcmp(call, "write") == 0 || strcmp(call, "send") == 0 || strcmp(call, "sendto") == 0 ||
              strcmp(call, "sendmsg") == 0, "unknown call %s", call);

    /* the shell running us may have left SIGPIPE ignored or blocked: start from the default */
    signal(SIGPIPE, SIG_DFL);
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_UNBLOCK, &pipe_set, NULL);

    struct sigaction sa = {0};
    sigemptyset(&sa.sa_mask);
    if (strcmp(disp, "ignore") == 0) {
        sa.sa_handler = SIG_IGN;
    } else if (strcmp(disp, "handler") == 0 || strcmp(disp, "nosignal") == 0) {
        sa.sa_handler = on_sigpipe;
    } else if (strcmp(disp, "siginfo") == 0) {
        sa.sa_sigaction = on_sigpipe_info;
        sa.sa_flags = SA_SIGINFO;
    } else if (strcmp(disp, "blocked") == 0) {
        sa.sa_handler = SIG_DFL;
        pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    } else {
        CHECK(strcmp(disp, "default") == 0, "unknown disposition %s", disp);
        sa.sa_handler = SIG_DFL;
    }
    CHECK(sigaction(SIGPIPE, &sa, NULL) == 0, "sigaction: %s", strerror(errno));
    if (strcmp(disp, "nosignal") == 0) {
        CHECK(strcmp(call, "write") != 0, "write has no flags");
        msg_flags = MSG_NOSIGNAL;
    }

    /* the descriptor is used successfully first, so the shim has seen it working */
    char buf[16];
    if (strcmp(target, "pipe") == 0) {
        CHECK(strcmp(call, "write") == 0, "a pipe takes write only");
        int p[2];
        CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
        out_fd = p[1];
        REPORT("write while the reader is open", do_call());
        REPORT("reader reads", read(p[0], buf, sizeof buf));
        close(p[0]);
    } else if (strcmp(target, "unix") == 0 || strcmp(target, "tcp") == 0 || strcmp(target, "tcp-reset") == 0) {
        int a, b;
        make_pair(strcmp(target, "unix") == 0 ? AF_UNIX : AF_INET, &a, &b);
        out_fd = a;
        REPORT("call while the peer is open", do_call());
        REPORT("peer reads", recv(b, buf, 4, MSG_WAITALL));
        if (strcmp(target, "unix") == 0) {
            close(b);
        } else if (strcmp(target, "tcp") == 0) {
            REPORT("shutdown SHUT_WR", shutdown(a, SHUT_WR));
        } else {
            /* unread data makes close send a reset instead of FIN; wait until it has arrived */
            CHECK(send(a, "unread", 6, MSG_NOSIGNAL) == 6, "send: %s", strerror(errno));
            CHECK(wait_fd(b, POLLIN) == 1, "poll: %s", strerror(errno));
            close(b);
            struct pollfd pf = {.fd = a, .events = POLLIN};
            int tries = 0;
            while (poll(&pf, 1, 10000) == 1 && !(pf.revents & (POLLERR | POLLHUP)) && tries++ < 100)
                ;
            say("reset arrived: %s", yesno(pf.revents & (POLLERR | POLLHUP)));
        }
    } else {
        die("unknown target %s", target);
    }

    for (int i = 1; i <= 2; i++) {
        int before = atomic_load(&handled);
        char label[64];
        snprintf(label, sizeof label, "%s #%d on the broken %s", call, i, target);
        REPORT(label, do_call());
        say("  handler runs for this call -> %d", atomic_load(&handled) - before);
        if (atomic_load(&handled) > before) {
            say("  handler ran before the call returned: %s", yesno(atomic_load(&ran_during_call) == atomic_load(&handled)));
            say("  handler ran in the calling thread: %s", yesno(handler_tid == gettid()));
        }
        if (strcmp(disp, "siginfo") == 0 && atomic_load(&handled) > before) {
            say("  si_signo is SIGPIPE: %s", yesno(info_signo == SIGPIPE));
            say("  si_code -> %s", code_name(info_code));
            say("  si_pid is this process: %s", yesno(info_pid == getpid()));
            say("  si_uid is this user: %s", yesno(info_uid == (int)getuid()));
        }
        if (strcmp(disp, "blocked") == 0) {
            print_pending_where();
            siginfo_t si;
            struct timespec zero = {0, 0};
            int sig = sigtimedwait(&pipe_set, &si, &zero);
            say("  sigtimedwait -> %s", sig == SIGPIPE ? "SIGPIPE" : sig < 0 ? "nothing pending" : "other");
            if (sig == SIGPIPE) {
                say("  si_code -> %s", code_name(si.si_code));
                say("  si_pid is this process: %s", yesno(si.si_pid == getpid()));
            }
        }
    }
    say("alive at the end");
    return 0;
}
