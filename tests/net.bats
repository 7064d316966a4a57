#!/usr/bin/env bats
# Sockets through the shim: accept/accept4, send/recv and their to/from/msg forms with their flags, UDP,
# SCM_RIGHTS, closing and reusing socket descriptors, SIGPIPE and socket timeouts. A program must see
# exactly what libc gives it. Each test runs one helper (tests/helpers/net_*.c) without and with the shim
# under `timeout` and compares the output line by line, checks the outcome libc gives, and checks that the
# calls the ring should serve went through it. SEMANTICS.md rows 4, 7, 9, 10 and 11 are at stake.
bats_require_minimum_version 1.5.0
load test_helper

# both HELPER ARGS...: same output and exit status with and without the shim, every run bounded.
both() {
    same_with_and_without timeout 20 "${HELPERS}/$1" "${@:2}"
}

# expect_ring_or_libc OP REASON: with io_uring, OP went through the ring or was bypassed for REASON (both
# are allowed by SEMANTICS.md for this case); in the other modes it never went through the ring.
expect_ring_or_libc() {
    local op=$1 reason=$2
    if [ "$IOU_TEST_MODE" = ring ]; then
        [ $(($(stat_sum "$op" ring) + $(stat_sum "$op" "libc.$reason"))) -gt 0 ] ||
            { echo "expected $op through the ring or bypassed for $reason, stats:"; cat "$(stats_dir)"/stats.*; return 1; }
    else
        [ "$(stat_sum "$op" ring)" -eq 0 ] || { echo "expected no $op through the ring"; cat "$(stats_dir)"/stats.*; return 1; }
    fi
}

# --- accept and accept4 ----------------------------------------------------------------------------------

@test "accept on a blocking TCP listener waits for a client and returns a connected socket" {
    both net_accept tcp accept 0 block
    assert_success
    assert_line "accept -> fd"
    assert_line "peer port is the client's port: yes"
    assert_line '  data "hello"'
    assert_line "client read after close -> 0"
    expect_ring accept
    expect_ring recv
    expect_ring send
}

@test "accept on a blocking AF_UNIX listener waits for a client and returns a connected socket" {
    both net_accept unix accept 0 block
    assert_success
    assert_line "accept -> fd"
    assert_line "family -> AF_UNIX"
    assert_line '  data "bye"'
    expect_ring accept
}

@test "accept4 with no flags gives a blocking socket without FD_CLOEXEC" {
    both net_accept tcp accept4 0 block
    assert_success
    assert_line "accept4 -> fd"
    assert_line "new fd FD_CLOEXEC -> 0"
    assert_line "new fd O_NONBLOCK -> 0"
    expect_ring accept4
}

@test "accept4 with SOCK_CLOEXEC sets FD_CLOEXEC on the new TCP socket and nothing else" {
    both net_accept tcp accept4 cloexec block
    assert_success
    assert_line "new fd FD_CLOEXEC -> 1"
    assert_line "new fd O_NONBLOCK -> 0"
    expect_ring accept4
}

@test "accept4 with SOCK_NONBLOCK sets O_NONBLOCK on the new TCP socket and nothing else" {
    both net_accept tcp accept4 nonblock block
    assert_success
    assert_line "new fd FD_CLOEXEC -> 0"
    assert_line "new fd O_NONBLOCK -> 1"
    assert_line "listener O_NONBLOCK -> 0"
    expect_ring accept4
}

@test "accept4 with SOCK_CLOEXEC|SOCK_NONBLOCK on an AF_UNIX listener sets both flags" {
    both net_accept unix accept4 both block
    assert_success
    assert_line "new fd FD_CLOEXEC -> 1"
    assert_line "new fd O_NONBLOCK -> 1"
    expect_ring accept4
}

@test "accept4 with SOCK_CLOEXEC on an AF_UNIX listener sets FD_CLOEXEC only" {
    both net_accept unix accept4 cloexec block
    assert_success
    assert_line "new fd FD_CLOEXEC -> 1"
    assert_line "new fd O_NONBLOCK -> 0"
    expect_ring accept4
}

@test "accept on a nonblocking TCP listener fails EAGAIN with nothing pending, then takes the connection" {
    both net_accept tcp accept 0 nonblock
    assert_success
    assert_line "accept with nothing pending -> -1 EAGAIN"
    assert_line "accept -> fd"
    assert_line "accept once more, nothing pending -> -1 EAGAIN"
    assert_line "new fd O_NONBLOCK -> 0"
    expect_ring_or_libc accept nonblock
}

