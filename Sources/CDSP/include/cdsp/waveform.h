/*
 * waveform.h — a waveform overview for drawing: the track cut into `columns` equal spans, and for each
 * span the peak and RMS of the mono mix in three bands: low (below 250 Hz: kick and bass), mid
 * (250 Hz - 4 kHz) and high (above 4 kHz). The bands come from Linkwitz-Riley 4th-order crossovers,
 * so low + mid + high sums back to the (phase-shifted) mix. Values are linear amplitude (1.0 = full scale).
 * Thread: control (allocates nothing beyond the caller's buffers; any number may run at once).
 */
#ifndef CDSP_WAVEFORM_H
#define CDSP_WAVEFORM_H

#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { CDSP_WAVEFORM_LOW = 0, CDSP_WAVEFORM_MID = 1, CDSP_WAVEFORM_HIGH = 2 };

/* `out` has room for columns * 6 floats; column c's values are at out[c * 6 + band * 2 + 0] (peak) and
 * out[c * 6 + band * 2 + 1] (RMS). Columns split the frames as evenly as integers allow (column c covers
 * frames [c * frames / columns, (c + 1) * frames / columns)). `interleaved` has `channels` (1 or 2)
 * channels, mixed to mono as their mean. INVALID_ARGUMENT when columns is 0 or more than frames, channels
 * is not 1 or 2, or the rate is outside 8 kHz - 384 kHz. */
cdsp_status cdsp_waveform_overview(const float *interleaved, int64_t frames, uint32_t channels,
                                   uint32_t sample_rate, uint32_t columns, float *out);

#ifdef __cplusplus
}
#endif
#endif
