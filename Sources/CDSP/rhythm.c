/*
 * rhythm.c — tempo, beats, downbeats and arrangement (see rhythm.h).
 *
 * Methods (published work; the code is ours):
 * - Onset detection function: log-compressed spectral flux over a log-spaced filterbank with a maximum
 *   filter across neighbouring bands, "SuperFlux" (S. Böck, G. Widmer, "Maximum filter vibrato
 *   suppression for onset detection", DAFx 2013).
 * - Tempo: the onset function's autocorrelation, summed over overlapping windows, with its harmonics
 *   enhanced (G. Percival, G. Tzanetakis, "Streamlined tempo estimation based on autocorrelation and
 *   cross-correlation with pulses", IEEE/ACM TASLP 2014).
 * - Beats: dynamic programming over the onset function with a log-period transition cost
 *   (D. P. W. Ellis, "Beat tracking by dynamic programming", JNMR 2007).
 * - The metrical level (the octave question: 87 or 174?) is chosen by how strong the beats between the
 *   beats of the slower level are against those of the slower level, and the preferred tempo range.
 * - A steady track's grid is fitted, period and phase, to the attacks found near its beats over the
 *   whole track by weighted, outlier-trimmed least squares, so its error does not grow along the track.
 * - Downbeats: beat-synchronous harmonic change (chroma), bass onsets, backbeat and section-change
 *   evidence, scored for every bar phase of 3 and 4 beats (in the spirit of M. E. P. Davies,
 *   M. D. Plumbley, "A spectral difference approach to downbeat extraction", EUSIPCO 2006, and
 *   Goto's chord-change cue, 2001).
 */
#include "cdsp/rhythm.h"
#include "cdsp/fft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define MAX_BANDS 64
#define LOW_BAND_HZ 150.0
#define HIGH_BAND_HZ 3000.0
#define TEMPO_LO 40.0
#define TEMPO_HI 260.0

cdsp_rhythm_config cdsp_rhythm_config_default(void) {
    cdsp_rhythm_config c = {70.0, 180.0};
    return c;
}

/* ---------------------------------------------------------------------------------------------------
 * Features: per onset frame (hop ~5 ms) the broadband, low and high flux and the log energies; per
 * chroma frame (every `chroma_step` onset frames) a 12-bin chroma.
 */
typedef struct features {
    int64_t frames;
    int hop;              /* samples per frame */
    double fps;           /* frames per second */
    float *flux, *low, *mid, *high;
    float *energy_db, *low_db;
    int chroma_step;      /* onset frames per chroma frame */
    int64_t chroma_frames;
    float *chroma;        /* chroma_frames * 12 */
} features;

static void features_free(features *f) {
    free(f->flux); free(f->low); free(f->mid); free(f->high);
    free(f->energy_db); free(f->low_db); free(f->chroma);
    memset(f, 0, sizeof *f);
}

static int pow2_near(double x) {
    int n = 256;
    while (n * 1.5 < x) n *= 2;
    return n;
}

