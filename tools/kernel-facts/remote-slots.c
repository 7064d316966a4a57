/* remote-slots: can one thread drop a registered file from another thread's ring, and at what price?
 * The experiment behind docs/kernel-facts.md's rows on registered files in multi-threaded processes.
 * Not built by make: cc -O2 -o remote-slots tools/kernel-facts/remote-slots.c -luring -lpthread
 *
 * 1. io_uring_register(FILES_UPDATE) from a second thread, for each set-up flag combination;
 * 2. IORING_OP_MSG_RING with IORING_MSG_SEND_FD (6.0) from thread A's ring into slot 0 of thread B's
 *    SINGLE_ISSUER|DEFER_TASKRUN ring, which holds one end of a socket pair, replacing it with /dev/null;
 *    then A closes its descriptor of that end: does the peer read EOF at once? B is busy in user code,
 *    or blocked in read, epoll_wait, poll or nanosleep: does B's call notice (return early, EINTR)?
 *    A control run without the MSG_RING shows that the peer sees no EOF while the slot holds the socket.
 * Prints what it found; exit 0, 77 when the kernel lacks io_uring or MSG_RING, 1 on failure. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static struct io_uring ring; /* part 1 */
static int other_result;

static void *register_from_other(void *arg)
{
    int fd = *(int *)arg;
    struct io_uring_files_update up = {.offset = 0, .fds = (unsigned long)&fd};
    long r = syscall(SYS_io_uring_register, ring.ring_fd, IORING_REGISTER_FILES_UPDATE, &up, 1);
    other_result = r < 0 ? -errno : (int)r;
    return NULL;
}

static void other_thread_update(unsigned flags, const char *name)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = flags;
    int r = io_uring_queue_init_params(8, &ring, &p);
    if (r < 0) {
        printf("%-28s set-up refused: %s\n", name, strerror(-r));
        return;
    }
    int nul = open("/dev/null", O_RDONLY);
    if (io_uring_register_files_sparse(&ring, 4) < 0) {
        printf("%-28s no sparse file table\n", name);
        exit(77);
    }
    pthread_t t;
    pthread_create(&t, NULL, register_from_other, &nul);
    pthread_join(t, NULL);
    printf("%-28s FILES_UPDATE from another thread: %s\n", name,
           other_result < 0 ? strerror(-other_result) : "done");
    close(nul);
    io_uring_queue_exit(&ring);
}

/* part 2 */
enum { BUSY, READ, EPOLL, POLL, SLEEP, NMODES };
static const char *const mode_name[] = {"busy in user code", "blocked in read", "blocked in epoll_wait",
                                        "blocked in poll", "blocked in nanosleep"};
static struct io_uring bring;
static volatile int b_ready, b_done, b_stop, b_ret, b_err;
static int sock[2], wake[2], mode;

static void *b_thread(void *arg)
{
    (void)arg;
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    if (io_uring_queue_init_params(8, &bring, &p) < 0 || io_uring_register_files_sparse(&bring, 4) < 0 ||
        io_uring_register_files_update(&bring, 0, &sock[0], 1) != 1) {
        fprintf(stderr, "remote-slots: B's ring or its file table refused\n");
        exit(77);
    }
    b_ready = 1;
    char c;
    int r = 0;
    if (mode == BUSY) {
        while (!b_stop)
            ;
    } else if (mode == READ) {
        r = (int)read(wake[0], &c, 1);
    } else if (mode == EPOLL) {
        int ep = epoll_create1(0);
        struct epoll_event ev = {.events = EPOLLIN};
        epoll_ctl(ep, EPOLL_CTL_ADD, wake[0], &ev);
        r = epoll_wait(ep, &ev, 1, -1);
        close(ep);
    } else if (mode == POLL) {
        struct pollfd pf = {wake[0], POLLIN, 0};
        r = poll(&pf, 1, -1);
    } else {
        struct timespec ts = {0, 200000000};
        r = nanosleep(&ts, NULL);
    }
    b_err = r < 0 ? errno : 0;
    b_ret = r;
    b_done = 1;
    return NULL;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void erase_remote(int rounds, bool erase)
{
    int no_eof = 0, early = 0, eintr = 0;
    double worst = 0;
    for (int i = 0; i < rounds; i++) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sock) < 0 || pipe(wake) < 0)
            exit(1);
        b_ready = b_done = b_stop = 0;
        pthread_t t;
        pthread_create(&t, NULL, b_thread, NULL);
        while (!b_ready)
            ;
        if (mode != BUSY)
            usleep(2000); /* B is asleep in its call by now (the result does not depend on it) */
        struct io_uring aring;
        struct io_uring_params p;
        memset(&p, 0, sizeof(p));
        p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
        int nul = open("/dev/null", O_RDONLY);
        if (io_uring_queue_init_params(8, &aring, &p) < 0 || io_uring_register_files(&aring, &nul, 1) < 0)
            exit(1);
        if (erase) {
            double t0 = now_us();
            struct io_uring_sqe *sqe = io_uring_get_sqe(&aring);
            /* liburing 2.3 has no io_uring_prep_msg_ring_fd: source fixed slot in addr3, target slot + 1
             * in file_index */
            io_uring_prep_rw(IORING_OP_MSG_RING, sqe, bring.ring_fd, (void *)(uintptr_t)IORING_MSG_SEND_FD, 0, 0);
            sqe->addr3 = 0;
            sqe->file_index = 1;
            io_uring_submit(&aring);
            struct io_uring_cqe *cqe;
            io_uring_wait_cqe(&aring, &cqe);
            if (cqe->res < 0) {
                printf("MSG_RING SEND_FD refused: %s\n", strerror(-cqe->res));
                exit(cqe->res == -EINVAL ? 77 : 1);
            }
            io_uring_cqe_seen(&aring, cqe);
            if (now_us() - t0 > worst)
                worst = now_us() - t0;
        }
        close(sock[0]);
        char c;
        fcntl(sock[1], F_SETFL, O_NONBLOCK);
        if (read(sock[1], &c, 1) != 0)
            no_eof++;
        if (mode != BUSY) {
            usleep(1000);
            if (b_done) {
                early++;
                eintr += b_ret < 0 && b_err == EINTR;
            }
        }
        b_stop = 1;
        if (write(wake[1], "x", 1) != 1)
            exit(1);
        pthread_join(t, NULL);
        io_uring_queue_exit(&bring);
        io_uring_queue_exit(&aring);
        close(nul);
        close(sock[1]);
        close(wake[0]);
        close(wake[1]);
    }
    printf("B %-22s %s: %d rounds, peer without EOF right after close: %d", mode_name[mode],
           erase ? "MSG_RING erase" : "no erase (control)", rounds, no_eof);
    if (erase)
        printf(", worst wait %.0f us", worst);
    if (mode != BUSY)
        printf(", B's call returned before it was woken: %d (EINTR: %d)", early, eintr);
    printf("\n");
}

int main(void)
{
    other_thread_update(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "SINGLE_ISSUER|DEFER_TASKRUN");
    other_thread_update(IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER");
    other_thread_update(IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN alone");
    other_thread_update(IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CLAMP, "COOP_TASKRUN|CLAMP");
    other_thread_update(0, "no flags");
    mode = BUSY;
    erase_remote(20, false);
    for (mode = BUSY; mode < NMODES; mode++)
        erase_remote(mode == BUSY ? 1000 : 100, true);
    return 0;
}
