#!/usr/bin/env bats
# scripts/iou-run: options become IOU_SHIM_* variables, the library goes first in LD_PRELOAD without dropping
# what was there, and the program is exec'd so its exit status and signals pass through unchanged.
bats_require_minimum_version 1.5.0
load test_helper

# preload_for LIB: what iou-run puts in LD_PRELOAD for LIB: the sanitizer runtime first when LIB was built
# with one (make asan / make ubsan), then LIB.
preload_for() {
    local runtime
    runtime=$(ldd "$1" 2>/dev/null | awk '$1 ~ /^lib(asan|ubsan)\.so/ { print $3; exit }')
    echo "${runtime:+$runtime:}$1"
}

IOU_RUN="${ROOT}/scripts/iou-run"

setup() {
    export IOU_SHIM_LIBRARY="${SHIM}"
    SHIM_REAL=$(readlink -f "${SHIM}")
}

# A harmless library of our own to stand for an entry already in LD_PRELOAD.
other_library() {
    local so="${BATS_TEST_TMPDIR}/libother.so"
    echo 'int iou_test_other_marker;' | cc -shared -fPIC -x c -o "$so" - || return 1
    echo "$so"
}

# env_value NAME: the value of NAME in $output (as printed by env).
env_value() {
    printf '%s\n' "$output" | sed -n "s/^$1=//p"
}

# lay_out SCRIPT LIB: copies of iou-run at SCRIPT and of the library at LIB, placed as an install or a
# source tree places them, so the script has to find the library from where it stands.
lay_out() {
    install -D -m 0755 "$IOU_RUN" "$1"
    install -D -m 0644 "$SHIM" "$2"
}

# run_finds LIB COMMAND: runs COMMAND (a copy of iou-run, or a link to one) on env with neither
# IOU_SHIM_LIBRARY nor LD_PRELOAD set, and checks that LD_PRELOAD holds LIB (resolved) and nothing else.
run_finds() {
    run env -u IOU_SHIM_LIBRARY -u LD_PRELOAD "$2" env
    assert_success
    [ "$(env_value LD_PRELOAD)" = "$(preload_for "$(readlink -f "$1")")" ]
}

@test "--help documents every option and environment variable" {
    run "$IOU_RUN" --help
    assert_success
    assert_output --partial "Usage: iou-run"
    local word
    for word in --queue-depth --route --ops --stats --stats=FILE --stats-format --log --log-file --max-rings \
        --disable --help --version IOU_SHIM_QUEUE_DEPTH IOU_SHIM_ROUTE IOU_SHIM_OPS IOU_SHIM_STATS \
        IOU_SHIM_STATS_FORMAT IOU_SHIM_LOG IOU_SHIM_LOG_FILE IOU_SHIM_MAX_RINGS IOU_SHIM_DISABLE \
        IOU_SHIM_LIBRARY LD_PRELOAD; do
        assert_output --partial -- "$word"
    done
}

@test "--version prints iou-run 0.1.0" {
    run "$IOU_RUN" --version
    assert_success
    assert_output "iou-run 0.1.0"
}

@test "the library goes first in LD_PRELOAD and an entry already there is kept" {
    local other
    other=$(other_library)
    # The program's own environment, as the kernel gave it to the exec'd process.
    run env LD_PRELOAD="$other" "$IOU_RUN" -- sh -c 'tr "\0" "\n" </proc/$$/environ'
    assert_success
    [ "$(env_value LD_PRELOAD)" = "$(preload_for "${SHIM_REAL}"):${other}" ] || { echo "$output"; return 1; }
}

@test "both libraries are really loaded in the program" {
    local other
    other=$(other_library)
    run env LD_PRELOAD="$other" "$IOU_RUN" -- cat /proc/self/maps
    assert_success
    assert_output --partial "${SHIM_REAL}"
    assert_output --partial "${other}"
}

@test "the library is not added twice when it is already preloaded" {
    run env LD_PRELOAD="${SHIM_REAL}" "$IOU_RUN" -- env
    assert_success
    [ "$(env_value LD_PRELOAD)" = "$(preload_for "${SHIM_REAL}")" ]
}

@test "the program's exit status passes through" {
    run "$IOU_RUN" -- sh -c 'exit 3'
    [ "$status" -eq 3 ]
}

@test "a program killed by SIGTERM is seen as killed by SIGTERM (143 in bash)" {
    run "$IOU_RUN" -- sh -c 'kill -TERM $$'
    [ "$status" -eq 143 ]
}

@test "the wrapper execs the program: it keeps the wrapper's pid" {
    run bash -c '"$1" -- sh -c "echo \$\$" & echo "$!"; wait' _ "$IOU_RUN"
    assert_success
    [ "${#lines[@]}" -eq 2 ]
    [ "${lines[0]}" = "${lines[1]}" ]
}

@test "the options set the variables" {
    run "$IOU_RUN" --queue-depth 8 --route all --ops read,-write --stats="${BATS_TEST_TMPDIR}/s.%p" \
        --stats-format json --log error --log-file "${BATS_TEST_TMPDIR}/log" --max-rings 3 --disable -- env
    assert_success
    [ "$(env_value IOU_SHIM_QUEUE_DEPTH)" = 8 ]
    [ "$(env_value IOU_SHIM_ROUTE)" = all ]
    [ "$(env_value IOU_SHIM_OPS)" = read,-write ]
    [ "$(env_value IOU_SHIM_STATS)" = "${BATS_TEST_TMPDIR}/s.%p" ]
    [ "$(env_value IOU_SHIM_STATS_FORMAT)" = json ]
    [ "$(env_value IOU_SHIM_LOG)" = error ]
    [ "$(env_value IOU_SHIM_LOG_FILE)" = "${BATS_TEST_TMPDIR}/log" ]
    [ "$(env_value IOU_SHIM_MAX_RINGS)" = 3 ]
    [ "$(env_value IOU_SHIM_DISABLE)" = 1 ]
}

