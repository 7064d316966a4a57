"""File, pipe and socket I/O with threads, subprocesses and signals, the way ordinary Python programs do it.

Run by tests/programs.bats once without and once with the shim: every line it prints must be the same.
It prints only what does not depend on timing (sizes, digests, counts, exceptions) and exits 0 when every
check held, 1 (with the reason on stderr) when one did not. Everything binds to 127.0.0.1 and every
blocking wait has a timeout, so a run cannot hang. Usage: python3 io_mix.py WORKDIR
"""
import concurrent.futures
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading

TIMEOUT = 30
failures = []


def say(*words):
    print(*words, flush=True)


def check(cond, what):
    if not cond:
        failures.append(what)
        print("check failed:", what, file=sys.stderr, flush=True)


def data(n, seed):
    """n deterministic, incompressible-looking bytes."""
    out = bytearray()
    block = hashlib.sha256(seed.encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:n])


def digest(b):
    return hashlib.sha256(b).hexdigest()[:16]


def files(workdir):
    payload = data(3 << 20, "files")
    path = os.path.join(workdir, "f.bin")
    # Unbuffered os.write in uneven pieces, then the io module's buffered reader.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    pos = 0
    for size in (1, 4095, 65536, 1 << 20, 7):
        pos += os.write(fd, payload[pos:pos + size])
    while pos < len(payload):
        pos += os.write(fd, payload[pos:pos + 200000])
    os.fsync(fd)
    os.close(fd)
    with open(path, "rb") as f:
        back = f.read()
    say("file write/read", len(back), digest(back), back == payload)
    # Explicit offsets and vectors: pwrite, pread, writev, readv, os.fdatasync.
    fd = os.open(path, os.O_RDWR)
    os.pwrite(fd, b"X" * 10000, 12345)
    piece = os.pread(fd, 20000, 12000)
    say("pwrite/pread", len(piece), digest(piece))
    os.lseek(fd, 0, os.SEEK_END)
    n = os.writev(fd, [b"a" * 100, b"b" * 70000, b"c"])
    os.fdatasync(fd)
    os.lseek(fd, -70101, os.SEEK_END)
    bufs = [bytearray(100), bytearray(70000), bytearray(1), bytearray(50)]
    got = os.readv(fd, bufs)
    say("writev/readv", n, got, digest(b"".join(bufs)))
    say("size", os.fstat(fd).st_size)
    os.close(fd)
    # Text mode with line iteration and append.
    text = os.path.join(workdir, "t.txt")
    with open(text, "w") as f:
        for i in range(20000):
            f.write(f"line {i} {'x' * (i % 50)}\n")
    with open(text, "a") as f:
        f.write("the end\n")
    with open(text) as f:
        lines = sum(1 for _ in f)
    say("text lines", lines)
    # Threads reading disjoint ranges of one file at once.
    fd = os.open(path, os.O_RDONLY)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        parts = list(pool.map(lambda i: os.pread(fd, 65536, i * 65536), range(48)))
    os.close(fd)
    say("threaded pread", digest(b"".join(parts)))


def pipes():
    payload = data(8 << 20, "pipe")
    r, w = os.pipe()

    def writer():
        pos = 0
        sizes = (1, 100, 4096, 65536, 1 << 20, 3)
        i = 0
        while pos < len(payload):
            pos += os.write(w, payload[pos:pos + sizes[i % len(sizes)]])
            i += 1
        os.close(w)

    t = threading.Thread(target=writer)
    t.start()
    chunks = []
    while True:
        b = os.read(r, 100000)
        if not b:
            break
        chunks.append(b)
    t.join(TIMEOUT)
    os.close(r)
    got = b"".join(chunks)
    say("pipe through a thread", len(got), got == payload)
    # A pipe line through file objects: readline on a buffered reader.
    r, w = os.pipe()
    with os.fdopen(w, "w") as wf, os.fdopen(r) as rf:
        t = threading.Thread(target=lambda: (wf.writelines(f"{i}\n" for i in range(50000)), wf.close()))
        t.start()
        total = sum(int(line) for line in rf)
        t.join(TIMEOUT)
    say("pipe lines", total)


