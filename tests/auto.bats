#!/usr/bin/env bats
# IOU_SHIM_ROUTE=auto: per thread and per (call, descriptor kind) the shim times both paths and keeps the
# faster. Nothing here depends on timing: IOU_SHIM_PRETEND=auto-ring-slow / auto-libc-slow add one second
# to every sample of one path, which decides the choice whatever the machine does; the other tests check
# that programs see exactly what libc gives them while both paths are sampled. A thread's first 16384 calls of
# each kind stay on libc unmeasured (the warm-up); auto-no-warmup makes these short tests measure at once,
# and the last test checks the warm-up itself.
bats_require_minimum_version 1.5.0
load test_helper

# dd_zero_null N: N reads of 512 bytes from /dev/zero and N writes to /dev/null (character devices).
dd_zero_null() {
    dd if=/dev/zero of=/dev/null bs=512 count="$1" status=none
}

# expect_mostly OP PATH: with io_uring, OP's 2000 calls went to PATH (ring, or libc counted as auto),
# apart from at most 32 samples of the other path, and at least one sample was taken there.
expect_mostly() {
    local op=$1 path=$2 ring auto
    ring=$(stat_sum "$op" ring)
    auto=$(stat_sum "$op" libc.auto)
    if [ "$IOU_TEST_MODE" != ring ]; then
        [ "$ring" -eq 0 ] || { echo "expected no $op through the ring, stats:"; cat "$(stats_dir)"/stats.*; return 1; }
        return 0
    fi
    [ $((ring + auto)) -eq 2000 ] || { echo "expected 2000 ${op}s counted as ring or libc.auto:"; cat "$(stats_dir)"/stats.*; return 1; }
    if [ "$path" = ring ]; then
        [ "$auto" -ge 1 ] && [ "$auto" -le 32 ] || { echo "expected $op on the ring after a few libc samples:"; cat "$(stats_dir)"/stats.*; return 1; }
    else
        [ "$ring" -ge 1 ] && [ "$ring" -le 32 ] || { echo "expected $op on libc after a few ring samples:"; cat "$(stats_dir)"/stats.*; return 1; }
    fi
    grep -q "auto $op/chardev: choice=$path " "$(stats_dir)"/stats.* ||
        { echo "expected the choice $path for $op/chardev:"; cat "$(stats_dir)"/stats.*; return 1; }
}

@test "route auto leaves calls on libc where the ring measured slower (IOU_SHIM_PRETEND=auto-ring-slow)" {
    export IOU_SHIM_ROUTE=auto IOU_SHIM_PRETEND=auto-ring-slow,auto-no-warmup
    run shim_env bash -c "$(declare -f dd_zero_null); dd_zero_null 2000"
    assert_success
    expect_mostly read libc
    expect_mostly write libc
}

@test "route auto keeps calls on the ring where libc measured slower (IOU_SHIM_PRETEND=auto-libc-slow)" {
    export IOU_SHIM_ROUTE=auto IOU_SHIM_PRETEND=auto-libc-slow,auto-no-warmup
    run shim_env bash -c "$(declare -f dd_zero_null); dd_zero_null 2000"
    assert_success
    expect_mostly read ring
    expect_mostly write ring
}

@test "route auto samples both paths on pipes and devices, and a pipeline's output is unchanged" {
    export IOU_SHIM_ROUTE=auto IOU_SHIM_PRETEND=auto-no-warmup
    same_with_and_without bash -c 'dd if=/dev/zero bs=512 count=300 status=none | dd bs=512 status=none | md5sum'
    assert_success
    if [ "$IOU_TEST_MODE" = ring ]; then
        # The first 16 uses of each (call, kind) alternate between the paths, whatever the timings.
        [ "$(stat_sum write ring)" -ge 8 ] && [ "$(stat_sum write libc.auto)" -ge 8 ] ||
            { echo "expected both paths sampled:"; cat "$(stats_dir)"/stats.*; return 1; }
        [ "$(stat_sum read ring)" -ge 8 ] && [ "$(stat_sum read libc.auto)" -ge 8 ] ||
            { echo "expected both paths sampled:"; cat "$(stats_dir)"/stats.*; return 1; }
    else
        expect_ring read
    fi
}

@test "route auto: socket calls behave as libc while both paths are sampled (TCP, AF_UNIX)" {
    export IOU_SHIM_ROUTE=auto IOU_SHIM_PRETEND=auto-no-warmup
    same_with_and_without timeout 20 "$HELPERS/net_io" large tcp
    assert_success
    assert_line "recv 4 MiB MSG_WAITALL, one call -> 4194304"
    refute_line --partial "checksum matches: no"
    same_with_and_without timeout 20 "$HELPERS/net_io" basic unix
    assert_success
    if [ "$IOU_TEST_MODE" = ring ]; then
        # The second receive and send of each kind is a libc sample.
        [ "$(stat_sum recv ring)" -gt 0 ] && [ "$(stat_sum recv libc.auto)" -gt 0 ] &&
            [ "$(stat_sum send ring)" -gt 0 ] && [ "$(stat_sum send libc.auto)" -gt 0 ] ||
            { echo "expected both paths sampled:"; cat "$(stats_dir)"/stats.*; return 1; }
    fi
}

