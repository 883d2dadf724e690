/*
 * key.c — the musical key of a whole track (see key.h).
 *
 * Published work this follows (ideas only; the code is our own):
 *  - E. Gómez, "Tonal description of music audio signals", PhD thesis, UPF 2006: the harmonic pitch class
 *    profile (HPCP) from spectral peaks, a cos² kernel around each pitch class, tuning estimated from the
 *    peak deviations, and each peak also counted, weaker, as a possible harmonic of lower fundamentals.
 *  - C. L. Krumhansl, "Cognitive foundations of musical pitch", 1990 (Krumhansl & Kessler 1982): the key is
 *    the rotation of a major or minor key profile that correlates best with the track's chroma.
 *  - Á. Faraldo, E. Gómez, S. Jordà, P. Herrera, "Key estimation in electronic dance music", ECIR 2016, and
 *    Faraldo's PhD thesis (UPF 2017): the "edma" key profiles used here, spectral whitening before peak
 *    picking.
 *  - A. Klapuri, "Multiple fundamental frequency estimation by summing harmonic amplitudes", ISMIR 2006:
 *    the idea of explaining a partial by a lower fundamental; here a simple harmonic sieve that weakens
 *    peaks lying on a harmonic of a lower, louder-enough peak.
 * Profiles tried on our tuning material (96 + 48 rendered MIDI songs in 9 styles, 4 synthetic EDM
 * fixtures, also with added noise): edma (kept), Shaath, Krumhansl-Kessler, Temperley 1999/2005, Gómez,
 * Faraldo's bgate/braw. A separate bass chroma was tried and did not help.
 *
 * Pipeline:
 *  1. Low-pass (windowed sinc) and decimate by D = floor(rate / 10 kHz) to fa = 10..20 kHz; everything
 *     below uses the 50 Hz - 3.5 kHz band only. Decimation is done on the fly, frame by frame.
 *  2. Frames of N = 2^k >= 0.37 s (4096 at 11025 Hz), hop 0.1 s, Hann window, FFT.
 *  3. Spectral peaks (local maxima, parabolic interpolation on log magnitude). A peak is tonal when its
 *     amplitude is more than THR times the mean magnitude around it (+-10 % of its frequency, at least
 *     +-4 bins, its own main lobe excluded): that whitens the spectrum and drops noise and most drums.
 *     Every tonal peak counts 1 (the extreme of loudness compression: mix balance does not matter, and a
 *     frame weighs as much as it has tonal peaks); a peak at an integer multiple (2..10) of a lower peak
 *     that is not much quieter counts HS_GAIN only (it is most likely a harmonic, not a note).
 *  4. Each peak adds to a fine chroma (10 bins per semitone) at its pitch and, with weight 0.6^(h-1), at
 *     the pitches of f/h, h = 2..5 (HPCP harmonic weighting, which the edma profiles were made with), and
 *     to a circular mean of its deviation from the 440 Hz semitone grid (80 Hz - 2 kHz): the tuning.
 *  5. The fine chroma is folded to 12 pitch classes around the tuned grid (cos² kernel, +-0.5 semitone)
 *     and correlated (Pearson) with the 24 rotations of the edma profiles; the best is the key.
 *  6. Confidence = tonalness x clarity x mode clarity: tonalness from the number of strong peaks
 *     (> 10x their surroundings) per active frame, clarity from the margin of the best key over the best
 *     key unrelated to it (not its relative, parallel or fifth neighbours), mode clarity from the margin
 *     over its parallel key. No strong peaks at all (silence, noise) gives key -1, confidence 0.
 */
