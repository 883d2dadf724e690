/*
 * loudness.c — programme loudness and true peak after ITU-R BS.1770-4 (K-weighting, gated integration,
 * Annex 2 true peak), EBU R 128 / EBU Tech 3341 (momentary 400 ms, short-term 3 s, integrated) and
 * EBU Tech 3342 (loudness range). See loudness.h for the contract.
 *
 * K-weighting. The two BS.1770 stages — a high shelf (+4 dB above ~1.7 kHz) and the RLB high-pass
 * (~38 Hz) — are designed for the given rate from their analogue prototypes by the bilinear transform
 * (f0 prewarped), with the analogue parameters fitted to the BS.1770 48 kHz table (the well-known
 * parameterisation also used by libebur128). At 48 kHz the coefficients equal the table to ~1e-14.
 * As in the table, the high-pass numerator is (1, -2, 1). Filtering and all sums run in double.
 *
 * Blocks. The K-weighted mean square is summed over 100 ms sub-blocks; sub-block k covers frames
 * [floor(k * rate / 10), floor((k + 1) * rate / 10)), so rates that are not a multiple of 10 Hz keep an
 * exact 100 ms grid. A 400 ms momentary block (75 % overlap) is 4 consecutive sub-blocks, a 3 s
 * short-term block 30; each block's mean square is its energy over its own frame count. Only whole blocks
 * count (a trailing part block is dropped, as BS.1770 and Tech 3341 do).
 *  - integrated: blocks above -70 LUFS, then above (their power mean - 10 LU), power-averaged;
 *  - range (Tech 3342): short-term blocks every 100 ms (as loudness.h specifies), above -70 LUFS,
 *    then above (their power mean - 20 LU); LRA = 95th - 10th percentile, the percentile p of the n
 *    sorted values being element round((n - 1) * p) (nearest rank, as libebur128 also does).
 *  - max momentary / max short-term: the loudest block of each kind, ungated.
 *
 * True peak (BS.1770-4 Annex 2). 4x oversampling (at every rate) by a polyphase interpolator of
 * 4 phases x 16 taps: phase 0 is the input sample itself and phases 1-3 are Kaiser-windowed (beta 6)
 * sinc fractional-delay filters at 1/4, 1/2 and 3/4 sample, each normalised to unit DC gain. Passband:
 * gain within +-0.01 dB up to 0.38 fs (16.8 kHz at 44.1 kHz, 18.2 kHz at 48 kHz); at 0.40 fs -0.1 dB
 * (1/4, 3/4 phases) and -0.2 dB (1/2 phase); -1.4 / -3.6 dB at 0.45 fs. So peaks made of content near
 * Nyquist under-read, as with any short interpolator, and any 4x grid can miss a peak between its points
 * by up to 1 - cos(pi f / 4 fs) (0.17 dB at fs/4). The reported value is the largest |x| of the 4x
 * stream, which includes the samples, so true peak >= sample peak. The file is taken as preceded and
 * followed by silence (as on playback), and only points between two real samples are read.
 *
 * Speed trick (exact, not a heuristic). Every interpolated value is a 16-tap sum, so |y| <= G * m where
 * G = max over phases of sum |h| = 2.040 (+6.19 dB) and m is the largest |x| within the filter's reach.
 * The audio is cut into 512-frame blocks; a block of one channel is oversampled only when G times the
 * sample peak of it and of its two neighbours (which cover the 8-sample reach) exceeds the true peak
 * found so far; the block holding the loudest sample goes first so that maximum starts high. A skipped
 * block provably cannot raise the maximum, so the result equals oversampling every sample (up to float
 * rounding, covered by a 1e-5 margin on G): no assumption about how far an inter-sample peak can rise
 * above its neighbourhood's sample peak is needed — the bound is the interpolator's own. Blocks more
 * than 6.2 dB below the running maximum are skipped; the rest run as an 8-wide float FIR (for a loud
 * master that is most blocks, which still costs only ~2-3 ns per frame).
 *
 * Non-finite samples (NaN, +-Inf) count as 0, so no NaN can come out. Filter states below 1e-30 are
 * flushed to 0 at every sub-block edge so that silence stays exactly 0 (-INFINITY, not -700 LUFS) and
 * never crawls through subnormals. No global state; the only allocations are per call.
 */
