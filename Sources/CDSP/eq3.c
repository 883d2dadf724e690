/* 3-band LR8 isolator. Linkwitz-Riley crossovers (Linkwitz 1976), biquads from RBJ's cookbook. */
#include "cdsp/eq3.h"
#include "cdsp/biquad.h"
#include "cdsp/ramp.h"

#include "dsp_math.h"
#include <stdlib.h>
#include <string.h>

/* 4th-order Butterworth = two biquads with these Qs; LR8 = that filter applied twice. */
static const double BW4_Q[2] = {0.54119610014619698, 1.3065629648763766};

enum { LR8 = 4 }; /* biquads per LR8 low- or high-pass */

/* Left and right run through the same coefficients in the two lanes of one f2 (dsp_math.h). */
typedef struct bq2 {
    f2 z1, z2;
} bq2;

typedef struct stereo_state {
    bq2 lp1[LR8], hp1[LR8], lp2[LR8], hp2[LR8], ap2[2];
} stereo_state;

struct cdsp_eq3 {
    cdsp_eq3_config cfg;
    cdsp_biquad_coefs lp1[LR8], hp1[LR8], lp2[LR8], hp2[LR8], ap2[2];
    stereo_state st;
    cdsp_ramp gain[3];
    float user_gain[3];
    int kill[3];
};

cdsp_eq3_config cdsp_eq3_config_default(double sample_rate)
{
    cdsp_eq3_config c = {sample_rate, 250.0, 2500.0};
    return c;
}

static void design_lr8(cdsp_biquad_coefs *out, cdsp_biquad_type type, double fs, double f)
{
    for (int i = 0; i < LR8; i++) out[i] = cdsp_biquad_design(type, fs, f, BW4_Q[i % 2], 0.0);
}

cdsp_eq3 *cdsp_eq3_create(const cdsp_eq3_config *cfg, cdsp_status *err)
{
    cdsp_eq3 *eq = NULL;
    if (!cfg || cfg->sample_rate < 8000 || cfg->low_mid_hz <= 10 || cfg->mid_high_hz >= 0.45 * cfg->sample_rate ||
        cfg->low_mid_hz >= cfg->mid_high_hz) {
        if (err) *err = CDSP_ERR_INVALID_ARGUMENT;
        return NULL;
    }
    eq = calloc(1, sizeof *eq);
    if (!eq) {
        if (err) *err = CDSP_ERR_NO_MEMORY;
        return NULL;
    }
    eq->cfg = *cfg;
    double fs = cfg->sample_rate;
    design_lr8(eq->lp1, CDSP_BIQUAD_LOWPASS, fs, cfg->low_mid_hz);
    design_lr8(eq->hp1, CDSP_BIQUAD_HIGHPASS, fs, cfg->low_mid_hz);
    design_lr8(eq->lp2, CDSP_BIQUAD_LOWPASS, fs, cfg->mid_high_hz);
    design_lr8(eq->hp2, CDSP_BIQUAD_HIGHPASS, fs, cfg->mid_high_hz);
    /* LR8 low-pass + high-pass = the all-pass of the underlying Butterworth: two 2nd-order all-passes. */
    for (int i = 0; i < 2; i++) eq->ap2[i] = cdsp_biquad_design(CDSP_BIQUAD_ALLPASS, fs, cfg->mid_high_hz, BW4_Q[i], 0);
    for (int b = 0; b < 3; b++) {
        eq->user_gain[b] = 1.0f;
        cdsp_ramp_init(&eq->gain[b], 1.0f);
    }
    if (err) *err = CDSP_OK;
    return eq;
}

void cdsp_eq3_destroy(cdsp_eq3 *eq) { free(eq); }

void cdsp_eq3_reset(cdsp_eq3 *eq)
{
    memset(&eq->st, 0, sizeof eq->st);
    for (int b = 0; b < 3; b++) cdsp_ramp_init(&eq->gain[b], eq->kill[b] ? 0.0f : eq->user_gain[b]);
}

static void retarget(cdsp_eq3 *eq, int b, uint32_t ramp_frames)
{
    cdsp_ramp_set(&eq->gain[b], eq->kill[b] ? 0.0f : eq->user_gain[b], ramp_frames);
}

void cdsp_eq3_set_gain(cdsp_eq3 *eq, cdsp_eq3_band band, float gain, uint32_t ramp_frames)
{
    if ((unsigned)band > 2) return;
    if (!(gain >= 0.0f)) gain = 0.0f; /* also catches NaN */
    if (gain > CDSP_EQ3_MAX_GAIN) gain = CDSP_EQ3_MAX_GAIN;
    eq->user_gain[band] = gain;
    retarget(eq, band, ramp_frames);
}

void cdsp_eq3_set_kill(cdsp_eq3 *eq, cdsp_eq3_band band, int kill, uint32_t ramp_frames)
{
    if ((unsigned)band > 2) return;
    eq->kill[band] = kill != 0;
    retarget(eq, band, ramp_frames);
}

float cdsp_eq3_gain(const cdsp_eq3 *eq, cdsp_eq3_band band) { return (unsigned)band > 2 ? 0 : eq->user_gain[band]; }
int cdsp_eq3_kill(const cdsp_eq3 *eq, cdsp_eq3_band band) { return (unsigned)band > 2 ? 0 : eq->kill[band]; }

static inline f2 chain(const cdsp_biquad_coefs *c, bq2 *s, int n, f2 x)
{
    for (int i = 0; i < n; i++) {
        f2 y = c[i].b0 * x + s[i].z1;
        s[i].z1 = c[i].b1 * x - c[i].a1 * y + s[i].z2;
        s[i].z2 = c[i].b2 * x - c[i].a2 * y;
        x = y;
    }
    return x;
}

void cdsp_eq3_process(cdsp_eq3 *eq, float *buf, uint32_t frames)
{
    stereo_state *s = &eq->st;
    for (uint32_t i = 0; i < frames; i++) {
        float gl = cdsp_ramp_next(&eq->gain[0]);
        float gm = cdsp_ramp_next(&eq->gain[1]);
        float gh = cdsp_ramp_next(&eq->gain[2]);
        f2 x = {buf[2 * i], buf[2 * i + 1]};
        f2 low = chain(eq->ap2, s->ap2, 2, chain(eq->lp1, s->lp1, LR8, x));
        f2 rest = chain(eq->hp1, s->hp1, LR8, x);
        f2 mid = chain(eq->lp2, s->lp2, LR8, rest);
        f2 high = chain(eq->hp2, s->hp2, LR8, rest);
        f2 y = gl * low + gm * mid + gh * high;
        buf[2 * i] = y.x;
        buf[2 * i + 1] = y.y;
    }
}
