/* key.c — dev version, see /work/main/Sources/CDSP/include/cdsp/key.h */
#include "cdsp/key.h"
#include "cdsp/fft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define FINE 10                 /* fine chroma bins per semitone */
#define NFINE (12 * FINE)
#define MAXPK 512

typedef struct key_params {
    double hop_s, win_s;
    int window;                 /* 0 Hann, 1 Blackman, 2 Blackman-Harris 4 */
    double fmin, fmax, bass_split, main_min;
    double env_ratio; int env_min_bins;
    double thr; int weight_mode;
    int harmonics; double harm_decay; double harm_fmin;
    double kernel_half;
    int frame_mode; double frame_k;
    int profile; int bass_profile; double bass_weight;
    double tune_fmin, tune_fmax;
    int hs_max; double hs_tol, hs_gain, hs_rel;
    double sat;
    int env_excl; double strong_r;
} key_params;

static key_params key_default_params(void)
{
    key_params p = {
        .hop_s = 0.1, .win_s = 0.37, .window = 0,
        .fmin = 50, .fmax = 3500, .bass_split = 200, .main_min = 0,
        .env_ratio = 0.1, .env_min_bins = 4,
        .thr = 3.0, .weight_mode = 1,
        .harmonics = 4, .harm_decay = 0.6, .harm_fmin = 25,
        .kernel_half = 0.5,
        .frame_mode = 0, .frame_k = 1.0,
        .profile = 0, .bass_profile = 0, .bass_weight = 0.0,
        .tune_fmin = 80, .tune_fmax = 2000,
        .hs_max = 0, .hs_tol = 0.3, .hs_gain = 0.2, .hs_rel = 0.3, .sat = 1.0, .env_excl = 0, .strong_r = 10,
    };
    return p;
}

/* profiles: major then minor, tonic first */
static const double PROFILES[][2][12] = {
    /* 0 edma (Faraldo 2016) */
    {{1.0, 0.2875, 0.5020, 0.4048, 0.6050, 0.5614, 0.3205, 0.7966, 0.3159, 0.4506, 0.4202, 0.3889},
     {1.0, 0.3096, 0.4415, 0.5827, 0.3262, 0.4948, 0.2889, 0.7804, 0.4328, 0.2903, 0.5331, 0.3217}},
    /* 1 Krumhansl-Kessler */
    {{6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88},
     {6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17}},
    /* 2 Temperley 1999 */
    {{5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0},
     {5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0}},
    /* 3 Temperley 2005 */
    {{0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400},
     {0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330}},
    /* 4 Shaath */
    {{6.6, 2.0, 3.5, 2.3, 4.6, 4.0, 2.5, 5.2, 2.4, 3.7, 2.3, 3.4},
     {6.5, 2.7, 3.5, 5.4, 2.6, 3.5, 2.5, 5.2, 4.0, 2.7, 4.3, 3.2}},
    /* 5 Gomez */
    {{0.82, 0.00, 0.55, 0.00, 0.53, 0.30, 0.08, 1.00, 0.00, 0.38, 0.00, 0.47},
     {0.81, 0.00, 0.53, 0.54, 0.00, 0.27, 0.07, 1.00, 0.27, 0.07, 0.10, 0.36}},
    /* 6 bgate (Faraldo) */
    {{1., 0.00, 0.42, 0.00, 0.53, 0.37, 0.00, 0.77, 0.00, 0.38, 0.21, 0.30},
     {1., 0.00, 0.36, 0.39, 0.00, 0.38, 0.00, 0.74, 0.27, 0.00, 0.42, 0.23}},
    /* 7 braw (Faraldo) */
    {{1., 0.1573, 0.4200, 0.1570, 0.5296, 0.3669, 0.1632, 0.7711, 0.1676, 0.3827, 0.2113, 0.2965},
     {1., 0.2330, 0.3615, 0.3905, 0.2925, 0.3777, 0.1961, 0.7425, 0.2701, 0.2161, 0.4228, 0.2272}},
    /* 8 triads */
    {{1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0}, {1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}},
    /* 9 diatonic */
    {{1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1}, {1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1}},
};
#define NPROFILES ((int)(sizeof PROFILES / sizeof PROFILES[0]))

