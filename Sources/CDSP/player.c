/* player.c — the real-time audio thread (see player.h). */
#define _GNU_SOURCE
#include "cdsp/player.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

struct cdsp_player {
    cdsp_engine *engine;
    cdsp_pcm *pcm;
    cdsp_player_config cfg;
    cdsp_pcm_info info;
    float *master, *cue;
    pthread_t thread;
    int joined;
    uint64_t period_ns;
    _Atomic int stop;
    _Atomic uint32_t stall_ms;
    /* published */
    _Atomic int state;
    _Atomic int error;
    _Atomic int alsa_error;
    _Atomic uint64_t periods, xruns, render_last, render_max, render_total;
    _Atomic int rt_errno;
    int mlock_errno;
    _Atomic uint64_t load[CDSP_PLAYER_LOAD_BINS];
    /* clock sample, seqlock: odd while being written */
    _Atomic uint32_t clock_seq;
    _Atomic uint64_t clock_frame, clock_ns;
    _Atomic int64_t clock_delay;
};

uint64_t cdsp_monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

cdsp_player_config cdsp_player_config_default(void)
{
    cdsp_player_config c;
    memset(&c, 0, sizeof c);
    c.rt_priority = 70;
    c.lock_memory = 1;
    return c;
}

static void hook(cdsp_player *p, int phase)
{
    if (p->cfg.hook) p->cfg.hook(p->cfg.hook_user, phase);
}

static void fail(cdsp_player *p, cdsp_status st, int alsa_err)
{
    atomic_store_explicit(&p->alsa_error, alsa_err, memory_order_relaxed);
    atomic_store_explicit(&p->error, (int)st, memory_order_relaxed);
    atomic_store_explicit(&p->state, CDSP_PLAYER_FAILED, memory_order_release);
}

/* 1: recovered, carry on; 0: the device is gone (state set to FAILED). */
static int handle_error(cdsp_player *p, int err)
{
    if (err == -EPIPE || err == -ESTRPIPE) {
        atomic_fetch_add_explicit(&p->xruns, 1, memory_order_relaxed);
        if (cdsp_pcm_recover(p->pcm, err) == 0) return 1;
    } else if (err == -EINTR) {
        return 1;
    }
    fail(p, CDSP_ERR_DEVICE_FAILED, err);
    return 0;
}

static void publish_clock(cdsp_player *p, uint64_t frame, int64_t delay, uint64_t ns)
{
    uint32_t s = atomic_load_explicit(&p->clock_seq, memory_order_relaxed);
    atomic_store_explicit(&p->clock_seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&p->clock_frame, frame, memory_order_relaxed);
    atomic_store_explicit(&p->clock_delay, delay, memory_order_relaxed);
    atomic_store_explicit(&p->clock_ns, ns, memory_order_relaxed);
    atomic_store_explicit(&p->clock_seq, s + 2, memory_order_release);
}

