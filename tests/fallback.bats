#!/usr/bin/env bats
# io_uring refused or switched off: the program must print exactly what it prints without the shim, say
# nothing on stderr, and the shim's stats must show every call done by libc with the right reason.
# The refusals here are explicit (deny_uring, IOU_SHIM_DISABLE, ...) whatever IOU_TEST_MODE is; the last two
# tests follow IOU_TEST_MODE like the rest of the suite.
bats_require_minimum_version 1.5.0
load test_helper

# The calls fb_io makes on pipes, sockets and explicit file offsets, each of which the ring serves when it can.
RING_ELIGIBLE=(read write pread accept send recv)

# fb_refused WRAPPER...: runs fb_io without the shim, then under WRAPPER with the shim preloaded and stats
# written to $(stats_dir); stdout, status and an empty stderr must agree with the plain run.
fb_refused() {
    run --separate-stderr "${HELPERS}/fb_io" "${BATS_TEST_TMPDIR}"
    assert_success
    local plain=$output
    mkdir -p "$(stats_dir)"
    run --separate-stderr "$@" env LD_PRELOAD="$(shim_preload)" IOU_SHIM_STATS="$(stats_dir)/stats.%p" \
        ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" "${HELPERS}/fb_io" "${BATS_TEST_TMPDIR}"
    assert_success
    assert_output "$plain"
    [ -z "$stderr" ] || { echo "unexpected stderr: $stderr"; return 1; }
}

show_stats() { echo "stats:"; cat "$(stats_dir)"/stats.* 2>/dev/null || echo "(no stats file)"; }

# all_on_libc OP...: no call of OP went through the ring or fell back, and some were done by libc.
all_on_libc() {
    local op
    for op in "$@"; do
        [ "$(stat_sum "$op" ring)" -eq 0 ] || { echo "$op went through the ring"; show_stats; return 1; }
        [ "$(stat_sum "$op" fallback)" -eq 0 ] || { echo "$op counted as fallback"; show_stats; return 1; }
        [ "$(stat_sum "$op" libc)" -gt 0 ] || { echo "$op not counted as libc"; show_stats; return 1; }
    done
    [ "$(stat_sum process rings)" -eq 0 ] || { echo "a ring was made"; show_stats; return 1; }
}

# reason_counted REASON OP...: some calls of each OP were sent to libc for REASON.
reason_counted() {
    local reason=$1 op
    shift
    for op in "$@"; do
        [ "$(stat_sum "$op" "libc.$reason")" -gt 0 ] || { echo "$op not counted as libc.$reason"; show_stats; return 1; }
    done
}

@test "with io_uring refused by seccomp (EPERM) the program runs the same, silently, every call on libc as noring" {
    fb_refused "${HELPERS}/deny_uring" EPERM
    all_on_libc "${RING_ELIGIBLE[@]}" fsync
    reason_counted noring "${RING_ELIGIBLE[@]}"
}

@test "with io_uring refused by seccomp (ENOSYS) the program runs the same, silently, every call on libc as noring" {
    fb_refused "${HELPERS}/deny_uring" ENOSYS
    all_on_libc "${RING_ELIGIBLE[@]}" fsync
    reason_counted noring "${RING_ELIGIBLE[@]}"
}

@test "with io_uring_setup refused as by sysctl kernel.io_uring_disabled the program runs the same on libc as noring" {
    # kernel.io_uring_disabled=2 (or 1 without the io_uring group) makes io_uring_setup fail EPERM.
    fb_refused "${HELPERS}/deny_uring" --setup-only EPERM
    all_on_libc "${RING_ELIGIBLE[@]}" fsync
    reason_counted noring "${RING_ELIGIBLE[@]}"
}

@test "with io_uring refused and IOU_SHIM_ROUTE=all even fsync is counted as noring" {
    fb_refused "${HELPERS}/deny_uring" EPERM env IOU_SHIM_ROUTE=all
    all_on_libc "${RING_ELIGIBLE[@]}" fsync
    reason_counted noring "${RING_ELIGIBLE[@]}" fsync
}