static double pearson(const double *x, const double *y)
{
    double mx = 0, my = 0;
    for (int i = 0; i < 12; i++) { mx += x[i]; my += y[i]; }
    mx /= 12; my /= 12;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < 12; i++) {
        double a = x[i] - mx, b = y[i] - my;
        sxy += a * b; sxx += a * a; syy += b * b;
    }
    if (sxx <= 0 || syy <= 0) return 0;
    return sxy / sqrt(sxx * syy);
}

static void key_scores(const double *chroma, int prof, double *scores)
{
    for (int mode = 0; mode < 2; mode++)
        for (int t = 0; t < 12; t++) {
            double rot[12];
            for (int i = 0; i < 12; i++) rot[(i + t) % 12] = PROFILES[prof][mode][i];
            scores[mode * 12 + t] = pearson(chroma, rot);
        }
}

/* fold a fine chroma (FINE bins per semitone, bin 0 = C) to 12 pitch classes, shifted by tuning */
static void fold(const double *fine, double tuning_st, double half, double *out)
{
    for (int k = 0; k < 12; k++) out[k] = 0;
    for (int j = 0; j < NFINE; j++) {
        if (fine[j] == 0) continue;
        double pos = (double)j / FINE - tuning_st;
        for (int k = 0; k < 12; k++) {
            double d = fmod(pos - k + 18.0, 12.0) - 6.0;
            if (fabs(d) < half) {
                double c = cos(M_PI * 0.5 * d / half);
                out[k] += fine[j] * c * c;
            }
        }
    }
}

