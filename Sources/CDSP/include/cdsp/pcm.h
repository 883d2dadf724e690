/*
 * pcm.h — a playback device: ALSA (open by name, negotiate, convert and write periods, recover), or a
 * clock-paced virtual device for machines without a sound card, with a WAV recorder for its output.
 *
 * Opening asks for a rate, a sample format (S16, S24 in 32 bits, S24 packed in 3 bytes, S32, FLOAT; "auto"
 * takes the first of FLOAT, S32, S24, S24_3, S16 the device accepts), a channel count, a period size and a
 * number of periods, and reports what the device granted: the real period and buffer sizes in frames and
 * so the output latency (buffer / rate). The device is opened non-blocking: the writer waits with a
 * time-out (cdsp_pcm_wait), so a device that stops taking audio is noticed instead of hanging the thread.
 *
 * Channels: master goes to channels 1/2 and, when the device has 4 or more, the cue bus to 3/4 (as DJ
 * interfaces are wired); any further channels get silence. "Auto" picks 4 only on a hardware device
 * (type hw) that offers 4 channels: on plug/pulse/dmix devices extra channels would be downmixed into the
 * speakers, putting the headphone cue into the master.
 *
 * Formats are little-endian. S16 is TPDF-dithered (fixed-seed generator, so output is deterministic);
 * integer formats clip at full scale.
 *
 * Errors: every call that fails fills `msg` with a sentence naming the device and what went wrong, with
 * ALSA's own words (its error handler is captured, so ALSA prints nothing on stderr).
 * Process-wide side effects of the first call: ALSA's error handler is replaced, and JACK_NO_START_SERVER=1
 * is set unless already set (so that opening or probing the `jack` PCM never starts a JACK server).
 * A JACK server that dies gives no error at all: the device just stops taking audio. Hence the time-out
 * in cdsp_pcm_wait's callers (player.h).
 *
 * Thread contract: open/close/probe/hints — control. wait/write/delay/recover — the one audio thread,
 * for both kinds of device (the recorder: see its functions),
 * real-time safe in the sense that they allocate nothing and take no lock of ours (they are the device I/O
 * that paces the audio thread; the sanitizer-checked region ends before them).
 *
 *   cdsp_pcm_request r = cdsp_pcm_request_default("default", 48000);
 *   cdsp_pcm_info info; char msg[256];
 *   cdsp_pcm *p = cdsp_pcm_open(&r, &info, &st, msg, sizeof msg);
 *   ... cdsp_pcm_wait(p, 100); cdsp_pcm_write(p, master, cue, info.period_frames); ...
 *   cdsp_pcm_close(p);
 *
 * The virtual device (cdsp_pcm_open_virtual): a sound card without hardware, for machines that have none.
 * It models a buffer of `periods` x `period` frames that drains at `rate` frames per second of
 * CLOCK_MONOTONIC, so the same audio thread (player.h) runs at exactly the real-time pace. Like ALSA it
 * starts once its buffer is full, and when the writer is so late that the modelled buffer ran dry,
 * cdsp_pcm_wait reports -EPIPE (an underrun: the player counts it) and cdsp_pcm_recover re-primes it (the
 * next buffer-full starts the clock again; no frame is lost, the clock slips by the gap). What is written
 * goes, as interleaved FLOAT frames (2 channels = master; 4 = master on 1/2 and cue on 3/4), into a
 * caller-owned SPSC frame ring (ring.h) that another thread drains — a cdsp_pcm_recorder into a WAV file —
 * or nowhere (sink NULL: the "null" output). A full ring is never waited on: the frames that did not fit
 * are counted as dropped (cdsp_pcm_virtual_stats_get). wait sleeps with clock_nanosleep to the absolute time a
 * period of room is free (the audio thread's legitimate block); write and delay only copy, read clocks and
 * touch atomics: no allocation, lock or I/O.
 *
 *   cdsp_ring *ring = cdsp_ring_create(4 * 48000, 2 * sizeof(float), &st);
 *   cdsp_pcm *v = cdsp_pcm_open_virtual(&r, ring, &info, &st, msg, sizeof msg);   // info.type_name "VIRTUAL"
 *   cdsp_pcm_recorder *rec = cdsp_pcm_recorder_create("out.wav", 48000, 2, CDSP_PCM_FORMAT_FLOAT, ring, &st, msg, sizeof msg);
 *   ... the player writes v; another thread calls cdsp_pcm_recorder_pump(rec) every few ms ...
 *   cdsp_pcm_close(v); cdsp_pcm_recorder_close(rec, msg, sizeof msg); cdsp_ring_destroy(ring);
 */
