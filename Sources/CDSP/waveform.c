/*
 * waveform.c — a three-band waveform overview (see waveform.h): the mono mix split by Linkwitz-Riley
 * 4th-order crossovers (S. H. Linkwitz, "Active crossover networks for noncoincident drivers",
 * JAES 1976) at 250 Hz and 4 kHz, peak and RMS per column per band.
 *
 * Band tree. LR4 = two cascaded 2nd-order Butterworth sections (Q = 1/sqrt 2), designed by the bilinear
 * transform with f0 prewarped (RBJ audio-EQ-cookbook forms), run in double:
 *     low  = AP4k(LP250(x))      mid = LP4k(HP250(x))      high = HP4k(HP250(x))
 * where AP4k is the 2nd-order all-pass LP4k + HP4k of an LR4 pair (same poles, Q = 1/sqrt 2). So
 * low + mid + high = AP4k(AP250(x)): the bands sum back to an all-pass copy of the mix, flat in
 * magnitude, with no notch or bump at either crossover. (The alternative, mid = HP250(LP4k(x)) with
 * low = LP250(x) and high = HP4k(x), does not sum to an all-pass.) Each band is -6 dB at its
 * crossover(s) and falls at 24 dB/octave outside (a 100 Hz tone is ~32 dB down in mid, a 10 kHz tone
 * ~37 dB down in mid at 44.1 kHz). high is computed as AP4k(HP250(x)) - mid, which equals
 * HP4k(HP250(x)) exactly for LR4 and saves a section. At rates where 4 kHz is not below 0.49 fs
 * (8 kHz) there is no high band: it reads 0 and mid is HP250(x).
 *
 * The mix is the mean of the channels; non-finite samples count as 0. Filters start at rest at frame 0.
 * Filter states below 1e-30 are flushed to 0 every 4096 frames so silence never crawls through
 * subnormal arithmetic. RMS is clamped to the peak (they can only differ in the last float bit).
 */
#include "cdsp/waveform.h"

#include <float.h>
#include <math.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum { CHUNK = 4096 };

#define LOW_MID_HZ 250.0
#define MID_HIGH_HZ 4000.0
#define STATE_FLUSH 1e-30

/* Two doubles in one vector (GCC and Clang vector extension: one SSE2 / NEON register). */
typedef double v2d __attribute__((vector_size(16)));
typedef int64_t v2l __attribute__((vector_size(16)));

typedef struct wf_biquad {
    double b0, b1, b2, a1, a2; /* normalised by a0 */
} wf_biquad;

typedef enum { WF_LP, WF_HP, WF_AP } wf_kind;

static wf_biquad design(wf_kind kind, double fs, double f0)
{
    const double q = 0.70710678118654752;
    double w = 2.0 * M_PI * f0 / fs, cw = cos(w), alpha = sin(w) / (2.0 * q);
    double a0 = 1.0 + alpha;
    wf_biquad f = {0};
    switch (kind) {
    case WF_LP:
        f.b0 = f.b2 = (1.0 - cw) / 2.0 / a0;
        f.b1 = (1.0 - cw) / a0;
        break;
    case WF_HP:
        f.b0 = f.b2 = (1.0 + cw) / 2.0 / a0;
        f.b1 = -(1.0 + cw) / a0;
        break;
    case WF_AP:
        f.b0 = (1.0 - alpha) / a0;
        f.b1 = -2.0 * cw / a0;
        f.b2 = 1.0; /* (1 + alpha) / a0 */
        break;
    }
    f.a1 = -2.0 * cw / a0;
    f.a2 = (1.0 - alpha) / a0;
    return f;
}

static inline double finite_or_zero(double v)
{
    return fabs(v) <= DBL_MAX ? v : 0.0;
}

/* Two biquads side by side, one per lane (transposed direct form II). */
typedef struct wf_pair {
    v2d b0, b1, b2, a1, a2, s1, s2;
} wf_pair;

static wf_pair pair(wf_biquad l0, wf_biquad l1)
{
    wf_pair k = {
        .b0 = {l0.b0, l1.b0}, .b1 = {l0.b1, l1.b1}, .b2 = {l0.b2, l1.b2},
        .a1 = {l0.a1, l1.a1}, .a2 = {l0.a2, l1.a2}, .s1 = {0, 0}, .s2 = {0, 0},
    };
    return k;
}

static inline v2d pair_run(wf_pair *f, v2d x)
{
    v2d y = f->b0 * x + f->s1;
    f->s1 = (f->b1 * x + f->s2) - f->a1 * y;
    f->s2 = f->b2 * x - f->a2 * y;
    return y;
}

static inline v2d vabs(v2d v)
{
    const v2l mask = {INT64_MAX, INT64_MAX};
    return (v2d)((v2l)v & mask);
}

static inline v2d vmax(v2d a, v2d b)
{
    v2l gt = a > b;
    return (v2d)(((v2l)a & gt) | ((v2l)b & ~gt));
}

static inline v2d vflush(v2d v)
{
    const v2d tiny = {STATE_FLUSH, STATE_FLUSH};
    v2l keep = vabs(v) >= tiny;
    return (v2d)((v2l)v & keep);
}