static void *run(void *arg)
{
    cdsp_player *p = arg;
    int rt_err = 0;
    if (p->cfg.rt_priority > 0) {
        struct sched_param sp;
        memset(&sp, 0, sizeof sp);
        sp.sched_priority = p->cfg.rt_priority;
        rt_err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
    }
    atomic_store_explicit(&p->rt_errno, rt_err, memory_order_release);
    /* Touch the stack the render will use, so its pages are present before the first period. */
    volatile char stack_touch[64 * 1024];
    for (size_t i = 0; i < sizeof stack_touch; i += 4096) stack_touch[i] = 0;

    const uint32_t period = p->info.period_frames;
    const uint64_t buffer_ms = (uint64_t)p->info.buffer_frames * 1000u / p->info.rate + 1;
    const int wait_ms = (int)(buffer_ms * 2 < 20 ? 20 : buffer_ms * 2);
    uint64_t timeout_ms = p->cfg.timeout_ms;
    if (timeout_ms == 0) timeout_ms = buffer_ms * 8 < 500 ? 500 : buffer_ms * 8;
    uint64_t last_progress = cdsp_monotonic_ns();

    hook(p, CDSP_PLAYER_HOOK_LOOP_BEGIN);
    while (!atomic_load_explicit(&p->stop, memory_order_acquire)) {
        int w = cdsp_pcm_wait(p->pcm, wait_ms);
        if (w == 0) {
            /* measured, not counted: a wait can wake early without room */
            if (cdsp_monotonic_ns() - last_progress >= timeout_ms * 1000000u) {
                fail(p, CDSP_ERR_DEVICE_TIMEOUT, 0);
                break;
            }
            continue;
        }
        if (w < 0) {
            if (handle_error(p, w)) continue;
            break;
        }
        uint32_t stall = atomic_exchange_explicit(&p->stall_ms, 0, memory_order_relaxed);
        if (stall) {
            /* fault injection (tests only): deliberately miss the deadline */
            struct timespec t = {stall / 1000, (long)(stall % 1000) * 1000000L};
            nanosleep(&t, NULL);
        }
        hook(p, CDSP_PLAYER_HOOK_PERIOD_BEGIN);
        uint64_t t0 = cdsp_monotonic_ns();
        cdsp_engine_render(p->engine, p->master, p->cue, period);
        uint64_t t1 = cdsp_monotonic_ns();
        hook(p, CDSP_PLAYER_HOOK_PERIOD_RENDERED);
        uint64_t dt = t1 - t0;
        atomic_store_explicit(&p->render_last, dt, memory_order_relaxed);
        atomic_fetch_add_explicit(&p->render_total, dt, memory_order_relaxed);
        if (dt > atomic_load_explicit(&p->render_max, memory_order_relaxed))
            atomic_store_explicit(&p->render_max, dt, memory_order_relaxed);
        uint64_t bin = dt * CDSP_PLAYER_LOAD_BINS / p->period_ns;
        if (bin >= CDSP_PLAYER_LOAD_BINS) bin = CDSP_PLAYER_LOAD_BINS - 1;
        atomic_fetch_add_explicit(&p->load[bin], 1, memory_order_relaxed);

        long r = cdsp_pcm_write(p->pcm, p->master, p->info.cue_channels ? p->cue : NULL, period);
        atomic_fetch_add_explicit(&p->periods, 1, memory_order_relaxed);
        if (r < 0) {
            if (handle_error(p, (int)r)) continue;
            break;
        }
        long delay = 0;
        uint64_t now = cdsp_monotonic_ns();
        last_progress = now;
        if (cdsp_pcm_delay(p->pcm, &delay) == 0) publish_clock(p, cdsp_engine_frame(p->engine), delay, now);
    }
    hook(p, CDSP_PLAYER_HOOK_LOOP_END);
    int expected = CDSP_PLAYER_RUNNING;
    atomic_compare_exchange_strong(&p->state, &expected, CDSP_PLAYER_STOPPED);
    return NULL;
}

cdsp_player *cdsp_player_start(cdsp_engine *engine, cdsp_pcm *pcm, const cdsp_player_config *cfg, cdsp_status *err)
{
    cdsp_status st = CDSP_ERR_INVALID_ARGUMENT;
    cdsp_player *p = NULL;
    cdsp_player_config c = cfg ? *cfg : cdsp_player_config_default();
    if (!engine || !pcm || c.rt_priority < 0 || c.rt_priority > 99) goto fail;
    const cdsp_pcm_info *info = cdsp_pcm_get_info(pcm);
    if (info->period_frames > cdsp_engine_max_block(engine) || info->rate != cdsp_engine_sample_rate(engine)) goto fail;
    st = CDSP_ERR_NO_MEMORY;
    if (!(p = calloc(1, sizeof *p))) goto fail;
    p->engine = engine;
    p->pcm = pcm;
    p->cfg = c;
    p->info = *info;
    p->period_ns = (uint64_t)p->info.period_frames * 1000000000u / p->info.rate;
    p->master = calloc((size_t)p->info.period_frames * 2, sizeof(float));
    p->cue = calloc((size_t)p->info.period_frames * 2, sizeof(float));
    if (!p->master || !p->cue) goto fail;
    if (c.lock_memory) p->mlock_errno = mlockall(MCL_CURRENT | MCL_FUTURE) == 0 ? 0 : errno;
    atomic_store(&p->rt_errno, -1);
    atomic_store(&p->state, CDSP_PLAYER_RUNNING);
    if (pthread_create(&p->thread, NULL, run, p) != 0) goto fail;
    if (err) *err = CDSP_OK;
    return p;
fail:
    if (p) {
        free(p->master);
        free(p->cue);
        free(p);
    }
    if (err) *err = st;
    return NULL;
}

