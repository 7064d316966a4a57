/* The per-process descriptor table: what each fd is, learned once (a few system calls on first use)
 * and kept right by every interposed call that closes, duplicates or changes a descriptor, so that
 * routing an ordinary call costs no system call. Issue "registered-file table" extends it. */
#ifndef IOU_FDTABLE_H
#define IOU_FDTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "iou/ops.h"

/* What routing needs to know about one descriptor. */
struct iou_fd_info {
    uint8_t kind;      /* enum iou_fd_kind */
    bool nonblock;     /* O_NONBLOCK was set when last looked at */
    bool timeout;      /* socket with SO_RCVTIMEO or SO_SNDTIMEO */
    bool no_nowait;    /* the file refused RWF_NOWAIT: nonblocking calls use libc */
    bool fifo;         /* a named pipe (not pipefs): no FMODE_NOWAIT, so ring reads poll first */
    bool memdev;       /* /dev/zero, /dev/urandom... (major 1): a read is never short but for signals */
    uint8_t fs_slot;   /* file system slot for the punt probe (files and block devices) */
    uint32_t gen;      /* changes whenever the number is closed or replaced */
};

/* Fills *info for fd. Returns 0, -EBADF (or another -errno) when fd is not open, or
 * -ERANGE when fd is beyond the table (the caller uses libc). */
int iou_fd_lookup(int fd, struct iou_fd_info *info);

/* Fills *info for fd only when its facts are already known (no system call). */
bool iou_fd_lookup_known(int fd, struct iou_fd_info *info);
/* The table (NULL until the first descriptor is learned) and the parts of a word that the fast paths
 * of the exported wrappers read in place; the rest of the layout is fdtable.c's. */
extern uint64_t *iou_fd_words;
#define IOU_FD_TABLE_FDS (1u << 20) /* descriptors above this go to libc (reason fdmax) */
#define IOU_FD_BIT_KNOWN (1ull << 0)
#define IOU_FD_BIT_TIMEOUT (1ull << 2)
#define IOU_FD_KIND_SHIFT 8

/* The kind of fd if the table already knows it and nothing else about it sends calls to libc (no
 * socket timeout); -1 otherwise. No system call: for route `auto`'s fast path to libc. */
static inline int iou_fd_known_kind(int fd)
{
    uint64_t *words = __atomic_load_n(&iou_fd_words, __ATOMIC_ACQUIRE);
    if ((unsigned)fd >= IOU_FD_TABLE_FDS || !words)
        return -1;
    uint64_t word = __atomic_load_n(&words[fd], __ATOMIC_ACQUIRE);
    return (word & (IOU_FD_BIT_KNOWN | IOU_FD_BIT_TIMEOUT)) == IOU_FD_BIT_KNOWN ? (uint8_t)(word >> IOU_FD_KIND_SHIFT)
                                                                                : -1;
}

/* Records what the shim already knows about a descriptor it just created (accept). */
void iou_fd_learn(int fd, const struct iou_fd_info *info);

/* The kind the table gives a socket of this type (SO_TYPE, or socket()'s type with its flags). */
enum iou_fd_kind iou_fd_socket_kind(int type);

/* Notes the flags fd was just opened with, so that its first use needs no F_GETFL to learn them
 * (O_PATH descriptors are left to the full look). */
void iou_fd_note_open_flags(int fd, int flags);

/* Forgets what is known about fd (closed, replaced, flags changed): the next use looks again. */
void iou_fd_forget(int fd);
void iou_fd_forget_range(unsigned first, unsigned last);

/* Notes that fd refused RWF_NOWAIT. */
void iou_fd_mark_no_nowait(int fd);

/* Forgets every descriptor (fcloseall, and anything else that closes without saying which). */
void iou_fd_forget_all(void);

#endif