@test "accept4 on a nonblocking AF_UNIX listener fails EAGAIN with nothing pending, then takes the connection" {
    both net_accept unix accept4 both nonblock
    assert_success
    assert_line "accept with nothing pending (address asked) -> -1 EAGAIN"
    assert_line "accept4 -> fd"
    assert_line "new fd O_NONBLOCK -> 1"
    expect_ring_or_libc accept4 nonblock
}

@test "accept on a TCP listener fills NULL, short and zero-length address buffers as libc does" {
    both net_accept tcp addr
    assert_success
    assert_line "accept with a 4-byte address buffer -> fd"
    assert_line "addrlen -> 16"
    assert_line "buffer untouched: yes"
    expect_ring accept
}

@test "accept on an AF_UNIX listener reports unbound and bound clients' addresses as libc does" {
    both net_accept unix addr
    assert_success
    assert_line "addrlen -> 2"
    assert_line "peer address is the client's address: yes"
    expect_ring accept
}

@test "accept and accept4 on TCP fail with libc's errors" {
    both net_accept tcp errors
    assert_success
    assert_line "accept on a pipe -> -1 ENOTSOCK"
    assert_line "accept on a socket that does not listen -> -1 EINVAL"
    assert_line "accept4 with an unknown flag -> -1 EINVAL"
    assert_line "accept on a datagram socket -> -1 EOPNOTSUPP"
}

@test "accept and accept4 on AF_UNIX fail with libc's errors" {
    both net_accept unix errors
    assert_success
    assert_line "accept on fd -1 -> -1 EBADF"
    assert_line "accept on a connected client socket -> -1 EINVAL"
}

@test "a TCP accept blocked in one thread fails EINVAL when another thread shuts the listener down" {
    both net_accept tcp shutdown
    assert_success
    assert_line "blocked accept -> -1 EINVAL"
    expect_ring accept
}

@test "an AF_UNIX accept blocked in one thread fails EINVAL when another thread shuts the listener down" {
    both net_accept unix shutdown
    assert_success
    assert_line "blocked accept -> -1 EINVAL"
}

# --- send and receive ------------------------------------------------------------------------------------

@test "send, recv, sendto, recvfrom, sendmsg, recvmsg with no flags behave as libc on TCP" {
    both net_io basic tcp
    assert_success
    assert_line '  iov[1] "efghi"'
    assert_line "  recvfrom addrlen -> 0"
    assert_line "recv 0 bytes with data queued -> 0"
    expect_ring send
    expect_ring recv
    expect_ring sendmsg
    expect_ring recvmsg
}

@test "send, recv, sendto, recvfrom, sendmsg, recvmsg with no flags behave as libc on AF_UNIX" {
    both net_io basic unix
    assert_success
    assert_line "  recvfrom addrlen -> 20"
    assert_line '  data "via write"'
    expect_ring send
    expect_ring recv
    expect_ring sendmsg
    expect_ring recvmsg
}

@test "one blocking send or sendmsg of 4 MiB on TCP transfers all of it, and recv MSG_WAITALL gets all of it" {
    both net_io large tcp
    assert_success
    assert_line "send 4 MiB, one call -> 4194304"
    assert_line "sendmsg 4 MiB in 4 iovecs, one call -> 4194304"
    assert_line "recv 4 MiB MSG_WAITALL, one call -> 4194304"
    refute_line --partial "checksum matches: no"
    expect_ring send
    expect_ring sendmsg
}

@test "one blocking send or sendmsg of 4 MiB on AF_UNIX transfers all of it" {
    both net_io large unix
    assert_success
    assert_line "send 4 MiB, one call -> 4194304"
    refute_line --partial "checksum matches: no"
    expect_ring send
}

@test "MSG_PEEK on TCP leaves the data queued, also when the peek had to wait for it" {
    both net_io peek tcp
    assert_success
    assert_line "recv 3 MSG_PEEK -> 3"
    assert_line "blocked recvmsg MSG_PEEK -> 3"
    assert_line '  peeked "xyz"'
    expect_ring recv
}

