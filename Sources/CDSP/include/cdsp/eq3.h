/*
 * eq3.h — 3-band isolator EQ (DJ-mixer style) with full kill per band.
 *
 * The signal is split by two 8th-order Linkwitz-Riley crossovers (48 dB/octave; each LR8 section is a
 * 4th-order Butterworth applied twice) into low / mid / high bands, each band is scaled by its gain and
 * the bands are summed. The low band goes through the all-pass of the upper crossover so that at unity
 * gains the sum is an all-pass: flat magnitude, no coloration. A kill sets a band's gain to 0 (−inf dB);
 * at 60 Hz a killed low band with the default 250 Hz crossover is down by more than 90 dB.
 * Crossover defaults: 250 Hz and 2500 Hz. Gains are linear (1 = 0 dB), clamped to [0, 4] (+12 dB),
 * and ramp over the frames given (anti-zipper). Latency: 0 (IIR; phase shift only).
 * Linkwitz-Riley: S. Linkwitz, "Active crossover networks for non-coincident drivers", JAES 1976.
 *
 *   cdsp_eq3_config c = cdsp_eq3_config_default(48000);
 *   cdsp_eq3 *eq = cdsp_eq3_create(&c, &st);
 *   cdsp_eq3_set_kill(eq, CDSP_EQ3_LOW, 1, 240);   // audio thread
 *   cdsp_eq3_process(eq, stereo_interleaved, frames);
 */
#ifndef CDSP_EQ3_H
#define CDSP_EQ3_H

#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cdsp_eq3_band { CDSP_EQ3_LOW = 0, CDSP_EQ3_MID = 1, CDSP_EQ3_HIGH = 2 } cdsp_eq3_band;

#define CDSP_EQ3_MAX_GAIN 4.0f

typedef struct cdsp_eq3_config {
    double sample_rate;
    double low_mid_hz;   /* crossover between low and mid */
    double mid_high_hz;  /* crossover between mid and high */
} cdsp_eq3_config;

typedef struct cdsp_eq3 cdsp_eq3;

/* Thread: any. */
cdsp_eq3_config cdsp_eq3_config_default(double sample_rate);
/* Thread: control. Allocates. Fails when a crossover is not in (10 Hz, 0.45 fs) or low >= high. */
cdsp_eq3 *cdsp_eq3_create(const cdsp_eq3_config *cfg, cdsp_status *err);
void cdsp_eq3_destroy(cdsp_eq3 *eq);
/* Thread: audio. Real-time safe. Clears filter memory; gains jump to their targets. */
void cdsp_eq3_reset(cdsp_eq3 *eq);
/* Thread: audio. Real-time safe. Linear gain, clamped to [0, CDSP_EQ3_MAX_GAIN]. */
void cdsp_eq3_set_gain(cdsp_eq3 *eq, cdsp_eq3_band band, float gain, uint32_t ramp_frames);
/* Thread: audio. Real-time safe. kill != 0 silences the band (ramped). */
void cdsp_eq3_set_kill(cdsp_eq3 *eq, cdsp_eq3_band band, int kill, uint32_t ramp_frames);
float cdsp_eq3_gain(const cdsp_eq3 *eq, cdsp_eq3_band band);
int cdsp_eq3_kill(const cdsp_eq3 *eq, cdsp_eq3_band band);
/* Thread: audio. Real-time safe. Stereo interleaved, in place. */
void cdsp_eq3_process(cdsp_eq3 *eq, float *stereo, uint32_t frames);

#ifdef __cplusplus
}
#endif
#endif
