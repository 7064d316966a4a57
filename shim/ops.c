/* The table of interposed calls and the names used in stats and IOU_SHIM_OPS. */
#include <liburing.h>
#include <string.h>

#include "iou/ops.h"

/* Calls that use the file position go to the ring only for descriptors that have none (pipes,
 * sockets, devices); io_uring takes no f_pos lock (SEMANTICS row 1). Offset calls serve files. */
#define STREAM_KINDS IOU_KINDS_STREAMLIKE
#define ALL_KINDS (IOU_KINDS_FILE | IOU_KINDS_STREAMLIKE | IOU_KIND(IOU_FD_TTY) | IOU_KIND(IOU_FD_DIR))

const struct iou_op_info iou_ops[IOU_OP_COUNT] = {
    [IOU_OP_READ] = {"read", IORING_OP_READ, 0, IOU_DIR_IN, false, true, STREAM_KINDS},
    [IOU_OP_WRITE] = {"write", IORING_OP_WRITE, 0, IOU_DIR_OUT, false, true, STREAM_KINDS},
    [IOU_OP_PREAD] = {"pread", IORING_OP_READ, 0, IOU_DIR_IN, true, true, IOU_KINDS_FILE},
    [IOU_OP_PWRITE] = {"pwrite", IORING_OP_WRITE, 0, IOU_DIR_OUT, true, true, IOU_KINDS_FILE},
    [IOU_OP_READV] = {"readv", IORING_OP_READV, 0, IOU_DIR_IN, false, true, STREAM_KINDS},
    [IOU_OP_WRITEV] = {"writev", IORING_OP_WRITEV, 0, IOU_DIR_OUT, false, true, STREAM_KINDS},
    [IOU_OP_PREADV] = {"preadv", IORING_OP_READV, 0, IOU_DIR_IN, true, true, IOU_KINDS_FILE},
    [IOU_OP_PWRITEV] = {"pwritev", IORING_OP_WRITEV, 0, IOU_DIR_OUT, true, true, IOU_KINDS_FILE},
    [IOU_OP_PREADV2] = {"preadv2", IORING_OP_READV, 0, IOU_DIR_IN, true, true, IOU_KINDS_FILE},
    [IOU_OP_PWRITEV2] = {"pwritev2", IORING_OP_WRITEV, 0, IOU_DIR_OUT, true, true, IOU_KINDS_FILE},
    /* fsync cannot be interrupted by a signal, through libc or the ring. */
    [IOU_OP_FSYNC] = {"fsync", IORING_OP_FSYNC, 0, IOU_DIR_NONE, false, false, ALL_KINDS},
    [IOU_OP_FDATASYNC] = {"fdatasync", IORING_OP_FSYNC, 0, IOU_DIR_NONE, false, false, ALL_KINDS},
    [IOU_OP_ACCEPT] = {"accept", IORING_OP_ACCEPT, 0, IOU_DIR_IN, false, true, IOU_KIND(IOU_FD_STREAM)},
    [IOU_OP_ACCEPT4] = {"accept4", IORING_OP_ACCEPT, 0, IOU_DIR_IN, false, true, IOU_KIND(IOU_FD_STREAM)},
    [IOU_OP_RECV] = {"recv", IORING_OP_RECV, 0, IOU_DIR_IN, false, true, IOU_KINDS_SOCKET},
    [IOU_OP_RECVFROM] = {"recvfrom", IORING_OP_RECV, 0, IOU_DIR_IN, false, true, IOU_KINDS_SOCKET},
    [IOU_OP_RECVMSG] = {"recvmsg", IORING_OP_RECVMSG, 0, IOU_DIR_IN, false, true, IOU_KINDS_SOCKET},
    [IOU_OP_SEND] = {"send", IORING_OP_SEND, 0, IOU_DIR_OUT, false, true, IOU_KINDS_SOCKET},
    [IOU_OP_SENDTO] = {"sendto", IORING_OP_SENDMSG, IORING_OP_SEND, IOU_DIR_OUT, false, true, IOU_KINDS_SOCKET},
    [IOU_OP_SENDMSG] = {"sendmsg", IORING_OP_SENDMSG, IORING_OP_SEND, IOU_DIR_OUT, false, true, IOU_KINDS_SOCKET},
};

const char *const iou_bypass_names[IOU_BYPASS_COUNT] = {
    [IOU_BYPASS_POSITION] = "position",
    [IOU_BYPASS_TERMINAL] = "terminal",
    [IOU_BYPASS_KIND] = "kind",
    [IOU_BYPASS_NONBLOCK] = "nonblock",
    [IOU_BYPASS_FLAGS] = "flags",
    [IOU_BYPASS_TIMEOUT] = "timeout",
    [IOU_BYPASS_HUGE] = "huge",
    [IOU_BYPASS_PUNT] = "punt",
    [IOU_BYPASS_AUTO] = "auto",
    [IOU_BYPASS_DISABLED] = "disabled",
    [IOU_BYPASS_NORING] = "noring",
    [IOU_BYPASS_NESTED] = "nested",
    [IOU_BYPASS_UNSUPPORTED] = "unsupported",
    [IOU_BYPASS_FDMAX] = "fdmax",
};

/* Descriptor kinds as the stats of route `auto` name them. */
const char *const iou_fd_kind_names[IOU_FD_KIND_COUNT] = {
    [IOU_FD_UNKNOWN] = "unknown", [IOU_FD_REG] = "file",   [IOU_FD_BLK] = "blockdev", [IOU_FD_PIPE] = "pipe",
    [IOU_FD_STREAM] = "stream",   [IOU_FD_DGRAM] = "dgram", [IOU_FD_CHR] = "chardev",  [IOU_FD_TTY] = "tty",
    [IOU_FD_DIR] = "dir",         [IOU_FD_OTHER] = "other",
};

/* Other names of the same calls, accepted in IOU_SHIM_OPS. */
static const struct {
    const char *name;
    enum iou_op op;
} aliases[] = {
    {"__read_chk", IOU_OP_READ},     {"pread64", IOU_OP_PREAD},        {"__pread_chk", IOU_OP_PREAD},
    {"__pread64_chk", IOU_OP_PREAD}, {"pwrite64", IOU_OP_PWRITE},      {"preadv64", IOU_OP_PREADV},
    {"pwritev64", IOU_OP_PWRITEV},   {"preadv64v2", IOU_OP_PREADV2},   {"pwritev64v2", IOU_OP_PWRITEV2},
    {"__recv_chk", IOU_OP_RECV},     {"__recvfrom_chk", IOU_OP_RECVFROM},
};

int iou_op_by_name(const char *name, unsigned len)
{
    for (int op = 0; op < IOU_OP_COUNT; op++)
        if (strlen(iou_ops[op].name) == len && !memcmp(iou_ops[op].name, name, len))
            return op;
    for (unsigned i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strlen(aliases[i].name) == len && !memcmp(aliases[i].name, name, len))
            return aliases[i].op;
    return -1;
}