@test "MSG_PEEK on AF_UNIX leaves the data queued, also when the peek had to wait for it" {
    both net_io peek unix
    assert_success
    assert_line "recv 10 MSG_PEEK -> 6"
    assert_line "blocked recv MSG_PEEK -> 3"
    expect_ring recv
}

@test "MSG_DONTWAIT on a blocking TCP socket fails EAGAIN when nothing can move and loses no accepted byte" {
    both net_io dontwait tcp
    assert_success
    assert_line "recv MSG_DONTWAIT with nothing queued -> -1 EAGAIN"
    assert_line "recvmsg MSG_DONTWAIT with nothing queued -> -1 EAGAIN"
    assert_line "send MSG_DONTWAIT of 64 KiB, repeated until one fails -> -1 EAGAIN"
    assert_line "socket O_NONBLOCK after MSG_DONTWAIT -> 0"
    assert_line "received every byte sent: yes"
    expect_ring_or_libc recv nonblock
    expect_ring_or_libc send nonblock
}

@test "MSG_DONTWAIT on a blocking AF_UNIX socket fails EAGAIN when nothing can move and loses no accepted byte" {
    both net_io dontwait unix
    assert_success
    assert_line "recvfrom MSG_DONTWAIT with nothing queued -> -1 EAGAIN"
    assert_line "sendmsg MSG_DONTWAIT of 64 KiB, repeated until one fails -> -1 EAGAIN"
    assert_line "received every byte sent: yes"
    expect_ring_or_libc sendmsg nonblock
}

@test "MSG_WAITALL on TCP waits for the whole length while the peer sends in pieces, short only at EOF" {
    both net_io waitall tcp
    assert_success
    assert_line "recv 10000 MSG_WAITALL -> 10000"
    assert_line "recvfrom 10000 MSG_WAITALL -> 10000"
    assert_line "recvmsg 10000 MSG_WAITALL -> 10000"
    assert_line "recv 10000 MSG_WAITALL, peer sends 3000 and shuts down -> 3000"
    refute_line --partial ": no"
    expect_ring recv
    # the shim sends recvmsg MSG_WAITALL to libc (docs: a loop of plain receives is done for recv only)
    expect_ring_or_libc recvmsg flags
}

@test "MSG_WAITALL on AF_UNIX waits for the whole length while the peer sends in pieces, short only at EOF" {
    both net_io waitall unix
    assert_success
    assert_line "recv 10000 MSG_WAITALL -> 10000"
    assert_line "recv 10000 MSG_WAITALL, peer sends 3000 and shuts down -> 3000"
    refute_line --partial ": no"
    expect_ring recv
    # the shim sends recvmsg MSG_WAITALL to libc (docs: a loop of plain receives is done for recv only)
    expect_ring_or_libc recvmsg flags
}

@test "MSG_NOSIGNAL on a healthy TCP connection changes nothing" {
    both net_io nosignal tcp
    assert_success
    assert_line '  data "helloabcxyzz"'
    expect_ring send
    expect_ring sendmsg
}

@test "MSG_NOSIGNAL on a healthy AF_UNIX connection changes nothing" {
    both net_io nosignal unix
    assert_success
    assert_line '  data "helloabcxyzz"'
    expect_ring send
}

@test "O_NONBLOCK set with fcntl on a TCP socket already used makes its calls fail EAGAIN, and cleared they block again" {
    both net_io nonblock-fcntl tcp
    assert_success
    assert_line "recv on the now nonblocking socket -> -1 EAGAIN"
    assert_line "read on the now nonblocking socket -> -1 EAGAIN"
    assert_line "sendmsg of 64 KiB on the nonblocking socket, repeated until one fails -> -1 EAGAIN"
    assert_line "received every byte sent: yes"
    assert_line "recv after O_NONBLOCK was cleared -> 4"
    expect_ring_or_libc recv nonblock
}

@test "O_NONBLOCK set with ioctl FIONBIO on an AF_UNIX socket already used makes its calls fail EAGAIN, and cleared they block again" {
    both net_io nonblock-ioctl unix
    assert_success
    assert_line "recvmsg on the now nonblocking socket -> -1 EAGAIN"
    assert_line "received every byte sent: yes"
    assert_line "recv after O_NONBLOCK was cleared -> 4"
    expect_ring_or_libc recv nonblock
}

