#!/usr/bin/env bats
# read, write and their positional and vectored forms: with the shim a program sees exactly what libc gives
# it (data, counts, errno, file position, file content), and the calls the ring should serve go through it.
# Each test runs one helper (tests/helpers/rw_*.c) without and with the shim and compares the output line by
# line; rows 1-4, 9 and 15 of SEMANTICS.md are the behaviours at stake.
bats_require_minimum_version 1.5.0
load test_helper

teardown() {
    [ -z "${SHM_DIR:-}" ] || rm -rf "$SHM_DIR"
}

# stream_case KIND OP: OP on a pipe, FIFO, socketpair, /dev/zero or /dev/null; same output, and the ring used.
stream_case() {
    same_with_and_without "${HELPERS}/rw_stream" "$1" "$2" "${BATS_TEST_TMPDIR}/fifo"
    assert_success
    expect_ring "$2"
}

# disk_dir: $BATS_TEST_TMPDIR, which must be on a disk file system (the ring serves buffered reads there).
disk_dir() {
    local fs
    fs=$(stat -f -c %T "$BATS_TEST_TMPDIR")
    [ "$fs" != tmpfs ] || { echo "BATS_TEST_TMPDIR ($BATS_TEST_TMPDIR) is on tmpfs; these tests need a disk" >&2; return 1; }
    echo "$BATS_TEST_TMPDIR"
}

# file_case DIR HELPER ARGS...: HELPER FILE ARGS... (FILE = DIR/data) gives the same output with and without
# the shim, and leaves the same file (compared by sha256sum with a plain run's).
file_case() {
    local f="$1/data" helper=$2
    shift 2
    run "${HELPERS}/${helper}" "$f" "$@"
    assert_success
    local want
    want=$(sha256sum <"$f")
    same_with_and_without "${HELPERS}/${helper}" "$f" "$@"
    assert_success
    local got
    got=$(sha256sum <"$f")
    [ "$got" = "$want" ] || { echo "file differs: without shim $want, with shim $got"; return 1; }
}

# The shim may count preadv2/pwritev2 with offset -1 under their own name or under readv/writev, the calls
# they are. expect_libc_as OP ALIAS REASON / expect_ring_as OP ALIAS: expect_libc / expect_ring for the sum.
expect_libc_as() {
    local op=$1 alias=$2 reason=$3
    local libc=$(($(stat_sum "$op" "libc.$reason") + $(stat_sum "$alias" "libc.$reason")))
    local ring=$(($(stat_sum "$op" ring) + $(stat_sum "$alias" ring)))
    if [ "$IOU_TEST_MODE" = ring ]; then
        [ "$libc" -gt 0 ] && [ "$ring" -eq 0 ] || { echo "expected $op/$alias bypassed for $reason only, stats:"; cat "$(stats_dir)"/stats.*; return 1; }
    else
        [ "$ring" -eq 0 ]
    fi
}

expect_ring_as() {
    local op=$1 alias=$2
    local libc=$(($(stat_sum "$op" libc) + $(stat_sum "$alias" libc)))
    local ring=$(($(stat_sum "$op" ring) + $(stat_sum "$alias" ring)))
    if [ "$IOU_TEST_MODE" = ring ]; then
        [ "$ring" -gt 0 ] || { echo "expected $op/$alias through the ring, stats:"; cat "$(stats_dir)"/stats.*; return 1; }
    else
        [ "$ring" -eq 0 ] && [ "$libc" -gt 0 ] || { echo "expected $op/$alias on libc only, stats:"; cat "$(stats_dir)"/stats.*; return 1; }
    fi
}

# pos_case OP: rw_pos FILE OP on a disk file (the printed positions are compared with libc's like the rest).
pos_case() {
    local dir
    dir=$(disk_dir)
    file_case "$dir" rw_pos "$1"
}

# ---- pipes, FIFOs, socketpairs, /dev/zero, /dev/null ----

@test "read on a pipe returns what libc returns and goes through the ring" {
    stream_case pipe read
}

@test "write on a pipe returns what libc returns and goes through the ring" {
    stream_case pipe write
}

@test "readv on a pipe returns what libc returns and goes through the ring" {
    stream_case pipe readv
}

@test "writev on a pipe returns what libc returns and goes through the ring" {
    stream_case pipe writev
}

@test "read on a FIFO returns what libc returns and goes through the ring" {
    stream_case fifo read
}

@test "write on a FIFO returns what libc returns and goes through the ring" {
    stream_case fifo write
}

@test "readv on a FIFO returns what libc returns and goes through the ring" {
    stream_case fifo readv
}

@test "writev on a FIFO returns what libc returns and goes through the ring" {
    stream_case fifo writev
}

@test "read on an AF_UNIX socketpair returns what libc returns and goes through the ring" {
    stream_case socketpair read
}

