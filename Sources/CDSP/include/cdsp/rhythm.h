/*
 * rhythm.h — tempo, beat grid, downbeats and arrangement of a whole track.
 *
 * Input: the mono mix of a track at any rate from 8 kHz to 384 kHz. Output: the tempo (BPM, to 0.01),
 * ranked tempo candidates (half/double/triple relatives with confidences), every beat (seconds) from the
 * start to the end of the music, through drumless intros and breakdowns, the downbeats and the meter
 * (3 or 4 beats per bar), a grid confidence, and where the full arrangement starts and ends (beat
 * indices), for mixing.
 *
 * A track whose beats keep one tempo (the usual case in dance music) gets a straight grid whose period
 * and phase are fitted to the attacks over the whole track (a 6-minute track stays within a few ms of
 * its beats from end to end). A track whose tempo wanders gets beats that follow it (`steady` = 0).
 * No steady pulse (silence, noise, clicks at random, a file shorter than a few beats): bpm 0, no
 * beats, confidence near 0; the candidates may still list the best guesses, with low confidences.
 *
 * The tempo range is a preference, not a wall: between two octave-related tempi the one inside
 * [min_bpm, max_bpm] wins unless the music clearly says otherwise.
 *
 * Thread: control (allocates; plans FFTs through fft.h). Any number may run at once on different data.
 */
#ifndef CDSP_RHYTHM_H
#define CDSP_RHYTHM_H

#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdsp_rhythm_config {
    double min_bpm;   /* preferred tempo range; default 70 */
    double max_bpm;   /* default 180; 30 <= min_bpm < max_bpm <= 300, max_bpm >= 1.5 * min_bpm */
} cdsp_rhythm_config;

cdsp_rhythm_config cdsp_rhythm_config_default(void);

enum { CDSP_RHYTHM_MAX_CANDIDATES = 5 };

typedef struct cdsp_tempo_candidate {
    double bpm;
    double confidence;  /* 0..1; the candidates' confidences sum to at most 1 */
} cdsp_tempo_candidate;

typedef struct cdsp_rhythm_result {
    double bpm;                 /* 0 when there is no steady pulse */
    double confidence;          /* grid confidence, 0..1 */
    int steady;                 /* 1: beats are a straight grid at `bpm`; 0: they follow a wandering tempo */
    int beats_per_bar;          /* 3 or 4; 0 without beats */
    int candidate_count;
    cdsp_tempo_candidate candidates[CDSP_RHYTHM_MAX_CANDIDATES];  /* best first */
    int64_t beat_count;
    double *beats;              /* seconds, ascending */
    int64_t downbeat_count;
    double *downbeats;          /* seconds; each one is also in `beats` */
    int64_t first_downbeat;     /* index in `beats` of the first downbeat; -1 without beats */
    int64_t intro_end;          /* index in `beats` where the full arrangement starts; -1 when unknown */
    int64_t outro_start;        /* index in `beats` where it ends (the outro starts); -1 when unknown */
    double music_start;         /* seconds: first and last audible moments (-60 dB below the loudest) */
    double music_end;
} cdsp_rhythm_result;

/* Progress callback: fraction done 0..1. May be NULL. Called from the calling thread. */
typedef void (*cdsp_progress_fn)(void *context, double fraction);

/* Analyses `n` samples of `mono`. The result owns `beats` and `downbeats`: free them with
 * cdsp_rhythm_result_free. INVALID_ARGUMENT for NULL pointers, n < 0, a rate out of range or a bad config;
 * NO_MEMORY when allocation fails. Silence or very short input is OK (an answer with no beats). */
cdsp_status cdsp_rhythm_analyze(const float *mono, int64_t n, uint32_t sample_rate,
                                const cdsp_rhythm_config *config, cdsp_rhythm_result *out,
                                cdsp_progress_fn progress, void *progress_context);

/* NULL-safe; leaves `r` empty. */
void cdsp_rhythm_result_free(cdsp_rhythm_result *r);

#ifdef __cplusplus
}
#endif
#endif