@test "O_NONBLOCK set with ioctl FIONBIO on a TCP socket makes its calls fail EAGAIN" {
    both net_io nonblock-ioctl tcp
    assert_success
    assert_line "recvfrom on the now nonblocking socket -> -1 EAGAIN"
    assert_line "recv after O_NONBLOCK was cleared -> 4"
}

@test "O_NONBLOCK set by another process on a shared TCP socket makes this process's calls fail EAGAIN" {
    both net_io nonblock-child tcp
    assert_success
    assert_line "recv on the now nonblocking socket -> -1 EAGAIN"
    assert_line "send of 64 KiB on the nonblocking socket, repeated until one fails -> -1 EAGAIN"
    assert_line "received every byte sent: yes"
    assert_line "recv after O_NONBLOCK was cleared -> 4"
}

@test "O_NONBLOCK set by another process on a shared AF_UNIX socket makes this process's calls fail EAGAIN" {
    both net_io nonblock-child unix
    assert_success
    assert_line "read on the now nonblocking socket -> -1 EAGAIN"
    assert_line "recv after O_NONBLOCK was cleared -> 4"
}

@test "socket calls on TCP fail with libc's errors (EBADF, ENOTSOCK, ENOTCONN, EPIPE, EFAULT, EMSGSIZE)" {
    both net_io errors tcp
    assert_success
    assert_line "recv on a pipe -> -1 ENOTSOCK"
    assert_line "recv on an unconnected socket -> -1 ENOTCONN"
    assert_line "recv into a NULL buffer -> -1 EFAULT"
    assert_line '  data "xhello"'
    assert_line "sendmsg with 1025 iovecs -> -1 EMSGSIZE"
}

@test "socket calls on AF_UNIX fail with libc's errors (EBADF, ENOTSOCK, EINVAL, EISCONN, EFAULT, EMSGSIZE)" {
    both net_io errors unix
    assert_success
    assert_line "sendto with an address on a connected socket -> -1 EISCONN"
    assert_line "recvmsg into a NULL iovec base -> -1 EFAULT"
    assert_line '  data "hello"'
}

# --- a larger exchange -----------------------------------------------------------------------------------

@test "a 4 MiB echo between the server and a client thread over TCP keeps every byte (checksums equal)" {
    both net_echo tcp thread
    assert_success
    assert_line "client checksums equal: yes"
    assert_line "server echoed 4194304 bytes, checksum ee1c3f0622a00383"
    expect_ring recv
    expect_ring send
}

@test "a 4 MiB echo between the server and a client process over TCP keeps every byte (checksums equal)" {
    both net_echo tcp child
    assert_success
    assert_line "client exit status -> 0"
    assert_line "server echoed 4194304 bytes, checksum ee1c3f0622a00383"
    expect_ring recv
    expect_ring recvmsg
}

@test "a 4 MiB echo between the server and a client thread over AF_UNIX keeps every byte (checksums equal)" {
    both net_echo unix thread
    assert_success
    assert_line "client checksums equal: yes"
    expect_ring send
}

@test "a 4 MiB echo between the server and a client process over AF_UNIX keeps every byte (checksums equal)" {
    both net_echo unix child
    assert_success
    assert_line "client exit status -> 0"
    assert_line "server echoed 4194304 bytes, checksum ee1c3f0622a00383"
    expect_ring sendmsg
}

# --- UDP and descriptor passing ----------------------------------------------------------------------------

@test "UDP sendto, recvfrom, sendmsg and recvmsg report the sender's address and keep datagram boundaries" {
    both net_udp
    assert_success
    refute_line --partial ": no"
    assert_line "recv 4 MSG_TRUNC of a 10-byte datagram -> 10"
    assert_line "  msg_flags has MSG_TRUNC: yes"
    assert_line "recvfrom the empty datagram -> 0"
    assert_line "send without an address on an unconnected socket -> -1 EDESTADDRREQ"
    assert_line "recv after the port unreachable -> -1 ECONNREFUSED"
    expect_ring recvmsg
    expect_ring sendmsg
}

@test "sendmsg and recvmsg pass descriptors with SCM_RIGHTS over an AF_UNIX stream" {
    both net_scm stream
    assert_success
    refute_line --partial ": no"
    assert_line "  same pipe: yes"
    assert_line "  FD_CLOEXEC -> 1 1"
    assert_line "  MSG_CTRUNC -> 1"
    assert_line "no descriptor leaked: yes"
    assert_line '  data "reply"'
    expect_ring sendmsg
    expect_ring recvmsg
}

