#!/usr/bin/env bats
# Bad arguments: every read/write-family call (read, pread, pread64, readv, preadv, preadv64, preadv2,
# preadv64v2, the write side, fsync, fdatasync) with a bad descriptor, buffer, iovec, count or flag must
# fail (or succeed) exactly as libc's does, with the same errno, leave the same bytes behind in the pipe,
# socket or file, and never crash. tests/helpers/rw_badargs.c prints each call's result and what is left.
bats_require_minimum_version 1.5.0
load test_helper

# badargs CASE: rw_badargs CASE gives the same output and status with and without the shim, and exits 0.
badargs() {
    same_with_and_without "${HELPERS}/rw_badargs" "$1" "${BATS_TEST_TMPDIR}"
    assert_success
}

# only_errno ERRNO: every call in the output failed, and with ERRNO.
only_errno() {
    refute_line --regexp ' -> [0-9]+$'
    local bad
    bad=$(grep -F -- ' -> -1 ' <<<"$output" | grep -v -- " -> -1 $1\$" || true)
    [ -z "$bad" ] || { echo "calls that did not fail $1:"; echo "$bad"; return 1; }
}

@test "every call on a closed fd fails EBADF as with libc" {
    badargs closed
    only_errno EBADF
    assert_line "closed fd, 10 bytes: pread64 -> -1 EBADF"
    assert_line "closed fd, iovcnt -1: preadv2 -> -1 EBADF"
    assert_line "closed fd, iovcnt IOV_MAX+1: writev -> -1 EBADF"
    assert_line "closed fd: pwritev2 with flags 0x80000000 -> -1 EBADF"
    assert_line "closed fd, 10 bytes: fdatasync -> -1 EBADF"
}

@test "every call on fd -1 fails EBADF as with libc" {
    badargs minus1
    only_errno EBADF
    assert_line "fd -1, NULL buffer: read -> -1 EBADF"
    assert_line "fd -1, 0 bytes: write -> -1 EBADF"
    assert_line "fd -1, 10 bytes: fsync -> -1 EBADF"
}

@test "every call on fd 1000000, INT_MAX and INT_MIN fails EBADF as with libc" {
    badargs hugefd
    only_errno EBADF
    assert_line "fd 1000000, 10 bytes: pwritev64v2 -> -1 EBADF"
    assert_line "fd INT_MAX, iovcnt 0: readv -> -1 EBADF"
    assert_line "fd INT_MIN, 10 bytes: read -> -1 EBADF"
}

@test "calls on a descriptor open only for the other direction fail EBADF (or ESPIPE) as with libc" {
    badargs direction
    assert_line "file open O_RDONLY: write -> -1 EBADF"
    assert_line "file open O_RDONLY: pread -> 10"
    assert_line "file open O_WRONLY: preadv2 -> -1 EBADF"
    assert_line "file open O_WRONLY: pwrite -> 10"
    assert_line "pipe, reads on the write end, writes on the read end: read -> -1 EBADF"
    assert_line "pipe, reads on the write end, writes on the read end: writev -> -1 EBADF"
    assert_line "pipe afterwards: bytes waiting -> 100"
    assert_line "/dev/zero open O_WRONLY, /dev/null open O_RDONLY: readv -> -1 EBADF"
}

@test "a NULL buffer fails EFAULT as with libc and loses no byte" {
    badargs nullbuf
    assert_line "pipe holding 300 bytes, NULL buffer, 10 bytes: read -> -1 EFAULT"
    assert_line "pipe holding 300 bytes, NULL buffer, 10 bytes: writev -> -1 EFAULT"
    assert_line "pipe afterwards: bytes waiting -> 300"
    assert_line "socket afterwards: bytes waiting -> 200"
    assert_line "file of 8192 bytes, NULL buffer, 10 bytes: pread -> -1 EFAULT"
    assert_line "file of 8192 bytes, NULL buffer, 10 bytes: pwrite -> -1 EFAULT"
    assert_line "/dev/zero, NULL buffer, 10 bytes: read -> -1 EFAULT"
}

@test "an unmapped buffer fails EFAULT as with libc and loses no byte" {
    badargs unmapped
    assert_line "pipe holding 300 bytes, unmapped buffer, 10 bytes: readv -> -1 EFAULT"
    assert_line "socket holding 200 bytes, unmapped buffer, 10 bytes: read -> -1 EFAULT"
    assert_line "pipe afterwards: bytes waiting -> 300"
    assert_line "socket afterwards: bytes waiting -> 200"
    assert_line "file of 8192 bytes, unmapped buffer, 10 bytes: preadv64v2 -> -1 EFAULT"
    assert_line "file of 8192 bytes, unmapped buffer, 10 bytes: pwritev -> -1 EFAULT"
}

@test "a buffer that runs into an unmapped page gives the same short count or EFAULT as libc" {
    badargs partial
    assert_line "file of 8192 bytes, buffer whose first 100 bytes are mapped, 200 bytes: pread -> 100"
    assert_line "file of 8192 bytes, buffer whose first 100 bytes are mapped, 200 bytes: pwritev2 -> 100"
    assert_line "pipe afterwards: bytes waiting -> 300"
}

