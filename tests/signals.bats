#!/usr/bin/env bats
# Signals and cancellation around calls the shim sends through io_uring: EINTR and restarts exactly as libc
# (SEMANTICS.md row 5), handlers that do I/O themselves (row 6), a storm of signals during a large transfer
# (rows 4, 5), pthread_cancel of a blocked call (row 12), and sigaction staying the program's own. Each test
# runs one helper (tests/helpers/sig_*.c) without and with the shim under `timeout` and compares the output
# line by line; the helpers synchronise by polling /proc for a blocked thread, never by sleeping.
bats_require_minimum_version 1.5.0
load test_helper

both() {
    same_with_and_without timeout 20 "${HELPERS}/$1" "${@:2}"
}

# intr CALL MODE [SENDER]: the sig_intr case gives the same output with and without the shim.
intr() {
    both sig_intr "$@"
    assert_success
    refute_line --partial ": no"
}

# The call each sig_intr case makes, under the name the stats use.
stat_name() {
    case $1 in
        write-partial) echo write ;;
        send-partial) echo send ;;
        recv-waitall) echo recv ;;
        *) echo "$1" ;;
    esac
}

# --- a blocked read on an empty pipe ----------------------------------------------------------------------

@test "a read blocked on an empty pipe fails EINTR when a handler without SA_RESTART runs" {
    intr read norestart
    assert_line "read -> -1 EINTR"
    assert_line "main thread reads -> 4"
    expect_ring read
}

@test "a read blocked on an empty pipe goes on after an SA_RESTART handler and returns the data written later" {
    intr read restart
    assert_line "read still blocked after the signal: yes"
    assert_line "read -> 4"
    expect_ring read
}

@test "a read blocked on an empty pipe goes on after a handler installed with signal()" {
    intr read signal
    assert_line "read -> 4"
    expect_ring read
}

@test "a read blocked on an empty pipe fails EINTR after siginterrupt(sig, 1)" {
    intr read siginterrupt
    assert_line "read -> -1 EINTR"
    expect_ring read
}

@test "a read blocked on an empty pipe fails EINTR after a handler installed with sysv_signal()" {
    intr read sysv
    assert_line "read -> -1 EINTR"
    assert_line "disposition afterwards -> SIG_DFL"
}

@test "a read blocked on an empty pipe goes on after an SA_RESETHAND|SA_RESTART handler" {
    intr read resethand
    assert_line "read -> 4"
    assert_line "disposition afterwards -> SIG_DFL"
}

@test "a read blocked on an empty pipe goes on when an ignored signal is sent" {
    intr read ignore
    assert_line "read -> 4"
    expect_ring read
}

@test "a read blocked on an empty pipe goes on when a signal ignored by default is sent" {
    intr read dflignored
    assert_line "read -> 4"
}

@test "a read blocked on an empty pipe goes on across SIGSTOP and SIGCONT" {
    intr read stopcont
    assert_line "stopped and continued: yes"
    assert_line "read -> 4"
    expect_ring read
}

@test "a read blocked on an empty pipe fails EINTR when another process sends a signal with a non-restarting handler" {
    intr read norestart process
    assert_line "read -> -1 EINTR"
    assert_line "main thread reads -> 4"
}

@test "a read blocked on an empty pipe goes on when another process sends a signal with an SA_RESTART handler" {
    intr read restart process
    assert_line "read -> 4"
}

# --- recv on a TCP socket ---------------------------------------------------------------------------------

@test "a recv blocked on an idle TCP socket fails EINTR when a handler without SA_RESTART runs" {
    intr recv norestart
    assert_line "recv -> -1 EINTR"
    assert_line "main thread reads -> 4"
    expect_ring recv
}

@test "a recv blocked on an idle TCP socket goes on after an SA_RESTART handler" {
    intr recv restart
    assert_line "recv -> 4"
    expect_ring recv
}

@test "a recv blocked on an idle TCP socket goes on after a handler installed with signal()" {
    intr recv signal
    assert_line "recv -> 4"
}