@test "sendmsg and recvmsg pass descriptors with SCM_RIGHTS over an AF_UNIX datagram socketpair" {
    both net_scm dgram
    assert_success
    refute_line --partial ": no"
    assert_line "blocked recvmsg -> 4"
    expect_ring sendmsg
    expect_ring recvmsg
}

# --- closing sockets (row 7) -------------------------------------------------------------------------------

@test "close of a TCP socket used through the shim lets the peer's blocked read see EOF at once" {
    both net_close eof-close tcp
    assert_success
    assert_line "peer's second read was blocked: yes"
    assert_line "peer's read after the close -> 0"
    expect_ring recv
    expect_ring read
}

@test "close of an AF_UNIX socket used through the shim lets the peer's blocked read see EOF at once" {
    both net_close eof-close unix
    assert_success
    assert_line "peer's read after the close -> 0"
    expect_ring read
}

@test "dup2 over a TCP socket used through the shim closes it: the peer's blocked read sees EOF" {
    both net_close eof-dup2 tcp
    assert_success
    assert_line "peer's read after the close -> 0"
    assert_line "read on the number, now the pipe -> 0"
}

@test "dup2 over an AF_UNIX socket used through the shim closes it: the peer's blocked read sees EOF" {
    both net_close eof-dup2 unix
    assert_success
    assert_line "peer's read after the close -> 0"
}

@test "close_range over a TCP socket used through the shim closes it: the peer's blocked read sees EOF" {
    both net_close eof-close_range tcp
    assert_success
    assert_line "close_range -> 0"
    assert_line "peer's read after the close -> 0"
}

@test "close_range over an AF_UNIX socket used through the shim closes it: the peer's blocked read sees EOF" {
    both net_close eof-close_range unix
    assert_success
    assert_line "peer's read after the close -> 0"
}

@test "a pipe that takes a closed TCP socket's number reads its own data, not the socket's queued data" {
    both net_close reuse-pipe tcp
    assert_success
    assert_line "the pipe's read end took the closed number: yes"
    assert_line '  data "fresh"'
    refute_line '  data "stale"'
    expect_ring recv
    expect_ring read
}

@test "a pipe that takes a closed AF_UNIX socket's number reads its own data, not the socket's queued data" {
    both net_close reuse-pipe unix
    assert_success
    assert_line '  data "fresh"'
    refute_line '  data "stale"'
}

@test "a new TCP connection that takes a closed socket's number receives its own data, not the old one's" {
    both net_close reuse-socket tcp
    assert_success
    assert_line "the new connection took the closed number: yes"
    assert_line '  data "fresh"'
    assert_line '  data "to new"'
    refute_line '  data "stale"'
    expect_ring recv
}

@test "a new AF_UNIX connection that takes a closed socket's number receives its own data, not the old one's" {
    both net_close reuse-socket unix
    assert_success
    assert_line '  data "fresh"'
    refute_line '  data "stale"'
}

# --- SIGPIPE (row 10) --------------------------------------------------------------------------------------

# sigpipe_dies TARGET CALL: with SIGPIPE at its default the call kills the process, with and without shim.
sigpipe_dies() {
    both net_sigpipe "$1" "$2" default
    assert_equal "$status" 141
    refute_line "alive at the end"
}

# sigpipe_case TARGET CALL DISPOSITION: same output, success, the call went through the ring.
sigpipe_case() {
    both net_sigpipe "$@"
    assert_success
    assert_line "alive at the end"
    expect_ring "$2"
}

@test "write to an AF_UNIX socket whose peer closed kills the process with SIGPIPE by default" {
    sigpipe_dies unix write
    assert_line "call while the peer is open -> 4"
}

@test "send to an AF_UNIX socket whose peer closed kills the process with SIGPIPE by default" {
    sigpipe_dies unix send
}

@test "sendmsg to an AF_UNIX socket whose peer closed kills the process with SIGPIPE by default" {
    sigpipe_dies unix sendmsg
}

@test "send on a TCP socket shut down for writing kills the process with SIGPIPE by default" {
    sigpipe_dies tcp send
}

@test "write to a pipe whose reader closed kills the process with SIGPIPE by default" {
    sigpipe_dies pipe write
    assert_line "write while the reader is open -> 4"
}