#include "cdsp/loudness.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum {
    TP_TAPS = 16,                 /* taps per interpolating phase */
    TP_HALF = TP_TAPS / 2,        /* interval (n, n+1) reads x[n - TP_HALF + 1 .. n + TP_HALF] */
    TP_PHASES = 3,                /* phases 1/4, 2/4, 3/4 (phase 0 is the sample) */
    TP_BLOCK = 512,               /* frames per true-peak block (>= TP_HALF) */
    SUBS_PER_MOMENTARY = 4,       /* 400 ms */
    SUBS_PER_SHORT_TERM = 30      /* 3 s */
};

#define TP_KAISER_BETA 6.0
#define ABS_GATE_LUFS (-70.0)
#define REL_GATE_LU (-10.0)
#define LRA_REL_GATE_LU (-20.0)
#define STATE_FLUSH 1e-30

/* Eight floats / int32s in one vector, two doubles in another (GCC and Clang vector extension; AVX2
 * under -march=x86-64-v3, SSE or NEON elsewhere). 32-byte vectors never cross a function call. */
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef double v2d __attribute__((vector_size(16)));

typedef struct kw_biquad {
    double b0, b1, b2, a1, a2;
} kw_biquad;

/* Per-channel K-weighting state (transposed direct form II, two stages). */
typedef struct kw_state {
    double s1, s2, t1, t2;
} kw_state;

/* --- K-weighting design --------------------------------------------------------------------------- */

static void kweight_design(double fs, kw_biquad *shelf, kw_biquad *hp)
{
    /* Stage 1: high shelf. Analogue (Vh s^2 + Vb (w0/Q) s + w0^2) / (s^2 + (w0/Q) s + w0^2) with
     * w0 = 2 pi f0, Vh = the high-frequency gain, Vb the gain of the middle term. */
    const double f0 = 1681.974450955533, gain_db = 3.999843853973347, q = 0.7071752369554196;
    double k = tan(M_PI * f0 / fs);
    double vh = pow(10.0, gain_db / 20.0);
    double vb = pow(vh, 0.4996667741545416);
    double a0 = 1.0 + k / q + k * k;
    shelf->b0 = (vh + vb * k / q + k * k) / a0;
    shelf->b1 = 2.0 * (k * k - vh) / a0;
    shelf->b2 = (vh - vb * k / q + k * k) / a0;
    shelf->a1 = 2.0 * (k * k - 1.0) / a0;
    shelf->a2 = (1.0 - k / q + k * k) / a0;

    /* Stage 2: the RLB second-order high-pass; numerator (1, -2, 1) as in the BS.1770 table. */
    const double f1 = 38.13547087602444, q1 = 0.5003270373238773;
    k = tan(M_PI * f1 / fs);
    a0 = 1.0 + k / q1 + k * k;
    hp->b0 = 1.0;
    hp->b1 = -2.0;
    hp->b2 = 1.0;
    hp->a1 = 2.0 * (k * k - 1.0) / a0;
    hp->a2 = (1.0 - k / q1 + k * k) / a0;
}

static inline double finite_or_zero(double v)
{
    return fabs(v) <= DBL_MAX ? v : 0.0;
}

static inline double flush(double v)
{
    return fabs(v) < STATE_FLUSH ? 0.0 : v;
}

static void flush_state(kw_state *s)
{
    s->s1 = flush(s->s1);
    s->s2 = flush(s->s2);
    s->t1 = flush(s->t1);
    s->t2 = flush(s->t2);
}

