/* The per-process descriptor table.
 *
 * One 64-bit word per fd number, in a large lazily-touched anonymous mapping: pages are only backed
 * once a descriptor in them is used. Each word holds a generation (high 32 bits) and the descriptor's
 * routing facts (low bits, with a "known" bit). Forgetting bumps the generation; learning stores the
 * facts with a compare-and-swap against the word read before the system calls that found them, so a
 * close racing with a lookup can never leave stale facts behind. */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/time.h>
#include <termios.h>

#include "iou/fdtable.h"
#include "iou/punt.h"
#include "iou/sys.h"

#define TABLE_FDS IOU_FD_TABLE_FDS
#define BIT_KNOWN IOU_FD_BIT_KNOWN
#define BIT_NONBLOCK (1ull << 1)
#define BIT_TIMEOUT IOU_FD_BIT_TIMEOUT
#define BIT_NO_NOWAIT (1ull << 3)
#define BIT_FIFO (1ull << 4)
#define BIT_MEMDEV (1ull << 5)
#define BIT_FLAGS (1ull << 6) /* not known yet, but opened with the flags in BIT_NONBLOCK (open, creat) */
#define KIND_SHIFT IOU_FD_KIND_SHIFT
#define SLOT_SHIFT 16
#define GEN_SHIFT 32
#define FACTS_MASK ((1ull << GEN_SHIFT) - 1)

uint64_t *iou_fd_words;
static unsigned highest_known; /* highest fd ever learned: bounds what close_range must forget */

