#include "cdsp/mixer.h"
#include "cdsp/ramp.h"

#include "dsp_math.h"
#include <stdlib.h>
#include <string.h>

#define SHARP_WIDTH 0.03f

typedef struct meter_state {
    float peak[2], ms[2];
} meter_state;

typedef struct strip {
    cdsp_ramp trim, fader;
    cdsp_eq3 *eq;
    cdsp_filter *filter;
    cdsp_xfader_assign assign;
    int cue;
    meter_state meter;
} strip;

struct cdsp_mixer {
    cdsp_mixer_config cfg;
    strip ch[CDSP_MIXER_MAX_CHANNELS];
    cdsp_ramp xfader, master_gain, cue_mix, cue_gain;
    cdsp_xfader_curve curve;
    float gain_a, gain_b;      /* crossfader gains for the current position */
    cdsp_limiter *limiter;
    meter_state master_meter, cue_meter;
    float peak_fall, rms_coef;
};

cdsp_mixer_config cdsp_mixer_config_default(uint32_t sample_rate, uint32_t channels)
{
    cdsp_mixer_config c;
    c.sample_rate = sample_rate;
    c.channels = channels;
    c.eq_low_mid_hz = 250.0;
    c.eq_mid_high_hz = 2500.0;
    c.filter_resonance = 1.2f;
    c.limiter = cdsp_limiter_config_default(sample_rate);
    return c;
}

void cdsp_xfader_gains(cdsp_xfader_curve c, float position, float *ga, float *gb)
{
    if (!(position == position)) position = 0.0f;
    if (position < -1.0f) position = -1.0f;
    if (position > 1.0f) position = 1.0f;
    float x = 0.5f * (position + 1.0f); /* 0 = all A, 1 = all B */
    switch (c) {
    case CDSP_XFADER_CONSTANT_POWER:
        *ga = cosf(x * (float)M_PI_2);
        *gb = sinf(x * (float)M_PI_2);
        if (x == 0.0f) *gb = 0.0f;
        if (x == 1.0f) *ga = 0.0f;
        break;
    case CDSP_XFADER_SHARP:
        *ga = x <= 1.0f - SHARP_WIDTH ? 1.0f : (1.0f - x) / SHARP_WIDTH;
        *gb = x >= SHARP_WIDTH ? 1.0f : x / SHARP_WIDTH;
        break;
    case CDSP_XFADER_LINEAR:
    default:
        *ga = 1.0f - x;
        *gb = x;
        break;
    }
}

cdsp_mixer *cdsp_mixer_create(const cdsp_mixer_config *cfg, cdsp_status *err)
{
    cdsp_status st = CDSP_OK;
    cdsp_mixer *m = NULL;
    if (!cfg || cfg->channels == 0 || cfg->channels > CDSP_MIXER_MAX_CHANNELS || cfg->sample_rate < 8000) {
        st = CDSP_ERR_INVALID_ARGUMENT;
        goto fail;
    }
    m = calloc(1, sizeof *m);
    if (!m) {
        st = CDSP_ERR_NO_MEMORY;
        goto fail;
    }
    m->cfg = *cfg;
    cdsp_eq3_config eqc = {cfg->sample_rate, cfg->eq_low_mid_hz, cfg->eq_mid_high_hz};
    cdsp_filter_config fc = {cfg->sample_rate, cfg->filter_resonance};
    for (uint32_t i = 0; i < cfg->channels; i++) {
        strip *s = &m->ch[i];
        cdsp_ramp_init(&s->trim, 1.0f);
        cdsp_ramp_init(&s->fader, 1.0f);
        s->assign = CDSP_ASSIGN_THRU;
        s->eq = cdsp_eq3_create(&eqc, &st);
        if (!s->eq) goto fail;
        s->filter = cdsp_filter_create(&fc, &st);
        if (!s->filter) goto fail;
    }
    m->limiter = cdsp_limiter_create(&cfg->limiter, &st);
    if (!m->limiter) goto fail;
    cdsp_ramp_init(&m->xfader, 0.0f);
    cdsp_ramp_init(&m->master_gain, 1.0f);
    cdsp_ramp_init(&m->cue_mix, 0.0f);
    cdsp_ramp_init(&m->cue_gain, 1.0f);
    m->curve = CDSP_XFADER_CONSTANT_POWER;
    cdsp_xfader_gains(m->curve, 0.0f, &m->gain_a, &m->gain_b);
    m->peak_fall = powf(10.0f, -20.0f / 20.0f / (float)cfg->sample_rate); /* 20 dB per second */
    m->rms_coef = 1.0f - expf(-1.0f / (0.3f * (float)cfg->sample_rate));
    if (err) *err = CDSP_OK;
    return m;
fail:
    cdsp_mixer_destroy(m);
    if (err) *err = st;
    return NULL;
}

