/*
 * limiter.h — look-ahead brick-wall limiter for the master bus.
 *
 * Output never exceeds the ceiling (sample peak; default −1 dBFS). The gain needed by each frame is
 * held over the look-ahead window (a sliding minimum) and then smoothed by a moving average of the same
 * length, so the gain is already down when the peak leaves the delay line, without a click; release
 * is exponential. A final clamp at the ceiling catches float rounding only. Both channels share one gain
 * (the stereo image does not move). Latency: lookahead frames − 1 (95 frames, ~2 ms at 48 kHz, default).
 * Method after Geraint Luff, "Designing a straightforward limiter" (Signalsmith Audio, 2022).
 */
#ifndef CDSP_LIMITER_H
#define CDSP_LIMITER_H

#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdsp_limiter_config {
    double sample_rate;
    float ceiling_db;      /* default -1 */
    float lookahead_ms;    /* default 2, range 0.1 .. 50 */
    float release_ms;      /* default 80, range 1 .. 5000 */
} cdsp_limiter_config;

typedef struct cdsp_limiter cdsp_limiter;

cdsp_limiter_config cdsp_limiter_config_default(double sample_rate);
/* Thread: control. Allocates. */
cdsp_limiter *cdsp_limiter_create(const cdsp_limiter_config *cfg, cdsp_status *err);
void cdsp_limiter_destroy(cdsp_limiter *l);
/* Thread: audio. Real-time safe. */
void cdsp_limiter_reset(cdsp_limiter *l);
/* Thread: audio. Real-time safe. ceiling in dBFS, clamped to [-40, 0]. */
void cdsp_limiter_set_ceiling(cdsp_limiter *l, float ceiling_db);
float cdsp_limiter_ceiling_db(const cdsp_limiter *l);
uint32_t cdsp_limiter_latency(const cdsp_limiter *l);
/* Current gain reduction in dB (<= 0). Thread: audio (or any, as a snapshot). */
float cdsp_limiter_reduction_db(const cdsp_limiter *l);
/* Thread: audio. Real-time safe. Stereo interleaved, in place (output delayed by the latency). */
void cdsp_limiter_process(cdsp_limiter *l, float *stereo, uint32_t frames);

#ifdef __cplusplus
}
#endif
#endif