static uint64_t *get_table(void)
{
    uint64_t *t = __atomic_load_n(&iou_fd_words, __ATOMIC_ACQUIRE);
    if (__builtin_expect(t != NULL, 1))
        return t;
    long p = iou_sys6(SYS_mmap, 0, TABLE_FDS * sizeof(uint64_t), PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p < 0 && p > -4096)
        return NULL;
    uint64_t *expected = NULL;
    if (!__atomic_compare_exchange_n(&iou_fd_words, &expected, (uint64_t *)p, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        iou_sys2(SYS_munmap, p, TABLE_FDS * sizeof(uint64_t));
        return expected;
    }
    return (uint64_t *)p;
}

static uint64_t pack(const struct iou_fd_info *info)
{
    return BIT_KNOWN | (info->nonblock ? BIT_NONBLOCK : 0) | (info->timeout ? BIT_TIMEOUT : 0) |
           (info->no_nowait ? BIT_NO_NOWAIT : 0) | (info->fifo ? BIT_FIFO : 0) | (info->memdev ? BIT_MEMDEV : 0) |
           ((uint64_t)info->kind << KIND_SHIFT) |
           ((uint64_t)info->fs_slot << SLOT_SHIFT);
}

static void unpack(uint64_t word, struct iou_fd_info *info)
{
    info->kind = (uint8_t)(word >> KIND_SHIFT);
    info->nonblock = word & BIT_NONBLOCK;
    info->timeout = word & BIT_TIMEOUT;
    info->no_nowait = word & BIT_NO_NOWAIT;
    info->fifo = word & BIT_FIFO;
    info->memdev = word & BIT_MEMDEV;
    info->fs_slot = (uint8_t)(word >> SLOT_SHIFT);
    info->gen = (uint32_t)(word >> GEN_SHIFT);
}

static bool socket_has_timeout(int fd)
{
    struct timeval tv[2];
    socklen_t len = sizeof(tv[0]);
    if (iou_sys5(SYS_getsockopt, fd, SOL_SOCKET, SO_RCVTIMEO, &tv[0], &len) < 0)
        tv[0].tv_sec = tv[0].tv_usec = 0;
    len = sizeof(tv[1]);
    if (iou_sys5(SYS_getsockopt, fd, SOL_SOCKET, SO_SNDTIMEO, &tv[1], &len) < 0)
        tv[1].tv_sec = tv[1].tv_usec = 0;
    return tv[0].tv_sec || tv[0].tv_usec || tv[1].tv_sec || tv[1].tv_usec;
}

enum iou_fd_kind iou_fd_socket_kind(int type)
{
    return (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_STREAM ? IOU_FD_STREAM : IOU_FD_DGRAM;
}

/* Asks the kernel what fd is: fstat, F_GETFL (unless word says how it was opened), and for sockets and
 * devices one or three more calls. */
static int probe(int fd, uint64_t word, struct iou_fd_info *info)
{
    struct stat st;
    long r = iou_sys4(SYS_newfstatat, fd, "", &st, AT_EMPTY_PATH);
    if (r < 0)
        return (int)r;
    int fl = word & BIT_FLAGS ? (word & BIT_NONBLOCK ? O_NONBLOCK : 0) : iou_sys_getfl(fd);
    if (fl < 0)
        return fl;
    memset(info, 0, sizeof(*info));
    info->nonblock = fl & O_NONBLOCK;
    info->fs_slot = IOU_PUNT_NO_SLOT;
    if ((fl & O_PATH) == O_PATH) {
        info->kind = IOU_FD_OTHER; /* reads fail EBADF: libc says so */
        return 0;
    }
    switch (st.st_mode & S_IFMT) {
    case S_IFREG:
        info->kind = IOU_FD_REG;
        info->fs_slot = iou_punt_slot(st.st_dev);
        break;
    case S_IFBLK:
        info->kind = IOU_FD_BLK;
        info->fs_slot = iou_punt_slot(st.st_rdev);
        break;
    case S_IFIFO: {
        struct statfs fs;
        info->kind = IOU_FD_PIPE;
        info->fifo = iou_sys2(SYS_fstatfs, fd, &fs) == 0 && fs.f_type != PIPEFS_MAGIC;
        break;
    }
    case S_IFDIR:
        info->kind = IOU_FD_DIR;
        break;
    case S_IFCHR: {
        struct termios tio;
        info->kind = iou_sys3(SYS_ioctl, fd, TCGETS, &tio) == 0 ? IOU_FD_TTY : IOU_FD_CHR;
        info->memdev = info->kind == IOU_FD_CHR && major(st.st_rdev) == 1;
        break;
    }
    case S_IFSOCK: {
        int type = 0;
        socklen_t len = sizeof(type);
        if (iou_sys5(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
            info->kind = IOU_FD_OTHER;
        else
            info->kind = (uint8_t)iou_fd_socket_kind(type);
        info->timeout = socket_has_timeout(fd);
        break;
    }
    default:
        info->kind = IOU_FD_OTHER; /* anonymous inodes: eventfd, signalfd, epoll, timerfd... */
    }
    return 0;
}

static void note_highest(unsigned fd)
{
    unsigned seen = __atomic_load_n(&highest_known, __ATOMIC_RELAXED);
    while (fd > seen && !__atomic_compare_exchange_n(&highest_known, &seen, fd, true, __ATOMIC_SEQ_CST,
                                                     __ATOMIC_RELAXED))
        ;
}

/* fd's word when its facts are known, 0 otherwise; no system call (a negative fd is out of range). */
static inline uint64_t known_word(int fd)
{
    uint64_t *t = __atomic_load_n(&iou_fd_words, __ATOMIC_ACQUIRE);
    if ((unsigned)fd >= TABLE_FDS || !t)
        return 0;
    uint64_t word = __atomic_load_n(&t[fd], __ATOMIC_ACQUIRE);
    return word & BIT_KNOWN ? word : 0;
}

int iou_fd_lookup(int fd, struct iou_fd_info *info)
{
    uint64_t word = known_word(fd);
    if (__builtin_expect(word != 0, 1)) {
        unpack(word, info);
        return 0;
    }
    if (fd < 0)
        return -EBADF;
    if ((unsigned)fd >= TABLE_FDS)
        return -ERANGE;
    uint64_t *t = get_table();
    if (!t)
        return -ERANGE;
    /* Raise highest_known before reading the word we will CAS against, so a close_range that
     * misses this fd cannot also miss our store. */
    note_highest((unsigned)fd);
    word = __atomic_load_n(&t[fd], __ATOMIC_SEQ_CST);
    int r = probe(fd, word, info);
    if (r < 0)
        return r;
    /* Store only if nobody forgot fd meanwhile; otherwise the facts serve this call alone. */
    info->gen = (uint32_t)(word >> GEN_SHIFT);
    uint64_t learned = (word & ~FACTS_MASK) | pack(info);
    __atomic_compare_exchange_n(&t[fd], &word, learned, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
    return 0;
}

bool iou_fd_lookup_known(int fd, struct iou_fd_info *info)
{
    uint64_t word = known_word(fd);
    if (!word)
        return false;
    unpack(word, info);
    return true;
}

void iou_fd_learn(int fd, const struct iou_fd_info *info)
{
    uint64_t *t = get_table();
    if (fd < 0 || (unsigned)fd >= TABLE_FDS || !t)
        return;
    note_highest((unsigned)fd);
    uint64_t word = __atomic_load_n(&t[fd], __ATOMIC_RELAXED);
    uint64_t next;
    do
        next = ((word >> GEN_SHIFT) + 1) << GEN_SHIFT | pack(info);
    while (!__atomic_compare_exchange_n(&t[fd], &word, next, true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
}

void iou_fd_note_open_flags(int fd, int flags)
{
    uint64_t *t = __atomic_load_n(&iou_fd_words, __ATOMIC_ACQUIRE);
    if (fd < 0 || (unsigned)fd >= TABLE_FDS || !t || (flags & O_PATH) == O_PATH)
        return;
    /* Only over a word that says nothing yet: a lookup that already learned fd knows better. A close
     * and reopen of the number by another thread meanwhile could leave the other file's flags here;
     * a wrong O_NONBLOCK is corrected at the next EAGAIN or before blocking (rw.c, ring.c). */
    note_highest((unsigned)fd); /* as in iou_fd_lookup: close_range must see this word */
    uint64_t word = __atomic_load_n(&t[fd], __ATOMIC_SEQ_CST);
    if (word & (BIT_KNOWN | BIT_FLAGS))
        return;
    uint64_t noted = word | BIT_FLAGS | (flags & O_NONBLOCK ? BIT_NONBLOCK : 0);
    __atomic_compare_exchange_n(&t[fd], &word, noted, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

void iou_fd_forget(int fd)
{
    uint64_t *t = __atomic_load_n(&iou_fd_words, __ATOMIC_ACQUIRE);
    if (fd < 0 || (unsigned)fd >= TABLE_FDS || !t)
        return;
    /* Always a new generation, even for an unknown fd: a lookup that probed the old descriptor
     * stores its facts with a CAS on the word it read, and must fail. */
    uint64_t word = __atomic_load_n(&t[fd], __ATOMIC_RELAXED);
    __atomic_store_n(&t[fd], ((word >> GEN_SHIFT) + 1) << GEN_SHIFT, __ATOMIC_SEQ_CST);
}

void iou_fd_forget_range(unsigned first, unsigned last)
{
    if (first >= TABLE_FDS)
        return;
    /* Descriptors above the highest ever learned have nothing to forget, and no lookup can be in
     * flight for them without having raised highest_known first. */
    unsigned highest = __atomic_load_n(&highest_known, __ATOMIC_SEQ_CST);
    if (last > highest)
        last = highest;
    for (unsigned fd = first; fd <= last; fd++)
        iou_fd_forget((int)fd);
}

void iou_fd_forget_all(void)
{
    iou_fd_forget_range(0, TABLE_FDS - 1);
}

void iou_fd_mark_no_nowait(int fd)
{
    uint64_t *t = __atomic_load_n(&iou_fd_words, __ATOMIC_ACQUIRE);
    if (fd < 0 || (unsigned)fd >= TABLE_FDS || !t)
        return;
    __atomic_fetch_or(&t[fd], BIT_NO_NOWAIT, __ATOMIC_RELEASE);
}