static cdsp_status compute_features(const float *x, int64_t n, uint32_t sr, features *f,
                                    cdsp_progress_fn progress, void *pctx) {
    memset(f, 0, sizeof *f);
    const int N = pow2_near(sr * 0.0232);       /* 1024 at 44.1/48 kHz */
    const int hop = (int)lround(sr / 200.0);
    const int NC = pow2_near(sr * 0.0929);       /* 4096 at 44.1/48 kHz, for chroma */
    const int chroma_step = 8;                  /* ~40 ms */
    f->hop = hop;
    f->fps = (double)sr / hop;
    f->frames = n / hop + 1;
    f->chroma_step = chroma_step;
    f->chroma_frames = f->frames / chroma_step + 1;

    cdsp_status st = CDSP_ERR_NO_MEMORY;
    float *win = NULL, *buf = NULL, *winc = NULL, *bufc = NULL;
    fftwf_complex *spec = NULL, *specc = NULL;
    fftwf_plan plan = NULL, planc = NULL;
    float *prev1 = NULL, *prev2 = NULL, *cur = NULL;
    int *band_of_bin = NULL, *pc_of_bin = NULL;

    size_t fr = (size_t)f->frames;
    f->flux = calloc(fr, sizeof(float));
    f->low = calloc(fr, sizeof(float));
    f->mid = calloc(fr, sizeof(float));
    f->high = calloc(fr, sizeof(float));
    f->energy_db = calloc(fr, sizeof(float));
    f->low_db = calloc(fr, sizeof(float));
    f->chroma = calloc((size_t)f->chroma_frames * 12, sizeof(float));
    win = malloc(sizeof(float) * N);
    winc = malloc(sizeof(float) * NC);
    buf = cdsp_fft_alloc(N);
    bufc = cdsp_fft_alloc(NC);
    spec = cdsp_fft_alloc(2 * (N / 2 + 1));
    specc = cdsp_fft_alloc(2 * (NC / 2 + 1));
    prev1 = calloc(MAX_BANDS, sizeof(float));
    prev2 = calloc(MAX_BANDS, sizeof(float));
    cur = calloc(MAX_BANDS, sizeof(float));
    band_of_bin = malloc(sizeof(int) * (N / 2 + 1));
    pc_of_bin = malloc(sizeof(int) * (NC / 2 + 1));
    if (!f->flux || !f->low || !f->mid || !f->high || !f->energy_db || !f->low_db || !f->chroma || !win ||
        !winc || !buf || !bufc || !spec || !specc || !prev1 || !prev2 || !cur || !band_of_bin || !pc_of_bin)
        goto fail;
    plan = cdsp_fft_plan_r2c(N, buf, spec);
    planc = cdsp_fft_plan_r2c(NC, bufc, specc);
    if (!plan || !planc) goto fail;

    for (int i = 0; i < N; i++) win[i] = (float)(0.5 - 0.5 * cos(2 * M_PI * (i + 0.5) / N));
    for (int i = 0; i < NC; i++) winc[i] = (float)(0.5 - 0.5 * cos(2 * M_PI * (i + 0.5) / NC));

    /* Log-spaced bands, 6 per octave from 30 Hz to 16 kHz, each at least one bin wide. */
    double binhz = (double)sr / N;
    int nb = 0;
    double edges[MAX_BANDS + 1];
    int band_kind[MAX_BANDS]; /* 0 low, 1 mid, 2 high */
    {
        int last_bin = 0;
        double top = fmin(16000.0, sr * 0.45);
        edges[0] = 30.0;
        for (int k = 1; nb < MAX_BANDS; k++) {
            double e = 30.0 * pow(2.0, k / 6.0);
            if (e > top) e = top;
            int b = (int)floor(e / binhz);
            if (b > last_bin) {
                edges[nb + 1] = e;
                band_kind[nb] = (0.5 * (edges[nb] + e) < LOW_BAND_HZ) ? 0 : (edges[nb] > HIGH_BAND_HZ ? 2 : 1);
                nb++;
                last_bin = b;
            }
            if (e >= top) break;
        }
        for (int b = 0; b <= N / 2; b++) {
            double hz = b * binhz;
            band_of_bin[b] = -1;
            for (int k = 0; k < nb; k++)
                if (hz >= edges[k] && hz < edges[k + 1]) { band_of_bin[b] = k; break; }
        }
    }
    /* Chroma: bins from 65 Hz to 2.1 kHz, to the nearest pitch class (A = 440 Hz). */
    {
        double hz_c = (double)sr / NC;
        for (int b = 0; b <= NC / 2; b++) {
            double hz = b * hz_c;
            if (hz < 65.0 || hz > 2100.0) { pc_of_bin[b] = -1; continue; }
            double midi = 69.0 + 12.0 * log2(hz / 440.0);
            int m = (int)lround(midi);
            pc_of_bin[b] = ((m % 12) + 12) % 12;
        }
    }

    /* The signal's scale: onset compression works on magnitudes relative to the track's RMS. */
    double ss = 0;
    for (int64_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    double rms = sqrt(ss / (double)(n > 0 ? n : 1));
    if (rms < 1e-7) rms = 1e-7;
    const float scale = (float)(1.0 / (rms * N * 0.25));
    const float gamma = 20.0f;

    for (int64_t i = 0; i < f->frames; i++) {
        int64_t start = i * hop - N / 2;
        for (int j = 0; j < N; j++) {
            int64_t s = start + j;
            buf[j] = (s >= 0 && s < n) ? x[s] * win[j] : 0.0f;
        }
        fftwf_execute(plan);
        float bandp[MAX_BANDS] = {0};
        double etot = 0, elow = 0;
        for (int b = 1; b <= N / 2; b++) {
            float p = spec[b][0] * spec[b][0] + spec[b][1] * spec[b][1];
            etot += p;
            int k = band_of_bin[b];
            if (k >= 0) {
                bandp[k] += p;
                if (band_kind[k] == 0) elow += p;
            }
        }
        float fl = 0, lo = 0, mi = 0, hi = 0;
        for (int k = 0; k < nb; k++) {
            cur[k] = logf(1.0f + gamma * sqrtf(bandp[k]) * scale);
            float ref = prev2[k];
            if (k > 0 && prev2[k - 1] > ref) ref = prev2[k - 1];
            if (k + 1 < nb && prev2[k + 1] > ref) ref = prev2[k + 1];
            float d = cur[k] - ref;
            if (d > 0) {
                fl += d;
                if (band_kind[k] == 0) lo += d;
                else if (band_kind[k] == 1) mi += d;
                else hi += d;
            }
        }
        f->flux[i] = fl; f->low[i] = lo; f->mid[i] = mi; f->high[i] = hi;
        double norm = (double)N * N * 0.25 * 0.375;   /* full-scale sine ~ 0 dB */
        f->energy_db[i] = (float)(10.0 * log10(etot / norm + 1e-12));
        f->low_db[i] = (float)(10.0 * log10(elow / norm + 1e-12));
        float *t = prev2; prev2 = prev1; prev1 = cur; cur = t;

        if (i % chroma_step == 0) {
            int64_t c = i / chroma_step;
            int64_t startc = i * hop - NC / 2;
            for (int j = 0; j < NC; j++) {
                int64_t s = startc + j;
                bufc[j] = (s >= 0 && s < n) ? x[s] * winc[j] : 0.0f;
            }
            fftwf_execute(planc);
            float *ch = f->chroma + c * 12;
            for (int b = 1; b <= NC / 2; b++) {
                int pc = pc_of_bin[b];
                if (pc < 0) continue;
                ch[pc] += sqrtf(specc[b][0] * specc[b][0] + specc[b][1] * specc[b][1]);
            }
        }
        if (progress && (i & 4095) == 0) progress(pctx, 0.8 * (double)i / (double)f->frames);
    }
    st = CDSP_OK;
fail:
    cdsp_fft_destroy(plan);
    cdsp_fft_destroy(planc);
    free(win); free(winc);
    cdsp_fft_free(buf); cdsp_fft_free(bufc); cdsp_fft_free(spec); cdsp_fft_free(specc);
    free(prev1); free(prev2); free(cur); free(band_of_bin); free(pc_of_bin);
    if (st != CDSP_OK) features_free(f);
    return st;
}

/* ---------------------------------------------------------------------------------------------------
 * Small helpers.
 */
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear interpolation of v at fractional index t (0 outside). */
static double interp(const double *v, int64_t n, double t) {
    if (t < 0 || t > (double)(n - 1)) return 0;
    int64_t i = (int64_t)t;
    double fr = t - (double)i;
    if (i + 1 >= n) return v[i];
    return v[i] * (1 - fr) + v[i + 1] * fr;
}

/* Maximum of v over [t - r, t + r] (indices clamped). */
static double max_near(const double *v, int64_t n, double t, int r) {
    int64_t c = (int64_t)lround(t);
    double m = 0;
    for (int64_t i = c - r; i <= c + r; i++)
        if (i >= 0 && i < n && v[i] > m) m = v[i];
    return m;
}

/* ---------------------------------------------------------------------------------------------------
 * The analysis proper.
 */
typedef struct ctx {
    const float *x;
    int64_t n;
    uint32_t sr;
    cdsp_rhythm_config cfg;
    features f;
    double *odf;          /* normalised onset function (local mean removed, rectified, unit std) */
    double *odf_low, *odf_mid, *odf_high;
    int64_t m_start, m_end;   /* music region, in frames */
    int64_t beat_from, beat_to; /* the span to put beats in, in frames */
    double *scratch;
} ctx;

static double frames_to_s(const ctx *c, double fr) { return fr / c->f.fps; }

/* Removes a local mean (±w frames) and rectifies; then scales to unit standard deviation over the music. */
static void normalise_odf(const float *in, double *out, int64_t n, int w, int64_t a, int64_t b) {
    double run = 0;
    int64_t lo = 0, hi = -1;
    for (int64_t i = 0; i < n; i++) {
        int64_t want_lo = i - w < 0 ? 0 : i - w, want_hi = i + w >= n ? n - 1 : i + w;
        while (hi < want_hi) run += in[++hi];
        while (lo < want_lo) run -= in[lo++];
        double mean = run / (double)(hi - lo + 1);
        double d = in[i] - mean;
        out[i] = d > 0 ? d : 0;
    }
    double s = 0, s2 = 0;
    int64_t cnt = 0;
    for (int64_t i = a; i < b; i++) { s += out[i]; s2 += out[i] * out[i]; cnt++; }
    double sd = cnt > 1 ? sqrt(fmax(s2 / cnt - (s / cnt) * (s / cnt), 0)) : 0;
    if (sd < 1e-9) sd = 1;
    for (int64_t i = 0; i < n; i++) out[i] /= sd;
}

/* Music region: from the first to the last frame within 60 dB of the loudest frame. The span the beats
 * cover (`beat_from`, `beat_to`) is narrower: from where the music is within 35 dB of its usual level
 * (its 90th percentile: a pad fading in counts) to where it is last within 25 dB of it (a release tail
 * does not). */
static void find_music(ctx *c) {
    int64_t n = c->f.frames;
    float peak = -1000;
    for (int64_t i = 0; i < n; i++) if (c->f.energy_db[i] > peak) peak = c->f.energy_db[i];
    float thr = peak - 60.0f;
    if (thr < -100.0f) thr = -100.0f;
    c->m_start = 0; c->m_end = 0;
    if (peak < -90.0f) return;
    for (int64_t i = 0; i < n; i++) if (c->f.energy_db[i] > thr) { c->m_start = i; break; }
    for (int64_t i = n - 1; i >= 0; i--) if (c->f.energy_db[i] > thr) { c->m_end = i + 1; break; }
    /* The usual level: a histogram of the music's frame energies in 1 dB steps. */
    int hist[200] = {0};
    int64_t total = 0;
    for (int64_t i = c->m_start; i < c->m_end; i++) {
        int b = (int)(c->f.energy_db[i] + 150);
        if (b >= 0 && b < 200) { hist[b]++; total++; }
    }
    int64_t acc = 0;
    int p90 = 199;
    for (int b = 0; b < 200; b++) { acc += hist[b]; if (acc >= total * 9 / 10) { p90 = b; break; } }
    float level = (float)p90 - 150.0f;
    c->beat_from = c->m_start; c->beat_to = c->m_end;
    for (int64_t i = c->m_start; i < c->m_end; i++) if (c->f.energy_db[i] > level - 35) { c->beat_from = i; break; }
    for (int64_t i = c->m_end - 1; i >= c->m_start; i--) if (c->f.energy_db[i] > level - 25) { c->beat_to = i + 1; break; }
}

/* Tempo salience over lags: autocorrelation of the onset function (its mean removed) in 12 s windows
 * (hop 6 s), each normalised by its energy, averaged: acf[0] is 1 and acf[L] near 0 for no periodicity.
 * acf has maxlag + 1 entries. */
static void windowed_acf(const ctx *c, double *acf, int maxlag) {
    const double *o = c->odf;
    int64_t W = (int64_t)(12.0 * c->f.fps), H = W / 2;
    memset(acf, 0, sizeof(double) * (size_t)(maxlag + 1));
    int64_t a = c->m_start, b = c->m_end;
    if (b - a < W) W = b - a;
    if (W <= maxlag) return;
    double *tmp = c->scratch, *d = c->scratch + maxlag + 1;
    int windows = 0;
    for (int64_t s = a; s + W <= b; s += H) {
        double mean = 0;
        for (int64_t i = s; i < s + W; i++) mean += o[i];
        mean /= (double)W;
        for (int64_t i = 0; i < W; i++) d[i] = o[s + i] - mean;
        for (int lag = 0; lag <= maxlag; lag++) {
            double sum = 0;
            int64_t len = W - lag;
            for (int64_t i = 0; i < len; i++) sum += d[i] * d[i + lag];
            tmp[lag] = sum / (double)len;
        }
        if (tmp[0] > 1e-9) {
            for (int lag = 0; lag <= maxlag; lag++) acf[lag] += tmp[lag] / tmp[0];
            windows++;
        }
        if (s + W + H > b) break;
    }
    if (windows > 0) for (int lag = 0; lag <= maxlag; lag++) acf[lag] /= windows;
}

static double bpm_of_lag(const ctx *c, double lag) { return 60.0 * c->f.fps / lag; }
static double lag_of_bpm(const ctx *c, double bpm) { return 60.0 * c->f.fps / bpm; }

/* Preference for a tempo: 1 inside the configured range, falling off (log-Gaussian, 0.25 octave) outside. */
static double range_prior(const ctx *c, double bpm) {
    double lo = c->cfg.min_bpm, hi = c->cfg.max_bpm, d = 0;
    if (bpm < lo) d = log2(lo / bpm);
    else if (bpm > hi) d = log2(bpm / hi);
    return exp(-0.5 * (d / 0.25) * (d / 0.25));
}

/* Mild preference for moderate tempi inside the range (log-Gaussian around 120 BPM, 1 octave). */
static double moderate_prior(double bpm) {
    double d = log2(bpm / 120.0);
    return exp(-0.5 * d * d);
}

/* Dynamic-programming beat tracker at period `L` frames. Returns the number of beats written to
 * beats (frame indices, ascending); `cap` is its capacity. */
static int64_t track_beats(const ctx *c, double L, double tightness, double *beats, int64_t cap) {
    int64_t n = c->f.frames;
    double *score = c->scratch;                 /* n */
    double *local = c->scratch + n;             /* n */
    int64_t *back = (int64_t *)(c->scratch + 2 * n);
    /* Local score: the onset function smoothed by a Gaussian of sd L/32. */
    double sd = L / 32.0;
    if (sd < 0.5) sd = 0.5;
    int r = (int)ceil(3 * sd);
    double wsum = 0, kern[64];
    if (r > 31) r = 31;
    for (int k = -r; k <= r; k++) { kern[k + r] = exp(-0.5 * (k / sd) * (k / sd)); wsum += kern[k + r]; }
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int k = -r; k <= r; k++) {
            int64_t j = i + k;
            if (j >= 0 && j < n) s += kern[k + r] * c->odf[j];
        }
        local[i] = s / wsum;
    }
    int lo = (int)floor(L * 0.5), hi = (int)ceil(L * 2.0);
    if (lo < 1) lo = 1;
    for (int64_t i = 0; i < n; i++) {
        double best = 0;
        int64_t arg = -1;
        for (int d = lo; d <= hi && d <= i; d++) {
            double lr = log((double)d / L);
            double v = score[i - d] - tightness * lr * lr;
            if (arg < 0 || v > best) { best = v; arg = i - d; }
        }
        if (arg >= 0 && best > 0) { score[i] = local[i] + best; back[i] = arg; }
        else { score[i] = local[i]; back[i] = -1; }
    }
    /* The last beat: the best score in the final period of the music. */
    int64_t end = c->m_end > 0 ? c->m_end : n;
    int64_t from = end - (int64_t)ceil(L);
    if (from < 0) from = 0;
    int64_t last = -1;
    double bestv = -1e300;
    for (int64_t i = from; i < end; i++) if (score[i] > bestv) { bestv = score[i]; last = i; }
    int64_t count = 0;
    for (int64_t i = last; i >= 0 && count < cap; i = back[i]) beats[count++] = (double)i;
    for (int64_t i = 0; i < count / 2; i++) { double t = beats[i]; beats[i] = beats[count - 1 - i]; beats[count - 1 - i] = t; }
    return count;
}