@test "write on an AF_UNIX socketpair returns what libc returns and goes through the ring" {
    stream_case socketpair write
}

@test "readv on an AF_UNIX socketpair returns what libc returns and goes through the ring" {
    stream_case socketpair readv
}

@test "writev on an AF_UNIX socketpair returns what libc returns and goes through the ring" {
    stream_case socketpair writev
}

@test "read on /dev/zero returns what libc returns and goes through the ring" {
    stream_case zero read
}

@test "write on /dev/zero returns what libc returns and goes through the ring" {
    stream_case zero write
}

@test "readv on /dev/zero returns what libc returns and goes through the ring" {
    stream_case zero readv
}

@test "writev on /dev/zero returns what libc returns and goes through the ring" {
    stream_case zero writev
}

@test "read on /dev/null returns what libc returns and goes through the ring" {
    stream_case null read
}

@test "write on /dev/null returns what libc returns and goes through the ring" {
    stream_case null write
}

@test "readv on /dev/null returns what libc returns and goes through the ring" {
    stream_case null readv
}

@test "writev on /dev/null returns what libc returns and goes through the ring" {
    stream_case null writev
}

# ---- explicit offsets on a regular file ----

@test "pread on a regular file returns what libc returns, keeps the position and goes through the ring" {
    pos_case pread
    expect_ring pread
}

@test "pread64 on a regular file returns what libc returns, keeps the position and goes through the ring" {
    pos_case pread64
    expect_ring pread
}

@test "preadv on a regular file returns what libc returns, keeps the position and goes through the ring" {
    pos_case preadv
    expect_ring preadv
}

@test "preadv64 on a regular file returns what libc returns, keeps the position and goes through the ring" {
    pos_case preadv64
    expect_ring preadv
}

@test "preadv2 on a regular file returns what libc returns, keeps the position and goes through the ring" {
    pos_case preadv2
    expect_ring preadv2
}

@test "preadv64v2 on a regular file returns what libc returns, keeps the position and goes through the ring" {
    pos_case preadv64v2
    expect_ring preadv2
}

@test "pwrite on a regular file with route all writes what libc writes, keeps the position and goes through the ring" {
    export IOU_SHIM_ROUTE=all
    pos_case pwrite
    expect_ring pwrite
}

@test "pwrite64 on a regular file with route all writes what libc writes, keeps the position and goes through the ring" {
    export IOU_SHIM_ROUTE=all
    pos_case pwrite64
    expect_ring pwrite
}

@test "pwritev on a regular file with route all writes what libc writes, keeps the position and goes through the ring" {
    export IOU_SHIM_ROUTE=all
    pos_case pwritev
    expect_ring pwritev
}

@test "pwritev64 on a regular file with route all writes what libc writes, keeps the position and goes through the ring" {
    export IOU_SHIM_ROUTE=all
    pos_case pwritev64
    expect_ring pwritev
}

@test "pwritev2 on a regular file with route all writes what libc writes, keeps the position and goes through the ring" {
    export IOU_SHIM_ROUTE=all
    pos_case pwritev2
    expect_ring pwritev2
}

@test "pwritev64v2 on a regular file with route all writes what libc writes, keeps the position and goes through the ring" {
    export IOU_SHIM_ROUTE=all
    pos_case pwritev64v2
    expect_ring pwritev2
}

@test "pwrite on a regular file with the default route writes what libc writes and is left to libc as punt" {
    pos_case pwrite
    expect_libc pwrite punt
}

@test "pwritev on a regular file with the default route writes what libc writes and is left to libc as punt" {
    pos_case pwritev
    expect_libc pwritev punt
}

@test "pwritev2 on a regular file with the default route writes what libc writes and is left to libc as punt" {
    pos_case pwritev2
    expect_libc pwritev2 punt
}

@test "pread on a file in /dev/shm (tmpfs) returns what libc returns and is left to libc as punt" {
    [ "$(stat -f -c %T /dev/shm)" = tmpfs ] || { echo "/dev/shm is not tmpfs here"; return 1; }
    SHM_DIR=$(mktemp -d /dev/shm/iou-rw.XXXXXX)
    file_case "$SHM_DIR" rw_pos pread
    expect_libc pread punt
}

# ---- the file position (row 1) ----

@test "read on a regular file returns what libc returns and is left to libc as position" {
    file_case "$BATS_TEST_TMPDIR" rw_filepos read
    expect_libc read position
}

@test "write on a regular file writes what libc writes and is left to libc as position" {
    file_case "$BATS_TEST_TMPDIR" rw_filepos write
    expect_libc write position
}

@test "readv on a regular file returns what libc returns and is left to libc as position" {
    file_case "$BATS_TEST_TMPDIR" rw_filepos readv
    expect_libc readv position
}

