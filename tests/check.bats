#!/usr/bin/env bats
# iou-run --check: one plain line per fact about what the shim would do on this machine and why, exit status 0
# only when calls would go through io_uring, and the same facts as one JSON object with --json. The report
# must agree with the library: its complaints are the library's own lines, and what IOU_SHIM_PRETEND makes
# it report is what the library then does. These tests set up io_uring's refusal themselves (deny_uring),
# so they run the same whatever IOU_TEST_MODE is.
bats_require_minimum_version 1.5.0
load test_helper

IOU_RUN="${ROOT}/scripts/iou-run"

CALLS=(read write pread pwrite readv writev preadv pwritev preadv2 pwritev2 fsync fdatasync accept accept4 recv
    recvfrom recvmsg send sendto sendmsg)
VARS=(IOU_SHIM_DISABLE IOU_SHIM_ROUTE IOU_SHIM_QUEUE_DEPTH IOU_SHIM_OPS IOU_SHIM_MAX_RINGS IOU_SHIM_FILES
    IOU_SHIM_STATS IOU_SHIM_STATS_SIGNAL IOU_SHIM_STATS_FORMAT IOU_SHIM_LOG IOU_SHIM_LOG_FILE)

setup() {
    # Only what each test sets: nothing inherited from the shell that runs the suite.
    local var
    for var in "${!IOU_SHIM_@}"; do unset "$var"; done
    export IOU_SHIM_LIBRARY="${SHIM}"
}

# assert_line_starts PREFIX: some line of $output starts with PREFIX.
assert_line_starts() {
    printf '%s\n' "$output" | awk -v p="$1" 'index($0, p) == 1 { found = 1 } END { exit !found }' ||
        { echo "no line starting \"$1\" in:"; echo "$output"; return 1; }
}

# kernel_at_least MAJOR MINOR: the running kernel is that version or later.
kernel_at_least() {
    local major minor
    IFS=. read -r major minor _ <<<"$(uname -r)"
    minor=${minor%%[!0-9]*}
    [ "$major" -gt "$1" ] || { [ "$major" -eq "$1" ] && [ "$minor" -ge "$2" ]; }
}

# library_reads_on_libc PRETEND: the library, told IOU_SHIM_PRETEND=PRETEND, sends all ten of dd's reads
# of /dev/zero to libc as unsupported (and none to the ring), as --check said it would.
library_reads_on_libc() {
    mkdir -p "$(stats_dir)"
    IOU_SHIM_PRETEND=$1 run "$IOU_RUN" --stats="$(stats_dir)/stats.%p" -- \
        dd if=/dev/zero of=/dev/null bs=4k count=10 status=none
    assert_success
    [ "$(stat_sum read ring)" -eq 0 ] && [ "$(stat_sum read libc.unsupported)" -eq 10 ] ||
        { cat "$(stats_dir)"/stats.*; return 1; }
}

# every_call_on PATH: each of the 20 calls has its line, on PATH (ring or libc).
every_call_on() {
    local call
    for call in "${CALLS[@]}"; do
        assert_line_starts "call $call: $1"
    done
}

@test "--check on this machine: io_uring works, the result line comes first, exit status 0" {
    run --separate-stderr "$IOU_RUN" --check
    assert_success
    [ -z "$stderr" ] || { echo "stderr: $stderr"; return 1; }
    assert_regex "${lines[0]}" '^result: ring: io_uring works here; 20 of 20 calls can go through it$'
    assert_line_starts "ring: yes"
    assert_line "library: $(readlink -f "$SHIM") (loads)"
    every_call_on ring
    refute_output --partial ": libc"
}

@test "--check names the kernel, the io_uring sysctl and the seccomp state of this process" {
    run "$IOU_RUN" --check
    assert_success
    assert_line "kernel: Linux $(uname -r) $(uname -m)"
    if [ -e /proc/sys/kernel/io_uring_disabled ]; then
        assert_line_starts "kernel.io_uring_disabled: $(cat /proc/sys/kernel/io_uring_disabled) ("
    else
        assert_line_starts "kernel.io_uring_disabled: absent"
    fi
    local mode
    mode=$(awk '$1 == "Seccomp:" { print $2 }' /proc/self/status)
    case "$mode" in
        0) assert_line "seccomp: none" ;;
        2) assert_line_starts "seccomp: filter (" ;;
        *) echo "unexpected Seccomp: $mode in /proc/self/status"; return 1 ;;
    esac
}