#include "cdsp/key.h"
#include "cdsp/fft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define FINE 10                    /* fine chroma bins per semitone */
#define NFINE (12 * FINE)
#define FMIN 50.0                  /* analysed band, Hz */
#define FMAX 3500.0
#define PASS_HZ 4000.0             /* decimation filter: pass band edge */
#define WIN_S 0.37                 /* frame length (rounded up to a power of two), s */
#define HOP_S 0.1                  /* hop, s */
#define ENV_RATIO 0.1              /* whitening neighbourhood: +-10 % of the peak frequency ... */
#define ENV_MIN_BINS 4             /* ... and at least +-4 bins */
#define ENV_EXCL 2                 /* the peak's own main lobe (+-2 bins) is left out of its neighbourhood */
#define THR 3.0                    /* a tonal peak stands THR times above its neighbourhood */
#define STRONG 10.0                /* a strong peak stands 10 times above it */
#define HS_MAX 10                  /* harmonic sieve: harmonics 2..HS_MAX of a lower peak ... */
#define HS_TOL 0.3                 /* ... within 0.3 semitone ... */
#define HS_REL 0.3                 /* ... whose amplitude is at least 0.3 of this one ... */
#define HS_GAIN 0.2                /* ... make this peak count 0.2 */
#define HARMONICS 5                /* HPCP harmonic weighting: f/1 .. f/5 ... */
#define HARM_DECAY 0.6             /* ... weighted 0.6^(h-1) ... */
#define HARM_FMIN 25.0             /* ... while f/h >= 25 Hz */
#define TUNE_FMIN 80.0             /* tuning from peaks in 80 Hz .. 2 kHz */
#define TUNE_FMAX 2000.0
#define KERNEL_HALF 0.5            /* fold kernel half width, semitones */
#define GATE_DB 40.0               /* frames 40 dB below the track's mean power are skipped */
#define FLOOR_DBFS (-80.0)         /* peaks below a -80 dBFS sine are ignored */
#define MIN_STRONG 0.05            /* fewer strong peaks per active frame than this: no key */
#define CONF_T0 0.8                /* tonalness 0 at 0.8 strong peaks per frame ... */
#define CONF_T1 3.0                /* ... 1 from 3 */
#define CONF_KSPAN 0.25            /* clarity 1 from a 0.25 correlation margin over unrelated keys */
#define CONF_MSPAN 0.15            /* mode clarity 1 from a 0.15 margin over the parallel key */

/* Faraldo's edma profiles (ECIR 2016), tonic first: major, minor. */
static const double EDMA[2][12] = {
    {1.0, 0.2875, 0.5020, 0.4048, 0.6050, 0.5614, 0.3205, 0.7966, 0.3159, 0.4506, 0.4202, 0.3889},
    {1.0, 0.3096, 0.4415, 0.5827, 0.3262, 0.4948, 0.2889, 0.7804, 0.4328, 0.2903, 0.5331, 0.3217},
};

static double pearson12(const double *x, const double *y)
{
    double mx = 0, my = 0;
    for (int i = 0; i < 12; i++) { mx += x[i]; my += y[i]; }
    mx /= 12;
    my /= 12;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < 12; i++) {
        double a = x[i] - mx, b = y[i] - my;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    return (sxx > 0 && syy > 0) ? sxy / sqrt(sxx * syy) : 0;
}

/* Adds weight w at MIDI pitch `midi` to a fine chroma (bin 0 = C), split linearly between two bins. */
static void fine_add(double *fine, double midi, double w)
{
    double pos = fmod(midi, 12.0) * FINE;
    if (pos < 0) pos += NFINE;
    int i0 = (int)pos;
    double fr = pos - i0;
    i0 %= NFINE;
    fine[i0] += w * (1 - fr);
    fine[(i0 + 1) % NFINE] += w * fr;
}

/* Folds the fine chroma to 12 pitch classes centred on the tuned grid (`tuning` in semitones). */
static void fold(const double *fine, double tuning, double *out)
{
    for (int k = 0; k < 12; k++) out[k] = 0;
    for (int j = 0; j < NFINE; j++) {
        if (fine[j] == 0) continue;
        double pos = (double)j / FINE - tuning;
        for (int k = 0; k < 12; k++) {
            double d = fmod(pos - k + 18.0, 12.0) - 6.0;   /* signed distance to pitch class k */
            if (fabs(d) < KERNEL_HALF) {
                double c = cos(M_PI * 0.5 * d / KERNEL_HALF);
                out[k] += fine[j] * c * c;
            }
        }
    }
}

typedef float v8f __attribute__((vector_size(32)));

static float dot(const float *a, const float *b, int n)
{
    v8f acc = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        v8f x, y;
        memcpy(&x, a + i, sizeof x);
        memcpy(&y, b + i, sizeof y);
        acc += x * y;
    }
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

