#!/usr/bin/env bats
# make install / make uninstall: what goes where under PREFIX and DESTDIR, the installed iou-run working from
# PATH with the installed library and checker, man pages that render without warnings, and an uninstall that
# leaves no installed file behind. Builds and installs from $BUILD (IOU_TEST_BUILD), never a fixed build/.
bats_require_minimum_version 1.5.0
load test_helper

# Every file make install writes, relative to DESTDIR, for PREFIX=/usr.
INSTALLED=(/usr/bin/iou-run /usr/lib/iou-shim/iou-check /usr/lib/iou-shim/libiou_shim.so
    /usr/share/man/man1/iou-run.1 /usr/share/man/man7/iou-shim.7)

setup() {
    local var
    for var in "${!IOU_SHIM_@}"; do unset "$var"; done
    DEST="${BATS_TEST_TMPDIR}/root"
}

# make_target TARGET: make TARGET PREFIX=/usr DESTDIR=$DEST, from the source tree and for $BUILD.
make_target() {
    make -C "$ROOT" --no-print-directory BUILD="$BUILD" PREFIX=/usr DESTDIR="$DEST" "$1"
}

# installed_files: every file under $DEST, relative to it, sorted.
installed_files() {
    (cd "$DEST" && find . -type f -o -type l) | sed 's|^\.||' | sort
}

# installed_env CMD...: CMD with the installed bin first in PATH and nothing pointing at the source tree.
installed_env() {
    env -u IOU_SHIM_LIBRARY -u LD_PRELOAD PATH="$DEST/usr/bin:$PATH" "$@"
}

@test "make install puts the wrapper, the library, the checker and both man pages under DESTDIR/PREFIX" {
    run make_target install
    assert_success
    run installed_files
    assert_success
    assert_output "$(printf '%s\n' "${INSTALLED[@]}" | sort)"
    [ -x "$DEST/usr/bin/iou-run" ] && [ -x "$DEST/usr/lib/iou-shim/iou-check" ]
    cmp "$DEST/usr/lib/iou-shim/libiou_shim.so" "$SHIM"
    cmp "$DEST/usr/lib/iou-shim/iou-check" "$BUILD/iou-check"
}

@test "the installed iou-run, found on PATH, runs a program with the installed library: its stats show the ring" {
    make_target install >/dev/null
    mkdir -p "$(stats_dir)"
    mode_wrap
    run installed_env "${MODE_WRAP[@]}" iou-run --stats="$(stats_dir)/stats.%p" -- \
        dd if=/dev/zero of=/dev/null bs=4k count=100 status=none
    assert_success
    expect_ring read
    expect_ring write
    # The library the program loaded is the installed one.
    run installed_env iou-run -- cat /proc/self/maps
    assert_success
    assert_output --partial "$(readlink -f "$DEST/usr/lib/iou-shim/libiou_shim.so")"
    refute_output --partial "$ROOT/"
}

@test "the installed iou-run --check uses the installed checker and library" {
    make_target install >/dev/null
    run installed_env iou-run --check
    assert_success
    assert_line "library: $(readlink -f "$DEST/usr/lib/iou-shim/libiou_shim.so") (loads)"
    assert_regex "${lines[0]}" '^result: ring: '
    run installed_env iou-run --check --json
    assert_success
    run jq -e '.ok and .library_loads' <<<"$output"
    assert_success
}

@test "the installed man pages render with man -l and groff without a warning" {
    make_target install >/dev/null
    local page
    for page in "$DEST/usr/share/man/man1/iou-run.1" "$DEST/usr/share/man/man7/iou-shim.7"; do
        run bash -c 'MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null' _ "$page"
        assert_success
        assert_output ""
        run groff -ww -man -z "$page"
        assert_success
        assert_output ""
        run env MANWIDTH=80 man -l "$page"
        assert_success
        assert_line --regexp '^NAME$'
        assert_line --regexp '^SEE ALSO$'
    done
}

@test "man finds the installed pages by name in the installed man directory" {
    make_target install >/dev/null
    run env MANWIDTH=80 man -M "$DEST/usr/share/man" 1 iou-run
    assert_success
    assert_output --regexp "iou-run +- +run a program"
    run env MANWIDTH=80 man -M "$DEST/usr/share/man" 7 iou-shim
    assert_success
    assert_output --regexp "iou-shim +- +LD_PRELOAD +library"
}

@test "iou-shim(7) documents every environment variable, the bypass reasons and the limitations" {
    run env MANWIDTH=200 man -l "$ROOT/man/iou-shim.7"
    assert_success
    local word
    for word in IOU_SHIM_DISABLE IOU_SHIM_ROUTE IOU_SHIM_QUEUE_DEPTH IOU_SHIM_OPS IOU_SHIM_MAX_RINGS IOU_SHIM_FILES \
        IOU_SHIM_STATS IOU_SHIM_STATS_SIGNAL IOU_SHIM_STATS_FORMAT IOU_SHIM_LOG IOU_SHIM_LOG_FILE IOU_SHIM_LIBRARY \
        position terminal kind nonblock flags timeout huge punt disabled noring nested unsupported fdmax \
        "Static binaries" "Go programs" "setuid" "syscall" "fread" "printf" "seccomp" "auditd" "io_uring_enter" \
        "iou-run --check"; do
        assert_output --partial "$word"
    done
}

@test "iou-run(1) documents every option of iou-run --help" {
    run env MANWIDTH=200 man -l "$ROOT/man/iou-run.1"
    assert_success
    local page=$output opt
    for opt in $("$ROOT/scripts/iou-run" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
        [[ "$page" == *"$opt"* ]] || { echo "iou-run(1) does not mention $opt"; return 1; }
    done
}

@test "make uninstall removes every installed file" {
    make_target install >/dev/null
    run installed_files
    [ "${#lines[@]}" -eq "${#INSTALLED[@]}" ]
    run make_target uninstall
    assert_success
    run installed_files
    assert_success
    assert_output ""
    [ ! -e "$DEST/usr/lib/iou-shim" ]
}
