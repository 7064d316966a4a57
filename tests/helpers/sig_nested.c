/* sig_nested same|other: signal handlers that do I/O themselves while the interrupted thread is blocked in
 * read (SEMANTICS row 6). A second thread sends SIGUSR1 (SA_RESTART) 200 times to the main thread, each
 * time once the main thread is blocked in read on pipe A. The handler writes a record to pipe B and reads it
 * back, sends one over a socket pair and receives it, and then
 *   same:  writes record i into pipe A, which ends the main thread's blocked read with exactly that record;
 *   other: touches nothing of pipe A; the main thread's read goes on until the sender writes the end mark.
 * Records must arrive whole and in order, the handler's own I/O must see its own data, errno must survive. */
#include "netsig.h"

#define ROUNDS 200
#define REC 10

static int pipe_a[2], pipe_b[2], sock[2];
static int write_into_a;
static atomic_int handled, handler_errors;

/* "rec-00042\n": built by hand, snprintf is not async-signal-safe. */
static void make_record(char *out, const char *tag, int i)
{
    memcpy(out, tag, 4);
    for (int k = 8; k >= 4; k--) {
        out[k] = (char)('0' + i % 10);
        i /= 10;
    }
    out[9] = '\n';
}

static void on_usr1(int s)
{
    (void)s;
    int saved = errno;
    int i = atomic_load(&handled);
    char rec[REC], back[REC];
    make_record(rec, "pin-", i);
    if (write(pipe_b[1], rec, REC) != REC || read(pipe_b[0], back, REC) != REC || memcmp(rec, back, REC) != 0)
        atomic_fetch_add(&handler_errors, 1);
    make_record(rec, "skt-", i);
    if (send(sock[0], rec, REC, 0) != REC || recv(sock[1], back, REC, MSG_WAITALL) != REC || memcmp(rec, back, REC) != 0)
        atomic_fetch_add(&handler_errors, 1);
    if (write_into_a) {
        make_record(rec, "rec-", i);
        if (write(pipe_a[1], rec, REC) != REC)
            atomic_fetch_add(&handler_errors, 1);
    }
    atomic_fetch_add(&handled, 1);
    errno = saved;
}

static pid_t main_tid;
static atomic_int records_read;

static void *sender(void *unused)
{
    (void)unused;
    for (int i = 0; i < ROUNDS; i++) {
        if (write_into_a)
            wait_atomic_at_least(&records_read, i, "the main thread's read");
        wait_blocked(main_tid, NULL);
        CHECK(kill(getpid(), SIGUSR1) == 0, "kill");
        wait_atomic_at_least(&handled, i + 1, "the handler");
    }
    if (!write_into_a) {
        wait_blocked(main_tid, NULL);
        CHECK(write(pipe_a[1], "end-mark!\n", REC) == REC, "write: %s", strerror(errno));
    }
    return NULL;
}

int main(int argc, char **argv)
{
    CHECK(argc == 2 && (strcmp(argv[1], "same") == 0 || strcmp(argv[1], "other") == 0), "usage: sig_nested same|other");
    write_into_a = strcmp(argv[1], "same") == 0;
    CHECK(pipe(pipe_a) == 0 && pipe(pipe_b) == 0, "pipe: %s", strerror(errno));
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) == 0, "socketpair: %s", strerror(errno));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction: %s", strerror(errno));

    /* only the main thread takes SIGUSR1: the sender blocks it (the mask is inherited, then restored) */
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, &old);
    main_tid = gettid();
    pthread_t t;
    CHECK(pthread_create(&t, NULL, sender, NULL) == 0, "pthread_create");
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    int in_order = 0, bad = 0;
    char rec[REC + 1], want[REC];
    for (int i = 0; i < (write_into_a ? ROUNDS : 1); i++) {
        errno = 0;
        long n = read(pipe_a[0], rec, REC);
        if (n != REC) {
            report("read on pipe A", n, errno);
            bad++;
            break;
        }
        if (write_into_a) {
            make_record(want, "rec-", i);
            if (memcmp(rec, want, REC) == 0)
                in_order++;
            else
                bad++;
            atomic_store(&records_read, i + 1);
        } else {
            show("read on pipe A", rec, n);
        }
    }
    pthread_join(t, NULL);
    if (write_into_a)
        say("records read whole and in order -> %d of %d", in_order, ROUNDS);
    say("records out of place -> %d", bad);
    say("handler runs -> %d", atomic_load(&handled));
    say("handler I/O mismatches -> %d", atomic_load(&handler_errors));
    say("pipe A empty afterwards: %s", yesno(drain_now(pipe_a[0], NULL) == 0));
    say("pipe B empty afterwards: %s", yesno(drain_now(pipe_b[0], NULL) == 0));
    return 0;
}
