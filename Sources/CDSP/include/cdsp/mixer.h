/*
 * mixer.h — the DJ mixer: channel strips, crossfader, master bus with limiter, cue (headphone) bus, meters.
 *
 * Channel strip, in signal order: trim (gain) -> 3-band isolator EQ (eq3.h) -> one-knob filter
 * (filter.h) -> [pre-fader tap to the cue bus when the channel's cue (PFL) is on] -> channel fader
 * -> crossfader gain for the channel's assignment (A, B or thru) -> master sum.
 * Master bus: master gain -> look-ahead brick-wall limiter (limiter.h, −1 dBFS default).
 * Cue bus: sum of the cued channels, blended with the master by `cue_mix` (0 = cue only, 1 = master
 * only), times `cue_gain`. It is not limited (headphones; the DJ sets the level).
 * Crossfader position in [-1, 1] (−1 = all A, +1 = all B); curves: linear (gains 1−x and x), constant
 * power (cos/sin; −3 dB each at centre) and sharp cut (both full except in the outer 3 %, for scratching).
 * Every gain is linear and ramps per sample over the frames given. Meters: per channel (post-fader)
 * and master: sample peak with a 20 dB/s fall, and RMS over ~300 ms.
 * All setters and process: Thread: audio, real-time safe. create/destroy: Thread: control.
 */
#ifndef CDSP_MIXER_H
#define CDSP_MIXER_H

#include <stdint.h>
#include "status.h"
#include "eq3.h"
#include "filter.h"
#include "limiter.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CDSP_MIXER_MAX_CHANNELS 8
#define CDSP_MIXER_MAX_GAIN 8.0f /* +18 dB for trim and master */

typedef enum cdsp_xfader_curve {
    CDSP_XFADER_LINEAR = 0,
    CDSP_XFADER_CONSTANT_POWER = 1,
    CDSP_XFADER_SHARP = 2
} cdsp_xfader_curve;

typedef enum cdsp_xfader_assign { CDSP_ASSIGN_THRU = 0, CDSP_ASSIGN_A = 1, CDSP_ASSIGN_B = 2 } cdsp_xfader_assign;

typedef struct cdsp_mixer_config {
    uint32_t sample_rate;
    uint32_t channels;        /* 1 .. CDSP_MIXER_MAX_CHANNELS */
    double eq_low_mid_hz, eq_mid_high_hz;
    float filter_resonance;
    cdsp_limiter_config limiter;
} cdsp_mixer_config;

typedef struct cdsp_meter {
    float peak[2]; /* linear, with fall-off */
    float rms[2];  /* linear */
} cdsp_meter;

typedef struct cdsp_mixer cdsp_mixer;

cdsp_mixer_config cdsp_mixer_config_default(uint32_t sample_rate, uint32_t channels);
cdsp_mixer *cdsp_mixer_create(const cdsp_mixer_config *cfg, cdsp_status *err);
void cdsp_mixer_destroy(cdsp_mixer *m);

void cdsp_mixer_set_trim(cdsp_mixer *m, uint32_t ch, float gain, uint32_t ramp_frames);
void cdsp_mixer_set_eq(cdsp_mixer *m, uint32_t ch, cdsp_eq3_band band, float gain, uint32_t ramp_frames);
void cdsp_mixer_set_kill(cdsp_mixer *m, uint32_t ch, cdsp_eq3_band band, int kill, uint32_t ramp_frames);
void cdsp_mixer_set_filter(cdsp_mixer *m, uint32_t ch, float knob, uint32_t ramp_frames);
void cdsp_mixer_set_filter_resonance(cdsp_mixer *m, uint32_t ch, float q);
void cdsp_mixer_set_fader(cdsp_mixer *m, uint32_t ch, float gain, uint32_t ramp_frames); /* 0 .. 1 */
void cdsp_mixer_set_assign(cdsp_mixer *m, uint32_t ch, cdsp_xfader_assign a);
void cdsp_mixer_set_cue(cdsp_mixer *m, uint32_t ch, int on);
void cdsp_mixer_set_crossfader(cdsp_mixer *m, float position, uint32_t ramp_frames); /* -1 .. 1 */
void cdsp_mixer_set_curve(cdsp_mixer *m, cdsp_xfader_curve c);
void cdsp_mixer_set_master_gain(cdsp_mixer *m, float gain, uint32_t ramp_frames);
void cdsp_mixer_set_cue_mix(cdsp_mixer *m, float mix, uint32_t ramp_frames); /* 0 cue .. 1 master */
void cdsp_mixer_set_cue_gain(cdsp_mixer *m, float gain, uint32_t ramp_frames);
void cdsp_mixer_set_limiter_ceiling(cdsp_mixer *m, float ceiling_db);

/* Clears a channel's EQ and filter memory; their parameters jump to their targets. Used when a channel
 * that was skipped (NULL input) comes back. */
void cdsp_mixer_reset_channel(cdsp_mixer *m, uint32_t ch);

/* Crossfader gains for a curve and position (pure). Thread: any. */
void cdsp_xfader_gains(cdsp_xfader_curve c, float position, float *gain_a, float *gain_b);

/* Mixes `frames` frames. `inputs[ch]` is channel ch's stereo interleaved signal (processed in place;
 * NULL = a silent channel whose EQ and filter are not run: reset it with cdsp_mixer_reset_channel before
 * giving it input again). `master` and `cue` receive stereo interleaved output (`cue` may be NULL). */
void cdsp_mixer_process(cdsp_mixer *m, float *const *inputs, uint32_t frames, float *master, float *cue);

void cdsp_mixer_channel_meter(const cdsp_mixer *m, uint32_t ch, cdsp_meter *out);
void cdsp_mixer_master_meter(const cdsp_mixer *m, cdsp_meter *out);
void cdsp_mixer_cue_meter(const cdsp_mixer *m, cdsp_meter *out);
uint32_t cdsp_mixer_latency(const cdsp_mixer *m); /* master path, frames (the limiter's look-ahead) */
float cdsp_mixer_limiter_reduction_db(const cdsp_mixer *m);

/* Plain-data view of the control values (targets), for state snapshots. */
typedef struct cdsp_strip_info {
    float trim, eq[3], filter, fader;
    int32_t kill[3], assign, cue;
} cdsp_strip_info;
typedef struct cdsp_mixer_info {
    float crossfader, master_gain, cue_mix, cue_gain, limiter_ceiling_db, limiter_reduction_db;
    int32_t curve;
} cdsp_mixer_info;
void cdsp_mixer_strip_info(const cdsp_mixer *m, uint32_t ch, cdsp_strip_info *out);
void cdsp_mixer_info_get(const cdsp_mixer *m, cdsp_mixer_info *out);

#ifdef __cplusplus
}
#endif
#endif
