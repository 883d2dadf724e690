/* pcm.c — ALSA playback device, and the clock-paced virtual device with its WAV recorder (see pcm.h). */
#define _GNU_SOURCE
#include "cdsp/pcm.h"
#include "message.h"

#include <alsa/asoundlib.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The modelled state of a virtual device. Audio thread only (and control once the writer stopped),
 * except the counters, which are read from any thread. */
typedef struct virtual_dev {
    cdsp_ring *sink;       /* not owned; NULL: discard */
    int started;           /* the modelled stream runs (it starts when its buffer is full, like ALSA) */
    uint64_t t0;           /* CLOCK_MONOTONIC ns at which it started */
    uint64_t written;      /* frames written since it was (re)primed */
    _Atomic uint64_t frames, dropped, xruns;
} virtual_dev;

struct cdsp_pcm {
    snd_pcm_t *h;          /* NULL for the virtual device */
    cdsp_pcm_info info;
    uint8_t *buf;          /* one chunk of converted frames */
    uint32_t buf_frames;
    uint32_t dither;
    virtual_dev *v;        /* non-NULL for the virtual device */
};

static const uint32_t kStandardRates[] = {44100, 48000, 88200, 96000, 176400, 192000};
static const cdsp_pcm_format kAutoOrder[] = {CDSP_PCM_FORMAT_FLOAT, CDSP_PCM_FORMAT_S32, CDSP_PCM_FORMAT_S24,
                                             CDSP_PCM_FORMAT_S24_3, CDSP_PCM_FORMAT_S16};

/* ---- ALSA's error messages: captured per thread instead of printed on stderr ---- */

static _Thread_local char alsa_said[256];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void alsa_error_handler(const char *file, int line, const char *function, int err, const char *fmt, ...)
{
    (void)file; (void)line; (void)function; (void)err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(alsa_said, sizeof alsa_said, fmt, ap);
    va_end(ap);
    size_t n = strlen(alsa_said);
    while (n && (alsa_said[n - 1] == '\n' || alsa_said[n - 1] == ' ')) alsa_said[--n] = 0;
}

static void pcm_init(void)
{
    snd_lib_error_set_handler(alsa_error_handler);
    /* Probing the `jack` PCM must not start a JACK server behind the user's back. */
    setenv("JACK_NO_START_SERVER", "1", 0);
}

static void ensure_init(void) { pthread_once(&init_once, pcm_init); }

/* " (ALSA: ...)" with whatever ALSA said, or its strerror. */
static void alsa_detail(int err, char *out, size_t len)
{
    if (alsa_said[0])
        snprintf(out, len, " (ALSA: %s; %s)", alsa_said, snd_strerror(err));
    else
        snprintf(out, len, " (ALSA: %s)", snd_strerror(err));
}

/* ---- formats ---- */

static snd_pcm_format_t alsa_format(cdsp_pcm_format f)
{
    switch (f) {
    case CDSP_PCM_FORMAT_S16: return SND_PCM_FORMAT_S16_LE;
    case CDSP_PCM_FORMAT_S24: return SND_PCM_FORMAT_S24_LE;
    case CDSP_PCM_FORMAT_S24_3: return SND_PCM_FORMAT_S24_3LE;
    case CDSP_PCM_FORMAT_S32: return SND_PCM_FORMAT_S32_LE;
    case CDSP_PCM_FORMAT_FLOAT: return SND_PCM_FORMAT_FLOAT_LE;
    default: return SND_PCM_FORMAT_UNKNOWN;
    }
}

const char *cdsp_pcm_format_name(cdsp_pcm_format f)
{
    switch (f) {
    case CDSP_PCM_FORMAT_S16: return "S16_LE";
    case CDSP_PCM_FORMAT_S24: return "S24_LE";
    case CDSP_PCM_FORMAT_S24_3: return "S24_3LE";
    case CDSP_PCM_FORMAT_S32: return "S32_LE";
    case CDSP_PCM_FORMAT_FLOAT: return "FLOAT_LE";
    default: return "auto";
    }
}

uint32_t cdsp_pcm_format_bytes(cdsp_pcm_format f)
{
    switch (f) {
    case CDSP_PCM_FORMAT_S16: return 2;
    case CDSP_PCM_FORMAT_S24_3: return 3;
    case CDSP_PCM_FORMAT_S24:
    case CDSP_PCM_FORMAT_S32:
    case CDSP_PCM_FORMAT_FLOAT: return 4;
    default: return 0;
    }
}

uint32_t cdsp_pcm_standard_rate(uint32_t index)
{
    return index < sizeof kStandardRates / sizeof kStandardRates[0] ? kStandardRates[index] : 0;
}

cdsp_pcm_request cdsp_pcm_request_default(const char *device, uint32_t rate)
{
    cdsp_pcm_request r;
    memset(&r, 0, sizeof r);
    r.device = device;
    r.rate = rate;
    r.rate_exact = 1;
    r.format = CDSP_PCM_FORMAT_AUTO;
    r.channels = 0;
    r.period_frames = 256;
    r.periods = 3;
    return r;
}

/* ---- conversion ---- */

static inline uint32_t xorshift32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static inline int32_t to_int(double x, double scale, int32_t lo, int32_t hi)
{
    double v = nearbyint(x * scale);
    if (v < lo) return lo;
    if (v > hi) return hi;
    return (int32_t)v;
}