cdsp_status cdsp_key_detect(const float *x, int64_t n, uint32_t rate, cdsp_key_result *out)
{
    if (!out) return CDSP_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    out->key = -1;
    if (!x || n < 0 || rate < 8000 || rate > 384000) return CDSP_ERR_INVALID_ARGUMENT;

    cdsp_status st = CDSP_ERR_NO_MEMORY;
    float *h = NULL, *dec = NULL, *win = NULL, *in = NULL, *mag = NULL;
    double *csum = NULL, *pk = NULL;
    fftwf_complex *spec = NULL;
    fftwf_plan plan = NULL;

    /* decimation by D to fa; FIR of L taps (Blackman-windowed sinc, cut-off fa / 2) whose transition
     * band runs from PASS_HZ to fa - PASS_HZ, so that nothing aliases below PASS_HZ */
    const int D = rate >= 20000 ? (int)(rate / 10000) : 1;
    const double fa = (double)rate / D;
    int L = 1, M = 0;
    if (D > 1) {
        double tw = fa - 2 * fmin(PASS_HZ, 0.4 * fa);
        L = (int)ceil(5.5 * rate / tw) | 1;
        M = (L - 1) / 2;
    }
    int N = 1024;
    while (N < WIN_S * fa) N <<= 1;
    const int hop = (int)lround(HOP_S * fa);
    const int64_t ndec = n / D;
    const double binhz = fa / N;
    int kmin = (int)floor(FMIN / binhz), kmax = (int)ceil(FMAX / binhz);
    if (kmin < 2) kmin = 2;
    if (kmax > N / 2 - 2) kmax = N / 2 - 2;
    const int maxpk = (kmax - kmin) / 2 + 2;   /* local maxima are at least two bins apart */

    h = malloc(sizeof(float) * (size_t)L);
    dec = calloc((size_t)N, sizeof(float));
    win = malloc(sizeof(float) * (size_t)N);
    mag = malloc(sizeof(float) * ((size_t)N / 2 + 1));
    csum = malloc(sizeof(double) * ((size_t)N / 2 + 2));
    pk = malloc(sizeof(double) * 3 * (size_t)maxpk);
    in = cdsp_fft_alloc((size_t)N);
    spec = cdsp_fft_alloc(2 * ((size_t)N / 2 + 1));
    if (!h || !dec || !win || !mag || !csum || !pk || !in || !spec) goto done;
    plan = cdsp_fft_plan_r2c(N, in, spec);
    if (!plan) goto done;
    double *pf = pk, *pa = pk + maxpk, *pw = pk + 2 * maxpk;   /* peak frequency, amplitude, weight */

    if (D > 1) {
        double fc = 0.5 / D, s = 0;
        for (int k = 0; k < L; k++) {
            double t = k - M;
            double sinc = t == 0 ? 2 * fc : sin(2 * M_PI * fc * t) / (M_PI * t);
            double w = 0.42 - 0.5 * cos(2 * M_PI * k / (L - 1)) + 0.08 * cos(4 * M_PI * k / (L - 1));
            h[k] = (float)(sinc * w);
            s += h[k];
        }
        for (int k = 0; k < L; k++) h[k] = (float)(h[k] / s);
    } else {
        h[0] = 1;
    }
    double wsum = 0, w2sum = 0;
    for (int i = 0; i < N; i++) {
        double w = 0.5 - 0.5 * cos(2 * M_PI * i / N);
        win[i] = (float)w;
        wsum += w;
        w2sum += w * w;
    }
    const double floor_amp = pow(10.0, FLOOR_DBFS / 20) * wsum / 2;
    double energy = 0;
    for (int64_t i = 0; i < n; i++) energy += (double)x[i] * x[i];
    const double gate = (n > 0 ? energy / (double)n : 0) * w2sum * pow(10.0, -GATE_DB / 10);

    double fine[NFINE] = {0};
    double tc = 0, ts = 0, strong = 0, total = 0;
    int64_t active = 0;
    const int64_t nframes = ndec <= N ? 1 : (ndec - N + hop - 1) / hop + 1;

    for (int64_t t = 0; t < nframes; t++) {
        /* slide the decimated window and compute the new samples */
        int keep = 0;
        if (t > 0 && hop < N) {
            keep = N - hop;
            memmove(dec, dec + hop, sizeof(float) * (size_t)keep);
        }
        for (int i = keep; i < N; i++) {
            int64_t j = t * hop + i;
            float v = 0;
            if (j < ndec) {
                int64_t c = j * D - M;
                if (D == 1) {
                    v = x[j];
                } else if (c >= 0 && c + L <= n) {
                    v = dot(h, x + c, L);
                } else {
                    for (int k = 0; k < L; k++)
                        if (c + k >= 0 && c + k < n) v += h[k] * x[c + k];
                }
            }
            dec[i] = v;
        }
        double fe = 0;
        for (int i = 0; i < N; i++) {
            in[i] = dec[i] * win[i];
            fe += (double)in[i] * in[i];
        }
        if (!(fe > gate) || !(fe > 0)) continue;   /* quiet (or NaN) frame */
        active++;
        fftwf_execute(plan);
        for (int k = 0; k <= N / 2; k++) mag[k] = sqrtf(spec[k][0] * spec[k][0] + spec[k][1] * spec[k][1]);
        csum[0] = 0;
        for (int k = 0; k <= N / 2; k++) csum[k + 1] = csum[k] + mag[k];

        /* tonal peaks, ascending in frequency */
        int np = 0;
        for (int k = kmin; k <= kmax && np < maxpk; k++) {
            float a = mag[k];
            if (!(a > mag[k - 1] && a >= mag[k + 1] && a >= floor_amp)) continue;
            double al = log(mag[k - 1] + 1e-30), be = log(a), ga = log(mag[k + 1] + 1e-30);
            double den = al - 2 * be + ga;
            double p = den < 0 ? 0.5 * (al - ga) / den : 0;
            p = p > 0.5 ? 0.5 : p < -0.5 ? -0.5 : p;
            double f = (k + p) * binhz;
            if (f < FMIN || f > FMAX) continue;
            double amp = exp(be - 0.25 * (al - ga) * p);
            int W = (int)lround(ENV_RATIO * f / binhz);
            if (W < ENV_MIN_BINS) W = ENV_MIN_BINS;
            int lo = k - W < 0 ? 0 : k - W, hi = k + W > N / 2 ? N / 2 : k + W;
            int el = k - ENV_EXCL < lo ? lo : k - ENV_EXCL, eh = k + ENV_EXCL > hi ? hi : k + ENV_EXCL;
            double env = ((csum[hi + 1] - csum[lo]) - (csum[eh + 1] - csum[el])) /
                         ((hi - lo + 1) - (eh - el + 1));
            double r = amp / (env + 1e-30);
            if (!(r > THR)) continue;
            if (r > STRONG) strong += 1;
            pf[np] = f;
            pa[np] = amp;
            pw[np] = 1;
            np++;
        }
        /* harmonic sieve */
        for (int j = 1; j < np; j++) {
            for (int i = 0; i < j; i++) {
                double ratio = pf[j] / pf[i];
                if (ratio > HS_MAX + 0.5) continue;
                int hh = (int)lround(ratio);
                if (hh < 2 || fabs(12 * log2(ratio / hh)) > HS_TOL || pa[i] < HS_REL * pa[j]) continue;
                pw[j] = HS_GAIN;
                break;
            }
        }
        /* chroma and tuning */
        for (int q = 0; q < np; q++) {
            double f = pf[q], w = pw[q];
            double midi = 69 + 12 * log2(f / 440.0);
            if (f >= TUNE_FMIN && f <= TUNE_FMAX) {
                tc += w * cos(2 * M_PI * midi);
                ts += w * sin(2 * M_PI * midi);
            }
            total += w;
            double hw = w;
            for (int hh = 1; hh <= HARMONICS && f / hh >= HARM_FMIN; hh++) {
                fine_add(fine, midi - 12 * log2((double)hh), hw);
                hw *= HARM_DECAY;
            }
        }
    }

    double tuning = (tc == 0 && ts == 0) ? 0 : atan2(ts, tc) / (2 * M_PI);   /* semitones, -0.5..0.5 */
    double chroma[12], mx = 0;
    fold(fine, tuning, chroma);
    for (int k = 0; k < 12; k++) mx = fmax(mx, chroma[k]);
    double strong_rate = active > 0 ? strong / (double)active : 0;
    st = CDSP_OK;
    if (!(mx > 0) || !(total > 0)) goto done;   /* silence: nothing at all */

    for (int k = 0; k < 12; k++) out->chroma[k] = chroma[k] / mx;
    int best = 0;
    for (int mode = 0; mode < 2; mode++)
        for (int tonic = 0; tonic < 12; tonic++) {
            double rot[12];
            for (int i = 0; i < 12; i++) rot[(i + tonic) % 12] = EDMA[mode][i];
            int k = mode * 12 + tonic;
            out->scores[k] = pearson12(chroma, rot);
            if (out->scores[k] > out->scores[best]) best = k;
        }
    if (strong_rate < MIN_STRONG) goto done;   /* no sustained tone anywhere: noise, most drums */
    out->key = best;
    out->tuning_cents = 100 * tuning;

    int mode = best / 12, tonic = best % 12;
    int parallel = mode ? tonic : tonic + 12;
    int relative = mode ? (tonic + 3) % 12 : (tonic + 9) % 12 + 12;
    double unrelated = -1;
    for (int k = 0; k < 24; k++) {
        int km = k / 12, kt = k % 12;
        int fifth = km == mode && ((kt - tonic + 12) % 12 == 7 || (tonic - kt + 12) % 12 == 7);
        if (k != best && k != parallel && k != relative && !fifth && out->scores[k] > unrelated)
            unrelated = out->scores[k];
    }
    double tonalness = clamp01((strong_rate - CONF_T0) / (CONF_T1 - CONF_T0));
    double clarity = clamp01((out->scores[best] - unrelated) / CONF_KSPAN);
    double mode_clarity = clamp01((out->scores[best] - out->scores[parallel]) / CONF_MSPAN);
    out->confidence = tonalness * clarity * mode_clarity;

done:
    cdsp_fft_destroy(plan);
    cdsp_fft_free(in);
    cdsp_fft_free(spec);
    free(h);
    free(dec);
    free(win);
    free(mag);
    free(csum);
    free(pk);
    return st;
}