/* Strength of the beats between consecutive beats against that of the beats: how much the level twice
 * as fast is really there. */
static double between_ratio(const ctx *c, const double *beats, int64_t count) {
    if (count < 4) return 0;
    double on = 0, mid = 0;
    for (int64_t i = 0; i + 1 < count; i++) {
        on += max_near(c->odf, c->f.frames, beats[i], 1);
        mid += max_near(c->odf, c->f.frames, 0.5 * (beats[i] + beats[i + 1]), 1);
    }
    return on > 1e-9 ? mid / on : 0;
}

/* Strength at the thirds between consecutive beats (the weaker of the two) against that of the beats. */
static double thirds_ratio(const ctx *c, const double *beats, int64_t count) {
    if (count < 4) return 0;
    double on = 0, t1 = 0, t2 = 0;
    for (int64_t i = 0; i + 1 < count; i++) {
        double d = beats[i + 1] - beats[i];
        on += max_near(c->odf, c->f.frames, beats[i], 1);
        t1 += max_near(c->odf, c->f.frames, beats[i] + d / 3, 1);
        t2 += max_near(c->odf, c->f.frames, beats[i] + 2 * d / 3, 1);
    }
    return on > 1e-9 ? fmin(t1, t2) / on : 0;
}

/* Where in the beat the beat is: the tracker may have followed off-beat hats, a syncopated snare or, in
 * live drumming, the strongest drum a sixteenth away. Of the shifts by 0, 1/4, 1/2 and 3/4 of a beat, the
 * one whose positions score best wins if it beats staying put by a clear margin. The score: onsets in
 * all bands, plus the bass drum (half weight) and the snare/clap band, minus the hi-hat band (hats sit on
 * the off-beats). The weights put the beat, not the off-beat or a quarter shift, first on every song of
 * scripts/eval's set (house off-beat hats, moombahton's dembow, footwork, drum & bass). Returns the
 * fraction of a beat. */