@test "a recv blocked on an idle TCP socket fails EINTR after siginterrupt(sig, 1)" {
    intr recv siginterrupt
    assert_line "recv -> -1 EINTR"
}

@test "a recv blocked on an idle TCP socket goes on when an ignored signal is sent" {
    intr recv ignore
    assert_line "recv -> 4"
}

@test "a recv blocked on an idle TCP socket goes on across SIGSTOP and SIGCONT" {
    intr recv stopcont
    assert_line "recv -> 4"
    expect_ring recv
}

# --- accept on a TCP listener -----------------------------------------------------------------------------

@test "an accept blocked on a TCP listener fails EINTR when a handler without SA_RESTART runs, and the next client is not lost" {
    intr accept norestart
    assert_line "accept -> -1 EINTR"
    assert_line "main thread accepts -> fd"
    expect_ring accept
}

@test "an accept blocked on a TCP listener goes on after an SA_RESTART handler" {
    intr accept restart
    assert_line "accept -> fd"
    expect_ring accept
}

@test "an accept blocked on a TCP listener goes on after a handler installed with signal()" {
    intr accept signal
    assert_line "accept -> fd"
}

@test "an accept blocked on a TCP listener fails EINTR after siginterrupt(sig, 1)" {
    intr accept siginterrupt
    assert_line "accept -> -1 EINTR"
    assert_line "main thread accepts -> fd"
}

@test "an accept blocked on a TCP listener goes on across SIGSTOP and SIGCONT" {
    intr accept stopcont
    assert_line "accept -> fd"
}

# --- write into a full pipe (nothing can move) --------------------------------------------------------------

@test "a write blocked on a full pipe fails EINTR when a handler without SA_RESTART runs, and writes nothing" {
    intr write norestart
    assert_line "write -> -1 EINTR"
    assert_line "pipe holds exactly the fill: yes"
    assert_line "no stray write shows up later: yes"
    expect_ring write
}

@test "a write blocked on a full pipe goes on after an SA_RESTART handler and writes everything once" {
    intr write restart
    assert_line "write -> 100"
    assert_line "main thread read the fill and the 100 bytes: yes"
    expect_ring write
}

@test "a write blocked on a full pipe goes on after a handler installed with signal()" {
    intr write signal
    assert_line "write -> 100"
}

@test "a write blocked on a full pipe fails EINTR after siginterrupt(sig, 1)" {
    intr write siginterrupt
    assert_line "write -> -1 EINTR"
    assert_line "pipe holds exactly the fill: yes"
}

@test "a write blocked on a full pipe goes on when an ignored signal is sent" {
    intr write ignore
    assert_line "write -> 100"
}

@test "a write blocked on a full pipe goes on across SIGSTOP and SIGCONT" {
    intr write stopcont
    assert_line "write -> 100"
}

# --- a 1 MiB write interrupted after 64 KiB moved -----------------------------------------------------------

@test "a 1 MiB pipe write interrupted after 64 KiB moved returns the short count (no SA_RESTART)" {
    intr write-partial norestart
    assert_line "write-partial -> 65536"
    assert_line "the pipe held exactly what write reported: yes"
    expect_ring "$(stat_name write-partial)"
}

@test "a 1 MiB pipe write interrupted after 64 KiB moved returns the short count even with SA_RESTART" {
    intr write-partial restart
    assert_line "write-partial -> 65536"
    assert_line "the pipe held exactly what write reported: yes"
    expect_ring write
}

@test "a 1 MiB pipe write interrupted after 64 KiB moved returns the short count with a signal() handler" {
    intr write-partial signal
    assert_line "write-partial -> 65536"
}

@test "a 1 MiB pipe write interrupted after 64 KiB moved returns the short count after siginterrupt(sig, 1)" {
    intr write-partial siginterrupt
    assert_line "write-partial -> 65536"
}

