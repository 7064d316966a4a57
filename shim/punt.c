/* The per-file-system punt table (see iou/punt.h): a small array of devices, claimed lock-free. */
#include "iou/punt.h"

#define SLOTS 64
#define KEY_USED (1ull << 63)

static struct {
    uint64_t key; /* dev | KEY_USED, 0 while free */
    uint8_t state[2]; /* [0] reads, [1] writes */
} slots[SLOTS];

uint8_t iou_punt_slot(dev_t dev)
{
    uint64_t key = (uint64_t)dev | KEY_USED;
    for (unsigned i = 0; i < SLOTS; i++) {
        uint64_t cur = __atomic_load_n(&slots[i].key, __ATOMIC_ACQUIRE);
        if (cur == key)
            return (uint8_t)i;
        if (cur == 0) {
            uint64_t expected = 0;
            if (__atomic_compare_exchange_n(&slots[i].key, &expected, key, false, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE) ||
                expected == key)
                return (uint8_t)i;
        }
    }
    return IOU_PUNT_NO_SLOT;
}

enum iou_punt_state iou_punt_get(uint8_t slot, enum iou_dir dir)
{
    if (slot >= SLOTS)
        return IOU_PUNT_UNKNOWN;
    return (enum iou_punt_state)__atomic_load_n(&slots[slot].state[dir == IOU_DIR_OUT], __ATOMIC_RELAXED);
}

void iou_punt_set(uint8_t slot, enum iou_dir dir, enum iou_punt_state state)
{
    if (slot < SLOTS)
        __atomic_store_n(&slots[slot].state[dir == IOU_DIR_OUT], (uint8_t)state, __ATOMIC_RELAXED);
}
