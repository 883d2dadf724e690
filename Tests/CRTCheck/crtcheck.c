#include "crtcheck.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

void __rtsan_realtime_enter(void) __attribute__((weak));
void __rtsan_realtime_exit(void) __attribute__((weak));

int crt_rtsan_available(void) { return __rtsan_realtime_enter != 0 && __rtsan_realtime_exit != 0; }
void crt_rtsan_enter(void)
{
    if (__rtsan_realtime_enter) __rtsan_realtime_enter();
}
void crt_rtsan_exit(void)
{
    if (__rtsan_realtime_exit) __rtsan_realtime_exit();
}

#ifndef CRTCHECK_RTSAN

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static _Thread_local int armed;
static _Thread_local uint64_t calls;

#define COUNT() do { if (armed) calls++; } while (0)

void *malloc(size_t n)
{
    COUNT();
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    COUNT();
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    COUNT();
    return __libc_realloc(p, n);
}
void free(void *p)
{
    if (p) COUNT();
    __libc_free(p);
}
void *memalign(size_t al, size_t n)
{
    COUNT();
    return __libc_memalign(al, n);
}
void *aligned_alloc(size_t al, size_t n)
{
    COUNT();
    return __libc_memalign(al, n);
}
int posix_memalign(void **out, size_t al, size_t n)
{
    COUNT();
    if (al % sizeof(void *) != 0 || (al & (al - 1)) != 0) return EINVAL;
    void *p = __libc_memalign(al, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
void *valloc(size_t n)
{
    COUNT();
    return __libc_memalign(4096, n);
}

void crt_alloc_count_begin(void)
{
    calls = 0;
    armed = 1;
}
uint64_t crt_alloc_count_end(void)
{
    armed = 0;
    return calls;
}
int crt_alloc_counter_available(void) { return 1; }

#else

void crt_alloc_count_begin(void) {}
uint64_t crt_alloc_count_end(void) { return 0; }
int crt_alloc_counter_available(void) { return 0; }

#endif

void crt_allocate_something(void)
{
    void *volatile p = malloc(64);
    free(p);
}

void crt_player_hook(void *user, int phase)
{
    crt_player_probe *probe = user;
    switch (phase) {
    case 0: /* CDSP_PLAYER_HOOK_LOOP_BEGIN */
        crt_alloc_count_begin();
        break;
    case 1: /* PERIOD_BEGIN */
        crt_rtsan_enter();
        break;
    case 2: /* PERIOD_RENDERED */
        crt_rtsan_exit();
        probe->periods++;
        break;
    case 3: /* LOOP_END */
        probe->allocations = crt_alloc_count_end();
        probe->finished = 1;
        break;
    default: break;
    }
}
