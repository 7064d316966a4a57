#!/usr/bin/env bats
# The registered-file table (shim/ftable.c): descriptors in repeated use are registered in the ring,
# and every way of closing or replacing one drops its slot first, so the file closes exactly when it
# would without the shim (SEMANTICS row 7).

load test_helper

# close_case WAY [threads]: the peer sees end-of-file right after WAY, with and without the shim.
close_case() {
    same_with_and_without "$HELPERS/ft_close" "$@"
    assert_output --partial "peer read right after -> 0"
    if [ "$IOU_TEST_MODE" = ring ] && [ $# -eq 1 ]; then
        # the socket was written through a registered file before it was closed
        [ "$(stat_sum write fixed)" -gt 0 ]
    fi
}

@test "close of a registered socket: the peer sees end-of-file at once" {
    close_case close
}

@test "close_range over a registered socket: the peer sees end-of-file at once" {
    close_case close_range
}

@test "closefrom over a registered socket: the peer sees end-of-file at once" {
    close_case closefrom
}

@test "fclose of an fdopen'ed registered socket: the peer sees end-of-file at once" {
    close_case fclose
}

@test "syscall(SYS_close) of a registered socket: the peer sees end-of-file at once" {
    close_case syscall
}

@test "dup2 of a pipe onto a registered socket's number closes the socket and writes reach the pipe" {
    close_case dup2
    assert_output --partial "write now reaches the pipe -> 1"
}

@test "a closed registered number reused by pipe() reaches the new pipe, never the old socket" {
    close_case reuse
    assert_output --partial "reused number reaches the new pipe"
}

@test "once the process has a second thread nothing is registered and closes stay exact" {
    close_case close threads
    if [ "$IOU_TEST_MODE" = ring ]; then
        [ "$(stat_sum write fixed)" -eq 0 ]
        [ "$(stat_sum write ring)" -gt 0 ]
    fi
}

@test "registrations grow with distinct descriptors, not with calls" {
    [ "$IOU_TEST_MODE" = ring ] || { run shim_env "$HELPERS/strace_calls" write pipe 200 "$BATS_TEST_TMPDIR"; assert_success; return; }
    # 200 writes on one pipe: one table registration and one slot update, whatever the count.
    run shim_env strace -f -c -o "$BATS_TEST_TMPDIR/trace" "$HELPERS/strace_calls" write pipe 200 "$BATS_TEST_TMPDIR"
    assert_success
    few=$(awk '$NF == "io_uring_register" { print $4 }' "$BATS_TEST_TMPDIR/trace")
    [ "${few:-0}" -le 4 ]
    run shim_env strace -f -c -o "$BATS_TEST_TMPDIR/trace2" "$HELPERS/strace_calls" write pipe 2000 "$BATS_TEST_TMPDIR"
    assert_success
    many=$(awk '$NF == "io_uring_register" { print $4 }' "$BATS_TEST_TMPDIR/trace2")
    [ "${many:-0}" -eq "${few:-0}" ]
    [ "$(stat_sum write fixed)" -gt 2000 ]
}

@test "IOU_SHIM_FILES=0 turns registration off and nothing changes for the program" {
    export IOU_SHIM_FILES=0
    same_with_and_without "$HELPERS/ft_close" close
    assert_output --partial "peer read right after -> 0"
    [ "$(stat_sum write fixed)" -eq 0 ]
}

@test "many threads and short-lived connections: every byte echoed, no descriptor left open" {
    same_with_and_without timeout 120 "$HELPERS/ft_conns" 8 100
    assert_output --partial "connections 800"
    assert_output --partial "checksums match 1"
    assert_output --partial "descriptors leaked 0"
    expect_ring accept
    expect_ring recv
}