@test "route auto: threads one after another and forked children behave as without the shim" {
    export IOU_SHIM_ROUTE=auto IOU_SHIM_PRETEND=auto-no-warmup
    same_with_and_without "$HELPERS/life_io" threads 50
    assert_success
    same_with_and_without "$HELPERS/life_io" fork
    assert_success
    same_with_and_without "$HELPERS/life_io" concurrent 8
    assert_success
    # A thread that reuses an exited thread's state goes on from its measurements: samples were taken.
    if [ "$IOU_TEST_MODE" = ring ]; then
        [ "$(stat_sum read ring)" -gt 0 ] && [ "$(stat_sum read libc.auto)" -gt 0 ] ||
            { echo "expected both paths sampled:"; cat "$(stats_dir)"/stats.*; return 1; }
    fi
}

@test "route auto with a slower libc path keeps a pipe's data intact when the ring takes over" {
    # Samples alternate, then the ring takes every call: data must not be lost or reordered across the
    # switches between the paths.
    export IOU_SHIM_ROUTE=auto IOU_SHIM_PRETEND=auto-libc-slow,auto-no-warmup
    same_with_and_without bash -c 'seq 1 30000 | dd bs=7 status=none | dd bs=13 status=none | md5sum'
    assert_success
    if [ "$IOU_TEST_MODE" = ring ]; then
        [ "$(stat_sum read libc.auto)" -gt 0 ] && [ "$(stat_sum read ring)" -gt "$(stat_sum read libc.auto)" ] ||
            { echo "expected libc samples, then the ring:"; cat "$(stats_dir)"/stats.*; return 1; }
    fi
}

# --- stats (run directly, whatever IOU_TEST_MODE is, like tests/config.bats) -------------------------------

@test "route auto stats: one text line per call and descriptor kind with the choice and both lowest times" {
    run --separate-stderr env LD_PRELOAD="$(shim_preload)" ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" \
        IOU_SHIM_STATS=1 IOU_SHIM_ROUTE=auto IOU_SHIM_PRETEND=auto-ring-slow,auto-no-warmup \
        sh -c 'echo $$ >"$1"; exec dd if=/dev/zero of=/dev/null bs=512 count=2000 status=none' sh \
        "$BATS_TEST_TMPDIR/pid"
    assert_success
    local pid re
    pid=$(cat "$BATS_TEST_TMPDIR/pid")
    re="^iou-shim\\[$pid\\] auto read/chardev: choice=libc ring_ns=([0-9]+) libc_ns=([0-9]+) ring_threads=0 libc_threads=1 sampling_threads=0\$"
    local line found=0
    for line in "${stderr_lines[@]}"; do
        if [[ "$line" =~ $re ]]; then
            found=1
            # The pretended second on every ring sample, and a real libc time below it.
            [ "${BASH_REMATCH[1]}" -ge 1000000000 ] && [ "${BASH_REMATCH[2]}" -lt 1000000000 ] ||
                { echo "unexpected times: $line"; return 1; }
        fi
    done
    [ "$found" -eq 1 ] || { echo "no auto line for read/chardev:"; echo "$stderr"; return 1; }
    assert_regex "$stderr" "iou-shim\\[$pid\\] read: ring=[0-9]+ .* libc\\.auto=[0-9]+"
    assert_regex "${stderr_lines[-1]}" "^iou-shim\\[$pid\\] process: route=auto "
}

@test "route auto stats in JSON: an auto object per call and descriptor kind that jq parses" {
    run --separate-stderr env LD_PRELOAD="$(shim_preload)" ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" \
        IOU_SHIM_STATS=1 IOU_SHIM_STATS_FORMAT=json IOU_SHIM_ROUTE=auto IOU_SHIM_PRETEND=auto-libc-slow,auto-no-warmup \
        dd if=/dev/zero of=/dev/null bs=512 count=2000 status=none
    assert_success
    [ "${#stderr_lines[@]}" -eq 1 ] || { echo "expected one line:"; echo "$stderr"; return 1; }
    run jq -e '(.route == "auto")
        and (.auto["read/chardev"].choice == "ring") and (.auto["write/chardev"].choice == "ring")
        and (.auto["read/chardev"].libc_ns >= 1000000000) and (.auto["read/chardev"].ring_ns < 1000000000)
        and (.auto["read/chardev"].ring_threads == 1) and (.calls.read.libc_reasons.auto >= 1)
        and (.calls.read.ring + .calls.read.libc == 2000)' <<<"$stderr"
    assert_success
}