/*
 * The eight sections run as four two-lane pairs, skewed in time so that the lanes of one iteration are
 * independent and every pair is fed straight from the previous iteration's outputs (no cross-register
 * shuffles on the recursive path). At iteration i:
 *     P1 = [LP250a, HP250a] on x[i]             P2 = [LP250b, HP250b] on P1's last output (i-1)
 *     P3 = [AP4k, LP4k_a] on P2's last (i-2)     P4 = [AP4k', LP4k_b] on [P2 high lane (i-2), P3 LP4k_a (i-3)]
 * and iteration i yields sample i-3:
 *     low = AP4k(LP250(x)) from P3 one iteration back, mid = LP4k_b now,
 *     high = AP4k'(HP250(x)) one iteration back - mid, which is HP4k(HP250(x)) exactly (for LR4,
 *     LP4k + HP4k = AP4k), one biquad instead of two.
 */
enum { SKEW = 3 };

typedef struct wf_pipe {
    wf_pair p1, p2, p3, p4;
    v2d y1, y2, y3, y4;   /* last outputs of each pair */
    v2d peak_lm, sum_lm;  /* [low, mid] of the current column */
    double peak_h, sum_h; /* high */
} wf_pipe;

static inline void step(wf_pipe *p, double v)
{
    v2d x = {v, v};
    v2d in4 = {p->y2[1], p->y3[1]};
    v2d y1 = pair_run(&p->p1, x);
    v2d y2 = pair_run(&p->p2, p->y1);
    v2d y3 = pair_run(&p->p3, p->y2);
    v2d y4 = pair_run(&p->p4, in4);
    v2d lm = {p->y3[0], y4[1]};
    double high = p->y4[0] - y4[1];
    p->y1 = y1;
    p->y2 = y2;
    p->y3 = y3;
    p->y4 = y4;
    p->peak_lm = vmax(vabs(lm), p->peak_lm);
    p->sum_lm += lm * lm;
    double ah = fabs(high);
    p->peak_h = ah > p->peak_h ? ah : p->peak_h;
    p->sum_h += high * high;
}

static void flush_pair(wf_pair *f)
{
    f->s1 = vflush(f->s1);
    f->s2 = vflush(f->s2);
}

/* Runs iterations [i0, i1): x[i] for i < frames, silence after the end (to drain the skew). */
static void run_span(wf_pipe *pp, const float *x, uint32_t channels, int64_t frames, int64_t i0, int64_t i1)
{
    wf_pipe p = *pp;
    int64_t i = i0;
    while (i < i1) {
        int64_t stop = i1 - i < CHUNK ? i1 : i + CHUNK;
        int64_t real = stop < frames ? stop : frames;
        if (channels == 2) {
            for (; i < real; i++)
                step(&p, 0.5 * (finite_or_zero(x[2 * i]) + finite_or_zero(x[2 * i + 1])));
        } else {
            for (; i < real; i++) step(&p, finite_or_zero(x[i]));
        }
        for (; i < stop; i++) step(&p, 0.0);
        flush_pair(&p.p1);
        flush_pair(&p.p2);
        flush_pair(&p.p3);
        flush_pair(&p.p4);
    }
    *pp = p;
}

cdsp_status cdsp_waveform_overview(const float *interleaved, int64_t frames, uint32_t channels,
                                   uint32_t sample_rate, uint32_t columns, float *out)
{
    if (!interleaved || !out || columns == 0 || frames < (int64_t)columns || (channels != 1 && channels != 2) ||
        sample_rate < 8000 || sample_rate > 384000)
        return CDSP_ERR_INVALID_ARGUMENT;

    const double fs = (double)sample_rate;
    const wf_biquad lp250 = design(WF_LP, fs, LOW_MID_HZ), hp250 = design(WF_HP, fs, LOW_MID_HZ);
    wf_biquad ap4k, lp4k, ap4k_rest;
    if (MID_HIGH_HZ < 0.49 * fs) {
        ap4k = ap4k_rest = design(WF_AP, fs, MID_HIGH_HZ);
        lp4k = design(WF_LP, fs, MID_HIGH_HZ);
    } else { /* no room for a high band: low and mid pass through, and high = rest - mid = 0 */
        ap4k = ap4k_rest = lp4k = (wf_biquad){.b0 = 1.0};
    }
    wf_pipe p = {
        .p1 = pair(lp250, hp250), .p2 = pair(lp250, hp250),
        .p3 = pair(ap4k, lp4k), .p4 = pair(ap4k_rest, lp4k),
    };
    run_span(&p, interleaved, channels, frames, 0, SKEW); /* iterations whose output precedes frame 0 */

    /* Column c covers [c * frames / columns, (c + 1) * frames / columns); with frames = q * columns + r,
     * that edge is q * c + r * c / columns, whose product r * c < 2^64 cannot overflow. */
    const uint64_t q = (uint64_t)frames / columns, r = (uint64_t)frames % columns;
    int64_t start = 0;
    for (uint32_t c = 0; c < columns; c++) {
        int64_t end = (int64_t)(q * (c + 1) + r * (c + 1) / columns);
        p.peak_lm = p.sum_lm = (v2d){0, 0};
        p.peak_h = p.sum_h = 0.0;
        run_span(&p, interleaved, channels, frames, start + SKEW, end + SKEW);
        double len = (double)(end - start);
        const double peaks[3] = {p.peak_lm[0], p.peak_lm[1], p.peak_h};
        const double sums[3] = {p.sum_lm[0], p.sum_lm[1], p.sum_h};
        for (int b = 0; b < 3; b++) {
            float peak = (float)peaks[b];
            float rms = (float)sqrt(sums[b] / len);
            out[(size_t)c * 6 + (size_t)b * 2 + 0] = peak;
            out[(size_t)c * 6 + (size_t)b * 2 + 1] = rms < peak ? rms : peak;
        }
        start = end;
    }
    return CDSP_OK;
}