/* K-weights `n` frames of `channels` (1 or 2) and returns the sum over channels of the squared output. */
static double kweight_energy(const float *x, int64_t n, uint32_t channels, const kw_biquad *sh,
                             const kw_biquad *hp, kw_state *st)
{
    const double b0 = sh->b0, b1 = sh->b1, b2 = sh->b2, a1 = sh->a1, a2 = sh->a2;
    const double c1 = hp->a1, c2 = hp->a2;
    double energy = 0.0;
    if (channels == 2) {
        /* Left and right side by side in the two lanes of one vector. */
        const v2d vb0 = {b0, b0}, vb1 = {b1, b1}, vb2 = {b2, b2}, va1 = {a1, a1}, va2 = {a2, a2};
        const v2d vc1 = {c1, c1}, vc2 = {c2, c2};
        v2d s1 = {st[0].s1, st[1].s1}, s2 = {st[0].s2, st[1].s2};
        v2d t1 = {st[0].t1, st[1].t1}, t2 = {st[0].t2, st[1].t2};
        v2d e = {0.0, 0.0};
        for (int64_t i = 0; i < n; i++) {
            v2d v = {finite_or_zero(x[2 * i]), finite_or_zero(x[2 * i + 1])};
            v2d y = vb0 * v + s1;
            s1 = (vb1 * v + s2) - va1 * y;
            s2 = vb2 * v - va2 * y;
            v2d z = y + t1;
            t1 = (t2 - 2.0 * y) - vc1 * z;
            t2 = y - vc2 * z;
            e += z * z;
        }
        st[0] = (kw_state){s1[0], s2[0], t1[0], t2[0]};
        st[1] = (kw_state){s1[1], s2[1], t1[1], t2[1]};
        energy = e[0] + e[1];
    } else {
        double s1 = st[0].s1, s2 = st[0].s2, t1 = st[0].t1, t2 = st[0].t2;
        for (int64_t i = 0; i < n; i++) {
            double v = finite_or_zero(x[i]);
            double y = b0 * v + s1;
            s1 = (b1 * v + s2) - a1 * y;
            s2 = b2 * v - a2 * y;
            double z = y + t1;
            t1 = (t2 - 2.0 * y) - c1 * z;
            t2 = y - c2 * z;
            energy += z * z;
        }
        st[0] = (kw_state){s1, s2, t1, t2};
    }
    return energy;
}

/* First frame of 100 ms sub-block k: floor(k * rate / 10), without overflow. */
static int64_t sub_edge(int64_t k, uint32_t rate)
{
    return (k / 10) * (int64_t)rate + ((k % 10) * (int64_t)rate) / 10;
}

static double lufs(double mean_square_sum)
{
    return -0.691 + 10.0 * log10(mean_square_sum); /* log10(0) = -inf: silence reads -INFINITY */
}

