/*
 * filter.h — the DJ "one-knob" resonant filter.
 *
 * One knob in [-1, 1]: 0 is bypass; to the left a low-pass sweeps down from 20 kHz to 30 Hz, to the
 * right a high-pass sweeps up from 20 Hz to 16 kHz (exponential in frequency). Two cascaded
 * state-variable stages: 24 dB/octave, the first with the resonance Q (default 1.2, range 0.5–8).
 * Near the centre (|knob| < 0.05) the filtered signal is faded in against the dry one, so moving
 * through the centre never clicks. Knob changes ramp over the frames given; coefficients are
 * recomputed per sample only while the knob moves. Latency: 0.
 * SVF: Andrew Simper (Cytomic), "Linear trapezoidal integrated state variable filter", 2013.
 */
#ifndef CDSP_FILTER_H
#define CDSP_FILTER_H

#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdsp_filter_config {
    double sample_rate;
    float resonance; /* Q of the first stage, 0.5 .. 8 */
} cdsp_filter_config;

typedef struct cdsp_filter cdsp_filter;

cdsp_filter_config cdsp_filter_config_default(double sample_rate);
/* Thread: control. Allocates. */
cdsp_filter *cdsp_filter_create(const cdsp_filter_config *cfg, cdsp_status *err);
void cdsp_filter_destroy(cdsp_filter *f);
/* Thread: audio. Real-time safe. Clears the filter memory; the knob jumps to its target. */
void cdsp_filter_reset(cdsp_filter *f);
/* Thread: audio. Real-time safe. knob clamped to [-1, 1]. */
void cdsp_filter_set(cdsp_filter *f, float knob, uint32_t ramp_frames);
/* Thread: audio. Real-time safe. Q clamped to [0.5, 8]; applies at once. */
void cdsp_filter_set_resonance(cdsp_filter *f, float q);
float cdsp_filter_knob(const cdsp_filter *f); /* the target */
/* Cut-off frequency in Hz for a knob position (0 for the centre). Thread: any. */
double cdsp_filter_cutoff_hz(double sample_rate, float knob);
/* Thread: audio. Real-time safe. Stereo interleaved, in place. */
void cdsp_filter_process(cdsp_filter *f, float *stereo, uint32_t frames);

#ifdef __cplusplus
}
#endif
#endif
