#!/usr/bin/env bats
# What the kernel sees: under the shim (IOU_TEST_MODE=ring) K calls of a routed kind must show up in
# `strace -f -c` as io_uring_enter and hardly ever as their own system call; when io_uring is refused or the
# shim is disabled (the other modes) they must all be their own system call again.
bats_require_minimum_version 1.5.0
load test_helper

K=200

# strace_shim [VAR=VALUE...] -- CALL TARGET: strace_calls under strace -f -c and the shim (per IOU_TEST_MODE);
# the summary goes to $TRACE, stats to $(stats_dir).
strace_shim() {
    local vars=()
    while [ "$1" != -- ]; do vars+=("$1"); shift; done
    shift
    mode_wrap
    mkdir -p "$(stats_dir)"
    TRACE="${BATS_TEST_TMPDIR}/strace.txt"
    run strace -f -c -o "$TRACE" "${MODE_WRAP[@]}" env LD_PRELOAD="$(shim_preload)" \
        IOU_SHIM_STATS="$(stats_dir)/stats.%p" ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" "${vars[@]}" \
        "${HELPERS}/strace_calls" "$1" "$2" "$K" "${BATS_TEST_TMPDIR}"
    assert_success
    assert_output "$1 $2 $K ok"
}

# syscalls NAME: how many NAME system calls the traced processes made.
syscalls() {
    awk -v name="$1" '$NF == name && $4 ~ /^[0-9]+$/ { n += $4 } END { print n + 0 }' "$TRACE"
}

# no_uring_with VAR=VALUE CALL: under the shim told VAR=VALUE (whatever IOU_TEST_MODE is), K CALLs on a pipe
# make no io_uring system call at all and each is its own system call.
no_uring_with() {
    TRACE="${BATS_TEST_TMPDIR}/strace.txt"
    run strace -f -c -o "$TRACE" env LD_PRELOAD="$(shim_preload)" "$1" \
        ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" "${HELPERS}/strace_calls" "$2" pipe "$K"
    assert_success
    [ "$(syscalls io_uring_setup)" -eq 0 ] && [ "$(syscalls io_uring_enter)" -eq 0 ] &&
        [ "$(syscalls "$2")" -ge "$K" ] || { cat "$TRACE"; return 1; }
}

# kernel_sees CALL SYSCALL STATNAME: in ring mode, fewer than K/10 SYSCALLs, at least K io_uring_enter and K
# calls counted as ring in the stats; in any other mode at least K SYSCALLs.
kernel_sees() {
    local call=$1 sys=$2 stat=$3 own enter ring
    own=$(syscalls "$sys")
    enter=$(syscalls io_uring_enter)
    ring=$(stat_sum "$stat" ring)
    if [ "$IOU_TEST_MODE" = ring ]; then
        if [ "$own" -lt $((K / 10)) ] && [ "$enter" -ge "$K" ] && [ "$ring" -ge "$K" ]; then
            return 0
        fi
        echo "$K $call calls: $own $sys, $enter io_uring_enter, stats $stat ring=$ring"
    else
        if [ "$own" -ge "$K" ] && [ "$ring" -eq 0 ]; then
            return 0
        fi
        echo "$K $call calls in mode $IOU_TEST_MODE: only $own $sys system calls, stats $stat ring=$ring"
    fi
    cat "$TRACE"
    cat "$(stats_dir)"/stats.* 2>/dev/null
    return 1
}

@test "read on a pipe reaches the kernel through io_uring_enter, not read" {
    strace_shim -- read pipe
    kernel_sees read read read
}

@test "read of /dev/null reaches the kernel through io_uring_enter, not read" {
    strace_shim -- read devnull
    kernel_sees read read read
}

@test "write to a pipe reaches the kernel through io_uring_enter, not write" {
    strace_shim -- write pipe
    kernel_sees write write write
}

@test "write to /dev/null reaches the kernel through io_uring_enter, not write" {
    strace_shim -- write devnull
    kernel_sees write write write
}

@test "readv on a socketpair reaches the kernel through io_uring_enter, not readv" {
    strace_shim -- readv socketpair
    kernel_sees readv readv readv
}

@test "writev to a pipe reaches the kernel through io_uring_enter, not writev" {
    strace_shim -- writev pipe
    kernel_sees writev writev writev
}

@test "pread64 at explicit offsets of a file with IOU_SHIM_ROUTE=all goes through io_uring_enter, not pread64" {
    strace_shim IOU_SHIM_ROUTE=all -- pread64 file
    kernel_sees pread64 pread64 pread
}

@test "pwrite64 at explicit offsets of a file with IOU_SHIM_ROUTE=all goes through io_uring_enter, not pwrite64" {
    strace_shim IOU_SHIM_ROUTE=all -- pwrite64 file
    kernel_sees pwrite64 pwrite64 pwrite
}