static double lufs_to_power(double l)
{
    return pow(10.0, (l + 0.691) / 10.0);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* --- true peak ------------------------------------------------------------------------------------ */

static double bessel_i0(double x)
{
    double sum = 1.0, term = 1.0;
    for (int k = 1; k < 200; k++) {
        double f = x / (2.0 * k);
        term *= f * f;
        sum += term;
        if (term < 1e-17 * sum) break;
    }
    return sum;
}

/* Designs the three fractional-delay phases; returns G = max over phases of sum |h|. */
static double tp_design(float h[TP_PHASES][TP_TAPS])
{
    double g = 1.0, i0b = bessel_i0(TP_KAISER_BETA);
    for (int p = 0; p < TP_PHASES; p++) {
        double frac = (p + 1) / 4.0, d[TP_TAPS], sum = 0.0, abs_sum = 0.0;
        for (int i = 0; i < TP_TAPS; i++) {
            double u = (double)(i - (TP_HALF - 1)) - frac; /* from x[n + i - 7] to n + frac */
            double v = u / (double)TP_HALF;            /* |v| < 1 for every tap */
            double sinc = sin(M_PI * u) / (M_PI * u);  /* u is never 0: frac is not an integer */
            d[i] = sinc * bessel_i0(TP_KAISER_BETA * sqrt(1.0 - v * v)) / i0b;
            sum += d[i];
        }
        for (int i = 0; i < TP_TAPS; i++) {
            h[p][i] = (float)(d[i] / sum);
            abs_sum += fabs((double)h[p][i]);
        }
        if (abs_sum > g) g = abs_sum;
    }
    return g;
}

typedef struct tp_ctx {
    const float *x;
    int64_t frames;
    uint32_t channels;
    float h[TP_PHASES][TP_TAPS];
    float buf[TP_BLOCK + TP_TAPS + 8]; /* one channel of a block plus the filter's reach, sanitised,
                                        * zero-padded to whole 8-output groups */
} tp_ctx;

/* Largest |interpolated value| of channel c between consecutive samples of block b. */
static float tp_block(tp_ctx *t, int64_t b, uint32_t c)
{
    int64_t s = b * TP_BLOCK;
    int64_t e = s + TP_BLOCK;
    if (e > t->frames - 1) e = t->frames - 1; /* intervals (n, n+1) with both ends inside the file */
    int64_t len = e - s;
    if (len <= 0) return 0.0f;
    int64_t first = s - (TP_HALF - 1);
    int64_t n_in = len + TP_TAPS - 1;
    if (first >= 0 && first + n_in <= t->frames) { /* inside the file: a plain strided copy */
        const float *src = t->x + first * t->channels + c;
        const int64_t stride = t->channels;
        for (int64_t j = 0; j < n_in; j++) {
            float v = src[j * stride];
            t->buf[j] = fabsf(v) <= FLT_MAX ? v : 0.0f;
        }
    } else { /* at either end: zeros outside the file */
        for (int64_t j = 0; j < n_in; j++) {
            int64_t f = first + j;
            float v = (f >= 0 && f < t->frames) ? t->x[f * t->channels + c] : 0.0f;
            t->buf[j] = fabsf(v) <= FLT_MAX ? v : 0.0f;
        }
    }
    for (int64_t j = n_in; j < (int64_t)(sizeof t->buf / sizeof t->buf[0]); j++) t->buf[j] = 0.0f;
    /* Eight outputs at a time, all three phases, each sum split over even and odd taps so that six
     * accumulation chains run side by side. */
    const float *h1 = t->h[0], *h2 = t->h[1], *h3 = t->h[2];
    const v8i abs_mask = {0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff,
                          0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff};
    v8i mv = {0, 0, 0, 0, 0, 0, 0, 0}; /* bit patterns of non-negative floats order like the floats */
    for (int64_t j = 0; j < len; j += 8) {
        v8f a1 = {0}, a2 = {0}, a3 = {0}, o1 = {0}, o2 = {0}, o3 = {0};
        for (int i = 0; i < TP_TAPS; i += 2) {
            v8f x, y;
            memcpy(&x, t->buf + j + i, sizeof x);
            memcpy(&y, t->buf + j + i + 1, sizeof y);
            a1 += h1[i] * x;
            a2 += h2[i] * x;
            a3 += h3[i] * x;
            o1 += h1[i + 1] * y;
            o2 += h2[i + 1] * y;
            o3 += h3[i + 1] * y;
        }
        a1 += o1;
        a2 += o2;
        a3 += o3;
        v8i b1, b2, b3;
        memcpy(&b1, &a1, sizeof b1);
        memcpy(&b2, &a2, sizeof b2);
        memcpy(&b3, &a3, sizeof b3);
        v8i keep = abs_mask;
        if (j + 8 > len) { /* the last group may run past the block: drop those lanes */
            for (int i = 0; i < 8; i++)
                if (j + i >= len) keep[i] = 0;
        }
        b1 &= keep;
        b2 &= keep;
        b3 &= keep;
        v8i g1 = b1 > mv;
        mv = (b1 & g1) | (mv & ~g1);
        v8i g2 = b2 > mv;
        mv = (b2 & g2) | (mv & ~g2);
        v8i g3 = b3 > mv;
        mv = (b3 & g3) | (mv & ~g3);
    }
    int32_t mi = 0;
    for (int i = 0; i < 8; i++) mi = mv[i] > mi ? mv[i] : mi;
    float m;
    memcpy(&m, &mi, sizeof m);
    return m;
}

/* Per-block, per-channel sample peaks (pk[b * channels + c]); returns the overall sample peak. */
static float block_peaks(const float *x, int64_t frames, uint32_t channels, float *pk, int64_t nb)
{
    float all = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int64_t s = b * TP_BLOCK, e = s + TP_BLOCK < frames ? s + TP_BLOCK : frames;
        if (channels == 2) {
            float ml = 0.0f, mr = 0.0f;
            for (int64_t i = s; i < e; i++) {
                float l = fabsf(x[2 * i]), r = fabsf(x[2 * i + 1]);
                l = l <= FLT_MAX ? l : 0.0f;
                r = r <= FLT_MAX ? r : 0.0f;
                ml = l > ml ? l : ml;
                mr = r > mr ? r : mr;
            }
            pk[2 * b] = ml;
            pk[2 * b + 1] = mr;
            float m = ml > mr ? ml : mr;
            all = m > all ? m : all;
        } else {
            float m = 0.0f;
            for (int64_t i = s; i < e; i++) {
                float a = fabsf(x[i]);
                a = a <= FLT_MAX ? a : 0.0f;
                m = a > m ? a : m;
            }
            pk[b] = m;
            all = m > all ? m : all;
        }
    }
    return all;
}