@test "the options also take the --option=VALUE form" {
    run "$IOU_RUN" --queue-depth=32 --route=libc --ops=fsync --stats-format=text --log=off --max-rings=0 -- env
    assert_success
    [ "$(env_value IOU_SHIM_QUEUE_DEPTH)" = 32 ]
    [ "$(env_value IOU_SHIM_ROUTE)" = libc ]
    [ "$(env_value IOU_SHIM_OPS)" = fsync ]
    [ "$(env_value IOU_SHIM_STATS_FORMAT)" = text ]
    [ "$(env_value IOU_SHIM_LOG)" = off ]
    [ "$(env_value IOU_SHIM_MAX_RINGS)" = 0 ]
}

@test "--stats alone sets IOU_SHIM_STATS=1 and the program prints its stats on stderr" {
    # sh prints its pid and becomes env, which prints its environment and leaves with exit().
    run --separate-stderr "$IOU_RUN" --stats -- sh -c 'echo $$; exec env'
    assert_success
    local pid=${lines[0]}
    [ "$(env_value IOU_SHIM_STATS)" = 1 ] || { echo "$output"; return 1; }
    printf '%s\n' "${stderr_lines[@]}" | grep -q "^iou-shim\\[$pid\\] process: route=ring " ||
        { echo "no process line for pid $pid on stderr: $stderr"; return 1; }
}

@test "without options no IOU_SHIM variable is added" {
    run env -i PATH="$PATH" IOU_SHIM_LIBRARY="$SHIM" "$IOU_RUN" env
    assert_success
    run grep '^IOU_SHIM_' <<<"$output"
    assert_output "IOU_SHIM_LIBRARY=$SHIM"
}

@test "arguments after the program name are the program's, even if they look like options" {
    run "$IOU_RUN" printf '%s\n' --stats --route=bogus
    assert_success
    assert_output $'--stats\n--route=bogus'
}

@test "a bad option value exits 2 with one line naming the option, and the program does not run" {
    local marker="${BATS_TEST_TMPDIR}/ran" opt
    local -a bad=("--queue-depth abc" "--queue-depth 1" "--queue-depth 99999" "--route fast" "--ops read,bogus"
        "--stats-format xml" "--log loud" "--max-rings -1" "--queue-depth=" "--stats=" "--bogus")
    for opt in "${bad[@]}"; do
        # shellcheck disable=SC2086 # split the option from its value on purpose
        run --separate-stderr "$IOU_RUN" $opt -- touch "$marker"
        [ "$status" -eq 2 ] || { echo "$opt: status $status"; return 1; }
        [ "${#stderr_lines[@]}" -eq 1 ] || { echo "$opt: stderr: $stderr"; return 1; }
        [[ "$stderr" == *"${opt%%[ =]*}"* ]] || { echo "$opt: message does not name the option: $stderr"; return 1; }
        [ ! -e "$marker" ] || { echo "$opt: the program ran"; return 1; }
    done
}

@test "an option missing its value exits 2" {
    run --separate-stderr "$IOU_RUN" --route
    [ "$status" -eq 2 ]
    [[ "$stderr" == *--route* ]] || { echo "stderr: $stderr"; return 1; }
}

@test "no program exits 2 with a usage line" {
    run --separate-stderr "$IOU_RUN" --stats
    [ "$status" -eq 2 ]
    assert_regex "$stderr" 'usage'
}

@test "a program that does not exist exits 127" {
    run -127 --separate-stderr "$IOU_RUN" -- iou-no-such-program-here
    assert_regex "$stderr" 'iou-no-such-program-here'
}

@test "installed by make install it finds the library under PREFIX/lib/iou-shim" {
    local prefix="${BATS_TEST_TMPDIR}/prefix"
    lay_out "$prefix/bin/iou-run" "$prefix/lib/iou-shim/libiou_shim.so"
    run_finds "$prefix/lib/iou-shim/libiou_shim.so" "$prefix/bin/iou-run"
}

@test "called through a symlink it still finds the library next to the real script" {
    local prefix="${BATS_TEST_TMPDIR}/prefix"
    lay_out "$prefix/bin/iou-run" "$prefix/lib/iou-shim/libiou_shim.so"
    mkdir -p "${BATS_TEST_TMPDIR}/elsewhere"
    ln -s "$prefix/bin/iou-run" "${BATS_TEST_TMPDIR}/elsewhere/iou-run"
    run_finds "$prefix/lib/iou-shim/libiou_shim.so" "${BATS_TEST_TMPDIR}/elsewhere/iou-run"
}

@test "in the source tree it finds build/libiou_shim.so" {
    local src="${BATS_TEST_TMPDIR}/src"
    lay_out "$src/scripts/iou-run" "$src/build/libiou_shim.so"
    run_finds "$src/build/libiou_shim.so" "$src/scripts/iou-run"
}

@test "without a library to find it exits 1 and says what to do" {
    install -D -m 0755 "$IOU_RUN" "${BATS_TEST_TMPDIR}/lonely/bin/iou-run"
    run --separate-stderr env -u IOU_SHIM_LIBRARY "${BATS_TEST_TMPDIR}/lonely/bin/iou-run" true
    [ "$status" -eq 1 ]
    assert_regex "$stderr" 'IOU_SHIM_LIBRARY'
}
