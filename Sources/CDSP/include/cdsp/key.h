/*
 * key.h — the musical key of a whole track: one of the 24 major and minor keys, with a confidence.
 *
 * Method: an HPCP-like chromagram from the tonal spectral peaks (50 Hz - 3.5 kHz, spectrum whitened,
 * likely harmonics weakened) of FFTW spectra of the mono mix, tuning estimated from the peaks and
 * corrected, summed over the track with frames weighing by their number of tonal peaks; then correlated
 * with the 24 rotations of major and minor key profiles (Faraldo's edma; all credited in key.c).
 * Key numbers: 0-11 are C major .. B major (C, C#, D, ..., B), 12-23 are C minor .. B minor.
 * Confidence is in [0, 1]: near 0 for noise, drums only or silence (key is then -1 when there is no
 * sustained tone at all), near 1 for a clear tonality. About 2000x real time at 44.1 kHz on one core.
 * Thread: control (allocates; plans FFTs through fft.h). Any number may run at once on different data.
 */
#ifndef CDSP_KEY_H
#define CDSP_KEY_H

#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdsp_key_result {
    int key;                /* 0-23 as above; -1 when there is no tonal content */
    double confidence;      /* 0..1 */
    double scores[24];      /* correlation with each key's profile, -1..1 */
    double chroma[12];      /* the track's chroma, C..B, normalised to a maximum of 1 */
    double tuning_cents;    /* estimated deviation of the reference from A = 440 Hz, -50..50; 0 if key -1 */
} cdsp_key_result;

/* `mono` holds n samples at `sample_rate` (8 kHz - 384 kHz). A file too short or silent gives key -1,
 * confidence 0 and CDSP_OK: that is an answer, not an error. */
cdsp_status cdsp_key_detect(const float *mono, int64_t n, uint32_t sample_rate, cdsp_key_result *out);

#ifdef __cplusplus
}
#endif
#endif