@test "--check reports the set-up flags, ring fd registration and accept-dontwait this kernel has" {
    run "$IOU_RUN" --check
    assert_success
    if kernel_at_least 6 1; then
        assert_line "setup flags: SINGLE_ISSUER|DEFER_TASKRUN|CLAMP"
    else
        assert_line_starts "setup flags: "
    fi
    if kernel_at_least 5 18; then assert_line "registered ring fd: yes"; else assert_line "registered ring fd: no"; fi
    if kernel_at_least 6 10; then
        assert_line "IORING_ACCEPT_DONTWAIT: yes"
    else
        assert_line "IORING_ACCEPT_DONTWAIT: no"
    fi
    assert_line_starts "opcode probe: yes"
    assert_line "opcodes: READ=yes WRITE=yes READV=yes WRITEV=yes FSYNC=yes ACCEPT=yes RECV=yes SEND=yes RECVMSG=yes SENDMSG=yes ASYNC_CANCEL=yes"
}

@test "--check names the opcodes each call needs: sendto and sendmsg need SENDMSG and SEND" {
    run "$IOU_RUN" --check
    assert_success
    assert_line "call read: ring: IORING_OP_READ on pipes, sockets and character devices"
    assert_line "call pread: ring: IORING_OP_READ on regular files and block devices"
    assert_line "call writev: ring: IORING_OP_WRITEV on pipes, sockets and character devices"
    assert_line "call fsync: ring: IORING_OP_FSYNC on files, directories, pipes, sockets, devices and terminals"
    assert_line "call recvmsg: ring: IORING_OP_RECVMSG on sockets"
    assert_line "call sendto: ring: IORING_OP_SENDMSG, IORING_OP_SEND on sockets"
    assert_line_starts "call accept: ring: IORING_OP_ACCEPT on stream sockets"
}

@test "--check under a seccomp filter that answers EPERM: exit status 1, and it says why" {
    run "${HELPERS}/deny_uring" EPERM "$IOU_RUN" --check
    [ "$status" -eq 1 ] || { echo "status $status"; echo "$output"; return 1; }
    assert_regex "${lines[0]}" '^result: libc: io_uring is not available: io_uring_setup fails with EPERM .*seccomp filter.*; every call uses libc$'
    assert_line_starts "seccomp: filter ("
    assert_line_starts "ring: no: io_uring_setup fails with EPERM (Operation not permitted): a seccomp filter refuses io_uring"
    every_call_on "libc: no ring: io_uring_setup fails with EPERM"
}

@test "--check under a seccomp filter that answers ENOSYS: exit status 1, and it says why" {
    run "${HELPERS}/deny_uring" ENOSYS "$IOU_RUN" --check
    [ "$status" -eq 1 ] || { echo "status $status"; echo "$output"; return 1; }
    assert_regex "${lines[0]}" '^result: libc: io_uring is not available: io_uring_setup fails with ENOSYS .*seccomp filter'
    assert_line_starts "ring: no: io_uring_setup fails with ENOSYS (Function not implemented)"
    every_call_on "libc: no ring: io_uring_setup fails with ENOSYS"
}

@test "--check under denial still reports the configuration and the library" {
    run "${HELPERS}/deny_uring" EPERM "$IOU_RUN" --queue-depth 32 --check
    [ "$status" -eq 1 ]
    assert_line "library: $(readlink -f "$SHIM") (loads)"
    assert_line "config: IOU_SHIM_QUEUE_DEPTH=32 (set)"
    refute_line --partial "setup flags:"
}

@test "--check --json prints one JSON object that jq parses, with the same facts" {
    run --separate-stderr "$IOU_RUN" --check --json
    assert_success
    [ "${#lines[@]}" -eq 1 ] || { echo "expected one line: $output"; return 1; }
    local json=$output
    run jq -e -r '.ok == true and .ring == true and .ring_errno == null and .registered_ring_fd == true
        and .probe == true and .opcodes.ASYNC_CANCEL == true and .library_loads == true
        and .complaints == [] and .pretend == null and (.calls | length) == 20
        and ([.calls[] | .path] | unique) == ["ring"]
        and .config.IOU_SHIM_ROUTE == {"value": "ring", "source": "default", "raw": null}' <<<"$json"
    assert_success
    # The same answers as the text report.
    run "$IOU_RUN" --check
    local text=$output
    [ "$(jq -r .summary <<<"$json")" = "$(sed -n 's/^result: //p' <<<"$text")" ]
    [ "$(jq -r .setup_flags <<<"$json")" = "$(sed -n 's/^setup flags: //p' <<<"$text")" ]
    [ "$(jq -r .kernel <<<"$json")" = "$(uname -r)" ]
    [ "$(jq -r .library <<<"$json")" = "$(readlink -f "$SHIM")" ]
}

