#!/usr/bin/env bats
# Real programs run unchanged under the shim (issue 6): coreutils and shell pipelines, python3 and part of
# its own regression suite, sqlite3, git, redis, nginx with curl and wrk, and fio. Each test runs the same
# workload twice, once without the shim and once with every program of it under shim_env (so
# IOU_TEST_MODE applies), compares what the programs produced (digests, counts, exit statuses), and checks
# from the shim's stats that their I/O went through the ring where the shim should use it. Servers listen
# on 127.0.0.1 only, get bounded work and are stopped by PID; every wait is bounded. The time of each run
# is printed as a "# ..." line after the test. A program that is not installed is a failure, not a skip:
# scripts/install-deps installs them all.
bats_require_minimum_version 1.5.0
load test_helper

# Debian's python3: its regression suite comes with libpython3.11-testsuite (a python3 earlier in PATH,
# pyenv's for one, has neither that suite nor necessarily the same version).
PY=/usr/bin/python3

# leftovers: processes a workload left running (a server after a failure, a grandchild whose parent a
# test runner killed): they carry IOU_PROGRAMS_TEST, which twice sets, or run in the test's directory.
leftovers() {
    local d pid
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [ "$pid" != "$$" ] && [ "$pid" != "$BASHPID" ] || continue
        if [[ $(readlink "$d/cwd" 2>/dev/null) == "$BATS_TEST_TMPDIR"/* ]] ||
            grep -qzx "IOU_PROGRAMS_TEST=$BATS_TEST_TMPDIR" "$d/environ" 2>/dev/null; then
            echo "$pid"
        fi
    done
}

setup() {
    # ASan's runtime, preloaded into programs not built with it, breaks some of them with or without the
    # shim (dd aborts in aligned_alloc, curl hangs in setlocale at start): nothing to learn here then.
    [ "${IOU_TEST_BUILD:-build}" != build-asan ] ||
        skip "real programs do not run under a preloaded ASan runtime, shim or not"
}

teardown() {
    local pid
    for pid in $(leftovers); do kill -KILL "$pid" 2>/dev/null || true; done
}

# need PROGRAM...: fails (never skips) when a program of the test is missing.
need() {
    local p
    for p in "$@"; do
        [ -x "$p" ] || command -v "$p" >/dev/null ||
            { echo "$p is not installed: scripts/install-deps installs what these tests run"; return 1; }
    done
}

# twice FN ARGS...: runs the shell function FN ARGS in $BATS_TEST_TMPDIR/plain with W empty, then in
# $BATS_TEST_TMPDIR/shim with W=shim_env. FN writes "$W" before every program it runs, so the second run
# has all of them under the shim. FN runs with errexit and pipefail: the first failing command ends it.
# Each run gets TWICE_LIMIT seconds (default 120), then it and all it started are ended and the test fails.
# Both runs must succeed and print the same stdout (FN prints only what must not change: digests, counts,
# statuses); otherwise both outputs and stderr are shown. The time of each run goes to fd 3.
twice() {
    local side status t0 work timer finished p took=()
    for side in plain shim; do
        mkdir -p "$BATS_TEST_TMPDIR/$side"
        if [ "$side" = plain ]; then W=; else W=shim_env; fi
        t0=${EPOCHREALTIME/./}
        status=0
        # In the background, not in a conditional, so that errexit still holds inside FN.
        (set -o pipefail; export IOU_PROGRAMS_TEST=$BATS_TEST_TMPDIR; cd "$BATS_TEST_TMPDIR/$side" && "$@") \
            >"$BATS_TEST_TMPDIR/$side.out" 2>"$BATS_TEST_TMPDIR/$side.err" 3>&- &
        work=$!
        sleep "${TWICE_LIMIT:-120}" 3>&- &
        timer=$!
        wait -n -p finished "$work" "$timer" || status=$?
        if [ "$finished" = "$timer" ]; then
            echo "--- $* $side (mode $IOU_TEST_MODE) still ran after ${TWICE_LIMIT:-120} s: ended; stdout:"
            for p in $(leftovers); do kill -KILL "$p" 2>/dev/null || true; done
            wait "$work" || true
            cat "$BATS_TEST_TMPDIR/$side.out"
            echo "--- stderr:"; tail -n 40 "$BATS_TEST_TMPDIR/$side.err"
            return 1
        fi
        kill "$timer"
        wait "$timer" || true
        took+=("$(( (${EPOCHREALTIME/./} - t0) / 1000 ))")
        if [ "$status" -ne 0 ]; then
            echo "--- $1 $side (mode $IOU_TEST_MODE) exited $status; stdout:"; cat "$BATS_TEST_TMPDIR/$side.out"
            echo "--- stderr:"; tail -n 40 "$BATS_TEST_TMPDIR/$side.err"
            return 1
        fi
    done
    printf '# %s: without shim %d.%02d s, with shim %d.%02d s (%s)\n' "$*" \
        $((took[0] / 1000)) $((took[0] % 1000 / 10)) $((took[1] / 1000)) $((took[1] % 1000 / 10)) \
        "$IOU_TEST_MODE" >&3
    if ! diff -u "$BATS_TEST_TMPDIR/plain.out" "$BATS_TEST_TMPDIR/shim.out"; then
        echo "--- the runs differ (- without the shim, + with it, mode $IOU_TEST_MODE); stderr with the shim:"
        tail -n 40 "$BATS_TEST_TMPDIR/shim.err"
        return 1
    fi
}

# wait_until SECONDS CMD...: polls CMD every 50 ms until it succeeds; fails after SECONDS.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "gave up waiting for: $*" >&2; return 1; }
        sleep 0.05
    done
}

# gone PID: PID has exited (a zombie counts as exited).
gone() {
    local st
    st=$(ps -o stat= -p "$1") || return 0
    [[ $st == Z* ]]
}

# stop_server PIDFILE JOB [SIGNAL]: signals the server whose PID its pid file holds, waits (bounded) for
# it to exit, then reaps JOB, the background job that started it; returns the job's exit status.
stop_server() {
    local pid
    pid=$(cat "$1")
    kill -"${3:-TERM}" "$pid"
    wait_until 30 gone "$pid" || { kill -KILL "$pid"; return 1; }
    wait_until 5 gone "$2" || return 1
    wait "$2"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# make_input: $IN, 4000037 random bytes (not a multiple of any block size), $TXT, 200000 unsorted lines,
# and $TREE, a directory of 300 files, made once per test and read by both runs.
make_input() {
    IN="$BATS_TEST_TMPDIR/in.bin"
    TXT="$BATS_TEST_TMPDIR/in.txt"
    TREE="$BATS_TEST_TMPDIR/tree"
    head -c 4000037 /dev/urandom >"$IN"
    awk 'BEGIN { for (i = 1; i <= 200000; i++) printf "%d row %d %s\n", (i * 7919) % 200003, i, substr("abcdefghij", 1 + i % 10) }' >"$TXT"
    local i
    for i in $(seq 0 9); do mkdir -p "$TREE/d$i/sub"; done
    for i in $(seq 1 300); do head -c $((i * 97)) "$IN" >"$TREE/d$((i % 10))/f$i"; done
    ln -s d1/f1 "$TREE/link"
}

# ---- coreutils and shell pipelines --------------------------------------------------------------------

dd_work() {
    $W dd if="$IN" of=f512 bs=512 2>dd1.err
    $W dd if="$IN" of=f64k bs=64k conv=fsync 2>dd2.err
    $W dd if="$IN" bs=64k 2>dd3.err | $W dd of=p64k bs=64k iflag=fullblock 2>dd4.err
    $W dd if="$IN" bs=512 2>dd5.err | $W dd of=p512 bs=512 iflag=fullblock 2>dd6.err
    $W dd if=/dev/zero bs=64k count=2000 2>dd7.err | $W dd of=/dev/null bs=64k iflag=fullblock 2>dd8.err
    $W dd if=/dev/zero of=z64k bs=64k count=200 2>dd9.err
    # Two readers of /dev/zero with 4M blocks sharing one CPU: read(2) of /dev/zero fills the whole
    # buffer however large it is and however many tasks wait for the CPU; only a signal cuts it short.
    local cpu e
    cpu=$(taskset -cp $$ | sed 's/.*: //; s/[-,].*//')
    $W taskset -c "$cpu" dd if=/dev/zero of=/dev/null bs=4M count=100 2>dd0.err &
    $W taskset -c "$cpu" dd if=/dev/zero of=/dev/null bs=4M count=100 2>ddz.err
    wait $!
    for e in dd?.err; do echo "$e: $(grep records "$e" | tr '\n' ' ')"; done
    $W sha256sum f512 f64k p64k p512 z64k
}

@test "dd with 512-byte, 64k and 4M blocks from files, pipes and /dev/zero copies the same bytes and records" {
    need dd sha256sum taskset
    make_input
    twice dd_work
    expect_ring read
    expect_ring write
}

pipeline_work() {
    $W cat "$IN" "$IN" >cat2
    $W cat "$IN" | $W cat | $W cat >catpipe
    $W sort -S 256K -T . "$TXT" >sorted
    $W sort -n -r "$TXT" | $W sort -n -k1,1 -k3,3 -S 1M -T . | $W cat >resorted
    $W gzip -c <"$IN" | $W gunzip -c >gz
    $W gzip -9 -c "$TXT" >txt.gz
    $W gunzip -c txt.gz | $W cat >txt
    $W cp "$IN" cp1
    $W cat "$IN" | $W cp /dev/stdin cp2
    $W sha256sum cat2 catpipe sorted resorted gz txt cp1 cp2
    $W wc -l <sorted
}

@test "cat, sort, gzip | gunzip and cp in shell pipelines give the same bytes" {
    need cat sort gzip gunzip cp sha256sum
    make_input
    twice pipeline_work
    expect_ring read
    expect_ring write
}

# tree_digest DIR: one digest over the names, types, sizes, modes and contents of everything under DIR.
tree_digest() {
    (cd "$1" && find . -printf '%y %s %m %p %l\n' | LC_ALL=C sort && find . -type f -print0 | LC_ALL=C sort -z |
        xargs -0 sha256sum) | sha256sum
}

tar_work() {
    $W tar -C "$TREE" -cf tree.tar .
    mkdir x1 x2 x3
    $W tar -xf tree.tar -C x1
    $W tar -C "$TREE" -cf - . | $W tar -xf - -C x2
    $W tar -C "$TREE" -czf - . | $W tar -xzf - -C x3
    $W sha256sum tree.tar
    $W tar -tvf tree.tar | wc -l
    echo "source $(tree_digest "$TREE")"
    echo "x1 $(tree_digest x1)"
    echo "x2 $(tree_digest x2)"
    echo "x3 $(tree_digest x3)"
}

@test "tar creates the same archive and extracts the same tree, from files and through pipes" {
    need tar gzip sha256sum
    make_input
    twice tar_work
    # The extracted trees must be the source's (twice compares the two runs, not the copies).
    run grep -c "$(sed -n 's/^source //p' "$BATS_TEST_TMPDIR/shim.out")" "$BATS_TEST_TMPDIR/shim.out"
    assert_output 4
    expect_ring read
    expect_ring write
}

# ---- python3 --------------------------------------------------------------------------------------------

python_work() {
    $W timeout 120 "$PY" "$ROOT/tests/programs/io_mix.py" .
}

@test "a python3 program doing file, pipe and socket I/O with threads, subprocesses and signals is unchanged" {
    need "$PY"
    twice python_work
    assert_equal "$(tail -n 1 "$BATS_TEST_TMPDIR/shim.out")" "failures 0"
    expect_ring read
    expect_ring write
    expect_ring recv
    expect_ring send
    expect_ring accept4
}

# Modules of CPython's own regression suite about files, sockets, selectors, subprocesses and signals
# (test_io is left out for its time: test_fileio covers the raw file layer). Left out as well, with or
# without the shim: the VSOCK tests, which hang on a machine with vsock but no peer; the tests that wait for
# an unreachable network address; test_siginterrupt_off, which waits 30 s by design; for time,
# ProcessTestCaseNoPoll (test_subprocess's ProcessTestCase again, with select instead of poll); and the
# tests that may skip themselves by chance, which would make the passed/skipped counts of the two runs differ,
# shim or not (testWriteNonBlocking: "failed to saturate the socket buffer" when a concurrent reader drains
# it; the SCTP testRecvmsgEOF: "sporadic ENOTCONN").
PY_TESTS=(test_subprocess test_socket test_selectors test_signal test_os test_fileio test_file)
PY_IGNORE=(-i '*VSOCK*' -i '*NetworkConnectionBehaviourTest*' -i '*test_siginterrupt_off' -i '*ProcessTestCaseNoPoll*'
    -i '*.testWriteNonBlocking' -i '*SCTPStreamTest.testRecvmsgEOF')

python_suite_work() {
    local status=0 tmp
    # A short temporary directory of the same length for both runs: testSurrogateescapeBind binds an AF_UNIX
    # socket below it and skips itself when the path passes the 108-byte limit, which the bats directory
    # plus the workers' process IDs could reach in one run and not in the other.
    tmp=$(mktemp -d /tmp/iou-py.XXXXXX)
    # -j0: one worker process per CPU plus two; --timeout: a module that hangs is killed and reported.
    TMPDIR=$tmp $W timeout 220 "$PY" -m test -j0 --timeout 75 "${PY_TESTS[@]}" "${PY_IGNORE[@]}" \
        --junit-xml "$PWD/junit.xml" >regrtest.log 2>&1 || status=$?
    rm -rf "$tmp"
    echo "regrtest exit status $status"
    grep -E '^(== )?Tests result|tests? (OK|failed|crashed)|test_[a-z]+ (crashed|failed)' regrtest.log >&2 || true
    # Per module: tests passed, failed, errored and skipped, from the JUnit report.
    "$PY" - "$PWD/junit.xml" <<'EOF'
import collections, sys, xml.etree.ElementTree as ET
counts = collections.defaultdict(collections.Counter)
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    module = case.get("name").split(".")[1]
    kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
    counts[module][kinds[0] if kinds else "passed"] += 1
for module in sorted(counts):
    c = counts[module]
    print(f"{module}: passed={c['passed']} failed={c['failure']} errors={c['error']} skipped={c['skipped']}")
EOF
    [ "$status" -eq 0 ] || tail -n 60 regrtest.log >&2
}

@test "python3's own tests of os, files, sockets, selectors, subprocess and signal pass the same" {
    local TWICE_LIMIT=240
    need "$PY"
    [ -f /usr/lib/python3.11/test/test_socket.py ] ||
        { echo "python3's test suite is missing: scripts/install-deps installs libpython3.11-testsuite"; return 1; }
    twice python_suite_work
    run grep -c '^test_.*: passed=' "$BATS_TEST_TMPDIR/shim.out"
    assert_output "${#PY_TESTS[@]}"
    expect_ring read
    expect_ring write
    expect_ring recv
    expect_ring send
}

# ---- sqlite3 --------------------------------------------------------------------------------------------

sqlite_work() {
    local mode db i
    for mode in DELETE WAL; do
        db=$mode.db
        $W sqlite3 "$db" "PRAGMA journal_mode=$mode; CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT UNIQUE, v BLOB, n REAL);"
        # One large transaction, one rolled back, then 100 small ones that each commit (and sync).
        $W sqlite3 "$db" <<EOF
PRAGMA synchronous=FULL;
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000)
INSERT INTO t(k, v, n) SELECT 'key' || x, zeroblob(x % 700), x * 1.5 FROM c;
COMMIT;
BEGIN;
UPDATE t SET v = zeroblob(2000) WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
ROLLBACK;
$(for i in $(seq 1 100); do echo "BEGIN; UPDATE t SET n = n + $i WHERE id % 200 = $((i - 1)); INSERT INTO t(k, v, n) VALUES ('new$i', x'$(printf '%04x' "$i")', $i); COMMIT;"; done)
BEGIN;
DELETE FROM t WHERE id % 7 = 0;
CREATE INDEX t_n ON t(n);
COMMIT;
EOF
        # A second connection reopens it (and recovers nothing, the first closed cleanly).
        $W sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
        $W sqlite3 "$db" "PRAGMA journal_mode; PRAGMA integrity_check; SELECT count(*), sum(length(v)), total(n) FROM t;"
        $W sqlite3 "$db" ".sha3sum"
        $W sha256sum "$db"
    done
}

@test "sqlite3 transactions in rollback-journal and WAL modes leave the same intact database" {
    need sqlite3 sha256sum
    twice sqlite_work
    run grep -c '^ok$' "$BATS_TEST_TMPDIR/shim.out"
    assert_output 2
    expect_ring pread
}

# ---- git ------------------------------------------------------------------------------------------------

git_work() {
    export GIT_AUTHOR_NAME=iou GIT_AUTHOR_EMAIL=iou@example.invalid GIT_AUTHOR_DATE='2024-01-01T00:00:00Z'
    export GIT_COMMITTER_NAME=iou GIT_COMMITTER_EMAIL=iou@example.invalid GIT_COMMITTER_DATE='2024-01-01T00:00:00Z'
    export HOME=$PWD GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
    cp -a "$BATS_TEST_TMPDIR/gitsrc" repo
    cd repo
    $W git init -q -b main .
    $W git add -A
    $W git commit -q -m "3000 small files"
    local i
    for i in $(seq 0 37 2999); do echo "changed $i" >>"d$((i % 30))/f$i"; done
    $W git commit -q -a -m "some changed"
    $W git fsck --strict --no-progress
    $W git rev-parse HEAD HEAD^{tree} HEAD~1^{tree}
    $W git diff --stat HEAD~1 | tail -n 1
    $W git gc -q
    $W git fsck --strict --no-progress
    cd ..
    $W git clone -q --no-local "file://$PWD/repo" clone
    cd clone
    $W git fsck --strict --no-progress
    $W git rev-parse HEAD HEAD^{tree}
    $W git ls-files | wc -l
    $W git archive --format=tar HEAD | $W sha256sum
}

@test "git adds, commits, packs and clones 3000 small files with the same hashes and a clean fsck" {
    need git sha256sum
    local d f
    for d in $(seq 0 29); do
        mkdir -p "$BATS_TEST_TMPDIR/gitsrc/d$d"
        for f in $(seq "$d" 30 2999); do printf 'file %d\n%s\n' "$f" "$RANDOM$RANDOM" >"$BATS_TEST_TMPDIR/gitsrc/d$d/f$f"; done
    done
    twice git_work
    expect_ring read
    expect_ring write
}

# ---- redis ----------------------------------------------------------------------------------------------

redis_up() { [ "$($W timeout 10 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]; }
redis_rewritten() {
    local info
    info=$($W timeout 10 redis-cli -h 127.0.0.1 -p "$1" info persistence | tr -d '\r')
    grep -q '^aof_rewrite_in_progress:0' <<<"$info" && grep -q '^aof_rewrite_scheduled:0' <<<"$info"
}

# redis_start PORT: starts redis-server from ./redis.conf in the background (job in $job), waits for it.
redis_start() {
    $W redis-server "$PWD/redis.conf" >>redis.out 2>&1 3>&- &
    job=$!
    wait_until 20 redis_up "$1"
}

redis_work() {
    local fsync=$1 n=$2 port job d1 d2 k1 k2
    port=$(free_port)
    cat >redis.conf <<EOF
bind 127.0.0.1
port $port
protected-mode yes
daemonize no
pidfile $PWD/redis.pid
dir $PWD
logfile $PWD/redis.log
save ""
appendonly yes
appendfsync $fsync
appenddirname aof
enable-debug-command local
EOF
    redis_start "$port"
    # Bounded work; without -r every key is fixed, so the data set is the same in both runs.
    $W timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -c 8 -n "$n" -q \
        -t set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,mset >bench.out
    $W timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -c 4 -P 16 -n "$n" -d 1000 -q -t set,lpush >>bench.out
    tr '\r' '\n' <bench.out | grep 'requests per second' | sed 's/:.*//' | tr '\n' ' '
    echo
    # Rewrite the AOF in a forked child, then more writes on top of it.
    [ "$($W timeout 30 redis-cli -h 127.0.0.1 -p "$port" bgrewriteaof)" = "Background append only file rewriting started" ]
    wait_until 60 redis_rewritten "$port"
    $W timeout 30 redis-cli -h 127.0.0.1 -p "$port" info persistence | tr -d '\r' | grep -E '^aof_last_(bgrewrite|write)_status'
    $W timeout 60 redis-benchmark -h 127.0.0.1 -p "$port" -c 4 -n "$n" -q -t incr,rpush >/dev/null
    d1=$($W timeout 30 redis-cli -h 127.0.0.1 -p "$port" debug digest)
    k1=$($W timeout 30 redis-cli -h 127.0.0.1 -p "$port" dbsize)
    echo "digest $d1 keys $k1"
    stop_server redis.pid "$job"
    # A new server loads the AOF back.
    redis_start "$port"
    d2=$($W timeout 30 redis-cli -h 127.0.0.1 -p "$port" debug digest)
    k2=$($W timeout 30 redis-cli -h 127.0.0.1 -p "$port" dbsize)
    echo "after a restart from the AOF: digest $d2 keys $k2"
    stop_server redis.pid "$job"
    [ "$d1" = "$d2" ] || { echo "the AOF gave back another data set: $d1 then $d2" >&2; return 1; }
}

@test "redis-server with appendfsync always serves redis-benchmark and restarts from its AOF with the same digest" {
    need redis-server redis-cli redis-benchmark
    twice redis_work always 3000
    expect_ring read
    expect_ring write
}

@test "redis-server with appendfsync everysec serves redis-benchmark and restarts from its AOF with the same digest" {
    need redis-server redis-cli redis-benchmark
    twice redis_work everysec 10000
    expect_ring read
    expect_ring write
}

# ---- nginx, curl and wrk --------------------------------------------------------------------------------

http_up() { $W timeout 10 curl -s -o /dev/null --fail --max-time 5 "http://127.0.0.1:$1/small.txt"; }

# make_www: files to serve, made once per test: empty, small, 100k, 3M and 20M.
make_www() {
    WWW="$BATS_TEST_TMPDIR/www"
    mkdir -p "$WWW"
    : >"$WWW/empty.bin"
    echo "hello from nginx" >"$WWW/small.txt"
    head -c 100000 /dev/urandom >"$WWW/100k.bin"
    head -c 3000000 /dev/urandom >"$WWW/3m.bin"
    head -c 20000000 /dev/urandom >"$WWW/20m.bin"
}

nginx_work() {
    local sendfile=$1 master=$2 port job f
    port=$(free_port)
    mkdir -p logs tmp
    cat >nginx.conf <<EOF
daemon off;
master_process $master;
worker_processes 1;
user root;
pid $PWD/nginx.pid;
error_log $PWD/logs/error.log warn;
events { worker_connections 256; }
http {
    access_log $PWD/logs/access.log;
    sendfile $sendfile;
    tcp_nopush on;
    keepalive_requests 1000000;
    types { text/plain txt; application/octet-stream bin; }
    client_body_temp_path $PWD/tmp/body;
    proxy_temp_path $PWD/tmp/proxy;
    fastcgi_temp_path $PWD/tmp/fastcgi;
    uwsgi_temp_path $PWD/tmp/uwsgi;
    scgi_temp_path $PWD/tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        root $WWW;
    }
}
EOF
    $W nginx -p "$PWD" -c "$PWD/nginx.conf" -e "$PWD/logs/error.log" >logs/nginx.out 2>&1 3>&- &
    job=$!
    wait_until 20 http_up "$port"
    # Each file on its own connection, then all of them on one kept-alive connection, then a range.
    for f in empty.bin small.txt 100k.bin 3m.bin 20m.bin; do
        $W timeout 60 curl -sS --fail -o "one.$f" "http://127.0.0.1:$port/$f"
    done
    $W timeout 60 curl -sS --fail "http://127.0.0.1:$port/{empty.bin,small.txt,100k.bin,3m.bin,20m.bin}" -o 'all.#1'
    $W timeout 60 curl -sS --fail -r 1000-2999999 -o range.bin "http://127.0.0.1:$port/20m.bin"
    for f in empty.bin small.txt 100k.bin 3m.bin 20m.bin; do
        cmp "$WWW/$f" "one.$f"
        cmp "$WWW/$f" "all.$f"
    done
    $W sha256sum one.* all.* range.bin
    # A bounded load: 8 connections for 2 seconds; every response must be a 200 and no socket may fail.
    $W timeout 30 wrk -t 2 -c 8 -d 2s "http://127.0.0.1:$port/100k.bin" >wrk.out
    cat wrk.out >&2
    grep -q 'requests in' wrk.out
    if grep -E 'Non-2xx|Socket errors' wrk.out; then return 1; fi
    echo "wrk: no errors"
    stop_server nginx.pid "$job" QUIT
    echo "error log: $(grep -cE '\[(error|crit|alert|emerg)\]' logs/error.log) errors"
}

@test "nginx with sendfile on (master and worker) serves files curl and wrk fetch intact" {
    need nginx curl wrk cmp sha256sum
    make_www
    twice nginx_work on on
    expect_ring recv
    expect_ring writev
}

@test "nginx with sendfile off (one process) serves files curl and wrk fetch intact" {
    need nginx curl wrk cmp sha256sum
    make_www
    twice nginx_work off off
    expect_ring recv
    expect_ring writev
    expect_ring pread
}

# ---- fio ------------------------------------------------------------------------------------------------

fio_work() {
    local engine
    for engine in sync psync vsync pvsync2; do
        # Random writes in blocks of 512 bytes to 64k, each block checked with crc32c when read back.
        $W timeout 120 fio --name="$engine" --ioengine="$engine" --directory="$PWD" --size=8m --numjobs=2 \
            --rw=randwrite --bsrange=512-64k --fsync=16 --end_fsync=1 --verify=crc32c --do_verify=1 \
            --verify_fatal=1 --output-format=json --output="$engine.json"
        jq -r '.jobs[] | "\(.jobname) error=\(.error) read=\(.read.io_bytes) written=\(.write.io_bytes)"' "$engine.json"
    done
}

@test "fio with the sync, psync, vsync and pvsync2 engines writes and verifies with crc32c" {
    need fio jq
    twice fio_work
    run grep -c 'error=0' "$BATS_TEST_TMPDIR/shim.out"
    assert_output 8
    expect_ring pread
    expect_ring preadv2
    if [ "$IOU_TEST_MODE" = ring ]; then
        # the sync and vsync engines read at the file position: those calls stay on libc
        [ "$(stat_sum read libc.position)" -gt 0 ]
        [ "$(stat_sum readv libc.position)" -gt 0 ]
    fi
}