static double best_shift(const ctx *c, const double *beats, int64_t nb) {
    if (nb < 8) return 0;
    double score[4] = {0};
    int64_t F = c->f.frames;
    for (int64_t i = 0; i + 1 < nb; i++) {
        double d = beats[i + 1] - beats[i];
        for (int q = 0; q < 4; q++) {
            double pos = beats[i] + 0.25 * q * d;
            score[q] += max_near(c->odf, F, pos, 1) + 0.5 * max_near(c->odf_low, F, pos, 1) +
                        max_near(c->odf_mid, F, pos, 1) - max_near(c->odf_high, F, pos, 1);
        }
    }
    int best = 0;
    for (int q = 1; q < 4; q++) if (score[q] > score[best]) best = q;
    return (best != 0 && score[best] - score[0] > 0.1 * (fabs(score[best]) + fabs(score[0]))) ? 0.25 * best : 0;
}

/* Choosing between a tempo and its double. The evidence for the faster level: how strong the beats between
 * the beats are (OCTAVE_*), and how evenly matched alternate beats are (BACKBEAT_*: a kick-snare
 * alternation on every beat is a half-time feel of a tempo twice as fast — halftime at 140, drum & bass
 * at 174). Weighed against the log-preference for each level: the range, and moderate tempi (130 BPM,
 * 0.35 octave). Tuned on scripts/eval's set (drum & bass at 174 not 87, halftime at 140 not 70, hip-hop
 * at 90 and reggae at 76 not double), with a margin of 0.5 on every decision; a 64 BPM ballad and an
 * 87 BPM downtempo track are read at 128 and 174. */
#define OCTAVE_EVIDENCE 4.0
#define OCTAVE_THRESHOLD 0.6
#define BACKBEAT_EVIDENCE 8.0
#define BACKBEAT_THRESHOLD 0.85
static double level_prior(const ctx *c, double bpm) {
    double d = log2(bpm / 130.0);
    return log(range_prior(c, bpm) + 1e-9) - 0.5 * d * d / (0.35 * 0.35);
}

/* Strength of the weaker of the two alternating beat sets against the stronger, and which is stronger. */
static double alternate_ratio(const ctx *c, const double *beats, int64_t count, int *stronger) {
    double s[2] = {0, 0};
    for (int64_t i = 0; i < count; i++) s[i & 1] += max_near(c->odf, c->f.frames, beats[i], 1);
    *stronger = s[1] > s[0];
    double a = s[*stronger], b = s[!*stronger];
    return a > 1e-9 ? b / a : 0;
}

/* Weighted least squares fit of t = a + b k with iterative trimming. Returns 0 if too few points. */
static int fit_line(const double *k, const double *t, const double *w, int64_t n, double trim, double *a,
                    double *b, double *resid_sd, unsigned char *use) {
    for (int64_t i = 0; i < n; i++) use[i] = w[i] > 0;
    for (int iter = 0; iter < 4; iter++) {
        double sw = 0, sk = 0, st = 0, skk = 0, skt = 0;
        for (int64_t i = 0; i < n; i++) {
            if (!use[i]) continue;
            sw += w[i]; sk += w[i] * k[i]; st += w[i] * t[i];
            skk += w[i] * k[i] * k[i]; skt += w[i] * k[i] * t[i];
        }
        double den = sw * skk - sk * sk;
        if (sw <= 0 || fabs(den) < 1e-12) return 0;
        *b = (sw * skt - sk * st) / den;
        *a = (st - *b * sk) / sw;
        double r2 = 0, rw = 0;
        for (int64_t i = 0; i < n; i++) {
            if (!use[i]) continue;
            double r = t[i] - (*a + *b * k[i]);
            r2 += w[i] * r * r; rw += w[i];
        }
        *resid_sd = sqrt(r2 / rw);
        double lim = fmax(trim, 2.5 * *resid_sd);
        int changed = 0;
        for (int64_t i = 0; i < n; i++) {
            if (w[i] <= 0) continue;
            unsigned char u = fabs(t[i] - (*a + *b * k[i])) <= lim;
            if (u != use[i]) { use[i] = u; changed = 1; }
        }
        if (!changed) break;
    }
    return 1;
}

/* The attack nearest `t` seconds, within ±`radius` s: the largest rise of the pre-emphasised signal's
 * energy in 1 ms blocks (2 ms apart). Returns its time; *strength is the rise in dB (0 if none). */
static double find_attack(const ctx *c, double t, double radius, double *strength) {
    const int blk = (int)(c->sr / 1000);
    int64_t from = (int64_t)((t - radius) * c->sr) - 3 * blk, to = (int64_t)((t + radius) * c->sr) + blk;
    if (from < 1) from = 1;
    if (to > c->n) to = c->n;
    *strength = 0;
    int nb = (int)((to - from) / blk);
    if (nb < 4) return t;
    double e[512];
    if (nb > 512) nb = 512;
    for (int j = 0; j < nb; j++) {
        double s = 0;
        const float *p = c->x + from + (int64_t)j * blk;
        for (int q = 0; q < blk; q++) { double d = p[q] - p[q - 1]; s += d * d; }
        e[j] = 10.0 * log10(s / blk + 1e-14);
    }
    double best = 0;
    int arg = -1;
    for (int j = 3; j < nb; j++) {
        double bt = (from + (double)j * blk) / c->sr;
        if (fabs(bt - t) > radius) continue;
        double before = fmax(e[j - 2], e[j - 3]);
        double rise = e[j] - before;
        if (rise > best) { best = rise; arg = j; }
    }
    if (arg < 0) return t;
    *strength = best;
    /* The attack starts in block `arg`; within it, the first sample whose pre-emphasised energy exceeds
     * a quarter of the block's peak. */
    const float *p = c->x + from + (int64_t)arg * blk;
    double pk = 0;
    for (int q = 0; q < blk; q++) { double d = fabs(p[q] - p[q - 1]); if (d > pk) pk = d; }
    int first = 0;
    for (int q = 0; q < blk; q++) if (fabs(p[q] - p[q - 1]) >= 0.25 * pk) { first = q; break; }
    return (from + (double)arg * blk + first) / c->sr;
}

/* Onset peaks of the onset function with the bass band added (the kick weighs double), over the music:
 * local maxima above 0.5, at parabolically interpolated sub-frame positions. Returns the count. */
typedef struct peak { double pos, w; } peak;

static int64_t onset_peaks(const ctx *c, peak *out, int64_t cap) {
    int64_t n = 0;
    const double *o = c->odf, *l = c->odf_low;
    for (int64_t i = c->m_start + 1; i + 1 < c->m_end && n < cap; i++) {
        double v = o[i] + l[i], vp = o[i - 1] + l[i - 1], vn = o[i + 1] + l[i + 1];
        if (v < 0.5 || v < vp || v <= vn) continue;
        double den = vp - 2 * v + vn, d = den < 0 ? 0.5 * (vp - vn) / den : 0;
        out[n].pos = (double)i + d;
        out[n].w = v;
        n++;
    }
    return n;
}

#define COMB_BINS 48

