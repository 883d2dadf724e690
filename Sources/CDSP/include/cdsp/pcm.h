/*
 * pcm.h — an ALSA playback device: open by name, negotiate, convert and write periods, recover.
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
 * real-time safe in the sense that they allocate nothing and take no lock of ours (they are the device I/O
 * that paces the audio thread; the sanitizer-checked region ends before them).
 *
 *   cdsp_pcm_request r = cdsp_pcm_request_default("default", 48000);
 *   cdsp_pcm_info info; char msg[256];
 *   cdsp_pcm *p = cdsp_pcm_open(&r, &info, &st, msg, sizeof msg);
 *   ... cdsp_pcm_wait(p, 100); cdsp_pcm_write(p, master, cue, info.period_frames); ...
 *   cdsp_pcm_close(p);
 */
#ifndef CDSP_PCM_H
#define CDSP_PCM_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

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

/* Thread: control. Opens `device` briefly and reports what it can do. */
cdsp_status cdsp_pcm_probe(const char *device, cdsp_pcm_caps *caps, char *msg, size_t msg_len);
/* Thread: control. The playback PCMs ALSA knows (name hints): fills up to `max`, returns how many there are. */
size_t cdsp_pcm_hints(cdsp_pcm_hint *out, size_t max);

#ifdef __cplusplus
}
#endif
#endif
