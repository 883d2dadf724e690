/*
 * ring.h — single-producer single-consumer lock-free ring of fixed-size elements.
 *
 * One structure serves both rings of the engine: audio frames (element = one interleaved frame,
 * e.g. 2 floats) and plain-data messages (element = one command or event struct).
 * Capacity is rounded up to a power of two; indices are monotonic 64-bit counters, so
 * `write_index - read_index` is the fill level and never wraps in practice.
 * The producer loads the consumer's index with acquire and publishes its own with release,
 * and vice versa (the idea of Mixxx's util/fifo.h and miniaudio's ma_rb; the code is our own).
 * A full ring is never waited on: writes return how much fitted and the shortfall is counted.
 *
 *   cdsp_status st;
 *   cdsp_ring *r = cdsp_ring_create(1024, sizeof(my_msg), &st);   // control thread
 *   cdsp_ring_write(r, &msg, 1);                                  // producer thread
 *   while (cdsp_ring_read(r, &msg, 1) == 1) handle(&msg);         // consumer thread
 *   cdsp_ring_destroy(r);
 */
#ifndef CDSP_RING_H
#define CDSP_RING_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdsp_ring cdsp_ring;

/* Thread: control. Allocates. capacity = minimum number of elements (rounded up to 2^k). */
cdsp_ring *cdsp_ring_create(size_t capacity, size_t element_size, cdsp_status *err);
/* Thread: control, when neither side uses the ring any more. NULL-safe. */
void cdsp_ring_destroy(cdsp_ring *r);

/* Thread: producer. Real-time safe. Copies up to `count` elements; returns how many fitted.
 * Elements that did not fit are added to the overflow counter. */
size_t cdsp_ring_write(cdsp_ring *r, const void *elements, size_t count);
/* Thread: consumer. Real-time safe. Copies up to `count` elements out; returns how many. */
size_t cdsp_ring_read(cdsp_ring *r, void *elements, size_t count);
/* Thread: consumer. Real-time safe. Copies the oldest element without consuming it; 1 or 0. */
size_t cdsp_ring_peek(cdsp_ring *r, void *element);

/* Thread: producer (exact) or any (a snapshot). Free space in elements. */
size_t cdsp_ring_space(const cdsp_ring *r);
/* Thread: consumer (exact) or any (a snapshot). Elements ready to read. */
size_t cdsp_ring_available(const cdsp_ring *r);
size_t cdsp_ring_capacity(const cdsp_ring *r);
size_t cdsp_ring_element_size(const cdsp_ring *r);
/* Thread: any. Elements refused because the ring was full, since create. */
uint64_t cdsp_ring_overflows(const cdsp_ring *r);

#ifdef __cplusplus
}
#endif
#endif