/* Best bin of a circular histogram smoothed by [1 2 1]; returns its value. */
static double hist_peak(const double *h, int *arg) {
    double best = -1;
    for (int j = 0; j < COMB_BINS; j++) {
        double v = h[(j + COMB_BINS - 1) % COMB_BINS] + 2 * h[j] + h[(j + 1) % COMB_BINS];
        if (v > best) { best = v; *arg = j; }
    }
    return best;
}

/* The straight grid (period P and phase phi, in frames) that puts the most onset weight on its beats:
 * the period searched within ±1.2 % of P0, in steps that move the last beat of the track by one phase
 * bin, the phase by a histogram of the peaks' positions modulo the period. Then a weighted line fit to
 * the peaks next to the grid's beats. Returns 0 when there are too few peaks. */
static int comb_fit(const ctx *c, const peak *pk, int64_t np, double P0, double *P, double *phi) {
    if (np < 8) return 0;
    double origin = (double)c->m_start;
    double K = (double)(c->m_end - c->m_start) / P0;
    if (K < 4) return 0;
    double dP = P0 / (COMB_BINS * K);
    int steps = (int)ceil(0.012 * P0 / dP);
    double bestv = -1, bestP = P0;
    int bestbin = 0;
    for (int s = -steps; s <= steps; s++) {
        double Pc = P0 + s * dP, h[COMB_BINS] = {0};
        for (int64_t i = 0; i < np; i++) {
            double ph = fmod(pk[i].pos - origin, Pc) / Pc * COMB_BINS;
            int j = (int)ph;
            if (j >= COMB_BINS) j = COMB_BINS - 1;
            h[j] += pk[i].w;
        }
        int arg = 0;
        double v = hist_peak(h, &arg);
        if (v > bestv) { bestv = v; bestP = Pc; bestbin = arg; }
    }
    double ph0 = origin + (bestbin + 0.5) / COMB_BINS * bestP;
    /* Refine: weighted least squares over the peaks within an eighth of a beat of the grid. */
    double sw = 0, sk = 0, st = 0, skk = 0, skt = 0;
    for (int64_t i = 0; i < np; i++) {
        double kk = round((pk[i].pos - ph0) / bestP);
        double r = pk[i].pos - (ph0 + kk * bestP);
        if (fabs(r) > bestP / 8) continue;
        double w = pk[i].w;
        sw += w; sk += w * kk; st += w * pk[i].pos; skk += w * kk * kk; skt += w * kk * pk[i].pos;
    }
    double den = sw * skk - sk * sk;
    *P = bestP;
    *phi = ph0;
    if (sw > 0 && fabs(den) > 1e-9) {
        double b = (sw * skt - sk * st) / den, a = (st - b * sk) / sw;
        if (fabs(b - bestP) < 0.002 * bestP && fabs(a - ph0) < bestP / 8) { *P = b; *phi = a; }
    }
    return 1;
}

/* Whether the straight grid holds along the track: in windows of 16 beats, the local best phase (a
 * histogram of the peaks around the grid) must sit within 25 ms of the grid or of its off-beat (an intro of
 * off-beat hats is still on the grid). Returns the weighted fraction of windows that agree. */
static double grid_consistency(const ctx *c, const peak *pk, int64_t np, double P, double phi) {
    double agree = 0, total = 0, tol = 0.025 * c->f.fps;
    double h[COMB_BINS] = {0}, wsum = 0;
    int64_t window = -1;
    for (int64_t i = 0; i <= np; i++) {
        int64_t wi = i < np ? (int64_t)floor((pk[i].pos - phi) / (16 * P)) : window + 1;
        if (wi != window) {
            if (window >= 0 && wsum > 0) {
                int arg = 0;
                hist_peak(h, &arg);
                double off = (arg + 0.5) / COMB_BINS * P;          /* 0..P */
                if (off > P / 2) off -= P;                           /* -P/2..P/2 */
                double dev = fmin(fabs(off), fabs(P / 2 - fabs(off)));
                total += wsum;
                if (dev < tol + P / COMB_BINS) agree += wsum;
            }
            memset(h, 0, sizeof h);
            wsum = 0;
            window = wi;
        }
        if (i == np) break;
        double ph = fmod(pk[i].pos - phi, P);
        if (ph < 0) ph += P;
        int j = (int)(ph / P * COMB_BINS);
        if (j >= COMB_BINS) j = COMB_BINS - 1;
        h[j] += pk[i].w;
        wsum += pk[i].w;
    }
    return total > 0 ? agree / total : 0;
}

/* Refines a straight grid t = a + b k (seconds) with the attacks found near each of its beats k0..k1,
 * weighted by their strength (outliers trimmed). Returns the trimmed residual sd of the attacks (seconds),
 * or -1 when there were too few attacks (the grid is then kept as it was). */
static double refine_grid(const ctx *c, double *a, double *b, int64_t k0, int64_t k1) {
    int64_t nk = k1 - k0 + 1;
    if (nk < 8) return -1;
    double *k = malloc(sizeof(double) * nk), *t = malloc(sizeof(double) * nk), *w = malloc(sizeof(double) * nk);
    unsigned char *use = malloc((size_t)nk);
    double result = -1;
    if (!k || !t || !w || !use) goto done;
    double radius = fmin(0.04, 0.2 * *b);
    for (int64_t i = 0; i < nk; i++) {
        double s;
        k[i] = (double)(k0 + i);
        t[i] = find_attack(c, *a + *b * k[i], radius, &s);
        w[i] = s > 6.0 ? s : 0;
    }
    double a2, b2, sd2;
    /* Accepted only near the onset grid (within 15 ms along the whole span): where the attacks are
     * masked (a loud noise bed, a soft kick) they must not pull the grid off its onsets. */
    if (fit_line(k, t, w, nk, 0.012, &a2, &b2, &sd2, use) && fabs(b2 - *b) < 0.002 * *b &&
        fabs(a2 + b2 * k0 - (*a + *b * k0)) < 0.015 && fabs(a2 + b2 * k1 - (*a + *b * k1)) < 0.015) {
        *a = a2; *b = b2;
        result = sd2;
    }
done:
    free(k); free(t); free(w); free(use);
    return result;
}

/* ---------------------------------------------------------------------------------------------------
 * Downbeats, meter, arrangement and confidence, from the final beats (seconds).
 */
static void zscore(double *v, int64_t n) {
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) { s += v[i]; s2 += v[i] * v[i]; }
    double m = s / (double)n, sd = sqrt(fmax(s2 / (double)n - m * m, 0));
    for (int64_t i = 0; i < n; i++) v[i] = sd > 1e-9 ? (v[i] - m) / sd : 0;
}

/* Mean of a per-frame array over the frames of [t0, t1) seconds. */
static double mean_over(const ctx *c, const float *v, double t0, double t1) {
    int64_t a = (int64_t)floor(t0 * c->f.fps), b = (int64_t)ceil(t1 * c->f.fps);
    if (a < 0) a = 0;
    if (b > c->f.frames) b = c->f.frames;
    if (b <= a) return v[a < c->f.frames ? a : c->f.frames - 1];
    double s = 0;
    for (int64_t i = a; i < b; i++) s += v[i];
    return s / (double)(b - a);
}