void cdsp_pcm_convert(cdsp_pcm_format format, uint32_t channels, int cue_channels, const float *master,
                      const float *cue, uint32_t frames, void *out, uint32_t *dither)
{
    uint32_t bytes = cdsp_pcm_format_bytes(format);
    uint8_t *o = out;
    uint32_t seed = dither && *dither ? *dither : 0x9E3779B9u;
    for (uint32_t i = 0; i < frames; i++) {
        for (uint32_t c = 0; c < channels; c++) {
            float x = 0;
            if (c < 2) x = master[2 * (size_t)i + c];
            else if (c < 4 && cue_channels && cue) x = cue[2 * (size_t)i + (c - 2)];
            switch (format) {
            case CDSP_PCM_FORMAT_FLOAT: memcpy(o, &x, 4); break;
            case CDSP_PCM_FORMAT_S16: {
                /* TPDF dither of +-1 LSB: the difference of two uniform variables. */
                double d = ((double)xorshift32(&seed) - (double)xorshift32(&seed)) * (1.0 / 4294967296.0);
                int16_t v = (int16_t)to_int((double)x + d / 32768.0, 32768.0, -32768, 32767);
                memcpy(o, &v, 2);
                break;
            }
            case CDSP_PCM_FORMAT_S24: {
                int32_t v = to_int(x, 8388608.0, -8388608, 8388607);
                memcpy(o, &v, 4);
                break;
            }
            case CDSP_PCM_FORMAT_S24_3: {
                int32_t v = to_int(x, 8388608.0, -8388608, 8388607);
                o[0] = (uint8_t)(v & 0xFF);
                o[1] = (uint8_t)((v >> 8) & 0xFF);
                o[2] = (uint8_t)((v >> 16) & 0xFF);
                break;
            }
            case CDSP_PCM_FORMAT_S32: {
                int32_t v = to_int(x, 2147483648.0, INT32_MIN, INT32_MAX);
                memcpy(o, &v, 4);
                break;
            }
            default: break;
            }
            o += bytes;
        }
    }
    if (dither) *dither = seed;
}

/* ---- open / close ---- */

static cdsp_status classify_open_error(int r)
{
    switch (-r) {
    case ENOENT:
    case ENODEV:
    case ENXIO: return CDSP_ERR_DEVICE_NOT_FOUND;
    case EBUSY:
    case EAGAIN: return CDSP_ERR_DEVICE_BUSY;
    default: return CDSP_ERR_DEVICE_FAILED;
    }
}

static const char *type_name(snd_pcm_t *h)
{
    const char *n = snd_pcm_type_name(snd_pcm_type(h));
    return n ? n : "?";
}

/* Bit (1 << f) for each cdsp_pcm_format the device accepts. */
static uint32_t format_mask(snd_pcm_t *h, snd_pcm_hw_params_t *hw)
{
    uint32_t mask = 0;
    for (int f = CDSP_PCM_FORMAT_S16; f <= CDSP_PCM_FORMAT_FLOAT; f++)
        if (snd_pcm_hw_params_test_format(h, hw, alsa_format((cdsp_pcm_format)f)) == 0) mask |= 1u << f;
    return mask;
}

static void format_list(uint32_t mask, char *out, size_t len)
{
    out[0] = 0;
    for (int f = CDSP_PCM_FORMAT_S16; f <= CDSP_PCM_FORMAT_FLOAT; f++) {
        if (mask & (1u << f)) {
            size_t n = strlen(out);
            snprintf(out + n, len - n, "%s%s", n ? ", " : "", cdsp_pcm_format_name((cdsp_pcm_format)f));
        }
    }
    if (!out[0]) snprintf(out, len, "none DJCore can write");
}

/* Opens `dev` for playback, non-blocking. On failure: the status, and a message that names the device,
 * says what kind of failure it is and quotes ALSA. Shared by open and probe. */