static inline void fine_add(double *fine, double midi, double w)
{
    double pos = fmod(midi, 12.0) * FINE;
    if (pos < 0) pos += NFINE;
    int i0 = (int)pos;
    double fr = pos - i0;
    i0 %= NFINE;
    fine[i0] += w * (1 - fr);
    fine[(i0 + 1) % NFINE] += w * fr;
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
    float s = acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

typedef struct key_dbg {
    int frames, tonal_frames;
    double strong;
    double total_weight;
    double bass_chroma[12];
    double bass_scores[24];
} key_dbg;

static cdsp_status key_detect(const key_params *P, const float *x, int64_t n, uint32_t rate,
                              cdsp_key_result *out, key_dbg *dbg)
{
    if (!out) return CDSP_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    out->key = -1;
    if (!x || n < 0 || rate < 8000 || rate > 384000) return CDSP_ERR_INVALID_ARGUMENT;

    cdsp_status st = CDSP_ERR_NO_MEMORY;
    float *h = NULL, *dec = NULL, *win = NULL, *in = NULL, *mag = NULL;
    double *csum = NULL;
    fftwf_complex *spec = NULL;
    fftwf_plan plan = NULL;

    const int D = rate >= 20000 ? (int)(rate / 10000) : 1;
    const double fa = (double)rate / D;
    int N = 1;
    while (N < P->win_s * fa) N <<= 1;
    int hop = (int)lround(P->hop_s * fa);
    if (hop < 1) hop = 1;
    const int64_t ndec = n / D;

    /* anti-alias low-pass: windowed sinc, cutoff fa/2, transition fa - 2 * 4 kHz */
    int L = 1, M = 0;
    if (D > 1) {
        double fp = fmin(4000.0, 0.4 * fa);
        double tw = fa - 2 * fp;
        L = (int)ceil(5.5 * rate / tw) | 1;
        M = (L - 1) / 2;
    }
    h = malloc(sizeof(float) * (size_t)L);
    dec = calloc((size_t)N, sizeof(float));
    win = malloc(sizeof(float) * (size_t)N);
    in = cdsp_fft_alloc((size_t)N);
    spec = cdsp_fft_alloc(2 * ((size_t)N / 2 + 1));
    mag = malloc(sizeof(float) * ((size_t)N / 2 + 1));
    csum = malloc(sizeof(double) * ((size_t)N / 2 + 2));
    if (!h || !dec || !win || !in || !spec || !mag || !csum) goto done;
    plan = cdsp_fft_plan_r2c(N, in, spec);
    if (!plan) goto done;

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
    double wsum = 0;
    for (int i = 0; i < N; i++) {
        double ph = 2 * M_PI * i / N, w;
        if (P->window == 1) w = 0.42 - 0.5 * cos(ph) + 0.08 * cos(2 * ph);
        else if (P->window == 2) w = 0.35875 - 0.48829 * cos(ph) + 0.14128 * cos(2 * ph) - 0.01168 * cos(3 * ph);
        else w = 0.5 - 0.5 * cos(ph);
        win[i] = (float)w;
        wsum += w;
    }

    const double binhz = fa / N;
    int kmin = (int)floor(P->fmin / binhz), kmax = (int)ceil(P->fmax / binhz);
    if (kmin < 2) kmin = 2;
    if (kmax > N / 2 - 2) kmax = N / 2 - 2;
    const double floor_amp = 1e-4 * wsum / 2;   /* a -80 dBFS sine */

    double fine[NFINE] = {0}, bfine[NFINE] = {0}, ffine[NFINE], fbfine[NFINE];
    double tc = 0, ts = 0;
    double pf[MAXPK], pa[MAXPK], pw[MAXPK];
    int64_t nframes = ndec <= N ? 1 : (ndec - N + hop - 1) / hop + 1;
    int tonal_frames = 0;
    double nstrong = 0;
    double total_w = 0;
    int64_t filled = 0;   /* decimated samples computed so far (dec holds [start, start + N)) */

    for (int64_t t = 0; t < nframes; t++) {
        int64_t start = t * hop;
        int keep = 0;
        if (t > 0 && hop < N) {
            keep = N - hop;
            memmove(dec, dec + hop, sizeof(float) * (size_t)keep);
        }
        for (int i = keep; i < N; i++) {
            int64_t j = start + i;
            float v = 0;
            if (j < ndec) {
                int64_t c = j * D - M;
                if (D == 1) v = x[j];
                else if (c >= 0 && c + L <= n) v = dot(h, x + c, L);
                else {
                    for (int k = 0; k < L; k++) {
                        int64_t q = c + k;
                        if (q >= 0 && q < n) v += h[k] * x[q];
                    }
                }
            }
            dec[i] = v;
        }
        filled = start + N;
        for (int i = 0; i < N; i++) in[i] = dec[i] * win[i];
        fftwf_execute(plan);
        for (int k = 0; k <= N / 2; k++) mag[k] = sqrtf(spec[k][0] * spec[k][0] + spec[k][1] * spec[k][1]);
        csum[0] = 0;
        for (int k = 0; k <= N / 2; k++) csum[k + 1] = csum[k] + mag[k];

        memset(ffine, 0, sizeof ffine);
        memset(fbfine, 0, sizeof fbfine);
        double fw = 0;
        int np = 0;
        for (int k = kmin; k <= kmax; k++) {
            float a = mag[k];
            if (!(a > mag[k - 1] && a >= mag[k + 1]) || a < floor_amp) continue;
            double al = log(mag[k - 1] + 1e-20), be = log(a), ga = log(mag[k + 1] + 1e-20);
            double den = al - 2 * be + ga;
            double p = den < 0 ? 0.5 * (al - ga) / den : 0;
            if (p > 0.5) p = 0.5;
            if (p < -0.5) p = -0.5;
            double amp = exp(be - 0.25 * (al - ga) * p);
            double f = (k + p) * binhz;
            if (f < P->fmin || f > P->fmax) continue;
            int W = (int)lround(P->env_ratio * f / binhz);
            if (W < P->env_min_bins) W = P->env_min_bins;
            int lo = k - W, hi = k + W;
            if (lo < 0) lo = 0;
            if (hi > N / 2) hi = N / 2;
            double env;
            if (P->env_excl > 0) {
                int el = k - P->env_excl, eh = k + P->env_excl;
                if (el < lo) el = lo;
                if (eh > hi) eh = hi;
                env = ((csum[hi + 1] - csum[lo]) - (csum[eh + 1] - csum[el])) / ((hi - lo + 1) - (eh - el + 1));
            } else env = (csum[hi + 1] - csum[lo]) / (hi - lo + 1);
            double r = amp / (env + 1e-30);
            if (r <= P->thr) continue;
            double w;
            switch (P->weight_mode) {
            case 0: w = r - P->thr; break;
            case 1: w = log(r / P->thr); break;
            case 2: w = sqrt(r - P->thr); break;
            case 3: w = amp; break;
            case 5: w = fmin(1.0, log(r / P->thr) / P->sat); break;
            default: w = 1; break;
            }
            if (np < MAXPK) { pf[np] = f; pa[np] = amp; pw[np] = w; np++; }
            if (r > P->strong_r) nstrong++;
        }
        if (P->hs_max > 1) {
            for (int j = 0; j < np; j++) {
                for (int i = 0; i < j; i++) {
                    double ratio = pf[j] / pf[i];
                    int hh = (int)lround(ratio);
                    if (hh < 2 || hh > P->hs_max) continue;
                    if (fabs(12 * log2(ratio / hh)) > P->hs_tol) continue;
                    if (pa[i] < P->hs_rel * pa[j]) continue;
                    pw[j] *= P->hs_gain;
                    break;
                }
            }
        }
        for (int q = 0; q < np; q++) {
            double f = pf[q], w = pw[q];
            double midi = 69 + 12 * log2(f / 440.0);
            if (f >= P->tune_fmin && f <= P->tune_fmax) {
                tc += w * cos(2 * M_PI * midi);
                ts += w * sin(2 * M_PI * midi);
            }
            fw += w;
            double hw = w;
            for (int hh = 1; hh <= P->harmonics; hh++) {
                double m = midi - 12 * log2((double)hh);
                if (f / hh < P->harm_fmin) break;
                if (f >= P->main_min) fine_add(ffine, m, hw);
                if (f < P->bass_split) fine_add(fbfine, m, hw);
                hw *= P->harm_decay;
            }
        }
        double g = 1;
        if (P->frame_mode == 1) g = fw > 0 ? tanh(fw / P->frame_k) / fw : 0;
        for (int j = 0; j < NFINE; j++) { fine[j] += g * ffine[j]; bfine[j] += g * fbfine[j]; }
        total_w += fw;
        if (fw > 1.0) tonal_frames++;
    }
    (void)filled;

    double tuning = (tc == 0 && ts == 0) ? 0 : atan2(ts, tc) / (2 * M_PI);
    out->tuning_cents = 100 * tuning;
    double chroma[12], bchroma[12];
    fold(fine, tuning, P->kernel_half, chroma);
    fold(bfine, tuning, P->kernel_half, bchroma);
    double mx = 0;
    for (int k = 0; k < 12; k++) mx = fmax(mx, chroma[k]);
    if (mx > 0) for (int k = 0; k < 12; k++) out->chroma[k] = chroma[k] / mx;
    double sc[24], bsc[24];
    key_scores(chroma, P->profile, sc);
    key_scores(bchroma, P->bass_profile, bsc);
    int best = -1;
    double bestv = -2;
    for (int k = 0; k < 24; k++) {
        out->scores[k] = sc[k] + P->bass_weight * bsc[k];
        if (out->scores[k] > bestv) { bestv = out->scores[k]; best = k; }
    }
    if (mx > 0 && total_w > 0) out->key = best;
    out->confidence = 0;
    if (dbg) {
        dbg->frames = (int)nframes;
        dbg->tonal_frames = tonal_frames;
        dbg->strong = nstrong / (double)nframes;
        dbg->total_weight = total_w;
        memcpy(dbg->bass_chroma, bchroma, sizeof bchroma);
        memcpy(dbg->bass_scores, bsc, sizeof bsc);
    }
    st = CDSP_OK;
done:
    cdsp_fft_destroy(plan);
    cdsp_fft_free(in);
    cdsp_fft_free(spec);
    free(h); free(dec); free(win); free(mag); free(csum);
    return st;
}

cdsp_status cdsp_key_detect(const float *mono, int64_t n, uint32_t sample_rate, cdsp_key_result *out)
{
    key_params p = key_default_params();
    return key_detect(&p, mono, n, sample_rate, out, NULL);
}