@test "a 1 MiB pipe write stopped and continued after 64 KiB moved returns the short count" {
    intr write-partial stopcont
    assert_line "stopped and continued: yes"
    assert_line "write-partial -> 65536"
}

@test "a 1 MiB pipe write that gets an ignored signal writes everything" {
    intr write-partial ignore
    assert_line "write-partial -> 1048576"
    expect_ring write
}

@test "a 1 MiB pipe write interrupted by a signal from another process returns the short count (SA_RESTART)" {
    intr write-partial restart process
    assert_line "write-partial -> 65536"
}

# --- a blocking send on AF_UNIX interrupted after some bytes moved -----------------------------------------

@test "an 8 MiB AF_UNIX send interrupted after some bytes moved returns the short count (no SA_RESTART)" {
    intr send-partial norestart
    assert_line "send-partial -> a short count"
    assert_line "the peer got exactly what send reported: yes"
    expect_ring "$(stat_name send-partial)"
}

@test "an 8 MiB AF_UNIX send interrupted after some bytes moved returns the short count even with SA_RESTART" {
    intr send-partial restart
    assert_line "send-partial -> a short count"
    assert_line "the peer got exactly what send reported: yes"
    expect_ring send
}

@test "an 8 MiB AF_UNIX send stopped and continued after some bytes moved returns the short count" {
    intr send-partial stopcont
    assert_line "send-partial -> a short count"
}

@test "an 8 MiB AF_UNIX send that gets an ignored signal sends everything" {
    intr send-partial ignore
    assert_line "send-partial -> 8388608"
    expect_ring send
}

# --- recv MSG_WAITALL on TCP interrupted after some bytes came -----------------------------------------------

@test "a TCP recv MSG_WAITALL interrupted after 10 of 100 bytes came returns 10 (no SA_RESTART)" {
    intr recv-waitall norestart
    assert_line "recv-waitall -> 10"
    assert_line "main thread receives -> 5"
    expect_ring "$(stat_name recv-waitall)"
}

@test "a TCP recv MSG_WAITALL interrupted after 10 of 100 bytes came returns 10 even with SA_RESTART" {
    intr recv-waitall restart
    assert_line "recv-waitall -> 10"
    expect_ring recv
}

@test "a TCP recv MSG_WAITALL stopped and continued after 10 of 100 bytes came returns 10" {
    intr recv-waitall stopcont
    assert_line "recv-waitall -> 10"
}

@test "a TCP recv MSG_WAITALL that gets an ignored signal waits for all 100 bytes" {
    intr recv-waitall ignore
    assert_line "recv-waitall -> 100"
    expect_ring recv
}

# --- sigaction stays the program's own ----------------------------------------------------------------------

@test "the shim installs no signal disposition and blocks no signal, before or after I/O in two threads" {
    both sig_action startup
    assert_success
    local start after
    start=$(sed -n 's/^at start: signals not at SIG_DFL -> //p' <<<"$output")
    after=$(sed -n 's/^after I\/O in a second thread: signals not at SIG_DFL -> //p' <<<"$output")
    [ -n "$start" ]
    assert_equal "$after" "$start"
    refute_line --partial "a handler the program never installed"
    expect_ring read
}

@test "sigaction, signal, siginterrupt and sysv_signal report exactly the handlers, flags and masks the program set" {
    both sig_action query
    assert_success
    assert_line "signal(SIGUSR1, h1) returned -> h2"
    assert_line "sysv_signal(SIGUSR1, h2) returned -> h1"
    assert_line "  sa_sigaction is h3: yes"
    refute_line --partial "a handler the program never installed"
    expect_ring read
}

@test "an SA_SIGINFO handler gets the right si_signo, si_code, si_pid and si_value while its thread is blocked in read" {
    both sig_action siginfo
    assert_success
    refute_line --partial ": no"
    assert_line "  si_code -> SI_TKILL"
    assert_line "  si_code -> SI_USER"
    assert_line "  si_value -> 4242"
    assert_line "  si_value -> -7"
    assert_line "read -> 5"
    expect_ring read
}