@test "writev on a regular file writes what libc writes and is left to libc as position" {
    file_case "$BATS_TEST_TMPDIR" rw_filepos writev
    expect_libc writev position
}

@test "preadv2 with offset -1 on a regular file uses and advances the file position like readv" {
    pos_case preadv2-pos
    assert_line "  position -> 13"
    expect_libc_as preadv2 readv position
}

@test "pwritev2 with offset -1 on a regular file uses and advances the file position like writev" {
    pos_case pwritev2-pos
    assert_line "  position -> 13"
    expect_libc_as pwritev2 writev position
}

@test "two processes writing lines through one shared open file description lose and overlap nothing" {
    local f="${BATS_TEST_TMPDIR}/shared" n=50000
    same_with_and_without "${HELPERS}/rw_filepos" "$f" shared "$n"
    assert_success
    assert_line "parent writes failed -> 0"
    assert_line "child exit -> 0"
    assert_line "malformed lines -> 0"
    assert_line "lines out of order or missing -> 0"
    assert_line "parent lines -> $n"
    assert_line "child lines -> $n"
    local want got
    want=$({ seq -f 'parent %07g' 0 $((n - 1)); seq -f 'child %07g' 0 $((n - 1)); } | LC_ALL=C sort | sha256sum)
    got=$(LC_ALL=C sort "$f" | sha256sum)
    [ "$got" = "$want" ]
    expect_libc write position
}

# ---- ESPIPE and EINVAL before any data moves (row 2) ----

@test "pread, pwrite and their vector forms on a pipe fail ESPIPE and move no data" {
    same_with_and_without "${HELPERS}/rw_espipe" pipe
    assert_success
    refute_line --regexp ' at [0-9]+ -> [0-9]'
    refute_line --regexp 'bytes waiting -> ([^1]|1[^0]|10.)'
    assert_line 'pread at 5 -> -1 ESPIPE'
    assert_line 'pwritev2 at 0 -> -1 ESPIPE'
    assert_line '  data "0123456789"'
}

@test "pread, pwrite and their vector forms on a socket fail ESPIPE and move no data" {
    same_with_and_without "${HELPERS}/rw_espipe" socket
    assert_success
    refute_line --regexp ' at [0-9]+ -> [0-9]'
    refute_line --regexp 'bytes waiting -> ([^1]|1[^0]|10.)'
    assert_line 'preadv64v2 at 0 -> -1 ESPIPE'
    assert_line 'pwrite64 at 1099511627776 -> -1 ESPIPE'
    assert_line '  data "0123456789"'
}

@test "a negative offset fails EINVAL before the descriptor is even checked" {
    same_with_and_without "${HELPERS}/rw_espipe" negoff "${BATS_TEST_TMPDIR}/negoff"
    assert_success
    assert_line 'pread on fd -1 at -1 -> -1 EINVAL'
    assert_line 'pwrite on closed fd at -1 -> -1 EINVAL'
    assert_line 'pread on pipe (read end) at -1 -> -1 EINVAL'
    assert_line 'preadv on fd 1000000 at -4096 -> -1 EINVAL'
    assert_line 'preadv2 on fd 1000000 at -2 -> -1 EINVAL'
    assert_line 'preadv2 on fd 1000000 at -1 -> -1 EBADF'
    assert_line 'pwritev2 on file at -1 -> 3'
}

@test "preadv2 and pwritev2 with offset -1 on a pipe and a socket act as readv and writev and go through the ring" {
    same_with_and_without "${HELPERS}/rw_espipe" stream-pos
    assert_success
    assert_line 'preadv2 3+10 at -1 -> 13'
    expect_ring_as preadv2 readv
    expect_ring_as pwritev2 writev
}

# ---- big transfers (rows 3 and 4) ----

@test "a blocking write of 1 MiB into a pipe read in small chunks returns the full count and every byte arrives" {
    same_with_and_without "${HELPERS}/rw_large" write1m
    assert_success
    assert_line "write 1 MiB -> 1048576"
    assert_line --partial "equal -> 1"
    assert_line "reader made more than one read -> 1"
    expect_ring write
    expect_ring read
}

@test "a blocking write of 1 MiB into an AF_UNIX socket read in small chunks returns the full count and every byte arrives" {
    same_with_and_without "${HELPERS}/rw_large" write1m-socket
    assert_success
    assert_line "write 1 MiB -> 1048576"
    assert_line --partial "equal -> 1"
    expect_ring write
}

@test "a blocking writev of 8 MiB in uneven segments into a pipe returns the full count and every byte arrives" {
    same_with_and_without "${HELPERS}/rw_large" writev8m
    assert_success
    assert_line "writev 8 MiB in 5 segments -> 8388608"
    assert_line --partial "equal -> 1"
    expect_ring writev
}

