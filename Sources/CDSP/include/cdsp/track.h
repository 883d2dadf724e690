/*
 * track.h — decoded audio as the engine plays it: interleaved stereo float at the engine rate.
 *
 * Plain data. The control side owns the memory (see audiofile.h for decoding into one); the audio
 * thread only reads it while a deck holds it and hands the pointer back in a RETIRED event, after
 * which the owner may free it. Thread: any (read-only once published).
 */
#ifndef CDSP_TRACK_H
#define CDSP_TRACK_H

#include <stdint.h>

typedef struct cdsp_track {
    const float *frames;  /* interleaved L R, `length` frames */
    int64_t length;       /* frames */
    uint32_t sample_rate; /* the engine rate */
    uint32_t channels;    /* always 2 */
    uint64_t id;          /* the owner's identity for it, echoed back in events */
} cdsp_track;

#endif
