#!/usr/bin/env bats
# The shim's first call arriving from unusual places (SEMANTICS rows 6, 8, 16): another library's constructor
# (preloaded before and after the shim, so its constructor runs after or before the shim's own), a thread that a
# constructor starts before main, a signal handler (the thread's first call, or one landing inside the shim's
# ring set-up), and popen/system/posix_spawn/fork/vfork children doing I/O at the same time.
# Helpers: tests/helpers/reent.c, and tests/reentry/ctorlib.c built here into a shared library.
load test_helper

# Under a sanitizer build the library needs the sanitizer runtime too: its constructor may run before the
# shim's, and ASan must be set up (by the loader, as a dependency) before any instrumented shim code runs.
setup_file() {
    local runtime
    runtime=$(_sanitizer_preload)
    gcc -std=gnu11 -Wall -Wextra -Werror -O1 -g -shared -fPIC -o "${BATS_FILE_TMPDIR}/ctorlib.so" \
        "${ROOT}/tests/reentry/ctorlib.c" -lpthread ${runtime:+-Wl,--no-as-needed "$runtime"}
}

# with_ctorlib before|after WHAT: the reent program with ctorlib.so preloaded before or after the shim (alone
# without it), its constructor doing WHAT (REENT_CTOR: io, thread), compared with and without the shim.
with_ctorlib() {
    export REENT_CTOR=$2
    # (sanitizer builds) the run without the shim loads the runtime as the library's dependency, not first
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}:verify_asan_link_order=0"
    same_with_and_without timeout 60 "${ROOT}/tests/reentry/preload-with" "$1" "${BATS_FILE_TMPDIR}/ctorlib.so" \
        "$HELPERS/reent" ctor
    assert_success
}

# With LD_PRELOAD=shim:lib the library's constructor runs first (the loader initialises the later entry first).
@test "a constructor that runs before the shim's does its I/O through the ring" {
    with_ctorlib after io
    assert_line "constructor: 20 round trips ok"
    assert_line "main: the constructor's thread: no thread"
    expect_ring write
    expect_ring recv
}

@test "a constructor that runs after the shim's does its I/O through the ring" {
    with_ctorlib before io
    assert_line "constructor: 20 round trips ok"
    expect_ring read
    expect_ring send
}

@test "a thread started by a constructor before the shim's does I/O while the shim starts" {
    with_ctorlib after thread,io
    assert_line "constructor: 20 round trips ok"
    assert_line "main: the constructor's thread: 200 round trips ok"
    expect_ring recv
    if [ "$IOU_TEST_MODE" = ring ]; then
        [ "$(stat_sum send ring)" -eq 220 ] # 200 from the thread, 20 from the constructor
    fi
}

@test "a thread started by a constructor after the shim's does I/O before main" {
    with_ctorlib before thread
    assert_line "main: the constructor's thread: 200 round trips ok"
    expect_ring read
    if [ "$IOU_TEST_MODE" = ring ]; then
        [ "$(stat_sum recv ring)" -eq 200 ]
    fi
}

@test "the first I/O of the main thread and of 40 threads happens inside their signal handlers" {
    same_with_and_without timeout 60 "$HELPERS/reent" signal-first
    assert_success
    assert_line "main thread, first I/O inside a handler: ok"
    assert_line "threads whose first I/O was inside a handler: 40, ok 40"
    expect_ring read
    expect_ring recv
    if [ "$IOU_TEST_MODE" = ring ]; then
        # the rings made inside the handlers serve the threads' later calls too
        run cat "$(stats_dir)"/stats.*
        assert_output --partial " rings=41 "
        [ "$(stat_sum read libc)" -eq 0 ]
    fi
}

@test "80 threads make their first calls under a storm of signals whose handlers do I/O" {
    for round in 1 2 3; do
        same_with_and_without timeout 60 "$HELPERS/reent" signal-storm || return 1
        assert_success
        assert_line "threads started under a signal storm: 80, each 20 round trips, failed: 0"
        assert_line "round trips inside the handlers that failed: 0"
    done
    expect_ring read
}

# A timer signals the thread every 25 us from just before its first call, so the handler, which does I/O
# itself, keeps landing inside the shim's ring set-up (io_uring_setup, mmap, the process's one probe).
@test "a handler doing I/O that lands inside the shim's ring set-up (timer signals) leaves both calls right" {
    for round in $(seq 5); do
        same_with_and_without timeout 30 "$HELPERS/reent" timer-first || return 1
        assert_success
        assert_line "main thread, first calls under a 25 us timer signal: ok"
        assert_line "threads whose first calls ran under a timer signal: 60, failed: 0"
        assert_line "round trips inside the handlers that failed: 0"
    done
    expect_ring write
}

@test "popen, system, posix_spawn, fork and vfork children do I/O at once while threads do I/O" {
    same_with_and_without timeout 120 "$HELPERS/reent" spawn "$BATS_TEST_TMPDIR"
    assert_success
    assert_line "popen of cat: 10 rounds, output intact 10, exit status 0: 10"
    assert_line "system of a cat | cat pipeline: 10 rounds, output intact 10, exit status 0: 10"
    assert_line "posix_spawn with dup2, open and close actions: 10 rounds, output intact 10, exit status 0: 10"
    assert_line "fork, the child does I/O at once: 10 rounds, output intact 10, exit status 0: 10"
    assert_line "vfork, dup2 and exec: 10 rounds, output intact 10, exit status 0: 10"
    assert_line "posix_spawn: the descriptor named in a close action was closed in the child: 10 of 10"
    assert_line "background round trips that failed: 0"
    expect_ring read
    expect_ring write
    if [ "$IOU_TEST_MODE" = ring ]; then
        # children wrote stats of their own: the spawned helpers and cat processes used their rings too
        [ "$(ls "$(stats_dir)" | wc -l)" -gt 40 ]
    fi
}
