/*
 * player.h — the real-time audio thread: wait for room on the device -> render one period -> write it.
 *
 * One player drives one engine into one opened device (pcm.h). It owns the audio thread, which asks for
 * SCHED_FIFO at start (the result is reported in the stats, never printed), renders exactly one device
 * period per loop with cdsp_engine_render (which drains the command ring first), converts and writes it.
 * The loop waits for a period of room *before* rendering, so a command sent while it waits is in the very
 * next period written.
 *
 * Trouble:
 *   - an underrun (-EPIPE) or suspend is counted and recovered (snd_pcm_recover); playback resumes, the
 *     engine clock does not jump (the gap is silence, nothing is skipped);
 *   - any other device error, or a device that takes no audio for `timeout_ms`, ends the loop with state
 *     FAILED and the error; the owner (DJCore's AudioScheduler) closes the device and reopens it.
 *
 * Measurements published for the control side: periods, xruns, render time of each period (last, max,
 * and a histogram of render time / period time in 0.5 % bins), and a clock sample after each write
 * (engine frame, frames still queued in the device, CLOCK_MONOTONIC time) to map engine frames to the
 * time they are heard. All are atomics or a seqlock: the audio thread never waits on a reader.
 *
 * Real-time rule: between CDSP_PLAYER_HOOK_PERIOD_BEGIN and _PERIOD_RENDERED the thread only renders and
 * reads clocks; the device calls after it (poll, write, delay) allocate nothing (proved by the tests'
 * allocation counter over the whole loop). The `hook` is a test seam called at those points on the audio
 * thread (NULL in production).
 *
 * Thread contract: start/stop/destroy — control; stats/clock/load_histogram/inject_stall — any.
 *
 *   cdsp_player_config pc = cdsp_player_config_default();
 *   cdsp_player *pl = cdsp_player_start(engine, pcm, &pc, &st);
 *   ... cdsp_player_stats_get(pl, &s) ...
 *   cdsp_player_stop(pl); cdsp_player_destroy(pl);
 */
#ifndef CDSP_PLAYER_H
#define CDSP_PLAYER_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"
#include "engine.h"
#include "pcm.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CDSP_PLAYER_LOAD_BINS 200  /* 0.5 % of the period each; the last bin holds everything from 99.5 % */

typedef enum cdsp_player_state {
    CDSP_PLAYER_RUNNING = 1,
    CDSP_PLAYER_STOPPED = 2,  /* stopped on request */
    CDSP_PLAYER_FAILED = 3    /* the device failed; see error / alsa_error */
} cdsp_player_state;

typedef enum cdsp_player_hook_phase {
    CDSP_PLAYER_HOOK_LOOP_BEGIN = 0,      /* audio thread set up (priority asked), before the first period */
    CDSP_PLAYER_HOOK_PERIOD_BEGIN = 1,    /* before the render */
    CDSP_PLAYER_HOOK_PERIOD_RENDERED = 2, /* after the render, before the device write */
    CDSP_PLAYER_HOOK_LOOP_END = 3         /* leaving the loop */
} cdsp_player_hook_phase;

typedef void (*cdsp_player_hook)(void *user, int phase);

typedef struct cdsp_player_config {
    int rt_priority;       /* SCHED_FIFO priority 1 .. 99 asked for; 0 = stay at normal priority. Default 70. */
    int lock_memory;       /* mlockall(MCL_CURRENT | MCL_FUTURE) at start. Default 1. */
    uint32_t timeout_ms;   /* no room on the device for this long = failed; 0 = max(500 ms, 8 buffers) */
    cdsp_player_hook hook; /* test seam, NULL normally */
    void *hook_user;
} cdsp_player_config;

typedef struct cdsp_player_stats {
    int state;                 /* cdsp_player_state */
    cdsp_status error;         /* when FAILED */
    int alsa_error;            /* the negative ALSA error when FAILED (or 0) */
    uint64_t periods;          /* periods rendered and written */
    uint64_t xruns;            /* underruns (and suspends) recovered */
    uint64_t render_ns_last, render_ns_max, render_ns_total;
    uint32_t period_frames;
    uint32_t rate;
    int rt_requested;          /* priority asked for */
    int rt_errno;              /* 0: SCHED_FIFO granted; else why not (EPERM, ...) */
    int mlock_requested;
    int mlock_errno;           /* 0: memory locked; else why not */
} cdsp_player_stats;

/* A clock sample: right after a write, the engine had rendered `frame` frames of which `delay` were still
 * queued in the device, at CLOCK_MONOTONIC time `ns`. The frame heard at time t is about
 * frame - delay + (t - ns) x rate. */
typedef struct cdsp_player_clock {
    uint64_t frame;
    int64_t delay;
    uint64_t ns;
} cdsp_player_clock;

typedef struct cdsp_player cdsp_player;

cdsp_player_config cdsp_player_config_default(void);

/* Thread: control. Starts the audio thread on an opened device. The engine's max block must be at least
 * the device period. The player does not own `engine` or `pcm`: both must outlive it. */
cdsp_player *cdsp_player_start(cdsp_engine *engine, cdsp_pcm *pcm, const cdsp_player_config *cfg,
                               cdsp_status *err);
/* Thread: control. Asks the loop to end and joins the thread (returns within about one wait time-out).
 * Safe to call after the player failed, and more than once. */
void cdsp_player_stop(cdsp_player *p);
/* Thread: control. Stops if needed and frees. NULL-safe. */
void cdsp_player_destroy(cdsp_player *p);

/* Thread: any. */
void cdsp_player_stats_get(const cdsp_player *p, cdsp_player_stats *out);
/* Thread: any. 1 if a sample was published (after the first write), 0 before. */
int cdsp_player_clock_get(const cdsp_player *p, cdsp_player_clock *out);
/* Thread: any. Copies min(max, CDSP_PLAYER_LOAD_BINS) bins of the render-load histogram. */
size_t cdsp_player_load_histogram(const cdsp_player *p, uint64_t *bins, size_t max);
/* Thread: any. Fault injection for tests: the audio thread sleeps `ms` before its next render. */
void cdsp_player_inject_stall(cdsp_player *p, uint32_t ms);

/* Thread: any. CLOCK_MONOTONIC in nanoseconds. */
uint64_t cdsp_monotonic_ns(void);

#ifdef __cplusplus
}
#endif
#endif
