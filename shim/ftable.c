/* The registered-file table (see iou/ftable.h).
 *
 * A registered file holds its own reference: while a slot names it, close(2) of the descriptor does
 * not close the file, and a socket's peer sees no EOF (SEMANTICS row 7). So every slot must be dropped
 * before the program's close returns. A ring's file table can only be changed through that ring, and
 * the shim's rings are reachable only from their own thread (the ring descriptor is registered per
 * task and closed; SINGLE_ISSUER rings refuse other tasks). A thread therefore cannot drop a slot in
 * another thread's ring, and a thread that is busy in the program's own code would never drop it.
 *
 * The design that stays exact: files are registered only while the process has a single thread.
 *  - The one thread registers a descriptor once it has used it REGISTER_AFTER_USES times (slot = fd
 *    number, sparse table, grown by doubling up to IOU_SHIM_FILES) and records the descriptor table's
 *    generation for that slot. Registering costs one system call and dropping one more: a connection
 *    that lives for two calls would pay more than it saves, so only descriptors in repeated use are
 *    registered, once per ring, never per call;
 *  - every close, dup2/dup3 target, close_range, closefrom, fclose... goes through iou_fd_forget,
 *    which drops the slot first, synchronously, with one io_uring_register call;
 *  - a slot whose generation no longer matches (a close the shim did not see) is replaced, never used;
 *  - pthread_create, called by that one thread, drops every slot before the second thread exists,
 *    and registration stays off for the rest of the process (a forked child starts again).
 * Threads that glibc creates internally (SIGEV_THREAD timers, POSIX AIO) are not seen; if one of them
 * closes a registered descriptor, the slot is dropped by the registering thread on its next call.
 * Registration needs IORING_REGISTER_USE_REGISTERED_RING (6.3) or an unregistered ring descriptor;
 * anything the kernel refuses means plain descriptors, never a failure.
 *
 * Why not rings other threads can reach, to drop slots in every ring on close (docs/kernel-facts.md):
 * io_uring_register from another task needs a ring without SINGLE_ISSUER, hence without DEFER_TASKRUN,
 * and that costs more per call (~40 ns per pipe pair here) than registered files save (~27). Replacing
 * another thread's slot with IORING_MSG_SEND_FD keeps DEFER_TASKRUN but runs as task work in that thread,
 * and a thread asleep in epoll_wait then fails with EINTR. */
#include <errno.h>
#include <sys/mman.h>

#include "iou/config.h"
#include "iou/fdtable.h"
#include "iou/ftable.h"
#include "iou/log.h"
#include "iou/ring.h"
#include "iou/sys.h"

#define FIRST_TABLE_SIZE 64
#define REGISTER_AFTER_USES 3

enum { FILES_ON, FILES_OFF };
static int files_state = FILES_ON;
static struct iou_thread *registering; /* the one thread whose ring holds registrations */

/* io_uring_register on t's ring, through its registered index when it has no descriptor. */
static long ring_register(struct iou_thread *t, unsigned opcode, void *arg, unsigned nr)
{
    if (t->ring_fd >= 0)
        return iou_sys4(SYS_io_uring_register, t->ring_fd, opcode, arg, nr);
    return iou_sys4(SYS_io_uring_register, t->ring.enter_ring_fd, opcode | IORING_REGISTER_USE_REGISTERED_RING,
                    arg, nr);
}

static long update_slots(struct iou_thread *t, unsigned first, int *fds, unsigned count)
{
    struct io_uring_files_update up = {.offset = first, .fds = (uint64_t)(uintptr_t)fds};
    return ring_register(t, IORING_REGISTER_FILES_UPDATE, &up, count);
}

static void forget_all_slots(struct iou_thread *t)
{
    if (t->slot_gen)
        for (unsigned i = 0; i < t->files_size; i++)
            t->slot_gen[i] = 0;
}

/* Registers a sparse table of size slots (dropping a smaller one first). */
static bool register_table(struct iou_thread *t, unsigned size)
{
    if (t->files_size) {
        ring_register(t, IORING_UNREGISTER_FILES, NULL, 0);
        forget_all_slots(t);
        t->files_size = 0;
    }
    struct io_uring_rsrc_register reg = {.nr = size, .flags = IORING_RSRC_REGISTER_SPARSE};
    if (ring_register(t, IORING_REGISTER_FILES2, &reg, sizeof(reg)) < 0)
        return false;
    t->files_size = size;
    return true;
}

static void end_registration(struct iou_thread *t)
{
    if (t->files_size)
        ring_register(t, IORING_UNREGISTER_FILES, NULL, 0);
    forget_all_slots(t);
    t->files_size = 0;
}

static int slot_slow(struct iou_thread *t, int fd, uint32_t generation) __attribute__((noinline));