@test "route auto: a forked child counts only its own calls, not the ones its parent decided before fork" {
    # bash's read builtin reads a pipe one byte per read(2); the subshell is a fork without exec.
    export IOU_SHIM_ROUTE=auto IOU_SHIM_PRETEND=auto-ring-slow,auto-no-warmup
    head -c 20000 /dev/urandom | tr -d '\0' >"$BATS_TEST_TMPDIR/in"
    run shim_env timeout 60 bash -c 'exec 3< <(cat "$1"); for ((i = 0; i < 2000; i++)); do read -r -N 1 -u 3 x; done
        ( for ((i = 0; i < 100; i++)); do read -r -N 1 -u 3 x; done; echo child done )' _ "$BATS_TEST_TMPDIR/in"
    assert_success
    assert_output "child done"
    local f n parent=0 child=0
    for f in "$(stats_dir)"/stats.*; do
        n=$(awk '$2 == "read:" { for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "ring" || kv[1] == "libc") s += kv[2] } }
                 END { print s + 0 }' "$f")
        [ "$n" -lt 2000 ] || parent=$((parent + 1))
        [ "$n" -lt 100 ] || [ "$n" -ge 300 ] || child=$((child + 1))
    done
    [ "$parent" -eq 1 ] && [ "$child" -eq 1 ] ||
        { echo "expected one process with 2000+ reads and one with 100-300:"; cat "$(stats_dir)"/stats.*; return 1; }
}

@test "route auto: file writes the kernel would hand to a worker go to libc by its fast path, still counted as punt" {
    local fs
    fs=$(stat -f -c %T "$BATS_TEST_TMPDIR")
    [ "$fs" != tmpfs ] || { echo "BATS_TEST_TMPDIR is on tmpfs; this test needs a disk" >&2; return 1; }
    local prog='import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
for i in range(3000):
    os.pwrite(fd, b"%511d\n" % i, i * 512)
print(os.fstat(fd).st_size)'
    # Does the kernel punt buffered writes on this file system? Route ring says so.
    run shim_env python3 -c "$prog" "$BATS_TEST_TMPDIR/f"
    assert_success
    assert_output 1536000
    local punts
    punts=$(stat_sum pwrite libc.punt)
    rm -rf "$(stats_dir)"
    export IOU_SHIM_ROUTE=auto IOU_SHIM_PRETEND=auto-no-warmup
    same_with_and_without python3 -c "$prog" "$BATS_TEST_TMPDIR/f"
    assert_success
    cmp <(seq -f '%511.0f' 0 2999) "$BATS_TEST_TMPDIR/f"
    if [ "$IOU_TEST_MODE" = ring ] && [ "$punts" -gt 0 ]; then
        # Ring samples were punted, libc samples taken; the rest never reached the ring's routing.
        [ "$(stat_sum pwrite ring)" -eq 0 ] && [ "$(stat_sum pwrite libc.auto)" -le 32 ] &&
            [ "$(stat_sum pwrite libc.punt)" -ge 2900 ] ||
            { echo "expected pwrite on libc, counted as punt:"; cat "$(stats_dir)"/stats.*; return 1; }
        grep -q "auto pwrite/file: choice=libc ring_ns=- " "$(stats_dir)"/stats.* ||
            { echo "expected the choice libc, with no ring time:"; cat "$(stats_dir)"/stats.*; return 1; }
    fi
}

@test "route auto: a short-lived program stays on libc and never sets a ring up (the warm-up)" {
    # Setting a ring up costs ~60 us, more than a program of a few thousand calls could ever win back.
    mkdir -p "$(stats_dir)"
    TRACE="${BATS_TEST_TMPDIR}/strace.txt"
    run strace -f -c -o "$TRACE" env LD_PRELOAD="$(shim_preload)" IOU_SHIM_ROUTE=auto \
        IOU_SHIM_STATS="$(stats_dir)/stats.%p" ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" \
        bash -c "$(declare -f dd_zero_null); dd_zero_null 2000"
    assert_success
    awk '$NF == "io_uring_setup" { found = 1 } END { exit found }' "$TRACE" ||
        { echo "a ring was set up:"; cat "$TRACE"; return 1; }
    [ "$(stat_sum read libc.auto)" -eq 2000 ] && [ "$(stat_sum write libc.auto)" -eq 2000 ] &&
        [ "$(stat_sum process rings)" -eq 0 ] ||
        { echo "expected every call on libc, counted as auto, and no ring:"; cat "$(stats_dir)"/stats.*; return 1; }
    # Past the warm-up the same program measures both paths (only where io_uring is there to measure).
    rm -rf "$(stats_dir)"
    export IOU_SHIM_ROUTE=auto
    run shim_env bash -c "$(declare -f dd_zero_null); dd_zero_null 20000"
    assert_success
    if [ "$IOU_TEST_MODE" = ring ]; then
        [ "$(stat_sum read ring)" -ge 1 ] && [ "$(stat_sum process rings)" -ge 1 ] ||
            { echo "expected ring samples after the warm-up:"; cat "$(stats_dir)"/stats.*; return 1; }
    fi
}
