/*
 * audiofile.h — decoding audio files into engine tracks, and writing rendered audio.
 *
 * Reading goes through libsndfile (WAV, AIFF, FLAC, Ogg Vorbis/Opus, MP3 and the rest it knows), is
 * converted to interleaved stereo float (mono is duplicated; of more than two channels the first two
 * are kept) and to the engine rate with libsamplerate. Errors are classified (status.h) and come with
 * a message that says what is wrong: a WAV/AIFF whose data chunk is shorter than its header says,
 * or a FLAC that stops decoding before its declared length, is TRUNCATED; a malformed header is CORRUPT;
 * a file libsndfile does not recognise is UNSUPPORTED.
 * Writing: WAV 16-bit (TPDF-dithered, fixed seed: deterministic), 24-bit, 32-bit float; FLAC 16/24;
 * Ogg Vorbis; MP3.
 * Thread: control (these allocate and do I/O). Never call them from the audio thread.
 */
#ifndef CDSP_AUDIOFILE_H
#define CDSP_AUDIOFILE_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"
#include "deck.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdsp_audiofile_info {
    int64_t frames;        /* in the file's own rate; -1 if the file does not say */
    uint32_t sample_rate;
    uint32_t channels;
    char format[64];       /* e.g. "WAV PCM 16-bit" */
} cdsp_audiofile_info;

/* Decoded audio: interleaved stereo float. Free with cdsp_audio_free. */
typedef struct cdsp_audio {
    float *frames;
    int64_t length;        /* frames */
    uint32_t sample_rate;
} cdsp_audio;

/* Reads the header only. `msg` (may be NULL) receives a one-line reason on failure. */
cdsp_status cdsp_audiofile_probe(const char *path, cdsp_audiofile_info *info, char *msg, size_t msg_len);

/* Decodes `path`, converting to stereo at `target_rate` (0 = keep the file's rate) with the given
 * converter quality. Fails with CDSP_ERR_TOO_LONG beyond `max_seconds` (0 = no limit). */
cdsp_status cdsp_audiofile_load(const char *path, uint32_t target_rate, cdsp_src_quality quality, double max_seconds,
                                cdsp_audio *out, cdsp_audiofile_info *info, char *msg, size_t msg_len);
void cdsp_audio_free(cdsp_audio *a);

/* The mono mix (mean of the two channels) of `frames` frames of interleaved stereo. */
void cdsp_audio_downmix(const float *stereo, int64_t frames, float *mono);

/* Converts interleaved stereo float between rates (used by load; public for tools and tests). */
cdsp_status cdsp_resample_stereo(const float *in, int64_t in_frames, uint32_t in_rate, uint32_t out_rate,
                                 cdsp_src_quality quality, cdsp_audio *out, char *msg, size_t msg_len);

typedef enum cdsp_file_format {
    CDSP_FILE_WAV16 = 0,
    CDSP_FILE_WAV24,
    CDSP_FILE_WAV_FLOAT,
    CDSP_FILE_FLAC16,
    CDSP_FILE_FLAC24,
    CDSP_FILE_OGG_VORBIS,
    CDSP_FILE_MP3
} cdsp_file_format;

typedef struct cdsp_audiofile_writer cdsp_audiofile_writer;

cdsp_audiofile_writer *cdsp_audiofile_writer_create(const char *path, uint32_t sample_rate, uint32_t channels,
                                                    cdsp_file_format format, cdsp_status *err, char *msg,
                                                    size_t msg_len);
/* Interleaved float; samples beyond [-1, 1] are clipped in integer formats. */
cdsp_status cdsp_audiofile_writer_write(cdsp_audiofile_writer *w, const float *frames, int64_t count);
/* Finishes the file (header sizes); returns the first error seen. NULL-safe. */
cdsp_status cdsp_audiofile_writer_close(cdsp_audiofile_writer *w, char *msg, size_t msg_len);

#ifdef __cplusplus
}
#endif
#endif