@test "a handler runs with sa_mask and its own signal blocked (not with SA_NODEFER) and the thread's mask comes back" {
    both sig_action mask
    assert_success
    assert_line "no SA_NODEFER: in the handler, SIGUSR1 blocked -> 1"
    assert_line "SA_NODEFER: in the handler, SIGUSR1 blocked -> 0"
    refute_line --partial ": no"
    expect_ring read
}

@test "SA_RESETHAND: the blocked read fails EINTR, the handler reads back as SIG_DFL, the next signal kills" {
    both sig_action resethand
    assert_equal "$status" 138
    assert_line "read -> -1 EINTR"
    assert_line "handler runs -> 1"
    refute_line "still alive after the second SIGUSR1"
    # the stats file of a process killed by a signal may be missing: only what can be asserted
}

# --- handlers doing I/O (row 6) -----------------------------------------------------------------------------

@test "a handler that writes the record the interrupted read waits for delivers 200 records whole and in order" {
    both sig_nested same
    assert_success
    assert_line "records read whole and in order -> 200 of 200"
    assert_line "handler I/O mismatches -> 0"
    expect_ring read
}

@test "a handler doing its own pipe and socket I/O 200 times leaves the interrupted read intact" {
    both sig_nested other
    assert_success
    assert_line 'read on pipe A "end-mark!\x0a"'
    assert_line "handler I/O mismatches -> 0"
    expect_ring read
}

# --- a storm ------------------------------------------------------------------------------------------------

@test "64 MiB through a pipe under 10,000 SA_RESTART signals: totals and checksums exact, no EINTR" {
    both sig_storm restart
    assert_success
    assert_line "totals and checksums equal: yes"
    assert_line "EINTR seen by the writer -> 0"
    assert_line "EINTR seen by the reader -> 0"
    expect_ring read
    expect_ring write
}

@test "64 MiB through a pipe under 10,000 non-restarting signals: no byte lost or repeated" {
    both sig_storm norestart
    assert_success
    assert_line "totals and checksums equal: yes"
    expect_ring read
    expect_ring write
}

# --- pthread_cancel (row 12) --------------------------------------------------------------------------------

@test "pthread_cancel ends a thread blocked in read and leaves no read behind" {
    both sig_cancel read
    assert_success
    assert_line "thread was cancelled: yes"
    assert_line "cleanup handler ran: yes"
    assert_line '  data "after"'
    expect_ring read
}

@test "pthread_cancel ends a thread blocked in accept and leaves no accept behind" {
    both sig_cancel accept
    assert_success
    assert_line "thread was cancelled: yes"
    assert_line "main thread accepts -> fd"
    expect_ring accept
}

@test "pthread_cancel ends a thread blocked in recv and leaves no recv behind" {
    both sig_cancel recv
    assert_success
    assert_line "thread was cancelled: yes"
    assert_line '  data "after"'
    expect_ring recv
}

@test "pthread_cancel of a thread with cancellation disabled lets its read finish, then acts" {
    both sig_cancel read disabled
    assert_success
    assert_line "read -> 4"
    assert_line "thread was cancelled: yes"
    assert_line '  data "after"'
}

@test "pthread_cancel of a thread with cancellation disabled lets its accept finish, then acts" {
    both sig_cancel accept disabled
    assert_success
    assert_line "accept -> fd"
    assert_line "thread was cancelled: yes"
}

@test "pthread_cancel of a thread with cancellation disabled lets its recv finish, then acts" {
    both sig_cancel recv disabled
    assert_success
    assert_line "recv -> 4"
    assert_line "thread was cancelled: yes"
}

@test "a vfork child that resets signal handlers leaves the parent's handlers working" {
    same_with_and_without "$HELPERS/sig_vfork"
    assert_output --partial "parent's handler still installed: 1"
    assert_output --partial "handler ran 1 time(s)"
    expect_ring read
}
