/* One-knob DJ filter: two Simper/Cytomic trapezoidal SVF stages (A. Simper, 2013). */
#include "cdsp/filter.h"
#include "cdsp/ramp.h"

#include "dsp_math.h"
#include <stdlib.h>
#include <string.h>

#define DEAD_ZONE 0.05f

typedef struct svf_coefs { float k, a1, a2, a3; } svf_coefs;
typedef struct svf_state { f2 ic1, ic2; } svf_state;

struct cdsp_filter {
    cdsp_filter_config cfg;
    cdsp_ramp knob;
    float q;
    svf_coefs c[2];
    svf_state s[2]; /* per stage, both channels */
    float wet;
    int highpass;
};

cdsp_filter_config cdsp_filter_config_default(double sample_rate)
{
    cdsp_filter_config c = {sample_rate, 1.2f};
    return c;
}

double cdsp_filter_cutoff_hz(double fs, float knob)
{
    double a = fabs((double)knob);
    if (a == 0.0) return 0.0;
    double nyq = 0.45 * fs;
    if (knob < 0) {
        double top = 20000.0 < nyq ? 20000.0 : nyq;
        return top * pow(30.0 / top, a);
    }
    double top = 16000.0 < nyq ? 16000.0 : nyq;
    return 20.0 * pow(top / 20.0, a);
}

static void design(cdsp_filter *f, float knob)
{
    double fc = cdsp_filter_cutoff_hz(f->cfg.sample_rate, knob);
    float a = fabsf(knob);
    f->highpass = knob > 0;
    f->wet = a >= DEAD_ZONE ? 1.0f : a / DEAD_ZONE;
    if (fc <= 0) fc = 20.0;
    double g = tan(M_PI * fc / f->cfg.sample_rate);
    const double qs[2] = {f->q, 0.70710678118654752};
    for (int i = 0; i < 2; i++) {
        double k = 1.0 / qs[i];
        double a1 = 1.0 / (1.0 + g * (g + k));
        f->c[i].k = (float)k;
        f->c[i].a1 = (float)a1;
        f->c[i].a2 = (float)(g * a1);
        f->c[i].a3 = (float)(g * g * a1);
    }
}

cdsp_filter *cdsp_filter_create(const cdsp_filter_config *cfg, cdsp_status *err)
{
    if (!cfg || cfg->sample_rate < 8000) {
        if (err) *err = CDSP_ERR_INVALID_ARGUMENT;
        return NULL;
    }
    cdsp_filter *f = calloc(1, sizeof *f);
    if (!f) {
        if (err) *err = CDSP_ERR_NO_MEMORY;
        return NULL;
    }
    f->cfg = *cfg;
    f->q = cfg->resonance;
    cdsp_filter_set_resonance(f, cfg->resonance);
    cdsp_ramp_init(&f->knob, 0.0f);
    design(f, 0.0f);
    if (err) *err = CDSP_OK;
    return f;
}

void cdsp_filter_destroy(cdsp_filter *f) { free(f); }

void cdsp_filter_reset(cdsp_filter *f)
{
    memset(f->s, 0, sizeof f->s);
    cdsp_ramp_init(&f->knob, f->knob.target);
    design(f, f->knob.value);
}

void cdsp_filter_set(cdsp_filter *f, float knob, uint32_t ramp_frames)
{
    if (!(knob == knob)) knob = 0.0f;
    if (knob < -1.0f) knob = -1.0f;
    if (knob > 1.0f) knob = 1.0f;
    cdsp_ramp_set(&f->knob, knob, ramp_frames);
    if (!cdsp_ramp_active(&f->knob)) design(f, knob);
}

void cdsp_filter_set_resonance(cdsp_filter *f, float q)
{
    if (!(q >= 0.5f)) q = 0.5f;
    if (q > 8.0f) q = 8.0f;
    f->q = q;
    design(f, f->knob.value);
}

float cdsp_filter_knob(const cdsp_filter *f) { return f->knob.target; }

static inline f2 svf_tick(const svf_coefs *c, svf_state *s, f2 v0, int highpass)
{
    f2 v3 = v0 - s->ic2;
    f2 v1 = c->a1 * s->ic1 + c->a2 * v3;
    f2 v2 = s->ic2 + c->a2 * s->ic1 + c->a3 * v3;
    s->ic1 = 2.0f * v1 - s->ic1;
    s->ic2 = 2.0f * v2 - s->ic2;
    return highpass ? v0 - c->k * v1 - v2 : v2;
}

void cdsp_filter_process(cdsp_filter *f, float *buf, uint32_t frames)
{
    for (uint32_t i = 0; i < frames; i++) {
        if (cdsp_ramp_active(&f->knob)) design(f, cdsp_ramp_next(&f->knob));
        f2 x = {buf[2 * i], buf[2 * i + 1]};
        if (f->wet == 0.0f) {
            /* Bypass, but keep the state following the input so that leaving the centre is smooth. */
            svf_tick(&f->c[1], &f->s[1], svf_tick(&f->c[0], &f->s[0], x, 0), 0);
            continue;
        }
        f2 y = svf_tick(&f->c[1], &f->s[1], svf_tick(&f->c[0], &f->s[0], x, f->highpass), f->highpass);
        y = x + f->wet * (y - x);
        buf[2 * i] = y.x;
        buf[2 * i + 1] = y.y;
    }
}
