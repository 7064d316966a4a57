/* net_udp: UDP datagrams on 127.0.0.1 with sendto/recvfrom/sendmsg/recvmsg and their addresses. The source
 * address a receive reports is compared with the sender's own (printed as yes/no, never as a number), the
 * reply goes to the address received. Also truncation (MSG_TRUNC), MSG_PEEK, empty datagrams, MSG_DONTWAIT,
 * a blocked recvfrom, connected UDP sockets and their errors (EDESTADDRREQ, ECONNREFUSED, EINVAL). */
#include "netsig.h"
#include <sys/uio.h>

static int udp_socket(struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0, "socket: %s", strerror(errno));
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr *)addr, sizeof *addr) == 0, "bind: %s", strerror(errno));
    socklen_t len = sizeof *addr;
    CHECK(getsockname(fd, (struct sockaddr *)addr, &len) == 0, "getsockname: %s", strerror(errno));
    return fd;
}

/* What a receive reported as the source, against the sender's own address. */
static void print_source(const struct sockaddr_in *src, socklen_t len, const struct sockaddr_in *sender)
{
    say("  addrlen -> %u", (unsigned)len);
    say("  family is AF_INET: %s", yesno(src->sin_family == AF_INET));
    say("  source address is 127.0.0.1: %s", yesno(src->sin_addr.s_addr == htonl(INADDR_LOOPBACK)));
    say("  source port is the sender's port: %s", yesno(src->sin_port == sender->sin_port));
}

struct blocked_recv {
    int fd;
    pid_t tid;
    atomic_int started, done;
    char buf[64];
    struct sockaddr_in src;
    socklen_t len;
    long result;
    int err;
};

static void *recv_thread(void *p)
{
    struct blocked_recv *b = p;
    b->tid = gettid();
    atomic_store(&b->started, 1);
    b->len = sizeof b->src;
    errno = 0;
    b->result = recvfrom(b->fd, b->buf, sizeof b->buf, 0, (struct sockaddr *)&b->src, &b->len);
    b->err = errno;
    atomic_store(&b->done, 1);
    return NULL;
}

