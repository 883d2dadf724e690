/*
 * stems.h — classical (no neural network) stem separation: drums, bass and other.
 *
 * Method (credited in stems.c): an STFT (Hann window, 75 % overlap by default), harmonic/percussive
 * separation by median filtering (Fitzgerald 2010) with a residual (Driedger, Müller, Disch 2014), soft
 * Wiener-like masks, then
 *     drums = percussive                       (broadband, short events: kicks, snares, hats)
 *     bass  = harmonic x low(f)                (sustained partials below the crossover, ~150 Hz)
 *     other = harmonic x (1 - low(f)) + residual
 * where low(f) is 1 below crossover/sqrt2, 0 above crossover*sqrt2 and a raised cosine in log-frequency
 * between (a one-octave crossover). The three masks are computed per time-frequency bin from the
 * magnitude of the mid ((|L| + |R|) / 2, so anti-phase content is not lost) and applied to every channel;
 * they sum to 1 in every bin, so the stems sum to the input (max error ~1e-6 of full scale: float rounding
 * of the STFT, which reconstructs perfectly: weighted overlap-add with the Hann window on both sides and
 * the overlap's window-square sum divided out).
 *
 * Streaming: feed any number of frames with process (at most max_block_frames per call are used), then
 * flush once at the end. The output is aligned with the input (the latency is absorbed: the first frame
 * out is input frame 0) and exactly as long as the input; it comes out in hops, `latency` frames late.
 * Memory is O(fft_size x harmonic median length), independent of the track length (~1.5 MB by default).
 * Latency: fft_size - hop + (harmonic_frames - 1) / 2 x hop frames (4096 window, 1024 hop, 0.3 s = 13
 * hops at 44.1 kHz: 3072 + 6 x 1024 = 9216 frames, 209 ms).
 * Cost per hop: one forward FFT and three inverse FFTs per channel, and two median filters per bin.
 *
 * Example (stereo, whole buffer):
 *     cdsp_stems_config cfg = cdsp_stems_config_default(44100, 2);
 *     cdsp_status st; cdsp_stems *s = cdsp_stems_create(&cfg, &st);
 *     int64_t cap = cdsp_stems_output_capacity(s);             // frames each out[k] must hold
 *     float *out[CDSP_STEM_COUNT] = { drums, bass, other };    // each cap * 2 floats
 *     while (left > 0) { int64_t used, made = cdsp_stems_process(s, in, left, out, &used);
 *                        ... write `made` frames of each out[k] ...; in += used * 2; left -= used; }
 *     made = cdsp_stems_flush(s, out); ... write them ...; cdsp_stems_destroy(s);
 *
 * Thread: create/destroy are control (allocate, plan FFTs through fft.h); process/flush/reset may run on
 * any thread (one at a time per object), allocate nothing and never fail, but are not meant for the
 * audio thread (a hop costs about a millisecond). Any number of objects may run at once.
 */
#ifndef CDSP_STEMS_H
#define CDSP_STEMS_H

#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cdsp_stem {
    CDSP_STEM_DRUMS = 0,
    CDSP_STEM_BASS = 1,
    CDSP_STEM_OTHER = 2,
    CDSP_STEM_COUNT = 3
} cdsp_stem;

/* A short lower-case name ("drums", "bass", "other"); "?" out of range. Thread: any. */
const char *cdsp_stem_name(cdsp_stem stem);

typedef struct cdsp_stems_config {
    uint32_t sample_rate;       /* 8000 ... 384000 Hz */
    uint32_t channels;          /* 1 or 2 (interleaved) */
    uint32_t fft_size;          /* power of two, 256 ... 65536; default 4096 up to 48 kHz, 8192 up to
                                   96 kHz, 16384 up to 192 kHz, else 32768 (~90 ms) */
    uint32_t hop;               /* frames between STFT frames: divides fft_size, 16 ... fft_size / 2;
                                   default fft_size / 4 */
    double harmonic_seconds;    /* length of the time-direction median (harmonic), 0.02 ... 2 s;
                                   default 0.3 (rounded to an odd number of hops, at least 3, at most 511) */
    double percussive_hz;       /* length of the frequency-direction median (percussive), 20 ... 5000 Hz;
                                   default 150 (rounded to an odd number of bins, at least 3, at most 8191) */
    double separation;          /* beta >= 1: a bin is harmonic when H > beta * P, percussive when
                                   P > beta * H, else mostly residual; 1 = no residual (two masks);
                                   1 ... 10, default 1 (see stems.c: on our test mix the residual, which
                                   goes to "other", costs "other" more than it gains "drums") */
    double mask_power;          /* soft-mask exponent p (2: Wiener-like); 0.5 ... 8, default 2 */
    double bass_crossover_hz;   /* centre of the bass/other crossover, 20 ... 2000 Hz and below 0.3 x
                                   rate; default 150 */
    uint32_t max_block_frames;  /* most input frames one process call uses, 1 ... 2^22; default 65536 */
} cdsp_stems_config;

/* Defaults (above) for this rate and channel count. Thread: any. */
cdsp_stems_config cdsp_stems_config_default(uint32_t sample_rate, uint32_t channels);

typedef struct cdsp_stems cdsp_stems;

/* INVALID_ARGUMENT for a NULL config or a value out of range, NO_MEMORY when allocation or FFT planning
 * fails. `err` may be NULL. Thread: control. */
cdsp_stems *cdsp_stems_create(const cdsp_stems_config *config, cdsp_status *err);

/* Frames each output buffer out[k] must hold (times channels floats) for any process or flush call. */
int64_t cdsp_stems_output_capacity(const cdsp_stems *s);
/* Frames between a frame going in and its stems coming out (see above). */
int64_t cdsp_stems_latency(const cdsp_stems *s);
/* The STFT and median sizes in use (after rounding the config's seconds and Hz). Any pointer may be NULL. */
void cdsp_stems_sizes(const cdsp_stems *s, uint32_t *fft_size, uint32_t *hop, uint32_t *harmonic_frames,
                      uint32_t *percussive_bins);

/* Takes up to min(n, max_block_frames) interleaved frames from `in` (non-finite samples count as 0),
 * reports them in *used (may be NULL), and writes the stem frames now complete to out[0 .. COUNT-1]
 * (interleaved, `channels` per frame, cdsp_stems_output_capacity frames of room each). Returns the number
 * of frames written to each. No effect after flush (until reset). */
int64_t cdsp_stems_process(cdsp_stems *s, const float *in, int64_t n, float *const *out, int64_t *used);

/* Ends the input: writes the remaining frames (so that, in all, as many frames came out as went in).
 * Returns how many. A second flush returns 0. */
int64_t cdsp_stems_flush(cdsp_stems *s, float *const *out);

/* Back to the state after create, ready for a new signal. Allocates nothing. */
void cdsp_stems_reset(cdsp_stems *s);

/* NULL-safe. */
void cdsp_stems_destroy(cdsp_stems *s);

#ifdef __cplusplus
}
#endif
#endif
