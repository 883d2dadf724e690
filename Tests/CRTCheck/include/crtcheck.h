/*
 * crtcheck.h — test-only tools that prove the audio path real-time safe.
 *
 * 1. An allocation counter: this target defines malloc/calloc/realloc/free/memalign/posix_memalign/
 *    aligned_alloc/valloc in the test binary (glibc allows replacing them, see "Replacing malloc" in its
 *    manual), forwarding to glibc's own and counting calls made by a thread while it is armed.
 *    Built without it when CRTCHECK_RTSAN is defined (the sanitizer runtime has its own malloc).
 * 2. RealtimeSanitizer hooks, declared weak: real only when the test binary is linked with
 *    -fsanitize=realtime; then any malloc, free, lock or blocking call between enter and exit aborts.
 */
#ifndef CRTCHECK_H
#define CRTCHECK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Arms the counter on the calling thread and zeroes it. */
void crt_alloc_count_begin(void);
/* Disarms it and returns the number of allocation and free calls made by this thread meanwhile. */
uint64_t crt_alloc_count_end(void);
/* 1 if this binary counts allocations (0 in the sanitizer build). */
int crt_alloc_counter_available(void);

/* 1 if RealtimeSanitizer is linked in. */
int crt_rtsan_available(void);
void crt_rtsan_enter(void);
void crt_rtsan_exit(void);

/* A cdsp_player hook (player.h) that proves the live audio thread real-time safe:
 *   LOOP_BEGIN arms the allocation counter on the audio thread, LOOP_END stores what it counted
 *   (every wait, render and device write in between);
 *   PERIOD_BEGIN / PERIOD_RENDERED enter and leave a RealtimeSanitizer region around each render.
 * `user` points at a crt_player_probe. */
typedef struct crt_player_probe {
    volatile uint64_t allocations;   /* on the audio thread, between LOOP_BEGIN and LOOP_END */
    volatile uint64_t periods;       /* renders seen */
    volatile int finished;           /* LOOP_END reached */
} crt_player_probe;
void crt_player_hook(void *user, int phase);

/* Allocates and frees on purpose (for tests that prove the checks can fail). */
void crt_allocate_something(void);

#ifdef __cplusplus
}
#endif
#endif