#ifndef CDSP_PCM_H
#define CDSP_PCM_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"
#include "ring.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cdsp_pcm_format {
    CDSP_PCM_FORMAT_AUTO = 0,
    CDSP_PCM_FORMAT_S16 = 1,    /* S16_LE */
    CDSP_PCM_FORMAT_S24 = 2,    /* S24_LE: 24 bits in the low bytes of 32 */
    CDSP_PCM_FORMAT_S24_3 = 3,  /* S24_3LE: packed, 3 bytes */
    CDSP_PCM_FORMAT_S32 = 4,    /* S32_LE */
    CDSP_PCM_FORMAT_FLOAT = 5   /* FLOAT_LE */
} cdsp_pcm_format;

#define CDSP_PCM_MAX_CHANNELS 32
#define CDSP_PCM_NAME_MAX 256

typedef struct cdsp_pcm_request {
    const char *device;      /* ALSA PCM name: "default", "hw:1,0", "plughw:1", an asoundrc PCM */
    uint32_t rate;           /* frames per second */
    int rate_exact;          /* 1: fail unless the device grants `rate` exactly; 0: take the nearest */
    cdsp_pcm_format format;  /* AUTO: FLOAT, S32, S24, S24_3, S16 in that order */
    uint32_t channels;       /* 0 = auto (see above), else 2 .. CDSP_PCM_MAX_CHANNELS */
    uint32_t period_frames;  /* asked for; the device may grant another size */
    uint32_t periods;        /* buffer = periods x period; 2 .. 16 */
} cdsp_pcm_request;

typedef struct cdsp_pcm_info {
    char device[CDSP_PCM_NAME_MAX];
    uint32_t rate;
    cdsp_pcm_format format;
    uint32_t channels;        /* channels opened on the device */
    int cue_channels;         /* 1 if the cue bus goes to channels 3/4 */
    uint32_t period_frames;   /* granted */
    uint32_t buffer_frames;   /* granted */
    uint32_t periods;         /* buffer_frames / period_frames, rounded down */
    uint32_t bytes_per_frame;
    char type_name[32];       /* "HW", "PLUG", "IOPLUG", ... */
} cdsp_pcm_info;

/* What a device can do, for `djd devices`. */
typedef struct cdsp_pcm_caps {
    uint32_t channels_min, channels_max;
    uint32_t rate_min, rate_max;
    uint32_t formats;          /* bit (1 << cdsp_pcm_format) for each accepted format */
    uint32_t standard_rates;   /* bit i set if kStandardRates[i] (44100, 48000, 88200, 96000, 176400, 192000) */
    uint32_t period_min, period_max;  /* frames */
    uint32_t buffer_min, buffer_max;  /* frames */
    char type_name[32];
} cdsp_pcm_caps;

typedef struct cdsp_pcm_hint {
    char name[CDSP_PCM_NAME_MAX];
    char description[512];
} cdsp_pcm_hint;

typedef struct cdsp_pcm cdsp_pcm;

/* Thread: any. */
cdsp_pcm_request cdsp_pcm_request_default(const char *device, uint32_t rate);
const char *cdsp_pcm_format_name(cdsp_pcm_format f);   /* "S16_LE", ...; "auto" */
uint32_t cdsp_pcm_format_bytes(cdsp_pcm_format f);     /* bytes per sample */
uint32_t cdsp_pcm_standard_rate(uint32_t index);       /* 0 past the end */

/* Thread: control. Opens and configures the device, ready to be written (it starts by itself once its
 * buffer is full). NULL on failure, with `err` and `msg` set. */
cdsp_pcm *cdsp_pcm_open(const cdsp_pcm_request *req, cdsp_pcm_info *info, cdsp_status *err, char *msg,
                        size_t msg_len);
/* Thread: any. What the device granted (the same as `info` from open). */
const cdsp_pcm_info *cdsp_pcm_get_info(const cdsp_pcm *p);
/* Thread: control, once the writer has stopped. Drops what is queued. NULL-safe. */
void cdsp_pcm_close(cdsp_pcm *p);

/* Thread: audio. Waits up to `timeout_ms` for room for a period: 1 ready, 0 time-out, < 0 ALSA error. */
int cdsp_pcm_wait(cdsp_pcm *p, int timeout_ms);
/* Thread: audio. Converts `frames` frames of master (and cue, may be NULL) to the device layout and
 * writes them. Returns frames written (may be fewer when the device is full), or a negative ALSA error. */
long cdsp_pcm_write(cdsp_pcm *p, const float *master, const float *cue, uint32_t frames);
/* Thread: audio. Recovers from an underrun or suspend (-EPIPE / -ESTRPIPE): 0 when the stream is
 * ready again, < 0 when the device is gone. */