@test "--check --json under seccomp denial: ok false, the errno, every call on libc, exit status 1" {
    run --separate-stderr "${HELPERS}/deny_uring" EPERM "$IOU_RUN" --check --json
    [ "$status" -eq 1 ]
    run jq -e '.ok == false and .ring == false and .ring_errno == "EPERM" and .seccomp == "filter"
        and .setup_flags == null and (.ring_error | test("seccomp"))
        and ([.calls[] | .path] | unique) == ["libc"]' <<<"$output"
    assert_success
}

@test "IOU_SHIM_PRETEND=no-setup-flags: the ring is made without flags, as on kernels before 5.6" {
    IOU_SHIM_PRETEND=no-setup-flags run "$IOU_RUN" --check
    assert_success
    assert_line "setup flags: none (IOU_SHIM_PRETEND=no-setup-flags)"
    assert_line "config: IOU_SHIM_PRETEND=no-setup-flags (testing only: simulates an older kernel or a slower path)"
    assert_regex "${lines[0]}" '^result: ring: .*20 of 20 calls.*IOU_SHIM_PRETEND'
}

@test "IOU_SHIM_PRETEND=no-ring-fd: reported unregistered, and the library then keeps the ring's descriptor" {
    IOU_SHIM_PRETEND=no-ring-fd run "$IOU_RUN" --check
    assert_success
    assert_line "registered ring fd: no (IOU_SHIM_PRETEND=no-ring-fd)"
    # bash's `read` from a pipe goes through the ring; its descriptor table then shows the ring or not.
    local count='read -r x; ls -l /proc/$$/fd | grep -c "anon_inode:\[io_uring\]" || true'
    run bash -c 'echo x | IOU_SHIM_PRETEND=no-ring-fd "$1" -- bash -c "$2"' _ "$IOU_RUN" "$count"
    assert_success
    assert_output 1
    run bash -c 'echo x | "$1" -- bash -c "$2"' _ "$IOU_RUN" "$count"
    assert_success
    assert_output 0
}

@test "IOU_SHIM_PRETEND=no-probe: only the 5.1 opcodes, so read and write use libc, and the library agrees" {
    IOU_SHIM_PRETEND=no-probe run "$IOU_RUN" --check
    assert_success
    assert_line_starts "opcode probe: no (IOU_SHIM_PRETEND=no-probe): only the 5.1 opcodes"
    assert_line "IORING_ACCEPT_DONTWAIT: no"
    assert_line_starts "call read: libc: IORING_OP_READ is missing"
    assert_line_starts "call recv: libc: IORING_OP_RECV is missing"
    assert_line_starts "call readv: libc: IORING_OP_ASYNC_CANCEL is missing"
    assert_line "call preadv: ring: IORING_OP_READV on regular files and block devices"
    assert_line_starts "call fsync: ring: IORING_OP_FSYNC on files, directories and terminals; libc on pipes"
    # The library, told the same, sends dd's reads of /dev/zero to libc as unsupported.
    library_reads_on_libc no-probe
}

@test "IOU_SHIM_PRETEND=no-cancel: blocking calls on pipes and sockets use libc, file calls the ring, as the library does" {
    IOU_SHIM_PRETEND=no-cancel run "$IOU_RUN" --check
    assert_success
    assert_line_starts "opcodes: READ=yes"
    assert_line --partial "ASYNC_CANCEL=no"
    local call
    for call in read write readv writev accept accept4 recv recvfrom recvmsg send sendto sendmsg; do
        assert_line_starts "call $call: libc: IORING_OP_ASYNC_CANCEL is missing (IOU_SHIM_PRETEND=no-cancel)"
    done
    for call in pread pwrite preadv pwritev preadv2 pwritev2; do
        assert_line_starts "call $call: ring: "
    done
    assert_regex "${lines[0]}" '^result: ring: io_uring works here; 8 of 20 calls'
    library_reads_on_libc no-cancel
}