/* Picks beats per bar (3 or 4) and the bar phase. Returns the phase (index of the first downbeat). */
static int64_t find_downbeats(const ctx *c, const double *beats, int64_t nb, int *bpb) {
    *bpb = 4;
    if (nb < 8) return 0;
    double *D = calloc((size_t)nb * 6, sizeof(double));
    double *chroma = calloc((size_t)nb * 12, sizeof(double));
    if (!D || !chroma) { free(D); free(chroma); return 0; }
    double *nov = D, *low = D + nb, *mid = D + 2 * nb, *enov = D + 3 * nb, *energy = D + 4 * nb, *tot = D + 5 * nb;
    double period = (beats[nb - 1] - beats[0]) / (double)(nb - 1);
    for (int64_t k = 0; k < nb; k++) {
        double t0 = beats[k], t1 = k + 1 < nb ? beats[k + 1] : beats[k] + period;
        double fb = t0 * c->f.fps;
        low[k] = max_near(c->odf_low, c->f.frames, fb, 2);
        mid[k] = max_near(c->odf_mid, c->f.frames, fb, 2);
        energy[k] = mean_over(c, c->f.energy_db, t0, t1);
        int64_t a = (int64_t)floor(t0 * c->f.fps / c->f.chroma_step), b = (int64_t)ceil(t1 * c->f.fps / c->f.chroma_step);
        if (a < 0) a = 0;
        if (b > c->f.chroma_frames) b = c->f.chroma_frames;
        double *ch = chroma + k * 12, norm = 0;
        for (int64_t j = a; j < b; j++)
            for (int q = 0; q < 12; q++) ch[q] += c->f.chroma[j * 12 + q];
        for (int q = 0; q < 12; q++) norm += ch[q] * ch[q];
        norm = sqrt(norm);
        if (norm > 0) for (int q = 0; q < 12; q++) ch[q] /= norm;
    }
    for (int64_t k = 0; k < nb; k++) {
        double before[12] = {0}, after[12] = {0}, nb2 = 0, na2 = 0, dot = 0;
        for (int64_t j = k - 2; j < k; j++) if (j >= 0) for (int q = 0; q < 12; q++) before[q] += chroma[j * 12 + q];
        for (int64_t j = k; j < k + 2; j++) if (j < nb) for (int q = 0; q < 12; q++) after[q] += chroma[j * 12 + q];
        for (int q = 0; q < 12; q++) { nb2 += before[q] * before[q]; na2 += after[q] * after[q]; dot += before[q] * after[q]; }
        nov[k] = (nb2 > 0 && na2 > 0) ? 1.0 - dot / sqrt(nb2 * na2) : 0;
        double eb = 0, ea = 0;
        int cb = 0, ca = 0;
        for (int64_t j = k - 4; j < k; j++) if (j >= 0) { eb += energy[j]; cb++; }
        for (int64_t j = k; j < k + 4; j++) if (j < nb) { ea += energy[j]; ca++; }
        enov[k] = (cb && ca) ? fmax(0, ea / ca - eb / cb) : 0;
    }
    zscore(nov, nb); zscore(low, nb); zscore(mid, nb); zscore(enov, nb);
    for (int64_t k = 0; k < nb; k++) tot[k] = 1.0 * nov[k] + 0.5 * low[k] - 0.3 * mid[k] + 0.5 * enov[k];
    double best[5] = {0}, contrast[5] = {0};
    int64_t phase[5] = {0};
    for (int M = 3; M <= 4; M++) {
        double sum[4] = {0}, cnt[4] = {0}, all = 0;
        for (int64_t k = 0; k < nb; k++) { sum[k % M] += tot[k]; cnt[k % M] += 1; }
        best[M] = -1e300;
        for (int p = 0; p < M; p++) {
            double m = cnt[p] > 0 ? sum[p] / cnt[p] : 0;
            all += m;
            if (m > best[M]) { best[M] = m; phase[M] = p; }
        }
        contrast[M] = best[M] - (all - best[M]) / (M - 1);
    }
    free(D); free(chroma);
    *bpb = contrast[3] > 1.3 * contrast[4] ? 3 : 4;
    return phase[*bpb];
}

/* The value at quantile q of v[0..n) (v is left sorted). */
static double quantile(double *v, int64_t n, double q) {
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return v[(int64_t)(q * (double)(n - 1))];
}

/* Where the full arrangement starts and ends: the first and last runs of at least two bars that are
 * within 3 dB of the track's loud level (its 75th percentile) and within 6 dB of its usual bass level,
 * snapped to 8-bar phrases when within a bar of one. */
static void find_arrangement(const ctx *c, const double *beats, int64_t nb, int64_t first, int bpb,
                             int64_t *intro_end, int64_t *outro_start) {
    *intro_end = *outro_start = -1;
    int64_t bars = (nb - first) / bpb;
    if (bars < 8) return;
    double *e = malloc(sizeof(double) * (size_t)bars * 3);
    if (!e) return;
    double *lo = e + bars, *tmp = e + 2 * bars;
    double period = (beats[nb - 1] - beats[0]) / (double)(nb - 1);
    for (int64_t b = 0; b < bars; b++) {
        int64_t k = first + b * bpb;
        double t0 = beats[k], t1 = k + bpb < nb ? beats[k + bpb] : beats[k] + bpb * period;
        e[b] = mean_over(c, c->f.energy_db, t0, t1);
        lo[b] = mean_over(c, c->f.low_db, t0, t1);
    }
    memcpy(tmp, e, sizeof(double) * (size_t)bars);
    double ref = quantile(tmp, bars, 0.75);
    memcpy(tmp, lo, sizeof(double) * (size_t)bars);
    double ref_lo = quantile(tmp, bars, 0.75);
    int64_t start = -1, end = -1;
    for (int64_t b = 0; b + 1 < bars; b++) {
        int full = e[b] >= ref - 3 && lo[b] >= ref_lo - 6 && e[b + 1] >= ref - 3 && lo[b + 1] >= ref_lo - 6;
        if (full) { if (start < 0) start = b; end = b + 2; }
    }
    free(e);
    if (start < 0) return;
    int64_t s8 = (int64_t)llround(start / 8.0) * 8, e8 = (int64_t)llround(end / 8.0) * 8;
    if (llabs(s8 - start) <= 1) start = s8;
    if (llabs(e8 - end) <= 1 && e8 <= bars) end = e8;
    *intro_end = first + start * bpb;
    *outro_start = first + end * bpb < nb ? first + end * bpb : nb - 1;
}

/* Grid confidence: how much stronger the onsets are on the beats than between them, times how
 * regular the tracked beats were. */
static double grid_confidence(const ctx *c, const double *beats, int64_t nb, double regularity) {
    if (nb < 4) return 0;
    double on = 0, off = 0;
    int64_t cnt = 0;
    static const double offsets[] = {0.25, 0.375, 0.625, 0.75};
    for (int64_t k = 0; k + 1 < nb; k++) {
        double f0 = beats[k] * c->f.fps, f1 = beats[k + 1] * c->f.fps;
        on += max_near(c->odf, c->f.frames, f0, 3);
        for (int j = 0; j < 4; j++) off += 0.25 * max_near(c->odf, c->f.frames, f0 + offsets[j] * (f1 - f0), 3);
        cnt++;
    }
    if (on <= 1e-9) return 0;
    double contrast = (on - off) / (on + off);   /* 0 for no relation, -> 1 when only beats have onsets */
    double conf = contrast / 0.5;
    if (conf > 1) conf = 1;
    if (conf < 0) conf = 0;
    return conf * regularity;
}

/* The tempo and its relatives with the confidence that each is the beat: the chosen one by the margin of
 * the octave decision, the others by their salience; all scaled by the grid confidence. */