/* True peak (linear) of the whole file; `sample_peak` is the largest |sample|. NO_MEMORY on failure. */
static cdsp_status true_peak(const float *x, int64_t frames, uint32_t channels, double *true_pk,
                             double *sample_pk)
{
    *true_pk = *sample_pk = 0.0;
    if (frames <= 0) return CDSP_OK;
    int64_t nb = (frames + TP_BLOCK - 1) / TP_BLOCK;
    float *pk = malloc((size_t)nb * channels * sizeof *pk);
    tp_ctx *t = malloc(sizeof *t);
    if (!pk || !t) {
        free(pk);
        free(t);
        return CDSP_ERR_NO_MEMORY;
    }
    float sp = block_peaks(x, frames, channels, pk, nb);
    *sample_pk = sp;
    t->x = x;
    t->frames = frames;
    t->channels = channels;
    double g = tp_design(t->h) * (1.0 + 1e-5);
    float tp = sp;
    if (sp > 0.0f) {
        /* Start with the block holding the loudest sample, then every block whose bound beats tp. */
        int64_t best = 0;
        for (int64_t i = 1; i < nb * channels; i++)
            if (pk[i] > pk[best]) best = i;
        int64_t best_b = best / channels;
        uint32_t best_c = (uint32_t)(best % channels);
        float m = tp_block(t, best_b, best_c);
        tp = m > tp ? m : tp;
        for (int64_t b = 0; b < nb; b++) {
            for (uint32_t c = 0; c < channels; c++) {
                if (b == best_b && c == best_c) continue;
                float local = pk[b * channels + c];
                if (b > 0 && pk[(b - 1) * channels + c] > local) local = pk[(b - 1) * channels + c];
                if (b + 1 < nb && pk[(b + 1) * channels + c] > local) local = pk[(b + 1) * channels + c];
                if (g * local <= tp) continue;
                m = tp_block(t, b, c);
                tp = m > tp ? m : tp;
            }
        }
    }
    *true_pk = tp;
    free(pk);
    free(t);
    return CDSP_OK;
}

/* --- measurement ---------------------------------------------------------------------------------- */

static double to_db(double linear)
{
    return linear > 0.0 ? 20.0 * log10(linear) : -INFINITY;
}