@test "with IOU_SHIM_MAX_RINGS=0 the program runs the same on libc as noring" {
    fb_refused env IOU_SHIM_MAX_RINGS=0
    all_on_libc "${RING_ELIGIBLE[@]}" fsync
    reason_counted noring "${RING_ELIGIBLE[@]}"
}

@test "with IOU_SHIM_DISABLE=1 the program runs the same, every call on libc as disabled" {
    fb_refused env IOU_SHIM_DISABLE=1
    all_on_libc "${RING_ELIGIBLE[@]}" fsync
    reason_counted disabled "${RING_ELIGIBLE[@]}" fsync
}

@test "with IOU_SHIM_ROUTE=libc the program runs the same, every call on libc as disabled" {
    fb_refused env IOU_SHIM_ROUTE=libc
    all_on_libc "${RING_ELIGIBLE[@]}" fsync
    reason_counted disabled "${RING_ELIGIBLE[@]}" fsync
}

@test "with IOU_SHIM_DISABLE=1 every call is counted as disabled, even one with arguments the ring would refuse" {
    # Switched off, the shim looks at nothing before libc: bad flags are libc's to report, not a reason.
    run --separate-stderr "${HELPERS}/rw_badargs" flags "${BATS_TEST_TMPDIR}"
    local plain=$output
    mkdir -p "$(stats_dir)"
    run --separate-stderr env LD_PRELOAD="$(shim_preload)" IOU_SHIM_DISABLE=1 IOU_SHIM_STATS="$(stats_dir)/stats.%p" \
        ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" "${HELPERS}/rw_badargs" flags "${BATS_TEST_TMPDIR}"
    assert_output "$plain"
    local op
    for op in preadv2 pwritev2; do
        [ "$(stat_sum "$op" libc)" -gt 0 ] || { echo "no $op counted"; show_stats; return 1; }
        [ "$(stat_sum "$op" libc)" -eq "$(stat_sum "$op" libc.disabled)" ] ||
            { echo "$op: a call counted for another reason"; show_stats; return 1; }
    done
}

@test "with io_uring refused and IOU_SHIM_LOG=debug the shim says so on stderr and stdout is unchanged" {
    run --separate-stderr "${HELPERS}/fb_io" "${BATS_TEST_TMPDIR}"
    local plain=$output
    run --separate-stderr "${HELPERS}/deny_uring" EPERM env LD_PRELOAD="$(shim_preload)" \
        ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" IOU_SHIM_LOG=debug "${HELPERS}/fb_io" "${BATS_TEST_TMPDIR}"
    assert_success
    assert_output "$plain"
    [ -n "$stderr" ] || { echo "IOU_SHIM_LOG=debug printed nothing"; return 1; }
    assert_regex "$stderr" 'iou-shim'
}

@test "with io_uring refused and IOU_SHIM_LOG_FILE set the messages go to the file, not stderr" {
    local log="${BATS_TEST_TMPDIR}/shim.log"
    run --separate-stderr "${HELPERS}/deny_uring" EPERM env LD_PRELOAD="$(shim_preload)" \
        ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" IOU_SHIM_LOG=debug IOU_SHIM_LOG_FILE="$log" \
        "${HELPERS}/fb_io" "${BATS_TEST_TMPDIR}"
    assert_success
    [ -z "$stderr" ] || { echo "unexpected stderr: $stderr"; return 1; }
    [ -s "$log" ] || { echo "no messages in $log"; return 1; }
    grep -q 'iou-shim' "$log"
}

@test "IOU_SHIM_OPS=-read keeps read on libc as disabled while write goes through the ring" {
    same_with_and_without env IOU_SHIM_OPS=-read "${HELPERS}/fb_io" "${BATS_TEST_TMPDIR}"
    [ "$(stat_sum read ring)" -eq 0 ] || { echo "read went through the ring"; show_stats; return 1; }
    reason_counted disabled read
    expect_ring write
}

@test "without a refusal the same program's pipe, socket and offset calls go through the ring" {
    # The control for the tests above: in ring mode these calls do use the ring (other modes: libc only).
    same_with_and_without "${HELPERS}/fb_io" "${BATS_TEST_TMPDIR}"
    local op
    for op in "${RING_ELIGIBLE[@]}"; do
        expect_ring "$op"
    done
}