@test "counts above 0x7ffff000 give what libc gives, never a count truncated to 32 bits" {
    same_with_and_without "${HELPERS}/rw_large" huge "${BATS_TEST_TMPDIR}/huge"
    assert_success
    assert_line "read of a pipe holding 10 bytes, count 0x100000005 (5 if truncated to 32 bits) -> 10"
    assert_line "write to /dev/null, count 0x100000005 (5 if truncated to 32 bits) -> 2147479552"
    assert_line "read of a pipe holding 10 bytes, count SIZE_MAX -> -1 EFAULT"
    expect_libc read huge
    expect_libc write huge
    expect_libc pread huge
    expect_libc pwrite huge
}

# ---- O_NONBLOCK (row 9) ----

nonblock_case() {
    same_with_and_without "${HELPERS}/rw_nonblock" "$1"
    assert_success
    assert_line "read on the empty nonblocking descriptor -> -1 EAGAIN"
    assert_line "read that blocks until the child writes -> 4"
    refute_line --regexp "writer child exit -> [^0]"
    expect_ring read
}

@test "read on an empty pipe made nonblocking by pipe2 fails EAGAIN and blocks again once O_NONBLOCK is cleared" {
    nonblock_case pipe2
}

@test "read on an empty pipe made nonblocking by fcntl F_SETFL fails EAGAIN and blocks again once cleared" {
    nonblock_case fcntl
}

@test "read on an empty pipe made nonblocking by ioctl FIONBIO fails EAGAIN and blocks again once cleared" {
    nonblock_case fionbio
}

@test "read on an empty AF_UNIX socket made nonblocking by fcntl fails EAGAIN and blocks again once cleared" {
    nonblock_case socket
}

@test "read on an AF_UNIX socket created with SOCK_NONBLOCK fails EAGAIN and blocks once FIONBIO clears it" {
    nonblock_case sock-nonblock
}

@test "O_NONBLOCK set on a shared pipe by another process is honoured, and so is clearing it" {
    same_with_and_without "${HELPERS}/rw_nonblock" other-process
    assert_success
    assert_line "read on the empty pipe -> -1 EAGAIN"
    assert_line "read that blocks until the child writes -> 4"
    refute_line --regexp "exit -> [^0]"
    expect_ring read
}

@test "writes on a full nonblocking pipe fail EAGAIN and a big nonblocking write is short, as with libc" {
    same_with_and_without "${HELPERS}/rw_nonblock" write-full
    assert_success
    assert_line "write 1 on the full pipe -> -1 EAGAIN"
    assert_line --regexp "^write 100000 on the empty nonblocking pipe -> [0-9]+$"
    refute_line "write 100000 on the empty nonblocking pipe -> 100000"
    # The calls were seen by the shim (ring or libc with a reason), whatever the mode.
    [ $(($(stat_sum write ring) + $(stat_sum write libc))) -gt 0 ]
}

# ---- fortified entry points (row 15) ----

@test "the fortify helper calls __read_chk, __pread_chk, __pread64_chk, __recv_chk and __recvfrom_chk" {
    run nm -D "${HELPERS}/rw_fortify"
    assert_success
    local sym
    for sym in __read_chk __pread_chk __pread64_chk __recv_chk __recvfrom_chk; do
        assert_line --regexp "^ +U ${sym}(@|$)"
    done
    refute_line --regexp "^ +U (read|pread|pread64|recv|recvfrom)(@|$)"
}

@test "fortified read and pread (__read_chk, __pread_chk, __pread64_chk) return what libc returns and go through the ring" {
    local dir
    dir=$(disk_dir)
    same_with_and_without "${HELPERS}/rw_fortify" "${dir}/fortify"
    assert_success
    assert_line "pread (__pread_chk) at -1 -> -1 EINVAL"
    expect_ring read
    expect_ring pread
}

@test "fortified recv and recvfrom (__recv_chk, __recvfrom_chk) return what libc returns and go through the ring" {
    same_with_and_without "${HELPERS}/rw_fortify" "${BATS_TEST_TMPDIR}/fortify"
    assert_success
    assert_line "recv (__recv_chk) MSG_DONTWAIT on the empty socket -> -1 EAGAIN"
    expect_ring recv
    expect_ring recvfrom
}

@test "large reads from /dev/zero and /dev/urandom are never short, as with read(2)" {
    # The ring's first attempt is non-blocking and the driver may stop early when it should
    # reschedule; the shim continues the read as the blocking call would.
    same_with_and_without bash -c 'dd if=/dev/zero bs=16M count=20 of=/dev/null 2>&1 | head -2;
                                   dd if=/dev/urandom bs=4M count=8 of=/dev/null 2>&1 | head -2'
    assert_output --partial "20+0 records in"
    assert_output --partial "8+0 records in"
    expect_ring read
}