@test "write to an AF_UNIX socket whose peer closed fails EPIPE when SIGPIPE is ignored" {
    sigpipe_case unix write ignore
    assert_line "write #1 on the broken unix -> -1 EPIPE"
    assert_line "write #2 on the broken unix -> -1 EPIPE"
}

@test "send to an AF_UNIX socket whose peer closed fails EPIPE when SIGPIPE is ignored" {
    sigpipe_case unix send ignore
    assert_line "send #1 on the broken unix -> -1 EPIPE"
}

@test "sendmsg to an AF_UNIX socket whose peer closed fails EPIPE when SIGPIPE is ignored" {
    sigpipe_case unix sendmsg ignore
    assert_line "sendmsg #1 on the broken unix -> -1 EPIPE"
}

@test "sendmsg on a TCP socket shut down for writing fails EPIPE when SIGPIPE is ignored" {
    sigpipe_case tcp sendmsg ignore
    assert_line "sendmsg #1 on the broken tcp -> -1 EPIPE"
}

@test "write to a pipe whose reader closed fails EPIPE when SIGPIPE is ignored" {
    sigpipe_case pipe write ignore
    assert_line "write #1 on the broken pipe -> -1 EPIPE"
}

@test "write to an AF_UNIX socket whose peer closed runs the SIGPIPE handler once, in the caller, before returning" {
    sigpipe_case unix write handler
    assert_line "write #1 on the broken unix -> -1 EPIPE"
    refute_line "  handler runs for this call -> 0"
    assert_line "  handler ran before the call returned: yes"
    assert_line "  handler ran in the calling thread: yes"
}

@test "send to an AF_UNIX socket whose peer closed runs the SIGPIPE handler once per call" {
    sigpipe_case unix send handler
    assert_line "  handler runs for this call -> 1"
    refute_line "  handler runs for this call -> 0"
    refute_line --partial ": no"
}

@test "sendmsg to an AF_UNIX socket whose peer closed runs the SIGPIPE handler once per call" {
    sigpipe_case unix sendmsg handler
    refute_line "  handler runs for this call -> 0"
    refute_line --partial ": no"
}

@test "sendto on a TCP socket shut down for writing runs the SIGPIPE handler once per call" {
    both net_sigpipe tcp sendto handler
    assert_success
    assert_line "sendto #1 on the broken tcp -> -1 EPIPE"
    refute_line "  handler runs for this call -> 0"
    refute_line --partial ": no"
}

@test "write to a pipe whose reader closed runs the SIGPIPE handler once per call" {
    sigpipe_case pipe write handler
    refute_line "  handler runs for this call -> 0"
    refute_line --partial ": no"
}

@test "a send on a TCP connection the peer reset fails ECONNRESET without SIGPIPE, the next EPIPE with it" {
    sigpipe_case tcp-reset send handler
    assert_line "send #1 on the broken tcp-reset -> -1 ECONNRESET"
    assert_line "send #2 on the broken tcp-reset -> -1 EPIPE"
    assert_line "  handler runs for this call -> 1"
}

@test "the SIGPIPE a failed send raises carries si_code SI_USER and this process's pid, as the kernel's does" {
    sigpipe_case unix send siginfo
    assert_line "  si_code -> SI_USER"
    refute_line --partial ": no"
}

@test "the SIGPIPE a failed pipe write raises carries si_code SI_USER, as the kernel's does" {
    sigpipe_case pipe write siginfo
    assert_line "  si_code -> SI_USER"
    refute_line --partial ": no"
}

@test "with SIGPIPE blocked a failed send leaves SIGPIPE pending for the calling thread" {
    sigpipe_case unix send blocked
    assert_line "  SIGPIPE pending for the thread -> 1"
    assert_line "  SIGPIPE pending for the process -> 0"
    assert_line "  sigtimedwait -> SIGPIPE"
}

@test "with SIGPIPE blocked a failed pipe write leaves SIGPIPE pending for the calling thread" {
    sigpipe_case pipe write blocked
    assert_line "  SIGPIPE pending for the thread -> 1"
}

@test "send MSG_NOSIGNAL to an AF_UNIX socket whose peer closed fails EPIPE and raises no signal" {
    sigpipe_case unix send nosignal
    assert_line "send #1 on the broken unix -> -1 EPIPE"
    refute_line "  handler runs for this call -> 1"
}

