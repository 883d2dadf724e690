/*
 * ramp.h — linear parameter ramps, the anti-zipper mechanism of every gain-like parameter.
 *
 * The control side never touches a ramp: it sends a command with a target and a duration in frames;
 * the audio thread calls cdsp_ramp_set when the command lands and cdsp_ramp_next once per sample.
 * A ramp moves linearly from where it is to the target over `frames` samples and then sits exactly
 * on the target (no float drift). Per-sample state only, so the result does not depend on how a
 * render is cut into periods (the engine's bit-identical-at-any-period property rests on this).
 * Thread: audio. Real-time safe: yes (header-only, no calls).
 */
#ifndef CDSP_RAMP_H
#define CDSP_RAMP_H

#include <stdint.h>

typedef struct cdsp_ramp {
    float value;       /* current value */
    float target;
    float step;        /* per-sample increment while remaining > 0 */
    uint32_t remaining;
} cdsp_ramp;

static inline void cdsp_ramp_init(cdsp_ramp *r, float value)
{
    r->value = value;
    r->target = value;
    r->step = 0.0f;
    r->remaining = 0;
}

/* Start a ramp to `target` over `frames` samples (0 = jump). */
static inline void cdsp_ramp_set(cdsp_ramp *r, float target, uint32_t frames)
{
    r->target = target;
    if (frames == 0 || r->value == target) {
        r->value = target;
        r->remaining = 0;
        r->step = 0.0f;
    } else {
        r->step = (target - r->value) / (float)frames;
        r->remaining = frames;
    }
}

static inline int cdsp_ramp_active(const cdsp_ramp *r) { return r->remaining != 0; }

/* Advance one sample and return the value to use for that sample. */
static inline float cdsp_ramp_next(cdsp_ramp *r)
{
    if (r->remaining) {
        if (--r->remaining == 0) r->value = r->target;
        else r->value += r->step;
    }
    return r->value;
}

/* The same in double precision, for rates (a tempo held for minutes must not drift by float error). */
typedef struct cdsp_ramp_d {
    double value, target, step;
    uint32_t remaining;
} cdsp_ramp_d;

static inline void cdsp_ramp_d_init(cdsp_ramp_d *r, double value)
{
    r->value = r->target = value;
    r->step = 0.0;
    r->remaining = 0;
}

static inline void cdsp_ramp_d_set(cdsp_ramp_d *r, double target, uint32_t frames)
{
    r->target = target;
    if (frames == 0 || r->value == target) {
        r->value = target;
        r->remaining = 0;
        r->step = 0.0;
    } else {
        r->step = (target - r->value) / (double)frames;
        r->remaining = frames;
    }
}

static inline double cdsp_ramp_d_next(cdsp_ramp_d *r)
{
    if (r->remaining) {
        if (--r->remaining == 0) r->value = r->target;
        else r->value += r->step;
    }
    return r->value;
}

#endif