int main(void)
{
    struct sockaddr_in aa, ba, src;
    socklen_t slen;
    char buf[70000];
    long n;
    int a = udp_socket(&aa), b = udp_socket(&ba);

    REPORT("sendto 4 to B", sendto(a, "ping", 4, 0, (struct sockaddr *)&ba, sizeof ba));
    slen = sizeof src;
    n = REPORT("recvfrom on B", recvfrom(b, buf, 100, 0, (struct sockaddr *)&src, &slen));
    show("  data", buf, n);
    print_source(&src, slen, &aa);
    REPORT("sendto 4 back to the address received", sendto(b, "pong", 4, 0, (struct sockaddr *)&src, slen));
    slen = sizeof src;
    n = REPORT("recvfrom on A", recvfrom(a, buf, 100, 0, (struct sockaddr *)&src, &slen));
    show("  data", buf, n);
    print_source(&src, slen, &ba);

    struct iovec out[2] = {{"dat", 3}, {"agram", 5}};
    struct msghdr m = {.msg_name = &ba, .msg_namelen = sizeof ba, .msg_iov = out, .msg_iovlen = 2};
    REPORT("sendmsg 2 iovecs to B", sendmsg(a, &m, 0));
    char in0[2], in1[64];
    struct iovec in[2] = {{in0, sizeof in0}, {in1, sizeof in1}};
    struct msghdr r = {.msg_name = &src, .msg_namelen = sizeof src, .msg_iov = in, .msg_iovlen = 2};
    n = REPORT("recvmsg on B", recvmsg(b, &r, 0));
    show("  iov[0]", in0, n < 2 ? n : 2);
    show("  iov[1]", in1, n - 2);
    say("  msg_flags -> 0x%x", r.msg_flags);
    print_source(&src, r.msg_namelen, &aa);

    /* truncation: the rest of the datagram is gone; MSG_TRUNC reports the real length */
    for (int i = 0; i < 3; i++)
        CHECK(sendto(a, "0123456789", 10, 0, (struct sockaddr *)&ba, sizeof ba) == 10, "sendto");
    n = REPORT("recv 4 of a 10-byte datagram", recv(b, buf, 4, 0));
    show("  data", buf, n);
    n = REPORT("recv 4 MSG_TRUNC of a 10-byte datagram", recv(b, buf, 4, MSG_TRUNC));
    show("  data", buf, 4);
    struct iovec one = {buf, 4};
    r = (struct msghdr){.msg_iov = &one, .msg_iovlen = 1};
    n = REPORT("recvmsg 4 of a 10-byte datagram", recvmsg(b, &r, 0));
    say("  msg_flags has MSG_TRUNC: %s", yesno(r.msg_flags & MSG_TRUNC));

    REPORT("sendto 6", sendto(a, "peekme", 6, 0, (struct sockaddr *)&ba, sizeof ba));
    slen = sizeof src;
    n = REPORT("recvfrom MSG_PEEK", recvfrom(b, buf, 100, MSG_PEEK, (struct sockaddr *)&src, &slen));
    print_source(&src, slen, &aa);
    n = REPORT("recvfrom", recvfrom(b, buf, 100, 0, NULL, NULL));
    show("  data", buf, n);

    REPORT("sendto an empty datagram", sendto(a, "", 0, 0, (struct sockaddr *)&ba, sizeof ba));
    slen = sizeof src;
    REPORT("recvfrom the empty datagram", recvfrom(b, buf, 100, 0, (struct sockaddr *)&src, &slen));
    print_source(&src, slen, &aa);

    unsigned long long want;
    fill_pattern((unsigned char *)buf, 60000, 7);
    want = fnv1a(buf, 60000, 0);
    REPORT("sendto 60000", sendto(a, buf, 60000, 0, (struct sockaddr *)&ba, sizeof ba));
    memset(buf, 0, sizeof buf);
    n = REPORT("recvfrom 65536", recvfrom(b, buf, 65536, 0, NULL, NULL));
    say("  checksum matches: %s", yesno(n == 60000 && fnv1a(buf, 60000, 0) == want));

    REPORT("recvfrom MSG_DONTWAIT with nothing queued", recvfrom(b, buf, 100, MSG_DONTWAIT, (struct sockaddr *)&src, &slen));
    REPORT("recvmsg MSG_DONTWAIT with nothing queued", recvmsg(b, &r, MSG_DONTWAIT));
    REPORT("recv MSG_DONTWAIT with nothing queued", recv(b, buf, 100, MSG_DONTWAIT));

    /* a recvfrom that waits for the datagram */
    struct blocked_recv br = {.fd = b};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, recv_thread, &br) == 0, "pthread_create");
    wait_atomic_at_least(&br.started, 1, "thread start");
    say("recvfrom was blocked: %s", yesno(wait_blocked(br.tid, &br.done)));
    CHECK(sendto(a, "late", 4, 0, (struct sockaddr *)&ba, sizeof ba) == 4, "sendto: %s", strerror(errno));
    pthread_join(t, NULL);
    report("blocked recvfrom", br.result, br.err);
    show("  data", br.buf, br.result);
    print_source(&br.src, br.len, &aa);

    /* errors and connected sockets */
    REPORT("send without an address on an unconnected socket", send(a, "x", 1, 0));
    REPORT("sendmsg without an address on an unconnected socket", sendmsg(a, &(struct msghdr){.msg_iov = &one, .msg_iovlen = 1}, 0));
    REPORT("sendto with a 3-byte address", sendto(a, "x", 1, 0, (struct sockaddr *)&ba, 3));
    REPORT("connect A to B", connect(a, (struct sockaddr *)&ba, sizeof ba));
    REPORT("send on connected A", send(a, "conn", 4, 0));
    slen = sizeof src;
    n = REPORT("recvfrom on B", recvfrom(b, buf, 100, 0, (struct sockaddr *)&src, &slen));
    show("  data", buf, n);
    print_source(&src, slen, &aa);
    REPORT("sendto A", sendto(b, "back", 4, 0, (struct sockaddr *)&aa, sizeof aa));
    n = REPORT("recv on connected A", recv(a, buf, 100, 0));
    show("  data", buf, n);

    /* a connected socket whose peer port has nobody: the ICMP error comes back as ECONNREFUSED */
    struct sockaddr_in gone;
    int g = udp_socket(&gone);
    close(g);
    int c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REPORT("connect to a closed port", connect(c, (struct sockaddr *)&gone, sizeof gone));
    REPORT("send to the closed port", send(c, "lost", 4, 0));
    struct pollfd p = {.fd = c, .events = POLLIN};
    REPORT("poll", poll(&p, 1, 10000));
    say("  POLLERR -> %d", !!(p.revents & POLLERR));
    REPORT("recv after the port unreachable", recv(c, buf, 100, 0));
    REPORT("recv MSG_DONTWAIT once the error was reported", recv(c, buf, 100, MSG_DONTWAIT));
    close(c);
    close(a);
    close(b);
    return 0;
}