int cdsp_pcm_recover(cdsp_pcm *p, int err);
/* Thread: audio. Frames queued in the device, not yet heard (snd_pcm_delay); < 0 on error. */
long cdsp_pcm_delay(cdsp_pcm *p, long *frames);
/* Thread: control, after the writer stopped: waits up to `timeout_ms` for the queued frames to play out,
 * then stops the stream. */
void cdsp_pcm_drain(cdsp_pcm *p, int timeout_ms);

/* Thread: any. ALSA's text for a negative ALSA error (snd_strerror). */
const char *cdsp_pcm_error_string(int err);

/* Thread: any (pure). The conversion cdsp_pcm_write does: `out` gets `frames` frames of `channels`
 * channels in `format`. `dither` is the TPDF generator state for S16 (updated). */
void cdsp_pcm_convert(cdsp_pcm_format format, uint32_t channels, int cue_channels, const float *master,
                      const float *cue, uint32_t frames, void *out, uint32_t *dither);

/* ---- the virtual device ---- */

/* Thread: control. Opens a clock-paced virtual device (see the top of this file). `req->device` is only
 * the name reported in info.device ("null", "file:/tmp/x.wav"); rate (8000 ... 384000), period (16 ...
 * 65536) and periods (2 ... 16) are granted exactly; format must be AUTO or FLOAT (it is FLOAT); channels
 * 0 or 2 (master) or 4 (master 1/2, cue 3/4). `sink` (may be NULL) takes the written frames: its element
 * size must be channels x sizeof(float). It is not owned: it must outlive the device. */
cdsp_pcm *cdsp_pcm_open_virtual(const cdsp_pcm_request *req, cdsp_ring *sink, cdsp_pcm_info *info, cdsp_status *err,
                                char *msg, size_t msg_len);

typedef struct cdsp_pcm_virtual_stats {
    uint64_t frames;    /* frames written to the device since open */
    uint64_t dropped;   /* of those, frames the sink ring had no room for (its reader fell behind) */
    uint64_t xruns;     /* times the modelled buffer ran dry (also counted by the player as underruns) */
} cdsp_pcm_virtual_stats;

/* Thread: any. 1 and the counters for a virtual device; 0 (and zeros) for an ALSA device. */
int cdsp_pcm_virtual_stats_get(const cdsp_pcm *p, cdsp_pcm_virtual_stats *out);

/* A WAV recorder that drains a virtual device's sink ring into a file through libsndfile. The header is
 * rewritten after every write (SFC_SET_UPDATE_HEADER_AUTO), so the file is valid and playable up to the
 * last pump even if the process is killed. Formats: FLOAT or AUTO (32-bit float), S16 (TPDF-dithered as
 * cdsp_pcm_convert does), S24 / S24_3 (24-bit), S32. A WAV cannot exceed 4 GiB: past that the recorder
 * keeps draining the ring but writes nothing and reports CDSP_ERR_FILE_WRITE. */
typedef struct cdsp_pcm_recorder cdsp_pcm_recorder;

/* Thread: control. Creates (truncates) `path`. `source` is the ring to drain: element size channels x
 * sizeof(float). NULL on failure, with a message naming the path. */
cdsp_pcm_recorder *cdsp_pcm_recorder_create(const char *path, uint32_t rate, uint32_t channels, cdsp_pcm_format format,
                                            cdsp_ring *source, cdsp_status *err, char *msg, size_t msg_len);
/* Thread: the recorder's own (normal priority: file I/O). Moves everything the ring holds into the file.
 * Returns the frames moved, or a negative cdsp_status (the first error; `msg` says what). */
long cdsp_pcm_recorder_pump(cdsp_pcm_recorder *r, char *msg, size_t msg_len);
/* Thread: any. Frames in the file so far. */
uint64_t cdsp_pcm_recorder_frames(const cdsp_pcm_recorder *r);
/* Thread: the recorder's, or control once it stopped. Pumps what is left, closes the file, frees; returns
 * the first error seen. NULL-safe. */
cdsp_status cdsp_pcm_recorder_close(cdsp_pcm_recorder *r, char *msg, size_t msg_len);

/* Thread: control. Opens `device` briefly and reports what it can do. */
cdsp_status cdsp_pcm_probe(const char *device, cdsp_pcm_caps *caps, char *msg, size_t msg_len);
/* Thread: control. The playback PCMs ALSA knows (name hints): fills up to `max`, returns how many there are. */
size_t cdsp_pcm_hints(cdsp_pcm_hint *out, size_t max);

#ifdef __cplusplus
}
#endif
#endif