static cdsp_status open_playback(const char *dev, snd_pcm_t **h, char *msg, size_t msg_len)
{
    alsa_said[0] = 0;
    int r = snd_pcm_open(h, dev, SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
    if (r >= 0) return CDSP_OK;
    cdsp_status st = classify_open_error(r);
    char detail[400];
    alsa_detail(r, detail, sizeof detail);
    const char *what = st == CDSP_ERR_DEVICE_NOT_FOUND ? "no such device"
                     : st == CDSP_ERR_DEVICE_BUSY ? "it is busy (another program is using it)"
                     : (r == -EACCES || r == -EPERM) ? "permission denied (is the user in the audio group?)"
                     : "it could not be opened";
    cdsp_message(msg, msg_len, "cannot open sound device '%s': %s%s", dev, what, detail);
    return st;
}

cdsp_pcm *cdsp_pcm_open(const cdsp_pcm_request *req, cdsp_pcm_info *info, cdsp_status *err, char *msg,
                        size_t msg_len)
{
    ensure_init();
    cdsp_status st = CDSP_ERR_INVALID_ARGUMENT;
    char detail[400];
    if (err) *err = CDSP_OK;
    if (msg && msg_len) msg[0] = 0;
    if (!req || !req->device || !req->device[0]) {
        cdsp_message(msg, msg_len, "no sound device name given");
        goto fail_early;
    }
    const char *dev = req->device;
    if (strlen(dev) >= CDSP_PCM_NAME_MAX) {
        cdsp_message(msg, msg_len, "sound device name is longer than %d characters", CDSP_PCM_NAME_MAX - 1);
        goto fail_early;
    }
    if (req->rate < 8000 || req->rate > 384000) {
        cdsp_message(msg, msg_len, "sample rate %u Hz is outside 8000 ... 384000", req->rate);
        goto fail_early;
    }
    if (req->channels == 1 || req->channels > CDSP_PCM_MAX_CHANNELS) {
        cdsp_message(msg, msg_len, "%u output channels: DJCore writes 2 ... %d (0 = auto)", req->channels,
                CDSP_PCM_MAX_CHANNELS);
        goto fail_early;
    }
    if (req->period_frames < 16 || req->period_frames > 65536) {
        cdsp_message(msg, msg_len, "period of %u frames is outside 16 ... 65536", req->period_frames);
        goto fail_early;
    }
    if (req->periods < 2 || req->periods > 16) {
        cdsp_message(msg, msg_len, "%u periods per buffer is outside 2 ... 16", req->periods);
        goto fail_early;
    }
    if ((int)req->format < CDSP_PCM_FORMAT_AUTO || req->format > CDSP_PCM_FORMAT_FLOAT) {
        cdsp_message(msg, msg_len, "unknown sample format %d", (int)req->format);
        goto fail_early;
    }

    snd_pcm_t *h = NULL;
    int r;
    if ((st = open_playback(dev, &h, msg, msg_len)) != CDSP_OK) goto fail_early;

    snd_pcm_hw_params_t *hw;
    snd_pcm_hw_params_alloca(&hw);
    st = CDSP_ERR_DEVICE_UNSUPPORTED;
    if ((r = snd_pcm_hw_params_any(h, hw)) < 0) {
        st = CDSP_ERR_DEVICE_FAILED;
        alsa_detail(r, detail, sizeof detail);
        cdsp_message(msg, msg_len, "sound device '%s' reports no configuration%s", dev, detail);
        goto fail;
    }
    if ((r = snd_pcm_hw_params_set_access(h, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0) {
        cdsp_message(msg, msg_len, "sound device '%s' does not take interleaved writes; try 'plug:%s'", dev, dev);
        goto fail;
    }

    /* format */
    cdsp_pcm_format fmt = req->format;
    if (fmt == CDSP_PCM_FORMAT_AUTO) {
        for (size_t i = 0; i < sizeof kAutoOrder / sizeof kAutoOrder[0]; i++) {
            if (snd_pcm_hw_params_test_format(h, hw, alsa_format(kAutoOrder[i])) == 0) {
                fmt = kAutoOrder[i];
                break;
            }
        }
    }
    if (fmt == CDSP_PCM_FORMAT_AUTO || snd_pcm_hw_params_set_format(h, hw, alsa_format(fmt)) < 0) {
        char list[128];
        format_list(format_mask(h, hw), list, sizeof list);
        if (req->format == CDSP_PCM_FORMAT_AUTO)
            cdsp_message(msg, msg_len, "sound device '%s' takes none of FLOAT_LE, S32_LE, S24_LE, S24_3LE, S16_LE; try 'plug:%s'", dev, dev);
        else
            cdsp_message(msg, msg_len, "sound device '%s' does not take %s (it takes: %s)", dev, cdsp_pcm_format_name(fmt), list);
        goto fail;
    }

    /* channels */
    unsigned int chmin = 0, chmax = 0;
    snd_pcm_hw_params_get_channels_min(hw, &chmin);
    snd_pcm_hw_params_get_channels_max(hw, &chmax);
    unsigned int channels = req->channels;
    if (channels == 0) {
        int hwdev = snd_pcm_type(h) == SND_PCM_TYPE_HW;
        channels = hwdev && snd_pcm_hw_params_test_channels(h, hw, 4) == 0 ? 4 : 2;
        if (snd_pcm_hw_params_test_channels(h, hw, channels) < 0) channels = chmin;
        if (channels > CDSP_PCM_MAX_CHANNELS || channels < 1) {
            cdsp_message(msg, msg_len, "sound device '%s' needs %u ... %u channels; DJCore writes 2 ... %d", dev, chmin,
                    chmax, CDSP_PCM_MAX_CHANNELS);
            goto fail;
        }
    }
    if (channels < 2 || snd_pcm_hw_params_set_channels(h, hw, channels) < 0) {
        cdsp_message(msg, msg_len, "sound device '%s' cannot play %u channels (it offers %u ... %u)", dev, channels, chmin,
                chmax);
        goto fail;
    }

    /* rate */
    unsigned int rmin = 0, rmax = 0;
    int dir = 0;
    snd_pcm_hw_params_get_rate_min(hw, &rmin, &dir);
    snd_pcm_hw_params_get_rate_max(hw, &rmax, &dir);
    unsigned int rate = req->rate;
    dir = 0;
    if (snd_pcm_hw_params_set_rate_near(h, hw, &rate, &dir) < 0 || (req->rate_exact && rate != req->rate)) {
        cdsp_message(msg, msg_len, "sound device '%s' cannot play at %u Hz (it offers %u ... %u Hz); try 'plug:%s', which "
                "converts", dev, req->rate, rmin, rmax, dev);
        goto fail;
    }

    /* period and buffer */
    snd_pcm_uframes_t period = req->period_frames;
    dir = 0;
    if ((r = snd_pcm_hw_params_set_period_size_near(h, hw, &period, &dir)) < 0) {
        alsa_detail(r, detail, sizeof detail);
        cdsp_message(msg, msg_len, "sound device '%s' refuses a period near %u frames%s", dev, req->period_frames, detail);
        goto fail;
    }
    snd_pcm_uframes_t buffer = period * req->periods;
    if ((r = snd_pcm_hw_params_set_buffer_size_near(h, hw, &buffer)) < 0) {
        alsa_detail(r, detail, sizeof detail);
        cdsp_message(msg, msg_len, "sound device '%s' refuses a buffer near %lu frames%s", dev,
                (unsigned long)(period * req->periods), detail);
        goto fail;
    }
    alsa_said[0] = 0;
    if ((r = snd_pcm_hw_params(h, hw)) < 0) {
        alsa_detail(r, detail, sizeof detail);
        cdsp_message(msg, msg_len, "sound device '%s' refused the configuration (%u Hz, %s, %u channels, period %lu, "
                "buffer %lu)%s", dev, rate, cdsp_pcm_format_name(fmt), channels, (unsigned long)period,
                (unsigned long)buffer, detail);
        goto fail;
    }
    snd_pcm_hw_params_get_period_size(hw, &period, &dir);
    snd_pcm_hw_params_get_buffer_size(hw, &buffer);
    if (period == 0 || buffer < 2 * period) {
        cdsp_message(msg, msg_len, "sound device '%s' granted a period of %lu frames in a buffer of %lu: needs 2 periods or "
                "more", dev, (unsigned long)period, (unsigned long)buffer);
        goto fail;
    }

    /* software parameters: start when the buffer is full; wake when a period is free */
    snd_pcm_sw_params_t *sw;
    snd_pcm_sw_params_alloca(&sw);
    st = CDSP_ERR_DEVICE_FAILED;
    if ((r = snd_pcm_sw_params_current(h, sw)) < 0 ||
        (r = snd_pcm_sw_params_set_start_threshold(h, sw, (buffer / period) * period)) < 0 ||
        (r = snd_pcm_sw_params_set_avail_min(h, sw, period)) < 0 ||
        (r = snd_pcm_sw_params(h, sw)) < 0) {
        alsa_detail(r, detail, sizeof detail);
        cdsp_message(msg, msg_len, "sound device '%s' refused its software parameters%s", dev, detail);
        goto fail;
    }
    if ((r = snd_pcm_prepare(h)) < 0) {
        alsa_detail(r, detail, sizeof detail);
        cdsp_message(msg, msg_len, "sound device '%s' cannot be prepared%s", dev, detail);
        goto fail;
    }

    cdsp_pcm *p = calloc(1, sizeof *p);
    if (!p) {
        st = CDSP_ERR_NO_MEMORY;
        cdsp_message(msg, msg_len, "out of memory");
        goto fail;
    }
    p->h = h;
    snprintf(p->info.device, sizeof p->info.device, "%s", dev);
    p->info.rate = rate;
    p->info.format = fmt;
    p->info.channels = channels;
    p->info.cue_channels = channels >= 4;
    p->info.period_frames = (uint32_t)period;
    p->info.buffer_frames = (uint32_t)buffer;
    p->info.periods = (uint32_t)(buffer / period);
    p->info.bytes_per_frame = channels * cdsp_pcm_format_bytes(fmt);
    snprintf(p->info.type_name, sizeof p->info.type_name, "%s", type_name(h));
    p->buf_frames = (uint32_t)period;
    p->buf = calloc((size_t)p->buf_frames, p->info.bytes_per_frame);
    p->dither = 0x12345679u;
    if (!p->buf) {
        free(p);
        st = CDSP_ERR_NO_MEMORY;
        cdsp_message(msg, msg_len, "out of memory");
        goto fail;
    }
    if (info) *info = p->info;
    return p;

fail:
    snd_pcm_close(h);
fail_early:
    if (err) *err = st;
    return NULL;
}

const char *cdsp_pcm_error_string(int err) { return snd_strerror(err); }

const cdsp_pcm_info *cdsp_pcm_get_info(const cdsp_pcm *p) { return &p->info; }

void cdsp_pcm_close(cdsp_pcm *p)
{
    if (!p) return;
    if (p->v) {
        free(p->v);
        free(p->buf);
        free(p);
        return;
    }
    alsa_said[0] = 0;
    snd_pcm_drop(p->h);
    snd_pcm_close(p->h);
    free(p->buf);
    free(p);
}

/* ---- the audio thread's calls ---- */

static int virtual_wait(cdsp_pcm *p, int timeout_ms);
static long virtual_write(cdsp_pcm *p, const float *master, const float *cue, uint32_t frames);
static long virtual_delay(cdsp_pcm *p, long *frames);
static void virtual_drain(cdsp_pcm *p, int timeout_ms);

int cdsp_pcm_wait(cdsp_pcm *p, int timeout_ms)
{
    if (p->v) return virtual_wait(p, timeout_ms);
    snd_pcm_sframes_t a = snd_pcm_avail_update(p->h);
    if (a < 0) return (int)a;
    if ((snd_pcm_uframes_t)a >= p->info.period_frames) return 1;
    snd_pcm_state_t s = snd_pcm_state(p->h);
    if (s == SND_PCM_STATE_PREPARED) return 1; /* not started: room until the buffer is full */
    if (s == SND_PCM_STATE_XRUN) return -EPIPE;
    if (s == SND_PCM_STATE_SUSPENDED) return -ESTRPIPE;
    if (s == SND_PCM_STATE_DISCONNECTED) return -ENODEV;
    int r = snd_pcm_wait(p->h, timeout_ms);
    if (r < 0) return r;
    if (r == 0) return 0;
    a = snd_pcm_avail_update(p->h);
    if (a < 0) return (int)a;
    return (snd_pcm_uframes_t)a >= p->info.period_frames ? 1 : 0;
}

long cdsp_pcm_write(cdsp_pcm *p, const float *master, const float *cue, uint32_t frames)
{
    if (p->v) return virtual_write(p, master, cue, frames);
    long total = 0;
    while ((uint32_t)total < frames) {
        uint32_t n = frames - (uint32_t)total;
        if (n > p->buf_frames) n = p->buf_frames;
        cdsp_pcm_convert(p->info.format, p->info.channels, p->info.cue_channels, master + 2 * (size_t)total,
                         cue ? cue + 2 * (size_t)total : NULL, n, p->buf, &p->dither);
        uint32_t done = 0;
        while (done < n) {
            snd_pcm_sframes_t r = snd_pcm_writei(p->h, p->buf + (size_t)done * p->info.bytes_per_frame, n - done);
            if (r == -EAGAIN) {
                /* Full: the caller waited for a period of room, so this is a partial write at most. */
                int w = snd_pcm_wait(p->h, 1000);
                if (w < 0) return w;
                if (w == 0) return total + done;
                continue;
            }
            if (r < 0) return (long)r;
            done += (uint32_t)r;
        }
        total += n;
    }
    return total;
}

int cdsp_pcm_recover(cdsp_pcm *p, int err)
{
    if (p->v) {
        /* Re-prime, as snd_pcm_recover does: the next buffer-full starts the modelled clock again. */
        (void)err;
        p->v->started = 0;
        p->v->written = 0;
        return 0;
    }
    int r = snd_pcm_recover(p->h, err, 1);
    if (r < 0) return r;
    return 0;
}

long cdsp_pcm_delay(cdsp_pcm *p, long *frames)
{
    if (p->v) return virtual_delay(p, frames);
    snd_pcm_sframes_t d = 0;
    int r = snd_pcm_delay(p->h, &d);
    if (r < 0) return r;
    if (frames) *frames = (long)d;
    return 0;
}

void cdsp_pcm_drain(cdsp_pcm *p, int timeout_ms)
{
    if (!p) return;
    if (p->v) {
        virtual_drain(p, timeout_ms);
        return;
    }
    snd_pcm_state_t s = snd_pcm_state(p->h);
    if (s == SND_PCM_STATE_PREPARED) {
        snd_pcm_sframes_t d = 0;
        if (snd_pcm_delay(p->h, &d) == 0 && d > 0) snd_pcm_start(p->h);
    }
    struct timespec t0, now, nap = {0, 2000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        s = snd_pcm_state(p->h);
        if (s != SND_PCM_STATE_RUNNING) break;
        snd_pcm_sframes_t d = 0;
        if (snd_pcm_delay(p->h, &d) < 0 || d <= 0) break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms >= timeout_ms) break;
        nanosleep(&nap, NULL);
    }
    snd_pcm_drop(p->h);
}

/* ---- the virtual device: a buffer that drains at `rate` frames per second of CLOCK_MONOTONIC ---- */

#define NS_PER_S 1000000000ull

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * NS_PER_S + (uint64_t)t.tv_nsec;
}

/* Frames the modelled device has played by `now` since it started (128-bit: exact for any run length). */
static uint64_t virtual_played(const cdsp_pcm *p, uint64_t now)
{
    const virtual_dev *v = p->v;
    if (!v->started || now <= v->t0) return 0;
    return (uint64_t)((unsigned __int128)(now - v->t0) * p->info.rate / NS_PER_S);
}

/* The first time at which `frames` frames have been played. */
static uint64_t virtual_time_of(const cdsp_pcm *p, uint64_t frames)
{
    unsigned __int128 ns = ((unsigned __int128)frames * NS_PER_S + p->info.rate - 1) / p->info.rate;
    return p->v->t0 + (uint64_t)ns;
}

static void sleep_until(uint64_t t)
{
    struct timespec ts = {(time_t)(t / NS_PER_S), (long)(t % NS_PER_S)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
}

/* 1: a period of room; 0: none within the time-out; -EPIPE: the modelled buffer ran dry. */
static int virtual_room(cdsp_pcm *p, uint64_t now)
{
    virtual_dev *v = p->v;
    if (!v->started) return 1; /* not started: room until the buffer is full */
    uint64_t played = virtual_played(p, now);
    if (played > v->written) {
        atomic_fetch_add_explicit(&v->xruns, 1, memory_order_relaxed);
        return -EPIPE;
    }
    return v->written - played + p->info.period_frames <= p->info.buffer_frames ? 1 : 0;
}

static int virtual_wait(cdsp_pcm *p, int timeout_ms)
{
    uint64_t now = now_ns();
    int r = virtual_room(p, now);
    if (r != 0) return r;
    /* Sleep to the moment the queue is down to buffer - period frames, or the time-out. */
    uint64_t t = virtual_time_of(p, p->v->written - (p->info.buffer_frames - p->info.period_frames));
    uint64_t limit = now + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000u;
    sleep_until(t < limit ? t : limit);
    return virtual_room(p, now_ns());
}

static long virtual_write(cdsp_pcm *p, const float *master, const float *cue, uint32_t frames)
{
    virtual_dev *v = p->v;
    if (v->sink) {
        uint64_t lost = 0;
        if (p->info.channels == 2) {
            /* The master bus is already interleaved stereo float: straight into the ring. */
            lost = frames - cdsp_ring_write(v->sink, master, frames);
        } else {
            for (uint32_t done = 0; done < frames;) {
                uint32_t n = frames - done < p->buf_frames ? frames - done : p->buf_frames;
                cdsp_pcm_convert(CDSP_PCM_FORMAT_FLOAT, p->info.channels, p->info.cue_channels,
                                 master + 2 * (size_t)done, cue ? cue + 2 * (size_t)done : NULL, n, p->buf, NULL);
                lost += n - cdsp_ring_write(v->sink, p->buf, n);
                done += n;
            }
        }
        if (lost) atomic_fetch_add_explicit(&v->dropped, lost, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&v->frames, frames, memory_order_relaxed);
    v->written += frames;
    if (!v->started && v->written >= p->info.buffer_frames) {
        v->started = 1;
        v->t0 = now_ns();
    }
    return (long)frames;
}

static long virtual_delay(cdsp_pcm *p, long *frames)
{
    virtual_dev *v = p->v;
    uint64_t played = virtual_played(p, now_ns());
    if (frames) *frames = played >= v->written ? 0 : (long)(v->written - played);
    return 0;
}

static void virtual_drain(cdsp_pcm *p, int timeout_ms)
{
    virtual_dev *v = p->v;
    uint64_t now = now_ns();
    if (!v->started && v->written > 0) {
        v->started = 1;
        v->t0 = now;
    }
    if (v->started && virtual_played(p, now) < v->written) {
        uint64_t t = virtual_time_of(p, v->written);
        uint64_t limit = now + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000u;
        sleep_until(t < limit ? t : limit);
    }
    v->started = 0;
    v->written = 0;
}

cdsp_pcm *cdsp_pcm_open_virtual(const cdsp_pcm_request *req, cdsp_ring *sink, cdsp_pcm_info *info, cdsp_status *err,
                                char *msg, size_t msg_len)
{
    cdsp_status st = CDSP_ERR_INVALID_ARGUMENT;
    cdsp_pcm *p = NULL;
    if (err) *err = CDSP_OK;
    if (msg && msg_len) msg[0] = 0;
    const char *name = req && req->device && req->device[0] ? req->device : "null";
    if (!req) {
        cdsp_message(msg, msg_len, "no request given");
        goto fail;
    }
    if (strlen(name) >= CDSP_PCM_NAME_MAX) {
        cdsp_message(msg, msg_len, "virtual output name is longer than %d characters", CDSP_PCM_NAME_MAX - 1);
        goto fail;
    }
    if (req->rate < 8000 || req->rate > 384000) {
        cdsp_message(msg, msg_len, "virtual output '%s': sample rate %u Hz is outside 8000 ... 384000", name, req->rate);
        goto fail;
    }
    uint32_t channels = req->channels == 0 ? 2 : req->channels;
    if (channels != 2 && channels != 4) {
        cdsp_message(msg, msg_len, "virtual output '%s' plays 2 channels (master) or 4 (master 1/2, cue 3/4), not %u",
                     name, req->channels);
        goto fail;
    }
    if (req->period_frames < 16 || req->period_frames > 65536) {
        cdsp_message(msg, msg_len, "virtual output '%s': period of %u frames is outside 16 ... 65536", name,
                     req->period_frames);
        goto fail;
    }
    if (req->periods < 2 || req->periods > 16) {
        cdsp_message(msg, msg_len, "virtual output '%s': %u periods per buffer is outside 2 ... 16", name, req->periods);
        goto fail;
    }
    if (req->format != CDSP_PCM_FORMAT_AUTO && req->format != CDSP_PCM_FORMAT_FLOAT) {
        cdsp_message(msg, msg_len, "virtual output '%s' takes FLOAT_LE only, not %s", name,
                     cdsp_pcm_format_name(req->format));
        goto fail;
    }
    if (sink && cdsp_ring_element_size(sink) != channels * sizeof(float)) {
        cdsp_message(msg, msg_len, "virtual output '%s': the sink ring holds %zu-byte elements, not %u-channel float frames",
                     name, cdsp_ring_element_size(sink), channels);
        goto fail;
    }
    st = CDSP_ERR_NO_MEMORY;
    if (!(p = calloc(1, sizeof *p)) || !(p->v = calloc(1, sizeof *p->v))) goto fail_mem;
    p->buf_frames = req->period_frames;
    if (!(p->buf = calloc((size_t)p->buf_frames, channels * sizeof(float)))) goto fail_mem;
    p->v->sink = sink;
    snprintf(p->info.device, sizeof p->info.device, "%s", name);
    p->info.rate = req->rate;
    p->info.format = CDSP_PCM_FORMAT_FLOAT;
    p->info.channels = channels;
    p->info.cue_channels = channels >= 4;
    p->info.period_frames = req->period_frames;
    p->info.buffer_frames = req->period_frames * req->periods;
    p->info.periods = req->periods;
    p->info.bytes_per_frame = channels * (uint32_t)sizeof(float);
    snprintf(p->info.type_name, sizeof p->info.type_name, "VIRTUAL");
    if (info) *info = p->info;
    return p;

fail_mem:
    cdsp_message(msg, msg_len, "out of memory");
fail:
    if (p) {
        free(p->v);
        free(p->buf);
        free(p);
    }
    if (err) *err = st;
    return NULL;
}

int cdsp_pcm_virtual_stats_get(const cdsp_pcm *p, cdsp_pcm_virtual_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!p || !p->v) return 0;
    virtual_dev *v = p->v;
    out->frames = atomic_load_explicit(&v->frames, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&v->dropped, memory_order_relaxed);
    out->xruns = atomic_load_explicit(&v->xruns, memory_order_relaxed);
    return 1;
}

/* ---- the WAV recorder: drains a virtual device's ring into a file ---- */

#define RECORDER_CHUNK 4096 /* frames per sf_write (and so per header update) */

struct cdsp_pcm_recorder {
    SNDFILE *f;
    cdsp_ring *source;
    cdsp_pcm_format format;
    uint32_t channels;
    uint32_t dither;
    uint64_t max_frames;        /* what fits in a 4 GiB WAV */
    cdsp_status st;             /* the first error */
    char error[256];
    float *chunk;               /* RECORDER_CHUNK frames read from the ring */
    void *converted;            /* the same as int16 / int32 */
    _Atomic uint64_t frames;
};

cdsp_pcm_recorder *cdsp_pcm_recorder_create(const char *path, uint32_t rate, uint32_t channels, cdsp_pcm_format format,
                                            cdsp_ring *source, cdsp_status *err, char *msg, size_t msg_len)
{
    cdsp_status st = CDSP_ERR_INVALID_ARGUMENT;
    cdsp_pcm_recorder *r = NULL;
    if (msg && msg_len) msg[0] = 0;
    if (!path || !path[0]) {
        cdsp_message(msg, msg_len, "no file name given for the recording");
        goto fail;
    }
    if (!source || rate < 8000 || rate > 384000 || channels < 1 || channels > 8 ||
        cdsp_ring_element_size(source) != channels * sizeof(float) || (int)format < CDSP_PCM_FORMAT_AUTO ||
        format > CDSP_PCM_FORMAT_FLOAT) {
        cdsp_message(msg, msg_len, "cannot record to '%s': invalid recorder settings (%u Hz, %u channels)", path, rate,
                     channels);
        goto fail;
    }
    if (format == CDSP_PCM_FORMAT_AUTO) format = CDSP_PCM_FORMAT_FLOAT;
    st = CDSP_ERR_NO_MEMORY;
    if (!(r = calloc(1, sizeof *r))) goto fail_mem;
    r->chunk = malloc((size_t)RECORDER_CHUNK * channels * sizeof(float));
    r->converted = malloc((size_t)RECORDER_CHUNK * channels * sizeof(int32_t));
    if (!r->chunk || !r->converted) goto fail_mem;
    r->source = source;
    r->format = format;
    r->channels = channels;
    r->dither = 0x12345679u;

    SF_INFO sfi;
    memset(&sfi, 0, sizeof sfi);
    sfi.samplerate = (int)rate;
    sfi.channels = (int)channels;
    int sub = SF_FORMAT_FLOAT;
    uint32_t bytes = 4;
    switch (format) {
    case CDSP_PCM_FORMAT_S16: sub = SF_FORMAT_PCM_16; bytes = 2; break;
    case CDSP_PCM_FORMAT_S24:
    case CDSP_PCM_FORMAT_S24_3: sub = SF_FORMAT_PCM_24; bytes = 3; break;
    case CDSP_PCM_FORMAT_S32: sub = SF_FORMAT_PCM_32; break;
    default: break;
    }
    sfi.format = SF_FORMAT_WAV | sub;
    /* headroom for the header chunks libsndfile writes (fmt, fact, PEAK) */
    r->max_frames = (0xFFFFFFFFull - 4096) / ((uint64_t)bytes * channels);
    st = CDSP_ERR_FILE_WRITE;
    if (!(r->f = sf_open(path, SFM_WRITE, &sfi))) {
        cdsp_message(msg, msg_len, "cannot record to '%s': %s", path, sf_strerror(NULL));
        goto fail;
    }
    /* The header is rewritten after every write: the file stays playable if the process is killed. */
    sf_command(r->f, SFC_SET_UPDATE_HEADER_AUTO, NULL, SF_TRUE);
    if (sub != SF_FORMAT_FLOAT) {
        int on = SF_TRUE;
        sf_command(r->f, SFC_SET_CLIPPING, &on, sizeof on);
    }
    if (err) *err = CDSP_OK;
    return r;

fail_mem:
    cdsp_message(msg, msg_len, "out of memory");
fail:
    if (r) {
        if (r->f) sf_close(r->f);
        free(r->chunk);
        free(r->converted);
        free(r);
    }
    if (err) *err = st;
    return NULL;
}

long cdsp_pcm_recorder_pump(cdsp_pcm_recorder *r, char *msg, size_t msg_len)
{
    if (!r) return CDSP_ERR_INVALID_ARGUMENT;
    long moved = 0;
    size_t n;
    while ((n = cdsp_ring_read(r->source, r->chunk, RECORDER_CHUNK)) > 0) {
        moved += (long)n;
        if (r->st != CDSP_OK) continue; /* failed: keep draining so the device side never counts drops */
        uint64_t done = atomic_load_explicit(&r->frames, memory_order_relaxed);
        if (done + n > r->max_frames) {
            r->st = CDSP_ERR_FILE_WRITE;
            snprintf(r->error, sizeof r->error, "the recording reached the 4 GiB limit of a WAV file after %llu frames",
                     (unsigned long long)done);
            continue;
        }
        sf_count_t w;
        if (r->format == CDSP_PCM_FORMAT_S16) {
            /* TPDF dither of +-1 LSB with the same generator and scale as cdsp_pcm_convert's S16 */
            int16_t *o = r->converted;
            uint32_t seed = r->dither;
            for (size_t i = 0; i < n * r->channels; i++) {
                double d = ((double)xorshift32(&seed) - (double)xorshift32(&seed)) * (1.0 / 4294967296.0);
                o[i] = (int16_t)to_int((double)r->chunk[i] + d / 32768.0, 32768.0, -32768, 32767);
            }
            r->dither = seed;
            w = sf_writef_short(r->f, o, (sf_count_t)n);
        } else {
            /* float as is; 24/32-bit converted (and clipped) by libsndfile */
            w = sf_writef_float(r->f, r->chunk, (sf_count_t)n);
        }
        if (w != (sf_count_t)n) {
            r->st = CDSP_ERR_FILE_WRITE;
            snprintf(r->error, sizeof r->error, "writing the recording failed after %llu frames: %s",
                     (unsigned long long)done, sf_strerror(r->f));
            if (w > 0) atomic_store_explicit(&r->frames, done + (uint64_t)w, memory_order_relaxed);
            continue;
        }
        atomic_store_explicit(&r->frames, done + n, memory_order_relaxed);
    }
    if (r->st != CDSP_OK) {
        cdsp_message(msg, msg_len, "%s", r->error);
        return r->st;
    }
    return moved;
}

uint64_t cdsp_pcm_recorder_frames(const cdsp_pcm_recorder *r)
{
    return r ? atomic_load_explicit(&((cdsp_pcm_recorder *)r)->frames, memory_order_relaxed) : 0;
}

cdsp_status cdsp_pcm_recorder_close(cdsp_pcm_recorder *r, char *msg, size_t msg_len)
{
    if (msg && msg_len) msg[0] = 0;
    if (!r) return CDSP_OK;
    cdsp_pcm_recorder_pump(r, NULL, 0);
    cdsp_status st = r->st;
    if (st != CDSP_OK) cdsp_message(msg, msg_len, "%s", r->error);
    if (r->f && sf_close(r->f) != 0 && st == CDSP_OK) {
        st = CDSP_ERR_FILE_WRITE;
        cdsp_message(msg, msg_len, "closing the recording failed");
    }
    free(r->chunk);
    free(r->converted);
    free(r);
    return st;
}

/* ---- what devices exist and what they can do ---- */

cdsp_status cdsp_pcm_probe(const char *device, cdsp_pcm_caps *caps, char *msg, size_t msg_len)
{
    ensure_init();
    if (msg && msg_len) msg[0] = 0;
    memset(caps, 0, sizeof *caps);
    if (!device || !device[0]) {
        cdsp_message(msg, msg_len, "no sound device name given");
        return CDSP_ERR_INVALID_ARGUMENT;
    }
    snd_pcm_t *h = NULL;
    char detail[400];
    cdsp_status st = open_playback(device, &h, msg, msg_len);
    if (st != CDSP_OK) return st;
    int r;
    snd_pcm_hw_params_t *hw;
    snd_pcm_hw_params_alloca(&hw);
    if ((r = snd_pcm_hw_params_any(h, hw)) < 0) {
        alsa_detail(r, detail, sizeof detail);
        cdsp_message(msg, msg_len, "'%s' reports no configuration%s", device, detail);
        snd_pcm_close(h);
        return CDSP_ERR_DEVICE_FAILED;
    }
    snprintf(caps->type_name, sizeof caps->type_name, "%s", type_name(h));
    unsigned int u = 0;
    int dir = 0;
    snd_pcm_uframes_t f = 0;
    snd_pcm_hw_params_get_channels_min(hw, &u); caps->channels_min = u;
    snd_pcm_hw_params_get_channels_max(hw, &u); caps->channels_max = u;
    snd_pcm_hw_params_get_rate_min(hw, &u, &dir); caps->rate_min = u;
    snd_pcm_hw_params_get_rate_max(hw, &u, &dir); caps->rate_max = u;
    snd_pcm_hw_params_get_period_size_min(hw, &f, &dir); caps->period_min = (uint32_t)f;
    snd_pcm_hw_params_get_period_size_max(hw, &f, &dir); caps->period_max = f > UINT32_MAX ? UINT32_MAX : (uint32_t)f;
    snd_pcm_hw_params_get_buffer_size_min(hw, &f); caps->buffer_min = (uint32_t)f;
    snd_pcm_hw_params_get_buffer_size_max(hw, &f); caps->buffer_max = f > UINT32_MAX ? UINT32_MAX : (uint32_t)f;
    caps->formats = format_mask(h, hw);
    for (uint32_t i = 0; i < sizeof kStandardRates / sizeof kStandardRates[0]; i++)
        if (snd_pcm_hw_params_test_rate(h, hw, kStandardRates[i], 0) == 0) caps->standard_rates |= 1u << i;
    snd_pcm_close(h);
    return CDSP_OK;
}

size_t cdsp_pcm_hints(cdsp_pcm_hint *out, size_t max)
{
    ensure_init();
    void **hints = NULL;
    if (snd_device_name_hint(-1, "pcm", &hints) < 0 || !hints) return 0;
    size_t n = 0;
    for (void **h = hints; *h; h++) {
        char *name = snd_device_name_get_hint(*h, "NAME");
        char *desc = snd_device_name_get_hint(*h, "DESC");
        char *ioid = snd_device_name_get_hint(*h, "IOID");
        if (name && (!ioid || strcmp(ioid, "Output") == 0)) {
            if (n < max) {
                snprintf(out[n].name, sizeof out[n].name, "%s", name);
                snprintf(out[n].description, sizeof out[n].description, "%s", desc ? desc : "");
                for (char *c = out[n].description; *c; c++)
                    if (*c == '\n') *c = ';';
            }
            n++;
        }
        free(name);
        free(desc);
        free(ioid);
    }
    snd_device_name_free_hint(hints);
    return n;
}