@test "every IOU_SHIM_PRETEND degradation at once: still the ring for file calls, exit status 0" {
    IOU_SHIM_PRETEND=no-setup-flags,no-ring-fd,no-probe,no-cancel run "$IOU_RUN" --check --json
    assert_success
    run jq -e '.ok and .setup_flags == "none" and .registered_ring_fd == false and .probe == false
        and .accept_dontwait == false and .pretend == "no-setup-flags,no-ring-fd,no-probe,no-cancel"
        and ([.calls | to_entries[] | select(.value.path == "ring") | .key]
             == ["preadv", "pwritev", "preadv2", "pwritev2", "fsync", "fdatasync"])' <<<"$output"
    assert_success
}

@test "without IOU_SHIM variables every setting is reported with its documented default" {
    run "$IOU_RUN" --check
    assert_success
    assert_line "config: IOU_SHIM_DISABLE=0 (default)"
    assert_line "config: IOU_SHIM_ROUTE=ring (default)"
    assert_line "config: IOU_SHIM_QUEUE_DEPTH=16 (default)"
    assert_line "config: IOU_SHIM_OPS=all (default)"
    assert_line "config: IOU_SHIM_MAX_RINGS=1024 (default)"
    assert_line "config: IOU_SHIM_FILES=4096 (default)"
    assert_line "config: IOU_SHIM_STATS=off (default)"
    assert_line "config: IOU_SHIM_STATS_SIGNAL=none (default)"
    assert_line "config: IOU_SHIM_STATS_FORMAT=text (default)"
    assert_line "config: IOU_SHIM_LOG=off (default)"
    assert_line "config: IOU_SHIM_LOG_FILE=stderr (default)"
    refute_line --partial "IOU_SHIM_PRETEND"
    refute_line --partial "is invalid"
}

@test "options before --check are the settings it reports" {
    run "$IOU_RUN" --queue-depth 64 --ops read,write --stats --log info --check
    assert_success
    assert_line "config: IOU_SHIM_QUEUE_DEPTH=64 (set)"
    assert_line "config: IOU_SHIM_OPS=read,write (set)"
    assert_line "config: IOU_SHIM_STATS=stderr (set)"
    assert_line "config: IOU_SHIM_LOG=info (set)"
    assert_line "ring: yes (queue depth 64, a request went through it)"
    assert_line_starts "call read: ring: "
    assert_line_starts "call write: ring: "
    assert_line "call pread: libc: left out by IOU_SHIM_OPS"
    assert_regex "${lines[0]}" '^result: ring: io_uring works here; 2 of 20 calls'
}

@test "IOU_SHIM_DISABLE=1, --disable and --route libc: exit status 1, every call on libc, and why" {
    local how
    for how in "env IOU_SHIM_DISABLE=1 $IOU_RUN --check" "$IOU_RUN --disable --check" "$IOU_RUN --route libc --check"; do
        # shellcheck disable=SC2086 # the words of each way on purpose
        run $how
        [ "$status" -eq 1 ] || { echo "$how: status $status"; return 1; }
        assert_regex "${lines[0]}" '^result: libc: IOU_SHIM_(DISABLE=1|ROUTE=libc); every call uses libc$'
        every_call_on "libc: IOU_SHIM_"
    done
}

@test "IOU_SHIM_MAX_RINGS=0: exit status 1, no thread may have a ring" {
    IOU_SHIM_MAX_RINGS=0 run "$IOU_RUN" --check
    [ "$status" -eq 1 ]
    assert_line "result: libc: IOU_SHIM_MAX_RINGS=0: no thread may have a ring; every call uses libc"
    assert_line "config: IOU_SHIM_MAX_RINGS=0 (set)"
}

@test "IOU_SHIM_OPS=-all leaves no call to route: exit status 1" {
    IOU_SHIM_OPS=-all run "$IOU_RUN" --check
    [ "$status" -eq 1 ]
    every_call_on "libc: left out by IOU_SHIM_OPS"
    assert_line "config: IOU_SHIM_OPS=none (set)"
}

