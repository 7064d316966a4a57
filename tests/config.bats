#!/usr/bin/env bats
# The IOU_SHIM_* variables: a bad value gets exactly one line on stderr naming the variable, the value and the
# default used instead, and the program runs on unchanged; good values are silent. Then the stats outputs.
# These tests are about reading the environment, so they run the shim directly whatever IOU_TEST_MODE is.
bats_require_minimum_version 1.5.0
load test_helper

setup() {
    DATA="${BATS_TEST_TMPDIR}/data.txt"
    seq 1 2000 >"$DATA"
}

# cat_with VAR=VALUE...: `cat $DATA` under the shim with those variables, stderr kept apart.
cat_with() {
    run --separate-stderr env LD_PRELOAD="$(shim_preload)" ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" \
        "$@" cat "$DATA"
}

# bad_value VAR VALUE DEFAULT: one warning line of the documented form, and cat's output unchanged.
bad_value() {
    local var=$1 value=$2 default=$3
    cat_with "$var=$value"
    assert_success
    assert_output "$(cat "$DATA")"
    [ "${#stderr_lines[@]}" -eq 1 ] || { echo "expected one stderr line, got:"; echo "$stderr"; return 1; }
    # iou-shim: IOU_SHIM_QUEUE_DEPTH="abc" is invalid (expected a number from 2 to 4096); using 16
    [[ "$stderr" == "iou-shim: $var=\"$value\" is invalid (expected "*"); using $default" ]] ||
        { echo "stderr line not in the documented form: $stderr"; return 1; }
}

# good_value VAR=VALUE...: nothing on stderr, cat's output unchanged.
good_value() {
    cat_with "$@"
    assert_success
    assert_output "$(cat "$DATA")"
    [ -z "$stderr" ] || { echo "unexpected stderr for $*: $stderr"; return 1; }
}

@test "IOU_SHIM_QUEUE_DEPTH=abc is reported once and 16 is used" {
    bad_value IOU_SHIM_QUEUE_DEPTH abc 16
}

@test "IOU_SHIM_QUEUE_DEPTH=0 is reported once and 16 is used" {
    bad_value IOU_SHIM_QUEUE_DEPTH 0 16
}

@test "IOU_SHIM_QUEUE_DEPTH=1 is reported once and 16 is used" {
    bad_value IOU_SHIM_QUEUE_DEPTH 1 16
}

@test "IOU_SHIM_QUEUE_DEPTH=99999 is reported once and 16 is used" {
    bad_value IOU_SHIM_QUEUE_DEPTH 99999 16
}

@test "IOU_SHIM_QUEUE_DEPTH=-3 is reported once and 16 is used" {
    bad_value IOU_SHIM_QUEUE_DEPTH -3 16
}

@test "IOU_SHIM_DISABLE=yes is reported once and 0 is used" {
    bad_value IOU_SHIM_DISABLE yes 0
}

@test "IOU_SHIM_ROUTE=fast is reported once and ring is used" {
    bad_value IOU_SHIM_ROUTE fast ring
}

@test "IOU_SHIM_OPS=read,bogus is reported once and all is used" {
    bad_value IOU_SHIM_OPS read,bogus all
}

@test "IOU_SHIM_STATS_FORMAT=xml is reported once and text is used" {
    bad_value IOU_SHIM_STATS_FORMAT xml text
}

@test "IOU_SHIM_LOG=loud is reported once and off is used" {
    bad_value IOU_SHIM_LOG loud off
}

@test "IOU_SHIM_MAX_RINGS=-1 is reported once and 1024 is used" {
    bad_value IOU_SHIM_MAX_RINGS -1 1024
}

