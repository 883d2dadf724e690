#include "cdsp/ring.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct cdsp_ring {
    /* Each index on its own cache line: the producer writes `head`, the consumer writes `tail`. */
    _Alignas(64) _Atomic uint64_t head;  /* next element to write (producer-owned) */
    _Alignas(64) _Atomic uint64_t tail;  /* next element to read (consumer-owned) */
    _Alignas(64) _Atomic uint64_t overflows;
    size_t capacity;                     /* power of two */
    size_t mask;
    size_t element_size;
    unsigned char *data;
};

static size_t next_pow2(size_t n)
{
    size_t p = 1;
    while (p < n) p <<= 1;
    return p;
}

cdsp_ring *cdsp_ring_create(size_t capacity, size_t element_size, cdsp_status *err)
{
    cdsp_ring *r = NULL;
    if (capacity == 0 || element_size == 0 || capacity > ((size_t)1 << 30) || element_size > (1u << 20)) {
        if (err) *err = CDSP_ERR_INVALID_ARGUMENT;
        return NULL;
    }
    r = aligned_alloc(64, sizeof *r);
    if (!r) goto fail;
    memset(r, 0, sizeof *r);
    r->capacity = next_pow2(capacity);
    r->mask = r->capacity - 1;
    r->element_size = element_size;
    r->data = calloc(r->capacity, element_size);
    if (!r->data) goto fail;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->overflows, 0);
    if (err) *err = CDSP_OK;
    return r;
fail:
    cdsp_ring_destroy(r);
    if (err) *err = CDSP_ERR_NO_MEMORY;
    return NULL;
}

void cdsp_ring_destroy(cdsp_ring *r)
{
    if (!r) return;
    free(r->data);
    free(r);
}

size_t cdsp_ring_write(cdsp_ring *r, const void *elements, size_t count)
{
    /* Own index: relaxed (only we write it). Other side's index: acquire, so that the slots it
     * released are really free before we overwrite them. */
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t space = r->capacity - (size_t)(head - tail);
    size_t n = count < space ? count : space;
    if (n < count) atomic_fetch_add_explicit(&r->overflows, count - n, memory_order_relaxed);
    if (n == 0) return 0;
    size_t start = (size_t)head & r->mask;
    size_t first = r->capacity - start;
    if (first > n) first = n;
    memcpy(r->data + start * r->element_size, elements, first * r->element_size);
    if (n > first)
        memcpy(r->data, (const unsigned char *)elements + first * r->element_size, (n - first) * r->element_size);
    /* Release: the consumer that acquires the new head sees the copied bytes. */
    atomic_store_explicit(&r->head, head + n, memory_order_release);
    return n;
}

size_t cdsp_ring_read(cdsp_ring *r, void *elements, size_t count)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t avail = (size_t)(head - tail);
    size_t n = count < avail ? count : avail;
    if (n == 0) return 0;
    size_t start = (size_t)tail & r->mask;
    size_t first = r->capacity - start;
    if (first > n) first = n;
    memcpy(elements, r->data + start * r->element_size, first * r->element_size);
    if (n > first)
        memcpy((unsigned char *)elements + first * r->element_size, r->data, (n - first) * r->element_size);
    /* Release: the producer that acquires the new tail may reuse these slots. */
    atomic_store_explicit(&r->tail, tail + n, memory_order_release);
    return n;
}

size_t cdsp_ring_peek(cdsp_ring *r, void *element)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    if (head == tail) return 0;
    memcpy(element, r->data + ((size_t)tail & r->mask) * r->element_size, r->element_size);
    return 1;
}

size_t cdsp_ring_space(const cdsp_ring *r)
{
    uint64_t head = atomic_load_explicit(&((cdsp_ring *)r)->head, memory_order_acquire);
    uint64_t tail = atomic_load_explicit(&((cdsp_ring *)r)->tail, memory_order_acquire);
    return r->capacity - (size_t)(head - tail);
}

size_t cdsp_ring_available(const cdsp_ring *r)
{
    uint64_t tail = atomic_load_explicit(&((cdsp_ring *)r)->tail, memory_order_acquire);
    uint64_t head = atomic_load_explicit(&((cdsp_ring *)r)->head, memory_order_acquire);
    return (size_t)(head - tail);
}

size_t cdsp_ring_capacity(const cdsp_ring *r) { return r->capacity; }
size_t cdsp_ring_element_size(const cdsp_ring *r) { return r->element_size; }

uint64_t cdsp_ring_overflows(const cdsp_ring *r)
{
    return atomic_load_explicit(&((cdsp_ring *)r)->overflows, memory_order_relaxed);
}