def sockets():
    payload = data(2 << 20, "sock")
    srv = socket.create_server(("127.0.0.1", 0), backlog=16)
    srv.settimeout(None)
    port = srv.getsockname()[1]
    clients = 6

    def serve():
        # One thread per connection: an echo server with recv/sendall.
        def echo(conn):
            with conn:
                while True:
                    b = conn.recv(65536)
                    if not b:
                        break
                    conn.sendall(b)
        threads = []
        for _ in range(clients):
            conn, _ = srv.accept()
            th = threading.Thread(target=echo, args=(conn,))
            th.start()
            threads.append(th)
        for th in threads:
            th.join(TIMEOUT)

    server = threading.Thread(target=serve)
    server.start()

    def client(i):
        with socket.create_connection(("127.0.0.1", port), timeout=None) as c:
            got = bytearray()
            out = threading.Thread(target=lambda: (c.sendall(payload), c.shutdown(socket.SHUT_WR)))
            out.start()
            while True:
                b = c.recv(1 << 17)
                if not b:
                    break
                got += b
            out.join(TIMEOUT)
            return bytes(got) == payload

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        ok = list(pool.map(client, range(clients)))
    server.join(TIMEOUT)
    srv.close()
    say("tcp echo", clients, "clients", ok.count(True), "intact")
    # AF_UNIX datagrams and sendmsg/recvmsg with a descriptor passed along.
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    for i in range(200):
        a.send(b"d" * i)
    sizes = [len(b.recv(1000)) for _ in range(200)]
    say("unix datagrams", sum(sizes), sizes[:5])
    r, w = os.pipe()
    socket.send_fds(a, [b"with fd"], [w])
    msg, fds, _, _ = socket.recv_fds(b, 100, 1)
    os.write(fds[0], b"through the passed fd")
    os.close(fds[0])
    os.close(w)
    say("scm_rights", msg, os.read(r, 100))
    os.close(r)
    a.close()
    b.close()
    # UDP on loopback: sendto/recvfrom.
    u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u1.bind(("127.0.0.1", 0))
    u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u2.bind(("127.0.0.1", 0))
    u2.settimeout(TIMEOUT)
    for i in range(50):
        u1.sendto(str(i).encode(), u2.getsockname())
    got = [int(u2.recvfrom(100)[0]) for _ in range(50)]
    say("udp", sum(got))
    u1.close()
    u2.close()


def children():
    payload = data(4 << 20, "child")
    # communicate() writes and reads both pipes at once.
    p = subprocess.run(["cat"], input=payload, stdout=subprocess.PIPE, timeout=TIMEOUT, check=True)
    say("subprocess cat", len(p.stdout), p.stdout == payload)
    p = subprocess.run([sys.executable, "-c", "import sys; print(sum(map(int, sys.stdin)))"],
                       input="\n".join(map(str, range(100000))), capture_output=True, text=True,
                       timeout=TIMEOUT, check=True)
    say("subprocess python", p.stdout.strip())
    # Several children at once, each read line by line.
    procs = [subprocess.Popen(["seq", str(10000 * (i + 1))], stdout=subprocess.PIPE, text=True)
             for i in range(4)]
    totals = []
    for p in procs:
        totals.append(sum(int(line) for line in p.stdout))
        p.stdout.close()
        p.wait(TIMEOUT)
    say("popen seq", totals)
    # Exit status and a child killed by a signal.
    say("exit status", subprocess.call(["sh", "-c", "exit 7"], timeout=TIMEOUT))
    p = subprocess.Popen(["sleep", "30"])
    p.terminate()
    say("terminated", p.wait(TIMEOUT))


def signals():
    # Ctrl-C after a subprocess has run: Python's own SIGINT handler must raise KeyboardInterrupt. (The
    # vfork child of subprocess sets every handled signal back to SIG_DFL before exec, in memory it shares
    # with this process: nothing of that may reach the parent's handlers.)
    subprocess.run(["true"], check=True)
    try:
        signal.signal(signal.SIGALRM, lambda *a: None)
        signal.setitimer(signal.ITIMER_REAL, 2)
        os.kill(os.getpid(), signal.SIGINT)
        signal.pause()
        say("SIGINT after a subprocess: lost")
    except KeyboardInterrupt:
        say("SIGINT after a subprocess: KeyboardInterrupt")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    # A handler raising from a blocking pipe read interrupts it (PEP 475 retries only when it returns).
    class Alarm(Exception):
        pass

    def on_alarm(signum, frame):
        raise Alarm()

    signal.signal(signal.SIGALRM, on_alarm)
    r, w = os.pipe()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        os.read(r, 10)
        say("read during SIGALRM: returned")
    except Alarm:
        say("read during SIGALRM: handler's exception")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    # A handler that returns: the read is retried and gets the data written later by a thread.
    hits = []
    signal.signal(signal.SIGALRM, lambda *a: hits.append(1))
    t = threading.Timer(0.5, lambda: os.write(w, b"late"))
    t.start()
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    got = os.read(r, 10)
    t.join(TIMEOUT)
    say("read retried after a handler:", got, "handler ran", len(hits) > 0)
    os.close(r)
    os.close(w)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)


def main():
    workdir = sys.argv[1]
    files(workdir)
    pipes()
    sockets()
    children()
    signals()
    say("failures", len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