cdsp_status cdsp_loudness_measure(const float *interleaved, int64_t frames, uint32_t channels,
                                  uint32_t sample_rate, cdsp_loudness_result *out)
{
    if (!interleaved || !out || frames < 0 || (channels != 1 && channels != 2) || sample_rate < 8000 ||
        sample_rate > 384000)
        return CDSP_ERR_INVALID_ARGUMENT;

    out->integrated_lufs = -INFINITY;
    out->range_lu = 0.0;
    out->true_peak_dbtp = -INFINITY;
    out->sample_peak_dbfs = -INFINITY;
    out->max_momentary_lufs = -INFINITY;
    out->max_short_term_lufs = -INFINITY;

    /* Whole 100 ms sub-blocks in the file. */
    int64_t nsub = (frames / sample_rate) * 10 + ((frames % sample_rate) * 10) / sample_rate;
    while (sub_edge(nsub + 1, sample_rate) <= frames) nsub++;
    while (nsub > 0 && sub_edge(nsub, sample_rate) > frames) nsub--;

    double tp = 0.0, sp = 0.0;
    cdsp_status st = true_peak(interleaved, frames, channels, &tp, &sp);
    if (st != CDSP_OK) return st;
    out->true_peak_dbtp = to_db(tp);
    out->sample_peak_dbfs = to_db(sp);
    if (nsub < SUBS_PER_MOMENTARY) return CDSP_OK; /* shorter than one 400 ms block */

    double *sub = malloc((size_t)nsub * sizeof *sub);
    double *vals = malloc((size_t)nsub * sizeof *vals);
    if (!sub || !vals) {
        free(sub);
        free(vals);
        return CDSP_ERR_NO_MEMORY;
    }

    kw_biquad shelf, hp;
    kweight_design((double)sample_rate, &shelf, &hp);
    kw_state state[2];
    memset(state, 0, sizeof state);
    for (int64_t k = 0; k < nsub; k++) {
        int64_t s = sub_edge(k, sample_rate), e = sub_edge(k + 1, sample_rate);
        sub[k] = kweight_energy(interleaved + s * channels, e - s, channels, &shelf, &hp, state);
        flush_state(&state[0]);
        flush_state(&state[1]);
    }

    /* Momentary blocks: max, and the two-stage gated integrated loudness. */
    const double abs_gate = lufs_to_power(ABS_GATE_LUFS);
    int64_t nblk = nsub - SUBS_PER_MOMENTARY + 1;
    double max_e = 0.0, gated_sum = 0.0;
    int64_t gated_n = 0;
    for (int64_t j = 0; j < nblk; j++) {
        double e = 0.0;
        for (int i = 0; i < SUBS_PER_MOMENTARY; i++) e += sub[j + i];
        e /= (double)(sub_edge(j + SUBS_PER_MOMENTARY, sample_rate) - sub_edge(j, sample_rate));
        vals[j] = e;
        if (e > max_e) max_e = e;
        if (e > abs_gate) {
            gated_sum += e;
            gated_n++;
        }
    }
    out->max_momentary_lufs = lufs(max_e);
    if (gated_n > 0) {
        double rel_gate = gated_sum / (double)gated_n * pow(10.0, REL_GATE_LU / 10.0);
        double gate = rel_gate > abs_gate ? rel_gate : abs_gate;
        double sum = 0.0;
        int64_t n = 0;
        for (int64_t j = 0; j < nblk; j++) {
            if (vals[j] > gate) {
                sum += vals[j];
                n++;
            }
        }
        if (n > 0) out->integrated_lufs = lufs(sum / (double)n);
    }

    /* Short-term blocks every 100 ms: max, and the loudness range. */
    if (nsub >= SUBS_PER_SHORT_TERM) {
        int64_t nst = nsub - SUBS_PER_SHORT_TERM + 1;
        max_e = 0.0;
        gated_sum = 0.0;
        gated_n = 0;
        for (int64_t j = 0; j < nst; j++) {
            double e = 0.0;
            for (int i = 0; i < SUBS_PER_SHORT_TERM; i++) e += sub[j + i];
            e /= (double)(sub_edge(j + SUBS_PER_SHORT_TERM, sample_rate) - sub_edge(j, sample_rate));
            vals[j] = e;
            if (e > max_e) max_e = e;
            if (e > abs_gate) {
                gated_sum += e;
                gated_n++;
            }
        }
        out->max_short_term_lufs = lufs(max_e);
        if (gated_n >= 2) {
            double rel_gate = gated_sum / (double)gated_n * pow(10.0, LRA_REL_GATE_LU / 10.0);
            double gate = rel_gate > abs_gate ? rel_gate : abs_gate;
            int64_t n = 0;
            for (int64_t j = 0; j < nst; j++)
                if (vals[j] > gate) vals[n++] = vals[j];
            if (n >= 2) {
                qsort(vals, (size_t)n, sizeof *vals, compare_double);
                int64_t lo = (int64_t)floor((double)(n - 1) * 0.10 + 0.5);
                int64_t hi = (int64_t)floor((double)(n - 1) * 0.95 + 0.5);
                out->range_lu = 10.0 * log10(vals[hi] / vals[lo]);
            }
        }
    }
    free(sub);
    free(vals);
    return CDSP_OK;
}