@test "sendto MSG_NOSIGNAL to an AF_UNIX socket whose peer closed fails EPIPE and raises no signal" {
    both net_sigpipe unix sendto nosignal
    assert_success
    assert_line "sendto #2 on the broken unix -> -1 EPIPE"
    refute_line "  handler runs for this call -> 1"
}

@test "sendmsg MSG_NOSIGNAL on a TCP socket shut down for writing fails EPIPE and raises no signal" {
    sigpipe_case tcp sendmsg nosignal
    assert_line "sendmsg #1 on the broken tcp -> -1 EPIPE"
    refute_line "  handler runs for this call -> 1"
}

@test "send MSG_NOSIGNAL on a TCP connection the peer reset raises no signal" {
    sigpipe_case tcp-reset send nosignal
    assert_line "send #2 on the broken tcp-reset -> -1 EPIPE"
    refute_line "  handler runs for this call -> 1"
}

# --- SO_RCVTIMEO and SO_SNDTIMEO (row 11) ------------------------------------------------------------------

@test "SO_RCVTIMEO makes recv, read, recvfrom and recvmsg on an idle TCP socket fail EAGAIN" {
    both net_timeo recv tcp
    assert_success
    assert_line "recv with nothing to read -> -1 EAGAIN"
    assert_line "read with nothing to read -> -1 EAGAIN"
    assert_line "recvfrom with nothing to read -> -1 EAGAIN"
    assert_line "recvmsg with nothing to read -> -1 EAGAIN"
    assert_line "recv without a timeout -> 4"
    expect_ring_or_libc recv timeout
}

@test "SO_RCVTIMEO makes recv, read, recvfrom and recvmsg on an idle AF_UNIX socket fail EAGAIN" {
    both net_timeo recv unix
    assert_success
    assert_line "recv with nothing to read -> -1 EAGAIN"
    assert_line "recvmsg with nothing to read -> -1 EAGAIN"
    assert_line "recv without a timeout -> 4"
    expect_ring_or_libc recv timeout
}

@test "SO_RCVTIMEO makes accept and accept4 on a TCP listener with no client fail EAGAIN" {
    both net_timeo accept tcp
    assert_success
    assert_line "accept with no client -> -1 EAGAIN"
    assert_line "accept4 with no client -> -1 EAGAIN"
    assert_line "accept with a client waiting -> fd"
    expect_ring_or_libc accept timeout
}

@test "SO_RCVTIMEO makes accept and accept4 on an AF_UNIX listener with no client fail EAGAIN" {
    both net_timeo accept unix
    assert_success
    assert_line "accept with no client -> -1 EAGAIN"
    assert_line "accept4 with no client -> -1 EAGAIN"
}

@test "SO_RCVTIMEO ends a TCP recv MSG_WAITALL with the bytes that came" {
    both net_timeo waitall tcp
    assert_success
    assert_line "recv 100 MSG_WAITALL -> 10"
    assert_line "recvmsg 100 MSG_WAITALL -> 7"
    assert_line "recv MSG_WAITALL with nothing at all -> -1 EAGAIN"
}

@test "SO_RCVTIMEO ends an AF_UNIX recv MSG_WAITALL with the bytes that came" {
    both net_timeo waitall unix
    assert_success
    assert_line "recv 100 MSG_WAITALL -> 10"
    assert_line "recvmsg 100 MSG_WAITALL -> 7"
}

@test "SO_SNDTIMEO makes blocking sends into a full TCP socket fail EAGAIN, and every byte reported sent arrives" {
    both net_timeo send tcp
    assert_success
    assert_line "blocking send of 64 KiB, repeated until one fails -> -1 EAGAIN"
    assert_line "blocking sendmsg of 64 KiB, repeated until one fails -> -1 EAGAIN"
    assert_line "received every byte the calls reported sent: yes"
    expect_ring_or_libc send timeout
}

@test "SO_SNDTIMEO makes blocking sends into a full AF_UNIX socket fail EAGAIN, and every byte reported sent arrives" {
    both net_timeo send unix
    assert_success
    assert_line "blocking write of 64 KiB, repeated until one fails -> -1 EAGAIN"
    assert_line "received every byte the calls reported sent: yes"
    expect_ring_or_libc send timeout
}
