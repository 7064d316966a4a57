#!/usr/bin/env bats
# Older kernels: every newer io_uring feature is optional. IOU_SHIM_PRETEND makes the shim behave as
# if the kernel refused a feature (the shim's own set-up code sees the refusal), so the fallback paths
# are tested on this kernel: the program's output never changes, only the path its calls take.

load test_helper

setup() {
    printf 'line one\nline two\n' > "$BATS_TEST_TMPDIR/file"
}

@test "without setup flags (kernels before 5.6) calls still go through the ring" {
    export IOU_SHIM_PRETEND=no-setup-flags
    same_with_and_without "$HELPERS/life_io" fork
    expect_ring read
}

@test "without registered ring descriptors (before 5.18) a ring closed by close_range is made again" {
    # On such kernels a ring costs the program one descriptor; after close_range took it the shim
    # makes a new ring instead of failing, and never touches the number it lost.
    export IOU_SHIM_PRETEND=no-ring-fd
    run "$HELPERS/life_io" closeall
    assert_success
    run shim_env "$HELPERS/life_io" closeall
    assert_success
    assert_output --partial "failures 0"
    if [ "$IOU_TEST_MODE" = ring ]; then
        run cat "$(stats_dir)"/stats.*
        assert_output --partial "rings=2 "
    fi
}

@test "without registered ring descriptors a thread's ring descriptor is closed when it exits" {
    export IOU_SHIM_PRETEND=no-ring-fd
    same_with_and_without "$HELPERS/life_io" threads 100
    assert_output --partial "descriptors leaked 0"
}

@test "without the opcode probe (before 5.6) pipe calls use libc, counted as unsupported" {
    export IOU_SHIM_PRETEND=no-probe
    same_with_and_without "$HELPERS/life_io" threads 3
    if [ "$IOU_TEST_MODE" = ring ]; then
        [ "$(stat_sum read libc.unsupported)" -gt 0 ]
        [ "$(stat_sum read ring)" -eq 0 ]
        # fsync only needs a 5.1 opcode: still on the ring
        run shim_env "$HELPERS/life_fsync" "$BATS_TEST_TMPDIR/f"
        assert_success
        [ "$(stat_sum fsync ring)" -gt 0 ]
    fi
}

@test "without request cancellation (before 5.5) calls that may block use libc, file calls the ring" {
    export IOU_SHIM_PRETEND=no-cancel
    same_with_and_without "$HELPERS/life_io" threads 3
    if [ "$IOU_TEST_MODE" = ring ]; then
        [ "$(stat_sum read libc.unsupported)" -gt 0 ]
        run shim_env "$HELPERS/life_fsync" "$BATS_TEST_TMPDIR/f"
        assert_success
        [ "$(stat_sum fsync ring)" -gt 0 ]
    fi
}