@test "two bad variables give two lines, one naming each" {
    cat_with IOU_SHIM_ROUTE=fast IOU_SHIM_QUEUE_DEPTH=abc
    assert_success
    assert_output "$(cat "$DATA")"
    [ "${#stderr_lines[@]}" -eq 2 ] || { echo "expected two stderr lines, got:"; echo "$stderr"; return 1; }
    assert_regex "$stderr" 'IOU_SHIM_ROUTE="fast"'
    assert_regex "$stderr" 'IOU_SHIM_QUEUE_DEPTH="abc"'
}

@test "the default used after a bad value is really in effect" {
    # IOU_SHIM_ROUTE=fast falls back to ring, as the process line of the stats says.
    cat_with IOU_SHIM_ROUTE=fast IOU_SHIM_STATS=1
    assert_success
    [[ "${stderr_lines[0]}" == 'iou-shim: IOU_SHIM_ROUTE="fast" is invalid'* ]] || { echo "$stderr"; return 1; }
    assert_regex "${stderr_lines[-1]}" '^iou-shim\[[0-9]+\] process: route=ring '
}

@test "good values of IOU_SHIM_QUEUE_DEPTH are silent" {
    local v
    for v in 2 16 64 4096; do good_value IOU_SHIM_QUEUE_DEPTH=$v; done
}

@test "good values of IOU_SHIM_DISABLE are silent (empty means 0)" {
    local v
    for v in 0 1 ''; do good_value IOU_SHIM_DISABLE=$v; done
}

@test "good values of IOU_SHIM_ROUTE are silent" {
    local v
    for v in ring all auto libc; do good_value IOU_SHIM_ROUTE=$v; done
}

@test "good values of IOU_SHIM_OPS are silent" {
    local v
    for v in all read read,write -read all,-write fsync,send,recv,accept4,pwritev2; do good_value IOU_SHIM_OPS=$v; done
}

@test "good values of IOU_SHIM_MAX_RINGS, IOU_SHIM_LOG and IOU_SHIM_STATS_FORMAT are silent" {
    local v
    for v in 0 1 1024 65536; do good_value IOU_SHIM_MAX_RINGS=$v; done
    for v in off error; do good_value IOU_SHIM_LOG=$v; done
    for v in text json; do good_value IOU_SHIM_STATS_FORMAT=$v; done
    good_value IOU_SHIM_STATS=0
}