void cdsp_mixer_destroy(cdsp_mixer *m)
{
    if (!m) return;
    for (uint32_t i = 0; i < CDSP_MIXER_MAX_CHANNELS; i++) {
        cdsp_eq3_destroy(m->ch[i].eq);
        cdsp_filter_destroy(m->ch[i].filter);
    }
    cdsp_limiter_destroy(m->limiter);
    free(m);
}

static float clampf(float v, float lo, float hi)
{
    if (!(v == v)) return lo;
    return v < lo ? lo : (v > hi ? hi : v);
}

#define CH_OK(m, ch) ((ch) < (m)->cfg.channels)

void cdsp_mixer_set_trim(cdsp_mixer *m, uint32_t ch, float g, uint32_t r)
{
    if (CH_OK(m, ch)) cdsp_ramp_set(&m->ch[ch].trim, clampf(g, 0, CDSP_MIXER_MAX_GAIN), r);
}
void cdsp_mixer_set_eq(cdsp_mixer *m, uint32_t ch, cdsp_eq3_band b, float g, uint32_t r)
{
    if (CH_OK(m, ch)) cdsp_eq3_set_gain(m->ch[ch].eq, b, g, r);
}
void cdsp_mixer_set_kill(cdsp_mixer *m, uint32_t ch, cdsp_eq3_band b, int k, uint32_t r)
{
    if (CH_OK(m, ch)) cdsp_eq3_set_kill(m->ch[ch].eq, b, k, r);
}
void cdsp_mixer_set_filter(cdsp_mixer *m, uint32_t ch, float knob, uint32_t r)
{
    if (CH_OK(m, ch)) cdsp_filter_set(m->ch[ch].filter, knob, r);
}
void cdsp_mixer_set_filter_resonance(cdsp_mixer *m, uint32_t ch, float q)
{
    if (CH_OK(m, ch)) cdsp_filter_set_resonance(m->ch[ch].filter, q);
}
void cdsp_mixer_set_fader(cdsp_mixer *m, uint32_t ch, float g, uint32_t r)
{
    if (CH_OK(m, ch)) cdsp_ramp_set(&m->ch[ch].fader, clampf(g, 0, 1), r);
}
void cdsp_mixer_set_assign(cdsp_mixer *m, uint32_t ch, cdsp_xfader_assign a)
{
    if (CH_OK(m, ch) && (unsigned)a <= CDSP_ASSIGN_B) m->ch[ch].assign = a;
}
void cdsp_mixer_set_cue(cdsp_mixer *m, uint32_t ch, int on)
{
    if (CH_OK(m, ch)) m->ch[ch].cue = on != 0;
}
void cdsp_mixer_set_crossfader(cdsp_mixer *m, float pos, uint32_t r)
{
    cdsp_ramp_set(&m->xfader, clampf(pos, -1, 1), r);
    if (!cdsp_ramp_active(&m->xfader)) cdsp_xfader_gains(m->curve, m->xfader.value, &m->gain_a, &m->gain_b);
}
void cdsp_mixer_set_curve(cdsp_mixer *m, cdsp_xfader_curve c)
{
    if ((unsigned)c > CDSP_XFADER_SHARP) return;
    m->curve = c;
    cdsp_xfader_gains(c, m->xfader.value, &m->gain_a, &m->gain_b);
}
void cdsp_mixer_set_master_gain(cdsp_mixer *m, float g, uint32_t r)
{
    cdsp_ramp_set(&m->master_gain, clampf(g, 0, CDSP_MIXER_MAX_GAIN), r);
}
void cdsp_mixer_set_cue_mix(cdsp_mixer *m, float v, uint32_t r) { cdsp_ramp_set(&m->cue_mix, clampf(v, 0, 1), r); }
void cdsp_mixer_set_cue_gain(cdsp_mixer *m, float g, uint32_t r)
{
    cdsp_ramp_set(&m->cue_gain, clampf(g, 0, CDSP_MIXER_MAX_GAIN), r);
}
void cdsp_mixer_reset_channel(cdsp_mixer *m, uint32_t ch)
{
    if (!CH_OK(m, ch)) return;
    cdsp_eq3_reset(m->ch[ch].eq);
    cdsp_filter_reset(m->ch[ch].filter);
}