int iou_ftable_slot(struct iou_thread *t, int fd, uint32_t generation)
{
    /* The descriptor already has its slot: the common case, checked first and kept small. */
    if (__builtin_expect(t == __atomic_load_n(&registering, __ATOMIC_ACQUIRE) &&
                         __atomic_load_n(&files_state, __ATOMIC_ACQUIRE) == FILES_ON &&
                         (unsigned)fd < t->files_size && t->slot_gen[fd] == generation + 1, 1))
        return fd;
    return slot_slow(t, fd, generation);
}

static int slot_slow(struct iou_thread *t, int fd, uint32_t generation)
{
    if (__builtin_expect(t != __atomic_load_n(&registering, __ATOMIC_ACQUIRE), 0)) {
        if (__atomic_load_n(&files_state, __ATOMIC_ACQUIRE) != FILES_ON)
            return -1;
        struct iou_thread *none = NULL;
        if (!__atomic_compare_exchange_n(&registering, &none, t, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return -1;
    }
    if (__builtin_expect(__atomic_load_n(&files_state, __ATOMIC_ACQUIRE) != FILES_ON, 0)) {
        /* Registration ended while another (glibc-internal) thread ran: drop what this ring holds. */
        end_registration(t);
        return -1;
    }
    unsigned limit = iou_config()->files;
    if ((unsigned)fd >= limit)
        return -1;
    uint32_t stamp = generation + 1; /* 0 means empty */
    if (t->slot_gen && t->slot_gen[fd] == stamp)
        return fd;
    if (!t->slot_gen) {
        /* slot_gen[limit], then use_gen[limit], then uses[limit]; touched only where used. */
        size_t bytes = (size_t)limit * (2 * sizeof(uint32_t) + 1);
        long p = iou_sys6(SYS_mmap, 0, (long)bytes, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p < 0 && p > -4096)
            return -1;
        t->slot_gen = (uint32_t *)p;
        t->use_gen = t->slot_gen + limit;
        t->uses = (uint8_t *)(t->use_gen + limit);
    }
    if (t->use_gen[fd] != stamp) {
        t->use_gen[fd] = stamp;
        t->uses[fd] = 0;
    }
    if (++t->uses[fd] < REGISTER_AFTER_USES)
        return -1;
    if ((unsigned)fd >= t->files_size) {
        unsigned size = t->files_size ? t->files_size : FIRST_TABLE_SIZE;
        while (size <= (unsigned)fd)
            size *= 2;
        if (size > limit)
            size = limit;
        if (!register_table(t, size)) {
            __atomic_store_n(&files_state, FILES_OFF, __ATOMIC_RELEASE);
            iou_log(IOU_LOG_INFO, "registered files refused by the kernel: using plain descriptors");
            return -1;
        }
    }
    int value = fd;
    if (update_slots(t, (unsigned)fd, &value, 1) != 1)
        return -1;
    t->slot_gen[fd] = stamp;
    return fd;
}

static void drop(int fd)
{
    struct iou_thread *t = __atomic_load_n(&registering, __ATOMIC_ACQUIRE);
    if (!t || fd < 0 || (unsigned)fd >= t->files_size || !t->slot_gen[fd])
        return;
    int none = -1;
    /* Fails only in a vfork child (the registered ring is its parent's): the parent's slot must stay. */
    if (update_slots(t, (unsigned)fd, &none, 1) == 1)
        t->slot_gen[fd] = 0;
}

static void drop_range(unsigned first, unsigned last)
{
    struct iou_thread *t = __atomic_load_n(&registering, __ATOMIC_ACQUIRE);
    if (!t || first >= t->files_size)
        return;
    if (last >= t->files_size)
        last = t->files_size - 1;
    for (unsigned fd = first; fd <= last; fd++)
        if (t->slot_gen[fd])
            drop((int)fd);
}

void iou_ftable_forget(int fd)
{
    drop(fd);
    iou_fd_forget(fd);
}

void iou_ftable_forget_range(unsigned first, unsigned last)
{
    drop_range(first, last);
    iou_fd_forget_range(first, last);
}

void iou_ftable_forget_all(void)
{
    drop_range(0, ~0u);
    iou_fd_forget_all();
}

void iou_ftable_before_new_thread(void)
{
    if (__atomic_exchange_n(&files_state, FILES_OFF, __ATOMIC_ACQ_REL) == FILES_OFF)
        return;
    struct iou_thread *t = __atomic_load_n(&registering, __ATOMIC_ACQUIRE);
    struct iou_thread *self = iou_thread_get();
    if (t && t == self)
        end_registration(t);
}

void iou_ftable_after_fork_in_child(void)
{
    struct iou_thread *t = __atomic_load_n(&registering, __ATOMIC_ACQUIRE);
    if (t) {
        forget_all_slots(t); /* the child's rings are new: nothing is registered */
        t->files_size = 0;
    }
    registering = NULL;
    files_state = FILES_ON;
}

void iou_ftable_release(struct iou_thread *t)
{
    forget_all_slots(t);
    t->files_size = 0;
    struct iou_thread *expected = t;
    __atomic_compare_exchange_n(&registering, &expected, NULL, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