@test "send on a socketpair reaches the kernel through io_uring_enter, not sendto" {
    strace_shim -- send socketpair
    kernel_sees send sendto send
}

@test "recv on a socketpair reaches the kernel through io_uring_enter, not recvfrom" {
    strace_shim -- recv socketpair
    kernel_sees recv recvfrom recv
}

@test "sendmsg on a socketpair reaches the kernel through io_uring_enter, not sendmsg" {
    strace_shim -- sendmsg socketpair
    kernel_sees sendmsg sendmsg sendmsg
}

@test "recvmsg on a socketpair reaches the kernel through io_uring_enter, not recvmsg" {
    strace_shim -- recvmsg socketpair
    kernel_sees recvmsg recvmsg recvmsg
}

@test "fsync of a file with IOU_SHIM_ROUTE=all reaches the kernel through io_uring_enter, not fsync" {
    strace_shim IOU_SHIM_ROUTE=all -- fsync file
    kernel_sees fsync fsync fsync
}

@test "IOU_SHIM_DISABLE=1 makes no io_uring system call at all" {
    no_uring_with IOU_SHIM_DISABLE=1 write
}

@test "IOU_SHIM_ROUTE=libc makes no io_uring system call at all" {
    no_uring_with IOU_SHIM_ROUTE=libc read
}

@test "with io_uring refused the shim asks for a ring once, not on every call" {
    # EPERM from seccomp is final for the process; asking again per call would cost a syscall per call.
    TRACE="${BATS_TEST_TMPDIR}/strace.txt"
    run strace -f -c -o "$TRACE" "${HELPERS}/deny_uring" EPERM env LD_PRELOAD="$(shim_preload)" \
        ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" "${HELPERS}/strace_calls" write pipe "$K"
    assert_success
    [ "$(syscalls io_uring_setup)" -lt $((K / 10)) ] && [ "$(syscalls write)" -ge "$K" ] || { cat "$TRACE"; return 1; }
}

@test "with io_uring refused the shim does not look at the descriptors the program opens" {
    # Once the refusal is known every call goes straight to libc: what each new file is no longer matters.
    TRACE="${BATS_TEST_TMPDIR}/strace.txt"
    mkdir -p "$(stats_dir)"
    run strace -f -c -o "$TRACE" "${HELPERS}/deny_uring" EPERM env LD_PRELOAD="$(shim_preload)" \
        IOU_SHIM_STATS="$(stats_dir)/stats.%p" ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" \
        "${HELPERS}/strace_calls" fresh file "$K" "${BATS_TEST_TMPDIR}"
    assert_success
    assert_output "fresh file $K ok"
    [ "$(syscalls newfstatat)" -lt $((K / 2)) ] && [ "$(syscalls fstat)" -lt $((K / 2)) ] &&
        [ "$(syscalls fcntl)" -lt $((K / 2)) ] || { cat "$TRACE"; return 1; }
    [ "$(stat_sum pread libc.noring)" -ge "$K" ] || { cat "$(stats_dir)"/stats.*; return 1; }
}

# --- what the shim asks the kernel about descriptors ------------------------------------------------------

# fewer NAME...: the traced processes made fewer than K/2 of these system calls together, in every mode
# (the loader and libc's start-up make a few; looking at each of K descriptors would make K or more).
fewer() {
    local n=0 name
    for name in "$@"; do n=$((n + $(syscalls "$name"))); done
    [ "$n" -lt $((K / 2)) ] || { echo "$K fresh descriptors: $n of $*"; cat "$TRACE"; return 1; }
}

@test "pipes and socketpairs the program makes are known to the shim without asking the kernel" {
    strace_shim -- fresh pipe
    fewer newfstatat fstat fcntl fstatfs
    expect_ring read
    strace_shim -- fresh socketpair
    fewer newfstatat fstat fcntl fstatfs getsockopt
    expect_ring write
}

@test "a file the program opens needs no F_GETFL on its first routed call" {
    strace_shim -- fresh file
    fewer fcntl
    expect_ring pread
}

@test "route auto: a file opened per request and decided for libc is not looked at on every open" {
    # auto-ring-slow decides pread on files for libc after its first samples; later fresh descriptors
    # then go to libc before the shim asks the kernel what they are. Without a ring there is nothing
    # to decide, and every descriptor is looked at once, as in route ring.
    strace_shim IOU_SHIM_ROUTE=auto IOU_SHIM_PRETEND=auto-ring-slow,auto-no-warmup -- fresh file
    if [ "$IOU_TEST_MODE" = ring ]; then
        fewer newfstatat fstat fcntl
        [ "$(stat_sum pread libc.auto)" -gt $((K / 2)) ]
    else
        [ "$(stat_sum pread ring)" -eq 0 ]
    fi
}