void cdsp_mixer_set_limiter_ceiling(cdsp_mixer *m, float db) { cdsp_limiter_set_ceiling(m->limiter, db); }

static inline void meter_tick(meter_state *s, float l, float r, float fall, float coef)
{
    float al = fabsf(l), ar = fabsf(r);
    s->peak[0] = al > s->peak[0] * fall ? al : s->peak[0] * fall;
    s->peak[1] = ar > s->peak[1] * fall ? ar : s->peak[1] * fall;
    s->ms[0] += coef * (l * l - s->ms[0]);
    s->ms[1] += coef * (r * r - s->ms[1]);
}

void cdsp_mixer_process(cdsp_mixer *m, float *const *inputs, uint32_t frames, float *master, float *cue)
{
    const float fall = m->peak_fall, coef = m->rms_coef;
    memset(master, 0, 2 * (size_t)frames * sizeof(float));
    if (cue) memset(cue, 0, 2 * (size_t)frames * sizeof(float));

    /* Every channel replays the crossfader ramp from the same starting state, so all see the same
     * per-frame gains; the mixer's own ramp is advanced once afterwards. */
    cdsp_ramp xf_start = m->xfader;
    float ga0 = m->gain_a, gb0 = m->gain_b;

    for (uint32_t c = 0; c < m->cfg.channels; c++) {
        strip *s = &m->ch[c];
        float *x = inputs[c];
        if (!x) continue;
        for (uint32_t i = 0; i < frames; i++) {
            float t = cdsp_ramp_next(&s->trim);
            x[2 * i] *= t;
            x[2 * i + 1] *= t;
        }
        cdsp_eq3_process(s->eq, x, frames);
        cdsp_filter_process(s->filter, x, frames);
        cdsp_ramp xf = xf_start;
        float ga = ga0, gb = gb0;
        for (uint32_t i = 0; i < frames; i++) {
            float l = x[2 * i], r = x[2 * i + 1];
            if (cue && s->cue) {
                cue[2 * i] += l;
                cue[2 * i + 1] += r;
            }
            if (cdsp_ramp_active(&xf)) cdsp_xfader_gains(m->curve, cdsp_ramp_next(&xf), &ga, &gb);
            float g = cdsp_ramp_next(&s->fader);
            if (s->assign == CDSP_ASSIGN_A) g *= ga;
            else if (s->assign == CDSP_ASSIGN_B) g *= gb;
            l *= g;
            r *= g;
            meter_tick(&s->meter, l, r, fall, coef);
            master[2 * i] += l;
            master[2 * i + 1] += r;
        }
    }
    /* Advance the crossfader itself by the same frames (every channel above used a copy). */
    for (uint32_t i = 0; i < frames && cdsp_ramp_active(&m->xfader); i++)
        cdsp_xfader_gains(m->curve, cdsp_ramp_next(&m->xfader), &m->gain_a, &m->gain_b);

    for (uint32_t i = 0; i < frames; i++) {
        float g = cdsp_ramp_next(&m->master_gain);
        master[2 * i] *= g;
        master[2 * i + 1] *= g;
    }
    cdsp_limiter_process(m->limiter, master, frames);
    for (uint32_t i = 0; i < frames; i++) meter_tick(&m->master_meter, master[2 * i], master[2 * i + 1], fall, coef);

    /* Channels that are not processed still need their parameter ramps to advance in time. */
    for (uint32_t c = 0; c < m->cfg.channels; c++) {
        if (inputs[c]) continue;
        strip *s = &m->ch[c];
        for (uint32_t i = 0; i < frames; i++) {
            cdsp_ramp_next(&s->trim);
            cdsp_ramp_next(&s->fader);
            meter_tick(&s->meter, 0.0f, 0.0f, fall, coef);
        }
    }

    if (cue) {
        for (uint32_t i = 0; i < frames; i++) {
            float mix = cdsp_ramp_next(&m->cue_mix);
            float g = cdsp_ramp_next(&m->cue_gain);
            cue[2 * i] = g * (cue[2 * i] + mix * (master[2 * i] - cue[2 * i]));
            cue[2 * i + 1] = g * (cue[2 * i + 1] + mix * (master[2 * i + 1] - cue[2 * i + 1]));
            meter_tick(&m->cue_meter, cue[2 * i], cue[2 * i + 1], fall, coef);
        }
    } else {
        for (uint32_t i = 0; i < frames; i++) {
            cdsp_ramp_next(&m->cue_mix);
            cdsp_ramp_next(&m->cue_gain);
        }
    }
}

