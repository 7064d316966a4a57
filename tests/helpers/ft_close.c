/* Registered descriptors closed or replaced in every way a program can: after each, the peer of a
 * socket must see end-of-file at once (a registered file holds its own reference) and a reused
 * number must reach the new file. Each socket is used a few times first, so the shim registers it.
 *   ft_close WAY [threads]   WAY: close | close_range | closefrom | fclose | dup2 | syscall | reuse
 *   with "threads", a thread is created (and joined) first: registration is then off. */
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper.h"

static void *nothing(void *arg) { return arg; }

static void use(int fd, int peer)
{
    char c;
    for (int i = 0; i < 5; i++)
        if (write(fd, "x", 1) != 1 || read(peer, &c, 1) != 1)
            die("use: %s", strerror(errno));
}

/* The peer's view right after the close returned: 0 (end of file) or -1 EAGAIN (still open). */
static void peer_sees(int peer)
{
    char c;
    fcntl(peer, F_SETFL, O_NONBLOCK);
    REPORT("peer read right after", read(peer, &c, 1));
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: ft_close WAY [threads]");
    const char *way = argv[1];
    if (argc > 2) {
        pthread_t t;
        pthread_create(&t, NULL, nothing, NULL);
        pthread_join(t, NULL);
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        die("socketpair");
    use(sv[0], sv[1]);
    if (!strcmp(way, "close")) {
        REPORT("close", close(sv[0]));
    } else if (!strcmp(way, "close_range")) {
        int keep = dup(sv[1]); /* the peer, below the range closed */
        if (keep < sv[0])
            die("unexpected descriptor order");
        close(sv[1]);
        sv[1] = dup2(keep, 100);
        close(keep);
        REPORT("close_range", syscall(SYS_close_range, sv[0], 99, 0));
    } else if (!strcmp(way, "closefrom")) {
        int peer = dup2(sv[1], 0); /* keep the peer below */
        close(sv[1]);
        sv[1] = peer;
        closefrom(3);
        printf("closefrom done\n");
    } else if (!strcmp(way, "fclose")) {
        FILE *f = fdopen(sv[0], "w");
        REPORT("fclose", fclose(f));
    } else if (!strcmp(way, "dup2")) {
        int p[2];
        if (pipe(p))
            die("pipe");
        REPORT("dup2 a pipe onto the socket's number", dup2(p[1], sv[0]) == sv[0]);
        REPORT("write now reaches the pipe", write(sv[0], "p", 1));
        char c;
        REPORT("pipe read", read(p[0], &c, 1));
    } else if (!strcmp(way, "syscall")) {
        REPORT("syscall(SYS_close)", syscall(SYS_close, sv[0]));
    } else if (!strcmp(way, "reuse")) {
        int old = sv[0];
        close(old);
        int p[2];
        if (pipe(p))
            die("pipe");
        REPORT("the pipe got the closed number", p[0] == old || p[1] == old);
        for (int i = 0; i < 5; i++) {
            char c;
            if (write(p[1], "r", 1) != 1 || read(p[0], &c, 1) != 1 || c != 'r')
                die("reused number does not reach the pipe");
        }
        printf("reused number reaches the new pipe\n");
    } else {
        die("unknown way %s", way);
    }
    peer_sees(sv[1]);
    return 0;
}