@test "a negative or too large iovcnt fails EINVAL as with libc" {
    badargs negiov
    assert_line "pipe, iovcnt -1: readv -> -1 EINVAL"
    assert_line "pipe, iovcnt -1, offset -1: preadv2 -> -1 EINVAL"
    assert_line "file, iovcnt -2147483648: pwritev -> -1 EINVAL"
    assert_line "/dev/null, iovcnt 1025: writev -> -1 EINVAL"
    assert_line "/dev/null, iovcnt 2147483647: preadv64v2 -> -1 EINVAL"
}

@test "iovcnt IOV_MAX+1 fails EINVAL and IOV_MAX works, as with libc" {
    badargs iovmax
    assert_line "pipe holding 3000 bytes, 1024 segments of 1 byte: readv -> 1024"
    assert_line "pipe holding 3000 bytes, 1025 segments of 1 byte: readv -> -1 EINVAL"
    assert_line "file of 3000 bytes, 1024 segments of 1 byte at 0: pwritev -> 1024"
    assert_line "file of 3000 bytes, 1025 segments of 1 byte at 0: preadv -> -1 EINVAL"
}

@test "iovcnt 0 and zero-length segments return 0 at once, even on an empty pipe, socket or FIFO, as with libc" {
    badargs iov0
    assert_line "empty pipe, iovcnt 0: readv -> 0"
    assert_line "empty socket, 2 segments of length 0: preadv2 -> 0"
    assert_line "empty FIFO, 2 segments of length 0: readv -> 0"
    assert_line "file, iovcnt 0 at offset 0: preadv -> 0"
}

@test "an iovec with a NULL base fails or transfers what libc does" {
    badargs nullbase
    assert_line "pipe holding 300 bytes, {NULL,10}: readv -> -1 EFAULT"
    assert_line "pipe holding 300 bytes, {NULL,0}: readv -> 0"
    assert_line "file, {buf,5},{NULL,5} at 0: preadv -> 5"
    assert_line "file, {buf,5},{NULL,5} at -1: pwritev2 -> 5"
}

@test "count 0 returns what libc returns on every kind of descriptor" {
    badargs count0
    assert_line "empty pipe, count 0: read -> 0"
    assert_line "empty socket, count 0, NULL buffer: read -> 0"
    assert_line "empty FIFO, count 0: read -> 0"
    assert_line "file at eof, count 0: pwrite -> 0"
    assert_line "pipe with no reader, count 0: write -> 0"
    assert_line "socket with the peer closed, count 0: write -> -1 EPIPE"
}

@test "unknown preadv2 and pwritev2 flags fail EOPNOTSUPP as with libc, after EBADF and ESPIPE" {
    badargs flags
    assert_line "pipe at -1: preadv2 with flags 0x80000000 -> -1 EOPNOTSUPP"
    assert_line "file at 0: pwritev64v2 with flags 0x40000000 -> -1 EOPNOTSUPP"
    assert_line "socket at -1: pwritev2 with flags all bits -> -1 EOPNOTSUPP"
    assert_line "pipe at 0: preadv2 with flags 0x80000000 -> -1 ESPIPE"
    assert_line "fd -1 at 0: pwritev2 with flags 0x80000000 -> -1 EBADF"
    assert_line "empty pipe: preadv2 RWF_NOWAIT at -1 -> -1 EAGAIN"
    assert_line "empty socket: preadv2 RWF_NOWAIT at -1 -> -1 EAGAIN"
    assert_line "pipe: pwritev2 RWF_HIPRI at -1 -> 16"
}

@test "read on a directory fails EISDIR as with libc" {
    badargs dir
    assert_line "directory, 10 bytes: read -> -1 EISDIR"
    assert_line "directory, 0 bytes: read -> -1 EISDIR"
    assert_line "directory, 10 bytes: pread64 -> -1 EISDIR"
    assert_line "directory, 10 bytes: preadv2 -> -1 EISDIR"
    assert_line "directory, 10 bytes: write -> -1 EBADF"
    assert_line "directory, 10 bytes: fsync -> 0"
}

@test "every call on an O_PATH descriptor fails EBADF as with libc" {
    badargs opath
    only_errno EBADF
    assert_line "file open O_PATH: read -> -1 EBADF"
    assert_line "directory open O_PATH: fsync -> -1 EBADF"
}

@test "fsync and fdatasync on a pipe, a socket, /dev/null, /dev/zero and an eventfd fail EINVAL as with libc" {
    badargs fsync-einval
    assert_line "pipe read end: fsync -> -1 EINVAL"
    assert_line "pipe write end: fdatasync -> -1 EINVAL"
    assert_line "socket: fsync -> -1 EINVAL"
    assert_line "/dev/null: fdatasync -> -1 EINVAL"
    assert_line "eventfd: fsync -> -1 EINVAL"
}

@test "fsync and fdatasync on regular files and a directory succeed as with libc" {
    badargs fsync-ok
    assert_line "file open O_RDWR: fsync -> 0"
    assert_line "file open O_RDONLY: fdatasync -> 0"
    assert_line "directory: fsync -> 0"
    assert_line "file after writes: fdatasync -> 0"
    # The calls were seen by the shim (ring or libc with a reason), whatever the mode.
    [ $(($(stat_sum fsync ring) + $(stat_sum fsync libc))) -gt 0 ]
}