static void meter_out(const meter_state *s, cdsp_meter *out)
{
    for (int c = 0; c < 2; c++) {
        out->peak[c] = s->peak[c];
        out->rms[c] = sqrtf(s->ms[c] > 0 ? s->ms[c] : 0);
    }
}

void cdsp_mixer_channel_meter(const cdsp_mixer *m, uint32_t ch, cdsp_meter *out)
{
    if (CH_OK(m, ch)) meter_out(&m->ch[ch].meter, out);
    else memset(out, 0, sizeof *out);
}
void cdsp_mixer_master_meter(const cdsp_mixer *m, cdsp_meter *out) { meter_out(&m->master_meter, out); }
void cdsp_mixer_cue_meter(const cdsp_mixer *m, cdsp_meter *out) { meter_out(&m->cue_meter, out); }
uint32_t cdsp_mixer_latency(const cdsp_mixer *m) { return cdsp_limiter_latency(m->limiter); }
float cdsp_mixer_limiter_reduction_db(const cdsp_mixer *m) { return cdsp_limiter_reduction_db(m->limiter); }

void cdsp_mixer_strip_info(const cdsp_mixer *m, uint32_t ch, cdsp_strip_info *o)
{
    memset(o, 0, sizeof *o);
    if (!CH_OK(m, ch)) return;
    const strip *s = &m->ch[ch];
    o->trim = s->trim.target;
    o->fader = s->fader.target;
    o->filter = cdsp_filter_knob(s->filter);
    for (int b = 0; b < 3; b++) {
        o->eq[b] = cdsp_eq3_gain(s->eq, (cdsp_eq3_band)b);
        o->kill[b] = cdsp_eq3_kill(s->eq, (cdsp_eq3_band)b);
    }
    o->assign = (int32_t)s->assign;
    o->cue = s->cue;
}

void cdsp_mixer_info_get(const cdsp_mixer *m, cdsp_mixer_info *o)
{
    o->crossfader = m->xfader.target;
    o->master_gain = m->master_gain.target;
    o->cue_mix = m->cue_mix.target;
    o->cue_gain = m->cue_gain.target;
    o->limiter_ceiling_db = cdsp_limiter_ceiling_db(m->limiter);
    o->limiter_reduction_db = cdsp_limiter_reduction_db(m->limiter);
    o->curve = (int32_t)m->curve;
}
