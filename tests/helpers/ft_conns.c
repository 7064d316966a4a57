/* Many threads, many short-lived connections: a server thread accepts on loopback and echoes each
 * connection in a worker thread; client threads connect, send, read the echo and close, in a loop.
 * At the end: bytes sent and echoed per side, checksums, and how many descriptors were left open.
 *   ft_conns CLIENT_THREADS CONNECTIONS_PER_CLIENT */
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helper.h"

static int listener;
static struct sockaddr_in addr;
static int per_client;
static atomic_ullong sent_sum, echoed_sum, sent_bytes, echoed_bytes;

static void *echo_one(void *arg)
{
    int fd = (int)(long)arg;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        if (write(fd, buf, (size_t)n) != n)
            break;
    close(fd);
    return NULL;
}

static void *server(void *arg)
{
    int total = *(int *)arg;
    pthread_t workers[64];
    int running = 0;
    for (int i = 0; i < total; i++) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0)
            die("accept: %s", strerror(errno));
        if (running == 64) {
            for (int w = 0; w < running; w++)
                pthread_join(workers[w], NULL);
            running = 0;
        }
        pthread_create(&workers[running++], NULL, echo_one, (void *)(long)fd);
    }
    for (int w = 0; w < running; w++)
        pthread_join(workers[w], NULL);
    return NULL;
}

static void *client(void *arg)
{
    unsigned seed = (unsigned)(long)arg;
    char out[3000], in[3000];
    for (int c = 0; c < per_client; c++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
            die("connect: %s", strerror(errno));
        size_t len = 1 + rand_r(&seed) % sizeof(out);
        for (size_t i = 0; i < len; i++)
            out[i] = (char)rand_r(&seed);
        if (send(fd, out, len, 0) != (ssize_t)len)
            die("send");
        shutdown(fd, SHUT_WR);
        size_t got = 0;
        ssize_t n;
        while ((n = recv(fd, in + got, sizeof(in) - got, 0)) > 0)
            got += (size_t)n;
        close(fd);
        atomic_fetch_add(&sent_bytes, len);
        atomic_fetch_add(&echoed_bytes, got);
        atomic_fetch_add(&sent_sum, fnv1a(out, len, 0));
        atomic_fetch_add(&echoed_sum, fnv1a(in, got, 0));
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        die("usage: ft_conns CLIENT_THREADS CONNECTIONS_PER_CLIENT");
    int clients = atoi(argv[1]);
    per_client = atoi(argv[2]);
    int before = open_fds();
    listener = socket(AF_INET, SOCK_STREAM, 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) || listen(listener, 128) ||
        getsockname(listener, (struct sockaddr *)&addr, &len))
        die("listen: %s", strerror(errno));
    int total = clients * per_client;
    pthread_t srv, cl[64];
    pthread_create(&srv, NULL, server, &total);
    for (int i = 0; i < clients && i < 64; i++)
        pthread_create(&cl[i], NULL, client, (void *)(long)(i + 1));
    for (int i = 0; i < clients && i < 64; i++)
        pthread_join(cl[i], NULL);
    pthread_join(srv, NULL);
    close(listener);
    printf("connections %d\n", total);
    printf("bytes sent %llu echoed %llu\n", (unsigned long long)sent_bytes, (unsigned long long)echoed_bytes);
    printf("checksums match %d\n", sent_sum == echoed_sum);
    printf("descriptors leaked %d\n", open_fds() - before);
    return 0;
}
