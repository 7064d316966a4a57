# Shared set-up for every bats file: paths, running a command with and without the shim, reading stats.
#
# IOU_TEST_MODE decides what "with the shim" means, so the same suite proves both paths:
#   ring         the shim with io_uring available (default): ring counters must move
#   deny-eperm   io_uring_setup/enter/register fail EPERM (seccomp): the program runs on libc
#   deny-enosys  the same with ENOSYS
#   disable      IOU_SHIM_DISABLE=1
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

ROOT="$(cd "$(dirname "${BATS_TEST_FILENAME}")/.." && pwd)"
BUILD="${ROOT}/${IOU_TEST_BUILD:-build}"
SHIM="${BUILD}/libiou_shim.so"
HELPERS="${BUILD}/helpers"
IOU_TEST_MODE="${IOU_TEST_MODE:-ring}"

# Under a sanitizer build the runtime must come first in LD_PRELOAD.
_sanitizer_preload() {
    case "${IOU_TEST_BUILD:-build}" in
        build-asan) gcc -print-file-name=libasan.so ;;
        build-ubsan) gcc -print-file-name=libubsan.so ;;
    esac
}

# Stats of every process of one run land in this directory, one file per pid.
stats_dir() { echo "${BATS_TEST_TMPDIR}/stats"; }

# mode_wrap: sets MODE_WRAP, the command prefix IOU_TEST_MODE puts around every "with shim" run.
mode_wrap() {
    case "$IOU_TEST_MODE" in
        deny-eperm)  MODE_WRAP=("${HELPERS}/deny_uring" EPERM) ;;
        deny-enosys) MODE_WRAP=("${HELPERS}/deny_uring" ENOSYS) ;;
        disable)     MODE_WRAP=(env IOU_SHIM_DISABLE=1) ;;
        *)           MODE_WRAP=() ;;
    esac
}

# shim_preload: the LD_PRELOAD value for the shim (a sanitizer runtime first when one is built in).
shim_preload() {
    local pre
    pre="$(_sanitizer_preload)"
    echo "${pre:+$pre:}${SHIM}"
}

# shim_env: runs a command under the shim, per IOU_TEST_MODE; stats go to $(stats_dir).
# Usage: shim_env cmd args...
shim_env() {
    mkdir -p "$(stats_dir)"
    mode_wrap
    env LD_PRELOAD="$(shim_preload)" IOU_SHIM_STATS="$(stats_dir)/stats.%p" \
        ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" "${MODE_WRAP[@]}" "$@"
}

# run_shim / run_plain: bats `run` with and without the shim.
run_shim()  { run shim_env "$@"; }
run_plain() { run "$@"; }

# same_with_and_without cmd...: runs cmd without and with the shim; stdout and exit status must agree.
# Leaves the shim run's output in $output / $status for further assertions.
same_with_and_without() {
    run "$@"
    local plain_status=$status plain_output=$output
    run shim_env "$@"
    if [ "$status" -ne "$plain_status" ] || [ "$output" != "$plain_output" ]; then
        echo "--- without shim (status $plain_status)"; echo "$plain_output"
        echo "--- with shim (status $status, mode $IOU_TEST_MODE)"; echo "$output"
        return 1
    fi
}

# stat_sum OP KEY: sum of KEY (ring, fallback, errors, libc, libc.<reason>) for OP over all stats files.
# Stats lines look like:  iou-shim[PID] read: ring=3 fallback=0 errors=0 libc=1 libc.position=1
stat_sum() {
    local op=$1 key=$2
    cat "$(stats_dir)"/stats.* 2>/dev/null | awk -v op="$op:" -v key="$key" '
        $2 == op { for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) s += kv[2] } }
        END { print s + 0 }'
}

# expect_ring OP: with io_uring available, OP went through the ring at least once; under denial or
# IOU_SHIM_DISABLE it never did, and the calls were counted as libc instead.
expect_ring() {
    local op=$1 ring libc
    ring=$(stat_sum "$op" ring)
    libc=$(stat_sum "$op" libc)
    if [ "$IOU_TEST_MODE" = ring ]; then
        [ "$ring" -gt 0 ] || { echo "expected $op through the ring, stats:"; cat "$(stats_dir)"/stats.*; return 1; }
    else
        [ "$ring" -eq 0 ] && [ "$libc" -gt 0 ] || { echo "expected $op on libc only, stats:"; cat "$(stats_dir)"/stats.*; return 1; }
    fi
}

# expect_libc OP REASON: OP was sent to libc, counted under REASON (in every mode but ring, any reason).
expect_libc() {
    local op=$1 reason=$2
    if [ "$IOU_TEST_MODE" = ring ]; then
        [ "$(stat_sum "$op" "libc.$reason")" -gt 0 ] || { echo "expected $op bypassed for $reason, stats:"; cat "$(stats_dir)"/stats.*; return 1; }
        [ "$(stat_sum "$op" ring)" -eq 0 ] || { echo "expected no $op through the ring, stats:"; cat "$(stats_dir)"/stats.*; return 1; }
    else
        [ "$(stat_sum "$op" ring)" -eq 0 ]
    fi
}
