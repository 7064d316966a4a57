/* The table of interposed calls: what each one needs from the ring and which descriptors it serves.
 * Like the kernel's io_uring/opdef.c, the table drives routing and accounting instead of a switch in
 * every wrapper. */
#ifndef IOU_OPS_H
#define IOU_OPS_H

#include <stdbool.h>
#include <stdint.h>

enum iou_op {
    IOU_OP_READ,
    IOU_OP_WRITE,
    IOU_OP_PREAD,
    IOU_OP_PWRITE,
    IOU_OP_READV,
    IOU_OP_WRITEV,
    IOU_OP_PREADV,
    IOU_OP_PWRITEV,
    IOU_OP_PREADV2,
    IOU_OP_PWRITEV2,
    IOU_OP_FSYNC,
    IOU_OP_FDATASYNC,
    IOU_OP_ACCEPT,
    IOU_OP_ACCEPT4,
    IOU_OP_RECV,
    IOU_OP_RECVFROM,
    IOU_OP_RECVMSG,
    IOU_OP_SEND,
    IOU_OP_SENDTO,
    IOU_OP_SENDMSG,
    IOU_OP_COUNT
};

/* What a descriptor is, as far as routing cares. Filled once per descriptor by fdtable.c. */
enum iou_fd_kind {
    IOU_FD_UNKNOWN,
    IOU_FD_REG,         /* regular file */
    IOU_FD_BLK,         /* block device */
    IOU_FD_PIPE,        /* pipe or FIFO */
    IOU_FD_STREAM,      /* SOCK_STREAM socket */
    IOU_FD_DGRAM,       /* any other socket: datagrams and records are never split */
    IOU_FD_CHR,         /* character device that is not a terminal */
    IOU_FD_TTY,         /* terminal */
    IOU_FD_DIR,         /* directory */
    IOU_FD_OTHER,       /* eventfd, signalfd, epoll, O_PATH...: left to libc */
    IOU_FD_KIND_COUNT
};
#define IOU_KIND(k) (1u << (k))
#define IOU_KINDS_FILE (IOU_KIND(IOU_FD_REG) | IOU_KIND(IOU_FD_BLK))
#define IOU_KINDS_SOCKET (IOU_KIND(IOU_FD_STREAM) | IOU_KIND(IOU_FD_DGRAM))
#define IOU_KINDS_STREAMLIKE (IOU_KIND(IOU_FD_PIPE) | IOU_KINDS_SOCKET | IOU_KIND(IOU_FD_CHR))

/* Why a call went to libc instead of the ring. Names are in ops.c (and docs/interface.md). */
enum iou_bypass {
    IOU_BYPASS_POSITION,
    IOU_BYPASS_TERMINAL,
    IOU_BYPASS_KIND,
    IOU_BYPASS_NONBLOCK,
    IOU_BYPASS_FLAGS,
    IOU_BYPASS_TIMEOUT,
    IOU_BYPASS_HUGE,
    IOU_BYPASS_PUNT,
    IOU_BYPASS_AUTO,
    IOU_BYPASS_DISABLED,
    IOU_BYPASS_NORING,
    IOU_BYPASS_NESTED,
    IOU_BYPASS_UNSUPPORTED,
    IOU_BYPASS_FDMAX,
    IOU_BYPASS_COUNT
};

enum iou_dir { IOU_DIR_NONE, IOU_DIR_IN, IOU_DIR_OUT };

struct iou_op_info {
    const char *name;
    uint8_t opcode;        /* the io_uring opcode the ring path uses */
    uint8_t opcode_also;   /* another opcode it may use (continuations, no address); 0: none */
    uint8_t dir;           /* enum iou_dir: data into or out of the program */
    bool positional;       /* takes an explicit file offset */
    bool interruptible;    /* a signal may end it early (fsync, like the syscall, cannot) */
    uint16_t ring_kinds;   /* descriptor kinds the ring serves for this call */
};

extern const struct iou_op_info iou_ops[IOU_OP_COUNT];
extern const char *const iou_bypass_names[IOU_BYPASS_COUNT];
extern const char *const iou_fd_kind_names[IOU_FD_KIND_COUNT];

/* The op for a call name or alias ("pread64" -> IOU_OP_PREAD); -1 when unknown. */
int iou_op_by_name(const char *name, unsigned len);

#endif
