#!/usr/bin/env bats
# The shape of the built library: it exports the libc names it interposes and nothing else (no liburing, no
# internals), binds everything at load time, resolves every symbol it uses, and carries liburing inside.
bats_require_minimum_version 1.5.0
load test_helper

# Every call name of docs/interface.md with its aliases.
INTERPOSED=(read __read_chk write pread pread64 __pread_chk __pread64_chk pwrite pwrite64 readv writev
    preadv preadv64 pwritev pwritev64 preadv2 preadv64v2 pwritev2 pwritev64v2 fsync fdatasync accept accept4
    recv __recv_chk recvfrom __recvfrom_chk recvmsg send sendto sendmsg)

# exported: the names the library defines for the dynamic linker, without symbol versions.
exported() {
    nm -D --defined-only "${SHIM}" | awk '{ print $NF }' | sed 's/@.*//' | sort -u
}

@test "the library exists and is a shared object" {
    [ -f "${SHIM}" ] || { echo "no ${SHIM}: run make"; return 1; }
    run readelf -h "${SHIM}"
    assert_success
    assert_output --regexp 'Type: +DYN'
}

@test "it exports no liburing symbol and no internal iou_ symbol" {
    run exported
    assert_success
    [ -n "$output" ]
    run grep -E '^(__)?io_uring|^iou_|^_?iou' <<<"$(exported)"
    assert_failure
    assert_output ""
}

@test "it exports read, write and __read_chk as functions" {
    local name
    for name in read write __read_chk; do
        nm -D --defined-only "${SHIM}" | grep -Eq "^[0-9a-f]+ [TW] ${name}(@|$)" ||
            { echo "${name} is not exported as a function"; return 1; }
    done
}

@test "it exports every call name of the contract and its aliases" {
    local have name missing=()
    have=" $(exported | tr '\n' ' ') "
    for name in "${INTERPOSED[@]}"; do
        [[ "$have" == *" $name "* ]] || missing+=("$name")
    done
    [ ${#missing[@]} -eq 0 ] || { echo "not exported: ${missing[*]}"; return 1; }
}

@test "every exported name is a name libc itself exports" {
    local libc
    libc=$(ldd "${SHIM}" | awk '$1 == "libc.so.6" { print $3 }')
    [ -f "$libc" ] || { echo "libc.so.6 not found among the dependencies"; ldd "${SHIM}"; return 1; }
    run comm -23 <(exported) <(nm -D --defined-only "$libc" | awk '{ print $NF }' | sed 's/@.*//' | sort -u)
    assert_success
    assert_output ""
}

@test "it is linked with -z now (BIND_NOW)" {
    run readelf -d "${SHIM}"
    assert_success
    assert_output --regexp '\(FLAGS\) +.*BIND_NOW|\(FLAGS_1\) +Flags:.* NOW'
}

@test "every symbol it uses is defined (-z defs): ldd -r reports nothing undefined" {
    run ldd -r "${SHIM}"
    assert_success
    refute_output --partial 'undefined symbol'
}

@test "it does not depend on liburing.so: liburing is linked in statically" {
    run readelf -d "${SHIM}"
    assert_success
    refute_output --partial 'liburing'
    run ldd "${SHIM}"
    assert_success
    refute_output --partial 'liburing'
}

@test "it does not ask for an executable stack or text relocations" {
    run readelf -lW "${SHIM}"
    assert_success
    refute_output --regexp 'GNU_STACK.* RWE '
    run readelf -d "${SHIM}"
    refute_output --partial 'TEXTREL'
}
