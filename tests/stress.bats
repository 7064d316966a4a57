#!/usr/bin/env bats
# The stress program (tests/helpers/stress.c): many threads doing mixed I/O on pipes, socketpairs, a TCP
# connection and a shared file at explicit offsets, while signals with and without SA_RESTART arrive, blocked
# readers are cancelled and their channel reused, and forked children do I/O. Every byte is checked by the
# program; its output (per-channel byte counts and checksums, counts of steps, facts that must hold) must be the
# same without and with the shim. The work is fixed by the seed and the scale, never by time.
load test_helper

# stress SEED SCALE: runs the program both ways (bounded) and checks the result.
stress() {
    same_with_and_without timeout 150 "$HELPERS/stress" "$1" "$2" "$BATS_TEST_TMPDIR"
    assert_success
    assert_line "result: ok"
    assert_line --regexp "^cancelled blocked readers: ([0-9]+), ended cancelled \\1, reused channel intact \\1$"
    assert_line --regexp "^forked children: ([0-9]+), exited 0: \\1, "
    assert_line "EINTR in threads whose handlers all restart: 0"
    assert_line "EINTR or short counts from regular-file calls: 0"
    assert_line "failed round trips inside signal handlers: 0"
    # every channel and file region: what the writer sent is what the reader got
    run awk '/written fnv/ { match($0, /written fnv [0-9a-f]+/); w = substr($0, RSTART + 12, RLENGTH - 12)
                             if (w != $NF) { print "mismatch: " $0; bad = 1 } n++ }
             END { if (!n) print "no channel lines"; exit bad || !n }' <<<"$output"
    assert_success
}

@test "stress, seed 1: every byte arrives under signals, cancellation and fork, through the ring" {
    stress 1 1
    for op in read write readv writev recv send recvmsg sendmsg recvfrom sendto accept pread preadv; do
        expect_ring "$op"
    done
}

@test "stress, seed 14, with a queue depth of 2" {
    export IOU_SHIM_QUEUE_DEPTH=2
    stress 14 1
    expect_ring recv
}

@test "stress, seed 3, with IOU_SHIM_MAX_RINGS=4: a few threads on rings, the rest on libc" {
    export IOU_SHIM_MAX_RINGS=4
    stress 3 1
    expect_ring read
    if [ "$IOU_TEST_MODE" = ring ]; then
        [ "$(stat_sum read libc.noring)" -gt 0 ]
    fi
}

@test "stress, seed 4, with IOU_SHIM_ROUTE=all: file calls that need a kernel worker go through the ring too" {
    export IOU_SHIM_ROUTE=all
    stress 4 1
    expect_ring pwrite
}

@test "stress, seed 5, three times the work" {
    stress 5 3
    expect_ring send
}