#define NO_PULSE_CONFIDENCE 0.15
static void fill_candidates(const ctx *c, const double *acf, int biglag, double bpm, double margin,
                            cdsp_rhythm_result *out) {
    static const double rel[CDSP_RHYTHM_MAX_CANDIDATES] = {1.0, 0.5, 2.0, 2.0 / 3.0, 1.5};
    double raw[CDSP_RHYTHM_MAX_CANDIDATES], rest = 0;
    for (int i = 0; i < CDSP_RHYTHM_MAX_CANDIDATES; i++) {
        double b = bpm * rel[i], L = lag_of_bpm(c, b);
        double s = interp(acf, biglag + 1, L) + 0.5 * interp(acf, biglag + 1, 2 * L) +
                   0.25 * interp(acf, biglag + 1, 4 * L);
        raw[i] = (b >= TEMPO_LO && b <= TEMPO_HI) ? fmax(s, 0) * range_prior(c, b) : 0;
        if (i > 0) rest += raw[i];
    }
    double p0 = 1.0 / (1.0 + exp(-margin));
    double conf = out->confidence;
    int n = 0;
    for (int i = 0; i < CDSP_RHYTHM_MAX_CANDIDATES; i++) {
        double p = i == 0 ? p0 : (rest > 0 ? (1 - p0) * raw[i] / rest : 0);
        if (i > 0 && p * conf < 0.005) continue;
        out->candidates[n].bpm = round(bpm * rel[i] * 100.0) / 100.0;
        out->candidates[n].confidence = p * conf;
        n++;
    }
    /* Best first (the chosen one stays first even when a relative has a larger share). */
    for (int i = 2; i < n; i++)
        for (int j = i; j > 1 && out->candidates[j].confidence > out->candidates[j - 1].confidence; j--) {
            cdsp_tempo_candidate t = out->candidates[j]; out->candidates[j] = out->candidates[j - 1]; out->candidates[j - 1] = t;
        }
    out->candidate_count = n;
}