@test "bad values: the complaints are the library's own lines, in its order, and the defaults are used" {
    local -a bad=(IOU_SHIM_ROUTE=fast IOU_SHIM_DISABLE=yes IOU_SHIM_QUEUE_DEPTH=abc IOU_SHIM_MAX_RINGS=-1
        IOU_SHIM_FILES=lots IOU_SHIM_OPS=read,bogus IOU_SHIM_STATS_FORMAT=xml IOU_SHIM_LOG=loud
        "IOU_SHIM_LOG_FILE=$(printf 'x%.0s' {1..600})" IOU_SHIM_STATS_SIGNAL=KILL)
    run --separate-stderr env "${bad[@]}" LD_PRELOAD="$(shim_preload)" true
    assert_success
    local library=$stderr
    [ "${#stderr_lines[@]}" -eq "${#bad[@]}" ] || { echo "the library printed: $library"; return 1; }
    run env "${bad[@]}" "$IOU_RUN" --check
    assert_success
    [ "$(grep '^iou-shim: ' <<<"$output")" = "$library" ] ||
        { echo "--- library:"; echo "$library"; echo "--- check:"; echo "$output"; return 1; }
    assert_line 'config: IOU_SHIM_QUEUE_DEPTH=16 (invalid: "abc" ignored)'
    assert_line 'config: IOU_SHIM_ROUTE=ring (invalid: "fast" ignored)'
    assert_line 'config: IOU_SHIM_OPS=all (invalid: "read,bogus" ignored)'
    run env "${bad[@]}" "$IOU_RUN" --check --json
    assert_success
    [ "$(jq -r '.complaints[]' <<<"$output")" = "$library" ]
    [ "$(jq -r '.config.IOU_SHIM_DISABLE | .source + " " + .raw' <<<"$output")" = "invalid yes" ]
}

@test "IOU_SHIM_STATS_SIGNAL is reported by name, as the library reads it" {
    local value expected
    for value in USR2:SIGUSR2 SIGUSR1:SIGUSR1 10:SIGUSR1 RTMIN+3:SIGRTMIN+3; do
        expected=${value#*:}
        value=${value%%:*}
        IOU_SHIM_STATS_SIGNAL=$value run "$IOU_RUN" --check
        assert_success
        assert_line "config: IOU_SHIM_STATS_SIGNAL=$expected (set)"
    done
    IOU_SHIM_STATS_SIGNAL=9 run "$IOU_RUN" --check
    assert_success
    assert_line 'config: IOU_SHIM_STATS_SIGNAL=none (invalid: "9" ignored)'
}

@test "every variable of the environment table has a config line" {
    run "$IOU_RUN" --check
    assert_success
    local var
    for var in "${VARS[@]}"; do
        assert_line_starts "config: $var="
    done
    run grep -c '^config: ' <<<"$output"
    assert_output "${#VARS[@]}"
}

@test "a library that does not load: exit status 1, and the reason" {
    local dir="${BATS_TEST_TMPDIR}/broken"
    mkdir -p "$dir"
    echo 'not an ELF file' >"$dir/libiou_shim.so"
    cp "${BUILD}/iou-check" "$dir/iou-check"
    IOU_SHIM_LIBRARY="$dir/libiou_shim.so" run "$IOU_RUN" --check
    [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
    assert_regex "${lines[0]}" "^result: libc: the library $dir/libiou_shim.so does not load \\(.*\\); nothing is routed$"
    assert_line_starts "library: $dir/libiou_shim.so (does not load: "
}

@test "--check runs no program, --json needs --check: exit status 2 and one line" {
    run --separate-stderr "$IOU_RUN" --check -- true
    [ "$status" -eq 2 ]
    [ "${#stderr_lines[@]}" -eq 1 ] && [[ "$stderr" == *--check* ]] || { echo "stderr: $stderr"; return 1; }
    run --separate-stderr "$IOU_RUN" --json -- true
    [ "$status" -eq 2 ]
    [ "${#stderr_lines[@]}" -eq 1 ] && [[ "$stderr" == *--json* ]] || { echo "stderr: $stderr"; return 1; }
    run --separate-stderr "$IOU_RUN" --check=yes
    [ "$status" -eq 2 ]
}

@test "the checker itself does not run with the library preloaded" {
    # iou-run execs the checker in its own process: with the library preloaded into iou-run and stats asked
    # for, every process of the run writes a stats file at exit, and a preloaded checker would too.
    local pre dir
    pre="$(_sanitizer_preload)"
    dir="$(stats_dir)"
    mkdir -p "$dir"
    run bash -c 'LD_PRELOAD="$2" IOU_SHIM_STATS="$3/stats.%p" "$1" --check >/dev/null & echo $!; wait $!' _ \
        "$IOU_RUN" "${pre:+$pre:}$(readlink -f "$SHIM")" "$dir"
    assert_success
    ls "$dir"/stats.* >/dev/null || { echo "no stats at all: the library was not preloaded into iou-run"; return 1; }
    [ ! -e "$dir/stats.$output" ] || { echo "the checker (pid $output) ran with the library:"; cat "$dir/stats.$output"; return 1; }
}