@test "IOU_SHIM_STATS=1 prints text stats of the process on stderr at exit" {
    # sh records its pid, then becomes cat with exec: the stats must carry that pid.
    run --separate-stderr env LD_PRELOAD="$(shim_preload)" ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" \
        IOU_SHIM_STATS=1 sh -c 'echo $$ >"$1.pid"; exec cat "$1"' sh "$DATA"
    assert_success
    assert_output "$(cat "$DATA")"
    local pid line n=${#stderr_lines[@]}
    pid=$(cat "$DATA.pid")
    [ "$n" -ge 3 ] || { echo "expected read, write and process lines:"; echo "$stderr"; return 1; }
    local re_call="^iou-shim\\[$pid\\] ([a-z0-9]+): ring=([0-9]+) fixed=([0-9]+) fallback=([0-9]+) errors=([0-9]+) libc=([0-9]+)(( libc\\.[a-z]+=[0-9]+)*)$"
    for line in "${stderr_lines[@]:0:n-1}"; do
        [[ "$line" =~ $re_call ]] || { echo "not a call line: $line"; return 1; }
        # libc is the sum of its reasons.
        local sum=0 kv
        for kv in ${BASH_REMATCH[7]}; do sum=$((sum + ${kv#*=})); done
        [ "$sum" -eq "${BASH_REMATCH[6]}" ] || { echo "libc is not the sum of its reasons: $line"; return 1; }
    done
    assert_regex "${stderr_lines[n-1]}" "^iou-shim\\[$pid\\] process: route=ring rings=[0-9]+ ring_failures=[0-9]+$"
    # cat read a regular file at its position (libc) and wrote to a pipe (the ring).
    assert_regex "$stderr" "iou-shim\\[$pid\\] read: .* libc.position=[1-9]"
    assert_regex "$stderr" "iou-shim\\[$pid\\] write: ring=[1-9]"
}

@test "a process that ends with _exit (as dash, Debian's sh, does) still prints its stats" {
    # dash leaves through _exit(), which runs no atexit handler or destructor.
    run --separate-stderr env LD_PRELOAD="$(shim_preload)" ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" \
        IOU_SHIM_STATS=1 sh -c 'echo $$'
    assert_success
    local pid=$output
    printf '%s\n' "${stderr_lines[@]}" | grep -q "^iou-shim\\[$pid\\] process: route=ring " ||
        { echo "no stats from sh (pid $pid); stderr: $stderr"; return 1; }
}

@test "IOU_SHIM_STATS with %p writes one file per process, named after its pid" {
    local dir="${BATS_TEST_TMPDIR}/stats"
    mkdir -p "$dir"
    run --separate-stderr env LD_PRELOAD="$(shim_preload)" ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" \
        IOU_SHIM_STATS="$dir/s.%p" sh -c 'cat "$1" >/dev/null; cat "$1"' sh "$DATA"
    assert_success
    assert_output "$(cat "$DATA")"
    [ -z "$stderr" ] || { echo "unexpected stderr: $stderr"; return 1; }
    local f pid readers=0
    for f in "$dir"/s.*; do
        pid=${f##*/s.}
        [[ "$pid" =~ ^[0-9]+$ ]] || { echo "stats file not named after a pid: $f"; return 1; }
        # Every line of the file is about that process.
        run grep -cv "^iou-shim\\[$pid\\] " "$f"
        assert_output 0
        grep -q "^iou-shim\\[$pid\\] process: " "$f" || { echo "no process line in $f"; cat "$f"; return 1; }
        grep -q "^iou-shim\\[$pid\\] read: " "$f" && readers=$((readers + 1))
    done
    # The two cats (sh itself reads nothing).
    [ "$readers" -eq 2 ] || { echo "expected 2 stats files with a read line, found $readers:"; ls -l "$dir"; return 1; }
}

@test "IOU_SHIM_STATS_FORMAT=json prints one line that jq parses" {
    run --separate-stderr env LD_PRELOAD="$(shim_preload)" ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" \
        IOU_SHIM_STATS=1 IOU_SHIM_STATS_FORMAT=json sh -c 'echo $$ >"$1.pid"; exec cat "$1"' sh "$DATA"
    assert_success
    assert_output "$(cat "$DATA")"
    [ "${#stderr_lines[@]}" -eq 1 ] || { echo "expected one line, got:"; echo "$stderr"; return 1; }
    local pid
    pid=$(cat "$DATA.pid")
    run jq -e --argjson pid "$pid" '
        (.pid == $pid) and (.route == "ring") and (.rings | type == "number")
        and (.ring_failures | type == "number")
        and (.calls.read.ring | type == "number") and (.calls.read.fallback | type == "number")
        and (.calls.read.errors | type == "number") and (.calls.read.libc | type == "number")
        and (.calls.read.libc_reasons.position >= 1) and (.calls.write.ring >= 1)
        and ([.calls[] | .libc == ([.libc_reasons // {} | .[]] | add // 0)] | all)' <<<"$stderr"
    assert_success
}

@test "IOU_SHIM_STATS_FORMAT=json with a file path writes one JSON line to that file" {
    local file="${BATS_TEST_TMPDIR}/stats.json"
    cat_with IOU_SHIM_STATS="$file" IOU_SHIM_STATS_FORMAT=json
    assert_success
    assert_output "$(cat "$DATA")"
    [ -z "$stderr" ] || { echo "unexpected stderr: $stderr"; return 1; }
    [ "$(wc -l <"$file")" -eq 1 ] || { echo "expected one line:"; cat "$file"; return 1; }
    run jq -e '.calls.read.ring | type == "number"' "$file"
    assert_success
}
