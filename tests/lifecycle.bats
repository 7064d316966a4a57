#!/usr/bin/env bats
# Rings across the life of threads and processes: creation per thread, release at thread exit,
# fork, programs that close every descriptor, and descriptor limits (SEMANTICS rows 8, 14, 18).

load test_helper

@test "hundreds of short-lived threads each do I/O and leave no descriptor behind" {
    same_with_and_without "$HELPERS/life_io" threads 300
    assert_output --partial "descriptors leaked 0"
    expect_ring read
    expect_ring send
    if [ "$IOU_TEST_MODE" = ring ]; then
        # one ring per thread, each released when its thread ended
        run cat "$(stats_dir)"/stats.*
        assert_output --partial "rings=300 "
    fi
}

@test "fifty concurrent threads do I/O at once through their own rings" {
    same_with_and_without "$HELPERS/life_io" concurrent 50
    assert_output --partial "failures 0"
    expect_ring recv
}

@test "threads past IOU_SHIM_MAX_RINGS use libc and the program is unchanged" {
    export IOU_SHIM_MAX_RINGS=2
    same_with_and_without "$HELPERS/life_io" concurrent 8
    assert_output --partial "failures 0"
    if [ "$IOU_TEST_MODE" = ring ]; then
        [ "$(stat_sum read libc.noring)" -gt 0 ]
        [ "$(stat_sum read ring)" -gt 0 ]
    fi
}

@test "a forked child does I/O at once, parent and child both through the ring" {
    same_with_and_without "$HELPERS/life_io" fork
    assert_output --partial "failures 0"
    expect_ring write
}

@test "while one thread forks, the other threads' calls still go through their rings" {
    same_with_and_without "$HELPERS/life_io" forkbusy
    assert_output --partial "failures 0"
    expect_ring read
    # Only the forking thread takes libc while fork is under way (calls nested in the shim: none here).
    [ "$(stat_sum read libc.nested)" -eq 0 ]
    [ "$(stat_sum write libc.nested)" -eq 0 ]
}

@test "the program's own pthread_atfork handlers do I/O while fork is under way, in parent and child" {
    same_with_and_without "$HELPERS/life_io" atfork
    assert_output --partial "failures 0"
    expect_ring write
}

@test "vfork children write before _exit and the parent's ring is untouched" {
    same_with_and_without "$HELPERS/life_io" vfork
    assert_output --partial "bytes the children wrote -> 50"
    assert_output --partial "failures 0"
    if [ "$IOU_TEST_MODE" = ring ]; then
        # the children's writes were refused by the kernel and done by libc; the parent kept its ring
        [ "$(stat_sum write fallback)" -eq 50 ]
        [ "$(stat_sum read ring)" -gt 0 ]
    fi
}

@test "close_range(3, ~0U) like a daemon does not break the shim's ring" {
    same_with_and_without "$HELPERS/life_io" closeall
    assert_output --partial "descriptors leaked 0"
    expect_ring read
    if [ "$IOU_TEST_MODE" = ring ]; then
        # the ring survived: no second ring, no fallback
        [ "$(stat_sum read fallback)" -eq 0 ]
    fi
}

@test "a program with one free descriptor gets the same EMFILE and keeps its last descriptor" {
    same_with_and_without "$HELPERS/life_io" lowfd
    assert_output --partial "pipe with one free descriptor -> -1 EMFILE"
    assert_output --partial "read from the last descriptor -> 1"
}

@test "a ring that cannot be made for lack of descriptors means libc, silently" {
    same_with_and_without "$HELPERS/life_io" nofree
    assert_output --partial "read -> 1"
    refute_output --partial "iou-shim"
    if [ "$IOU_TEST_MODE" = ring ]; then
        [ "$(stat_sum read libc.noring)" -eq 3 ]
        run cat "$(stats_dir)"/stats.*
        assert_output --partial "ring_failures=1"
    fi
}
