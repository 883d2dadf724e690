/* Look-ahead limiter: sliding-minimum hold + moving-average smoothing
 * (after G. Luff, "Designing a straightforward limiter", Signalsmith Audio 2022). */
#include "cdsp/limiter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct cdsp_limiter {
    cdsp_limiter_config cfg;
    uint32_t n;              /* look-ahead window in frames */
    float ceiling;           /* linear */
    float release_coef;      /* per-sample approach of the release towards 1 */
    /* delay line of the input, 2 * n floats, position `pos` */
    float *delay;
    /* sliding minimum over the last n required gains: monotonic deque of (value, index) */
    float *dq_val;
    uint64_t *dq_idx;
    uint32_t dq_head, dq_len;
    /* box filter over the last n held gains */
    float *box;
    double box_sum;
    float released;          /* release-smoothed hold */
    float gain;              /* last applied gain */
    uint32_t pos;
    uint64_t t;
};

cdsp_limiter_config cdsp_limiter_config_default(double sample_rate)
{
    cdsp_limiter_config c = {sample_rate, -1.0f, 2.0f, 80.0f};
    return c;
}

cdsp_limiter *cdsp_limiter_create(const cdsp_limiter_config *cfg, cdsp_status *err)
{
    cdsp_limiter *l = NULL;
    if (!cfg || cfg->sample_rate < 8000 || !(cfg->lookahead_ms >= 0.1f && cfg->lookahead_ms <= 50.0f) ||
        !(cfg->release_ms >= 1.0f && cfg->release_ms <= 5000.0f)) {
        if (err) *err = CDSP_ERR_INVALID_ARGUMENT;
        return NULL;
    }
    l = calloc(1, sizeof *l);
    if (!l) goto fail;
    l->cfg = *cfg;
    l->n = (uint32_t)lround(cfg->lookahead_ms * 0.001 * cfg->sample_rate);
    if (l->n < 2) l->n = 2;
    l->release_coef = (float)(1.0 - exp(-1.0 / (cfg->release_ms * 0.001 * cfg->sample_rate)));
    l->delay = calloc(2 * (size_t)l->n, sizeof(float));
    l->dq_val = calloc(l->n, sizeof(float));
    l->dq_idx = calloc(l->n, sizeof(uint64_t));
    l->box = calloc(l->n, sizeof(float));
    if (!l->delay || !l->dq_val || !l->dq_idx || !l->box) goto fail;
    cdsp_limiter_set_ceiling(l, cfg->ceiling_db);
    cdsp_limiter_reset(l);
    if (err) *err = CDSP_OK;
    return l;
fail:
    cdsp_limiter_destroy(l);
    if (err) *err = CDSP_ERR_NO_MEMORY;
    return NULL;
}

void cdsp_limiter_destroy(cdsp_limiter *l)
{
    if (!l) return;
    free(l->delay);
    free(l->dq_val);
    free(l->dq_idx);
    free(l->box);
    free(l);
}

void cdsp_limiter_reset(cdsp_limiter *l)
{
    memset(l->delay, 0, 2 * (size_t)l->n * sizeof(float));
    for (uint32_t i = 0; i < l->n; i++) l->box[i] = 1.0f;
    l->box_sum = l->n;
    l->dq_head = l->dq_len = 0;
    l->released = 1.0f;
    l->gain = 1.0f;
    l->pos = 0;
    l->t = 0;
}

void cdsp_limiter_set_ceiling(cdsp_limiter *l, float db)
{
    if (!(db <= 0.0f)) db = 0.0f;
    if (db < -40.0f) db = -40.0f;
    l->cfg.ceiling_db = db;
    l->ceiling = powf(10.0f, db / 20.0f);
}

float cdsp_limiter_ceiling_db(const cdsp_limiter *l) { return l->cfg.ceiling_db; }
uint32_t cdsp_limiter_latency(const cdsp_limiter *l) { return l->n - 1; }
float cdsp_limiter_reduction_db(const cdsp_limiter *l) { return 20.0f * log10f(l->gain > 1e-9f ? l->gain : 1e-9f); }

void cdsp_limiter_process(cdsp_limiter *l, float *buf, uint32_t frames)
{
    const uint32_t n = l->n;
    const float ceil = l->ceiling;
    for (uint32_t i = 0; i < frames; i++) {
        float xl = buf[2 * i], xr = buf[2 * i + 1];
        float peak = fmaxf(fabsf(xl), fabsf(xr));
        float need = peak > ceil ? ceil / peak : 1.0f;
        if (!(need == need)) need = 0.0f; /* NaN input: silence rather than pass it on */

        /* Sliding minimum of `need` over the last n frames (monotonic deque, O(1) amortised). */
        uint64_t t = l->t++;
        while (l->dq_len && l->dq_val[(l->dq_head + l->dq_len - 1) % n] >= need) l->dq_len--;
        l->dq_val[(l->dq_head + l->dq_len) % n] = need;
        l->dq_idx[(l->dq_head + l->dq_len) % n] = t;
        l->dq_len++;
        if (l->dq_idx[l->dq_head] + n <= t) {
            l->dq_head = (l->dq_head + 1) % n;
            l->dq_len--;
        }
        float hold = l->dq_val[l->dq_head];

        /* Release: rise towards 1 exponentially, never above the hold (keeps the guarantee). */
        float rel = l->released + (1.0f - l->released) * l->release_coef;
        l->released = rel < hold ? rel : hold;

        /* Moving average of the released hold over n frames. */
        uint32_t bi = (uint32_t)(t % n);
        l->box_sum += (double)l->released - (double)l->box[bi];
        l->box[bi] = l->released;
        float g = (float)(l->box_sum / n);
        if (g > 1.0f) g = 1.0f;
        l->gain = g;

        /* Delay by n - 1 frames: write now, read the frame written n - 1 frames ago. */
        uint32_t w = l->pos;
        l->delay[2 * w] = xl == xl ? xl : 0.0f;
        l->delay[2 * w + 1] = xr == xr ? xr : 0.0f;
        uint32_t r = (w + 1) % n;
        float yl = l->delay[2 * r] * g, yr = l->delay[2 * r + 1] * g;
        l->pos = r;
        /* Rounding guard only: the gain above already keeps the peak at the ceiling. */
        buf[2 * i] = yl > ceil ? ceil : (yl < -ceil ? -ceil : yl);
        buf[2 * i + 1] = yr > ceil ? ceil : (yr < -ceil ? -ceil : yr);
    }
}