cdsp_status cdsp_rhythm_analyze(const float *mono, int64_t n, uint32_t sample_rate,
                                const cdsp_rhythm_config *config, cdsp_rhythm_result *out,
                                cdsp_progress_fn progress, void *pctx) {
    if (!out) return CDSP_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    out->first_downbeat = out->intro_end = out->outro_start = -1;
    if ((!mono && n > 0) || n < 0 || sample_rate < 8000 || sample_rate > 384000) return CDSP_ERR_INVALID_ARGUMENT;
    cdsp_rhythm_config cfg = config ? *config : cdsp_rhythm_config_default();
    if (!(cfg.min_bpm >= 30 && cfg.max_bpm <= 300 && cfg.max_bpm >= 1.5 * cfg.min_bpm))
        return CDSP_ERR_INVALID_ARGUMENT;

    ctx c;
    memset(&c, 0, sizeof c);
    c.x = mono; c.n = n; c.sr = sample_rate; c.cfg = cfg;
    cdsp_status st = compute_features(mono, n, sample_rate, &c.f, progress, pctx);
    if (st != CDSP_OK) return st;
    st = CDSP_ERR_NO_MEMORY;
    int64_t F = c.f.frames;
    double *beats = NULL, *beats2 = NULL, *acf = NULL;
    peak *peaks = NULL;
    c.odf = calloc((size_t)F, sizeof(double));
    c.odf_low = calloc((size_t)F, sizeof(double));
    c.odf_mid = calloc((size_t)F, sizeof(double));
    c.odf_high = calloc((size_t)F, sizeof(double));
    c.scratch = malloc(sizeof(double) * (size_t)(3 * F + 4096));
    beats = malloc(sizeof(double) * (size_t)(F / 4 + 16));
    beats2 = malloc(sizeof(double) * (size_t)(F / 4 + 16));
    int maxlag = (int)ceil(lag_of_bpm(&c, TEMPO_LO) * 1.0) + 2;
    acf = calloc((size_t)(4 * maxlag + 8), sizeof(double));
    peaks = malloc(sizeof(peak) * (size_t)(F / 2 + 1));
    if (!c.odf || !c.odf_low || !c.odf_mid || !c.odf_high || !c.scratch || !beats || !beats2 || !acf || !peaks) goto fail;

    find_music(&c);
    out->music_start = frames_to_s(&c, (double)c.m_start);
    out->music_end = frames_to_s(&c, (double)c.m_end);
    int w = (int)(0.1 * c.f.fps);
    normalise_odf(c.f.flux, c.odf, F, w, c.m_start, c.m_end);
    normalise_odf(c.f.low, c.odf_low, F, w, c.m_start, c.m_end);
    normalise_odf(c.f.mid, c.odf_mid, F, w, c.m_start, c.m_end);
    normalise_odf(c.f.high, c.odf_high, F, w, c.m_start, c.m_end);

    /* Too little music for a tempo: fewer than ~6 beats at the slowest tempo we look for. */
    if (frames_to_s(&c, (double)(c.m_end - c.m_start)) < 4.0) { st = CDSP_OK; goto done; }

    /* Tempo salience, harmonics enhanced: E(L) = A(L) + A(2L)/2 + A(4L)/4 ... over 40-260 BPM. */
    int biglag = 4 * maxlag;
    int64_t span = c.m_end - c.m_start;
    if (biglag >= span) biglag = (int)span - 1;
    windowed_acf(&c, acf, biglag);
    double best_bpm = 0, best_sal = -1;
    for (double bpm = TEMPO_LO; bpm <= TEMPO_HI; bpm *= 1.005) {
        double L = lag_of_bpm(&c, bpm);
        double s = interp(acf, biglag + 1, L) + 0.5 * interp(acf, biglag + 1, 2 * L) +
                   0.25 * interp(acf, biglag + 1, 4 * L);
        double v = s * range_prior(&c, bpm) * moderate_prior(bpm);
        if (v > best_sal) { best_sal = v; best_bpm = bpm; }
    }
    if (best_bpm <= 0 || best_sal <= 1e-6) { st = CDSP_OK; goto done; }
    /* Refine the lag to the ACF peak near it. */
    {
        double L = lag_of_bpm(&c, best_bpm), bestv = -1, bestL = L;
        for (double l = L * 0.985; l <= L * 1.015; l += 0.05) {
            double v = interp(acf, biglag + 1, l) + 0.5 * interp(acf, biglag + 1, 2 * l) +
                       0.25 * interp(acf, biglag + 1, 4 * l);
            if (v > bestv) { bestv = v; bestL = l; }
        }
        best_bpm = bpm_of_lag(&c, bestL);
    }
    if (progress) progress(pctx, 0.85);

    /* Beats at that tempo, then the metrical level. */
    int64_t cap = F / 4 + 16;
    int64_t nb = track_beats(&c, lag_of_bpm(&c, best_bpm), 100.0, beats, cap);
    double bpm = best_bpm, margin = 0;
    {
        /* A ternary grouping of a binary pulse (118 found for a 178 drum & bass: dotted quarters) shows
         * as empty midpoints and full thirds: the pulse is then 3/2 of it. */
        double up = between_ratio(&c, beats, nb);
        double thirds = thirds_ratio(&c, beats, nb);
        if (up < 0.25 && thirds > 0.4 && thirds > 2.0 * up && 1.5 * bpm <= TEMPO_HI) {
            bpm *= 1.5;
            nb = track_beats(&c, lag_of_bpm(&c, bpm), 100.0, beats, cap);
        }
    }
    {
        double base = bpm;
        double up = between_ratio(&c, beats, nb);          /* is the level twice as fast there? */
        int stronger = 0;
        double down = alternate_ratio(&c, beats, nb, &stronger); /* are alternate beats as strong? */
        /* Log-odds of the faster level against this one, and of this one against the slower: the evidence
         * (how strong the in-between beats are) against the preference for moderate tempi in the range. */
        double fast = 2 * bpm, slow = 0.5 * bpm;
        double lo_fast = OCTAVE_EVIDENCE * (up - OCTAVE_THRESHOLD) + BACKBEAT_EVIDENCE * (down - BACKBEAT_THRESHOLD) +
                         level_prior(&c, fast) - level_prior(&c, bpm);
        double lo_slow = OCTAVE_EVIDENCE * (OCTAVE_THRESHOLD - down) + level_prior(&c, slow) - level_prior(&c, bpm);
        if (lo_fast > 0 && lo_fast >= lo_slow) {
            bpm = fast;
            margin = lo_fast - fmax(0, lo_slow);
        } else if (lo_slow > 0) {
            bpm = slow;
            margin = lo_slow - fmax(0, lo_fast);
        } else {
            margin = -fmax(lo_fast, lo_slow);
        }
        if (bpm != base) nb = track_beats(&c, lag_of_bpm(&c, bpm), 100.0, beats, cap);
    }
    if (nb < 4) { st = CDSP_OK; goto done; }

    /* Steady or not: the straight grid that best fits the onsets must hold along the whole track. */
    double period = 0, phase = 0, sd = -1, consistency = 0;
    int steady = 0;
    {
        int64_t np = onset_peaks(&c, peaks, F / 2 + 1);
        double P0 = (beats[nb - 1] - beats[0]) / (double)(nb - 1), P, phi;
        if (comb_fit(&c, peaks, np, P0, &P, &phi)) {
            /* The comb's phase, checked against the bass drum on a grid of its beats. */
            int64_t g = 0;
            for (double f = phi - floor((phi - (double)c.m_start) / P) * P; f < (double)c.m_end && g < cap; f += P)
                beats2[g++] = f;
            phi += best_shift(&c, beats2, g) * P;
            consistency = grid_consistency(&c, peaks, np, P, phi);
            steady = consistency >= 0.85;
            period = P / c.f.fps;
            phase = phi / c.f.fps;
        }
    }
    int64_t count = 0;
    if (steady) {
        /* Over the span of the music (see find_music), and to the last clear onset. */
        int64_t on1 = c.m_end - 1;
        while (on1 > c.m_start && c.odf[on1] < 1.0) on1--;
        double t0 = frames_to_s(&c, (double)c.beat_from) - 0.3 * period;
        double t1 = fmax(frames_to_s(&c, (double)c.beat_to), frames_to_s(&c, (double)on1)) + 0.3 * period;
        int64_t k0 = (int64_t)ceil((t0 - phase) / period), k1 = (int64_t)floor((t1 - phase) / period);
        sd = refine_grid(&c, &phase, &period, k0, k1);
        k0 = (int64_t)ceil((t0 - phase) / period);
        k1 = (int64_t)floor((t1 - phase) / period);
        if (k0 * period + phase < 0) k0 = (int64_t)ceil(-phase / period);
        for (int64_t k = k0; k <= k1 && count < cap; k++) beats2[count++] = phase + period * (double)k;
        bpm = 60.0 / period;
    } else {
        double f = best_shift(&c, beats, nb);
        if (f > 0) {
            for (int64_t i = 0; i + 1 < nb; i++) beats[i] += f * (beats[i + 1] - beats[i]);
            nb--;
        }
        for (int64_t i = 0; i < nb; i++) {
            double s, t = frames_to_s(&c, beats[i]);
            double a = find_attack(&c, t, 0.02, &s);
            beats2[count++] = s > 6.0 ? a : t;
        }
        if (count > 1) bpm = 60.0 * (count - 1) / (beats2[count - 1] - beats2[0]);
    }
    out->steady = steady;
    out->bpm = round(bpm * 100.0) / 100.0;
    out->beat_count = count;
    out->beats = malloc(sizeof(double) * (size_t)(count > 0 ? count : 1));
    if (!out->beats) goto fail;
    memcpy(out->beats, beats2, sizeof(double) * (size_t)count);
    if (count >= 4) {
        int bpb = 4;
        int64_t first = find_downbeats(&c, beats2, count, &bpb);
        out->beats_per_bar = bpb;
        out->first_downbeat = first;
        out->downbeats = malloc(sizeof(double) * (size_t)(count / bpb + 2));
        if (!out->downbeats) goto fail;
        for (int64_t k = first; k < count; k += bpb) out->downbeats[out->downbeat_count++] = beats2[k];
        find_arrangement(&c, beats2, count, first, bpb, &out->intro_end, &out->outro_start);
        /* Regularity: of the attacks about the straight grid, or of the tracked beats' intervals. */
        double regularity;
        if (steady) {
            regularity = sd >= 0 ? exp(-0.5 * (sd / 0.015) * (sd / 0.015)) : 0.8;
        } else {
            double m = 0, v = 0;
            for (int64_t i = 0; i + 1 < count; i++) m += beats2[i + 1] - beats2[i];
            m /= (double)(count - 1);
            for (int64_t i = 0; i + 1 < count; i++) { double d = beats2[i + 1] - beats2[i] - m; v += d * d; }
            double cv = sqrt(v / (double)(count - 1)) / m;
            regularity = 0.9 * exp(-0.5 * (cv / 0.06) * (cv / 0.06));
        }
        /* Periodicity of the onsets at the beat period, against none at all (noise, clicks at random). */
        double L = lag_of_bpm(&c, bpm), pulse = 0;
        for (double l = 0.97 * L; l <= 1.03 * L; l += 0.25)
            pulse = fmax(pulse, fmax(interp(acf, biglag + 1, l), interp(acf, biglag + 1, 2 * l)));
        double periodic = fmin(1, fmax(0, (pulse - 0.05) / 0.15));
        out->confidence = grid_confidence(&c, beats2, count, regularity) * periodic;
    }
    fill_candidates(&c, acf, biglag, bpm, margin, out);
    if (out->confidence < NO_PULSE_CONFIDENCE) {
        /* No steady pulse: say so rather than draw a grid nobody should trust. */
        free(out->beats); free(out->downbeats);
        out->beats = out->downbeats = NULL;
        out->beat_count = out->downbeat_count = 0;
        out->bpm = 0; out->beats_per_bar = 0; out->steady = 0;
        out->first_downbeat = out->intro_end = out->outro_start = -1;
    }
    st = CDSP_OK;
done:
    if (progress) progress(pctx, 1.0);
fail:
    features_free(&c.f);
    free(c.odf); free(c.odf_low); free(c.odf_mid); free(c.odf_high); free(c.scratch);
    free(beats); free(beats2); free(acf); free(peaks);
    if (st != CDSP_OK) cdsp_rhythm_result_free(out);
    return st;
}

void cdsp_rhythm_result_free(cdsp_rhythm_result *r) {
    if (!r) return;
    free(r->beats);
    free(r->downbeats);
    memset(r, 0, sizeof *r);
    r->first_downbeat = r->intro_end = r->outro_start = -1;
}
