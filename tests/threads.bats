#!/usr/bin/env bats
# Threads at the limits (SEMANTICS rows 12, 17, 18): thousands alive at once past IOU_SHIM_MAX_RINGS, threads
# created and ended in a tight loop without leaking descriptors or memory, RLIMIT_NPROC, and io_uring refused
# by a seccomp filter on every thread halfway through a run. Each test runs tests/helpers/thr_limits.c without
# and with the shim (bounded by `timeout`; the helper bounds its own joins) and compares the output.
load test_helper

limits() {
    same_with_and_without timeout 120 "$HELPERS/thr_limits" "$@"
}

# stat_is OP KEY N: the summed stats counter is N; otherwise shows the stats and fails.
stat_is() {
    local got
    got=$(stat_sum "$1" "$2")
    [ "$got" -eq "$3" ] || { echo "stats: $1 $2 is $got, expected $3"; cat "$(stats_dir)"/stats.*; return 1; }
}

# stat_above OP KEY N: the summed stats counter is above N.
stat_above() {
    local got
    got=$(stat_sum "$1" "$2")
    [ "$got" -gt "$3" ] || { echo "stats: $1 $2 is $got, expected more than $3"; cat "$(stats_dir)"/stats.*; return 1; }
}

@test "2000 threads alive at once each do a round trip: 1024 rings, the other 976 threads on libc (noring)" {
    unset IOU_SHIM_MAX_RINGS # the default, 1024
    limits many 2000
    assert_success
    assert_line "threads alive at once: 2000"
    assert_line "round trips that failed: 0"
    expect_ring read
    if [ "$IOU_TEST_MODE" = ring ]; then
        # every ring stays with its thread until all threads are done: exactly the limit were made
        run cat "$(stats_dir)"/stats.*
        assert_output --partial " rings=1024 "
        stat_is read ring 1024
        stat_is read libc.noring 976
        stat_is write libc.noring 976
    fi
}

@test "5000 threads created and ended in a tight loop leave no descriptor and no memory behind" {
    limits churn 5000
    assert_success
    assert_line "descriptors at thread 1000 and at thread 5000: same"
    assert_line "resident memory growth from thread 1000 to thread 5000 below 8 MiB: yes"
    assert_line "round trips that failed: 0"
    expect_ring recv
    if [ "$IOU_TEST_MODE" = ring ]; then
        # each thread's ring was released at its end, so no thread ever met the ring limit
        stat_is read ring 5000
        stat_is send ring 5000
        stat_is read libc.noring 0
        run cat "$(stats_dir)"/stats.*
        assert_output --partial " rings=5000 "
    fi
}

@test "RLIMIT_NPROC stops thread creation at the same count and threads and fork work again afterwards" {
    limits nproc 20
    assert_success
    # the process itself is one of the 20: the shim starts no thread of its own
    assert_line "threads created under RLIMIT_NPROC=20: 19, then pthread_create -> EAGAIN"
    assert_line "fork at the limit -> EAGAIN"
    assert_line "a thread after the others ended -> created"
    assert_line "a forked child's round trips after the others ended -> ok"
    assert_line "round trips that failed: 0"
    expect_ring read
}

@test "io_uring refused by seccomp halfway through: threads with rings, blocked readers, new threads and a child go on" {
    limits seccomp
    assert_success
    assert_line "seccomp filter refusing io_uring on every thread -> 0"
    assert_line "handler ran in the second blocked reader: yes"
    assert_output --partial $'write to the first blocked reader -> 4\n  its read -> 4'
    assert_output --partial $'write to the second blocked reader -> 4\n  its read -> 4'
    assert_line "a forked child's round trips -> ok"
    assert_line "round trips that failed: 0"
    expect_ring read
    if [ "$IOU_TEST_MODE" = ring ]; then
        # threads that had a ring fell back at their next submission; threads started later had none
        stat_above write fallback 0
        stat_above read libc.noring 0
    fi
}
