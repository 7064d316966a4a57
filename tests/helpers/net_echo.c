/* net_echo tcp|unix thread|child: an echo exchange of 4 MiB. The server (main thread) accepts one client and
 * sends back everything it receives (recv/send, random sizes); the client, a pair of threads in this process
 * or in a forked child, sends the stream in random-sized chunks (send, write, sendmsg in turn) while it reads
 * the echo (recv, read, recvmsg in turn). Both sides print byte counts and FNV-1a checksums. */
#include "netsig.h"
#include <sys/uio.h>
#include <sys/wait.h>

#define TOTAL (4u << 20)

static int family;
static struct sockaddr_storage addr;
static socklen_t addr_len;

struct client {
    int fd;
    unsigned long long sent_sum, got_sum;
    size_t sent, got;
};

static void *client_writer(void *p)
{
    struct client *c = p;
    static unsigned char chunk[100000];
    unsigned long long seed = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; c->sent < TOTAL; i++) {
        size_t n = 1 + rng_next(&seed) % sizeof chunk;
        if (n > TOTAL - c->sent)
            n = TOTAL - c->sent;
        fill_pattern(chunk, n, c->sent);
        long w;
        if (i % 3 == 0) {
            w = send(c->fd, chunk, n, 0);
        } else if (i % 3 == 1) {
            w = write(c->fd, chunk, n);
        } else {
            struct iovec iov[2] = {{chunk, n / 2}, {chunk + n / 2, n - n / 2}};
            w = sendmsg(c->fd, &(struct msghdr){.msg_iov = iov, .msg_iovlen = 2}, 0);
        }
        CHECK(w == (long)n, "client send %zu: %ld (%s)", n, w, w < 0 ? strerror(errno) : "short");
        c->sent_sum = fnv1a(chunk, n, c->sent_sum);
        c->sent += n;
    }
    CHECK(shutdown(c->fd, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
    return NULL;
}

static void client_reader(struct client *c)
{
    static unsigned char buf[70000];
    for (int i = 0;; i++) {
        long r;
        if (i % 3 == 0) {
            r = recv(c->fd, buf, sizeof buf, 0);
        } else if (i % 3 == 1) {
            r = read(c->fd, buf, sizeof buf);
        } else {
            struct iovec iov[2] = {{buf, 1000}, {buf + 1000, sizeof buf - 1000}};
            r = recvmsg(c->fd, &(struct msghdr){.msg_iov = iov, .msg_iovlen = 2}, 0);
        }
        CHECK(r >= 0, "client receive: %s", strerror(errno));
        if (r == 0)
            break;
        c->got_sum = fnv1a(buf, (size_t)r, c->got_sum);
        c->got += (size_t)r;
    }
}

/* Runs the whole client: connect, write in a thread, read here. */
static void run_client(struct client *c)
{
    c->fd = connect_to(&addr, addr_len);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, client_writer, c) == 0, "pthread_create");
    client_reader(c);
    pthread_join(t, NULL);
    close(c->fd);
    say("client sent %zu bytes, checksum %016llx", c->sent, c->sent_sum);
    say("client received %zu bytes, checksum %016llx", c->got, c->got_sum);
    say("client checksums equal: %s", yesno(c->sent == c->got && c->sent_sum == c->got_sum));
}

static void *client_thread(void *p)
{
    run_client(p);
    return NULL;
}

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: net_echo tcp|unix thread|child");
    family = family_of(argv[1]);
    int lfd = make_listener(family, &addr, &addr_len);
    int child = strcmp(argv[2], "child") == 0;
    CHECK(child || strcmp(argv[2], "thread") == 0, "unknown client kind %s", argv[2]);

    struct client c = {0};
    pthread_t t;
    pid_t pid = -1;
    if (child) {
        pid = fork();
        CHECK(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0) {
            close(lfd);
            run_client(&c);
            exit(c.sent == TOTAL && c.got == TOTAL && c.sent_sum == c.got_sum ? 0 : 1);
        }
    } else {
        CHECK(pthread_create(&t, NULL, client_thread, &c) == 0, "pthread_create");
    }

    int s = accept(lfd, NULL, NULL);
    CHECK(s >= 0, "accept: %s", strerror(errno));
    static unsigned char buf[65536];
    unsigned long long seed = 0x2545f4914f6cdd1dULL, sum = 0;
    size_t total = 0;
    for (;;) {
        size_t want = 1 + rng_next(&seed) % sizeof buf;
        long r = recv(s, buf, want, 0);
        CHECK(r >= 0, "server recv: %s", strerror(errno));
        if (r == 0)
            break;
        sum = fnv1a(buf, (size_t)r, sum);
        total += (size_t)r;
        for (long off = 0; off < r;) {
            long w = send(s, buf + off, (size_t)(r - off), 0);
            CHECK(w > 0, "server send: %s", w < 0 ? strerror(errno) : "sent 0");
            off += w;
        }
    }
    close(s);
    if (child) {
        int st;
        CHECK(waitpid(pid, &st, 0) == pid, "waitpid: %s", strerror(errno));
        say("client exit status -> %d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    } else {
        pthread_join(t, NULL);
    }
    say("server echoed %zu bytes, checksum %016llx", total, sum);
    close(lfd);
    return 0;
}
