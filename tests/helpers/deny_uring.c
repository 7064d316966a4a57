/* deny_uring [--setup-only] EPERM|ENOSYS program args...: runs program with io_uring refused, the way a
 * container runtime's seccomp profile refuses it. A raw BPF filter (no libseccomp) makes io_uring_setup,
 * io_uring_enter and io_uring_register fail with the given errno; everything else is allowed. With
 * --setup-only just io_uring_setup fails, which is what sysctl kernel.io_uring_disabled=2 does (EPERM).
 * The filter survives execvp and is inherited by every child, so the whole process tree runs without
 * io_uring. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define FILTER_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FILTER_ARCH AUDIT_ARCH_AARCH64
#else
#error "deny_uring: add this architecture's AUDIT_ARCH and io_uring syscall numbers"
#endif

/* Same numbers on x86_64 and aarch64 (the unified syscall table, 5.1+). */
#define NR_IO_URING_SETUP 425
#define NR_IO_URING_ENTER 426
#define NR_IO_URING_REGISTER 427

int main(int argc, char **argv)
{
    int setup_only = argc > 1 && strcmp(argv[1], "--setup-only") == 0;
    argv += setup_only;
    argc -= setup_only;
    if (argc < 3) {
        fprintf(stderr, "usage: deny_uring [--setup-only] EPERM|ENOSYS program [args...]\n");
        return 2;
    }
    unsigned int err;
    if (strcmp(argv[1], "EPERM") == 0)
        err = EPERM;
    else if (strcmp(argv[1], "ENOSYS") == 0)
        err = ENOSYS;
    else {
        fprintf(stderr, "deny_uring: errno must be EPERM or ENOSYS, not \"%s\"\n", argv[1]);
        return 2;
    }
    /* Jump offsets below are relative: with --setup-only, enter and register fall through to ALLOW. */
    unsigned char to_deny_enter = setup_only ? 1 : 2, to_deny_register = setup_only ? 0 : 1;

    struct sock_filter filter[] = {
        /* A foreign architecture (e.g. the x32 or compat ABI) has other numbers: kill rather than guess. */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FILTER_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#if defined(__x86_64__)
        /* x32 syscalls share AUDIT_ARCH_X86_64 with bit 30 set in nr. */
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
#endif
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_IO_URING_SETUP, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_IO_URING_ENTER, to_deny_enter, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_IO_URING_REGISTER, to_deny_register, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
    };
    struct sock_fprog prog = {
        .len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
        .filter = filter,
    };

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        perror("deny_uring: prctl(PR_SET_NO_NEW_PRIVS)");
        return 1;
    }
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
        perror("deny_uring: prctl(PR_SET_SECCOMP)");
        return 1;
    }
    execvp(argv[2], argv + 2);
    fprintf(stderr, "deny_uring: %s: %s\n", argv[2], strerror(errno));
    return errno == ENOENT ? 127 : 126;
}
