/*
 * loudness.h — EBU R128 / ITU-R BS.1770-4 loudness of a whole file: integrated loudness (LUFS),
 * loudness range (LU, EBU Tech 3342), true peak (dBTP, 4x oversampled) and sample peak (dBFS).
 *
 * Integrated: K-weighting (the BS.1770 shelf + high-pass, designed for any sample rate), 400 ms blocks
 * overlapping by 75 %, absolute gate -70 LUFS, relative gate -10 LU. Channels 1-2 (and 3 in a 5.1
 * layout is not supported: 1 or 2 channels only) weigh 1.0.
 * Range: 3 s short-term blocks every 100 ms, absolute gate -70 LUFS, relative gate -20 LU, the spread
 * between the 10th and 95th percentiles.
 * True peak: the BS.1770-4 Annex 2 method (4x polyphase interpolation), reported in dBTP; the file is
 * taken as preceded and followed by silence. Non-finite samples (NaN, Inf) count as 0.
 * Silence (nothing passes the absolute gate): integrated_lufs and range are -INFINITY / 0, peaks -INFINITY.
 * Thread: control (allocates). Any number may run at once on different data.
 */
#ifndef CDSP_LOUDNESS_H
#define CDSP_LOUDNESS_H

#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdsp_loudness_result {
    double integrated_lufs;      /* -INFINITY for silence */
    double range_lu;             /* 0 when fewer than two short-term blocks pass the gates */
    double true_peak_dbtp;       /* -INFINITY for digital silence */
    double sample_peak_dbfs;     /* -INFINITY for digital silence */
    double max_momentary_lufs;   /* loudest 400 ms block; -INFINITY when the file is shorter than one */
    double max_short_term_lufs;  /* loudest 3 s block; -INFINITY when the file is shorter than one */
} cdsp_loudness_result;

/* Measures `frames` frames of interleaved float audio with 1 or 2 channels at any rate from 8 kHz to
 * 384 kHz. INVALID_ARGUMENT for other channel counts or rates, NULL pointers or frames < 0; NO_MEMORY
 * when the per-call work arrays (under 1 kB per second of audio) cannot be allocated. */
cdsp_status cdsp_loudness_measure(const float *interleaved, int64_t frames, uint32_t channels,
                                  uint32_t sample_rate, cdsp_loudness_result *out);

#ifdef __cplusplus
}
#endif
#endif