void cdsp_player_stop(cdsp_player *p)
{
    if (!p || p->joined) return;
    atomic_store_explicit(&p->stop, 1, memory_order_release);
    pthread_join(p->thread, NULL);
    p->joined = 1;
}

void cdsp_player_destroy(cdsp_player *p)
{
    if (!p) return;
    cdsp_player_stop(p);
    free(p->master);
    free(p->cue);
    free(p);
}

void cdsp_player_stats_get(const cdsp_player *cp, cdsp_player_stats *out)
{
    cdsp_player *p = (cdsp_player *)cp;
    memset(out, 0, sizeof *out);
    out->state = atomic_load_explicit(&p->state, memory_order_acquire);
    out->error = (cdsp_status)atomic_load_explicit(&p->error, memory_order_relaxed);
    out->alsa_error = atomic_load_explicit(&p->alsa_error, memory_order_relaxed);
    out->periods = atomic_load_explicit(&p->periods, memory_order_relaxed);
    out->xruns = atomic_load_explicit(&p->xruns, memory_order_relaxed);
    out->render_ns_last = atomic_load_explicit(&p->render_last, memory_order_relaxed);
    out->render_ns_max = atomic_load_explicit(&p->render_max, memory_order_relaxed);
    out->render_ns_total = atomic_load_explicit(&p->render_total, memory_order_relaxed);
    out->period_frames = p->info.period_frames;
    out->rate = p->info.rate;
    out->rt_requested = p->cfg.rt_priority;
    out->rt_errno = atomic_load_explicit(&p->rt_errno, memory_order_acquire);
    out->mlock_requested = p->cfg.lock_memory;
    out->mlock_errno = p->mlock_errno;
}

int cdsp_player_clock_get(const cdsp_player *cp, cdsp_player_clock *out)
{
    cdsp_player *p = (cdsp_player *)cp;
    for (;;) {
        uint32_t s1 = atomic_load_explicit(&p->clock_seq, memory_order_acquire);
        if (s1 == 0) return 0;
        if (s1 & 1u) continue;
        out->frame = atomic_load_explicit(&p->clock_frame, memory_order_relaxed);
        out->delay = atomic_load_explicit(&p->clock_delay, memory_order_relaxed);
        out->ns = atomic_load_explicit(&p->clock_ns, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&p->clock_seq, memory_order_relaxed) == s1) return 1;
    }
}

size_t cdsp_player_load_histogram(const cdsp_player *cp, uint64_t *bins, size_t max)
{
    cdsp_player *p = (cdsp_player *)cp;
    size_t n = max < CDSP_PLAYER_LOAD_BINS ? max : CDSP_PLAYER_LOAD_BINS;
    for (size_t i = 0; i < n; i++) bins[i] = atomic_load_explicit(&p->load[i], memory_order_relaxed);
    return n;
}

void cdsp_player_inject_stall(cdsp_player *p, uint32_t ms)
{
    atomic_store_explicit(&p->stall_ms, ms, memory_order_relaxed);
}
