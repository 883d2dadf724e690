/*
 * deck.h — one playback deck: a track, a position, transport, cue point, loops and varispeed.
 *
 * Varispeed: the rate (0.5 .. 2.0, 1 = normal) changes speed and pitch together, like a turntable,
 * through libsamplerate's sinc converters. At a rate of exactly 1 the deck copies the track's frames
 * (bit-exact, no filtering); any other rate, or a rate still ramping, runs through libsamplerate.
 * The ratio handed to libsamplerate changes only on a 16-frame grid of absolute engine time and
 * every change is a small step of a per-sample ramp, so rate moves are click-free and the output does
 * not depend on how the caller cuts time into periods.
 * Positions are in track frames (engine rate) and may be negative (silence before the start).
 * Loops: [loop_in, loop_out) repeat exactly, sample for sample, while active.
 * Play and pause fade over `declick_frames` (default 96, 2 ms at 48 kHz) so they never click; a seek or
 * cue jump while playing crossfades from the old position to the new one over the same time (the new
 * position starts at the command's exact frame). Loop wraps are not faded: a loop repeats exactly.
 * Latency: 0 (the varispeed converter is zero-phase; the deck reads ahead of the output instead).
 *
 * All functions but create/destroy are Thread: audio, real-time safe (the engine calls them when a
 * command lands). create/destroy are Thread: control and allocate.
 */
#ifndef CDSP_DECK_H
#define CDSP_DECK_H

#include <stdint.h>
#include "status.h"
#include "track.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CDSP_DECK_MIN_RATE 0.5
#define CDSP_DECK_MAX_RATE 2.0
#define CDSP_DECK_RATE_GRID 16

typedef enum cdsp_src_quality {
    CDSP_SRC_BEST = 0,    /* libsamplerate SRC_SINC_BEST_QUALITY */
    CDSP_SRC_MEDIUM = 1,  /* SRC_SINC_MEDIUM_QUALITY */
    CDSP_SRC_FASTEST = 2  /* SRC_SINC_FASTEST (default for varispeed) */
} cdsp_src_quality;

typedef struct cdsp_deck_config {
    uint32_t sample_rate;
    uint32_t max_block;       /* most frames one render call asks for */
    cdsp_src_quality quality;
    uint32_t declick_frames;  /* play/pause fade length; 0 = none */
} cdsp_deck_config;

/* What the control side may see of a deck. */
typedef struct cdsp_deck_info {
    double position;      /* frames into the track (fractional while varispeed runs) */
    double rate;          /* the rate in use now */
    double rate_target;
    int64_t length;       /* frames, 0 without a track */
    int64_t cue;
    int64_t loop_in, loop_out;
    uint64_t track_id;
    int32_t playing;      /* 1 while audible or fading out */
    int32_t loop_active;
    int32_t has_track;
    int32_t varispeed;    /* 1 while libsamplerate is in the path */
} cdsp_deck_info;

typedef struct cdsp_deck cdsp_deck;

cdsp_deck_config cdsp_deck_config_default(uint32_t sample_rate, uint32_t max_block);
cdsp_deck *cdsp_deck_create(const cdsp_deck_config *cfg, cdsp_status *err);
void cdsp_deck_destroy(cdsp_deck *d);

/* Puts `track` on the deck (NULL empties it), stopped, at `position`, cue 0, no loop.
 * Returns the track it replaced (NULL if none) for the caller to retire. */
const cdsp_track *cdsp_deck_load(cdsp_deck *d, const cdsp_track *track, double position);
void cdsp_deck_play(cdsp_deck *d);
void cdsp_deck_pause(cdsp_deck *d);
void cdsp_deck_seek(cdsp_deck *d, double position);
void cdsp_deck_set_cue(cdsp_deck *d, int64_t frame);
void cdsp_deck_jump_to_cue(cdsp_deck *d);
/* rate clamped to [MIN_RATE, MAX_RATE]; reaches it linearly over ramp_frames. */
void cdsp_deck_set_rate(cdsp_deck *d, double rate, uint32_t ramp_frames);
void cdsp_deck_set_loop(cdsp_deck *d, int64_t loop_in, int64_t loop_out); /* activates; ignored if out <= in */
void cdsp_deck_loop_in(cdsp_deck *d, int64_t frame);   /* marks the start; does not activate */
void cdsp_deck_loop_out(cdsp_deck *d, int64_t frame);  /* marks the end and activates */
void cdsp_deck_loop_exit(cdsp_deck *d);
void cdsp_deck_loop_reenter(cdsp_deck *d);

/* Renders `frames` (<= max_block) stereo interleaved frames starting at absolute engine frame `now`.
 * Returns 1 if the track ended during the call (the deck stops itself), else 0. */
int cdsp_deck_render(cdsp_deck *d, float *out, uint32_t frames, uint64_t now);

void cdsp_deck_info_get(const cdsp_deck *d, cdsp_deck_info *info);
/* 1 while the deck produces sound (playing or fading out), else 0: its output is then silence. */
int cdsp_deck_audible(const cdsp_deck *d);

#ifdef __cplusplus
}
#endif
#endif
