#!/usr/bin/env bats
# Seeing that the shim is active: the IOU_SHIM_LOG banner and stats on demand (IOU_SHIM_STATS_SIGNAL).

bats_require_minimum_version 1.5.0
load test_helper

@test "IOU_SHIM_LOG=info prints one banner line per process with the non-default settings" {
    run --separate-stderr env LD_PRELOAD="$(shim_preload)" IOU_SHIM_LOG=info IOU_SHIM_QUEUE_DEPTH=64 \
        "$HELPERS/life_fsync" "$BATS_TEST_TMPDIR/f"
    assert_success
    [ "$(grep -c 'active in' <<<"$stderr")" -eq 1 ]
    assert_regex "${stderr_lines[0]}" "^iou-shim\[[0-9]+\]: iou-shim [0-9.]+ active in life_fsync, route ring; settings: queue_depth=64 log=info\$"
}

@test "without IOU_SHIM_LOG the shim prints nothing at all" {
    run --separate-stderr env LD_PRELOAD="$(shim_preload)" "$HELPERS/life_fsync" "$BATS_TEST_TMPDIR/f"
    assert_success
    [ -z "$stderr" ]
}

@test "IOU_SHIM_STATS_SIGNAL writes the counts so far while the program runs, and the program goes on" {
    # The shell writes 100 lines to a pipe, asks for stats, writes 100 more; the signal must not
    # interrupt anything and the dump must show the first hundred writes.
    run --separate-stderr env LD_PRELOAD="$(shim_preload)" IOU_SHIM_STATS_SIGNAL=USR2 IOU_SHIM_DISABLE=0 \
        bash -c 'for i in $(seq 100); do echo line; done; kill -USR2 $$; for i in $(seq 100); do echo line; done' \
        </dev/null
    assert_success
    [ "$(grep -c '^line$' <<<"$output")" -eq 200 ]
    assert_regex "$stderr" "iou-shim\[[0-9]+\] process: route=ring"
}

@test "a bad IOU_SHIM_STATS_SIGNAL gets one clear line and the program runs" {
    run --separate-stderr env LD_PRELOAD="$(shim_preload)" IOU_SHIM_STATS_SIGNAL=BOGUS "$HELPERS/life_fsync" \
        "$BATS_TEST_TMPDIR/f"
    assert_success
    assert_output --partial "content 0123456789"
    [ "$stderr" = 'iou-shim: IOU_SHIM_STATS_SIGNAL="BOGUS" is invalid (expected a signal name such as USR2 or a number); using none' ]
}
