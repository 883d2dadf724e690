#include "cdsp/audiofile.h"
#include "message.h"

#include <errno.h>
#include <math.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *major_name(int format)
{
    switch (format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV: return "WAV";
    case SF_FORMAT_WAVEX: return "WAV (extensible)";
    case SF_FORMAT_AIFF: return "AIFF";
    case SF_FORMAT_FLAC: return "FLAC";
    case SF_FORMAT_OGG: return "Ogg";
    case SF_FORMAT_MPEG: return "MP3";
    case SF_FORMAT_RF64: return "RF64";
    case SF_FORMAT_W64: return "W64";
    case SF_FORMAT_CAF: return "CAF";
    default: return "audio";
    }
}

static const char *sub_name(int format)
{
    switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8: case SF_FORMAT_PCM_U8: return "8-bit";
    case SF_FORMAT_PCM_16: return "16-bit";
    case SF_FORMAT_PCM_24: return "24-bit";
    case SF_FORMAT_PCM_32: return "32-bit";
    case SF_FORMAT_FLOAT: return "float";
    case SF_FORMAT_DOUBLE: return "double";
    case SF_FORMAT_VORBIS: return "Vorbis";
    case SF_FORMAT_OPUS: return "Opus";
    case SF_FORMAT_MPEG_LAYER_III: return "layer III";
    default: return "";
    }
}

/* The first bytes of a file, for the two sniffers below. */
typedef struct file_head {
    unsigned char b[512];
    size_t n;
} file_head;

static void read_head(const char *path, file_head *h)
{
    FILE *f = fopen(path, "rb");
    h->n = f ? fread(h->b, 1, sizeof h->b, f) : 0;
    if (f) fclose(f);
}

/* 1 if the head looks like a container libsndfile reads (RIFF/RF64/FORM/fLaC/OggS/ID3/MPEG sync...). */
static int looks_like_audio(const file_head *h)
{
    const unsigned char *b = h->b;
    if (h->n < 4) return 0;
    if (!memcmp(b, "RIFF", 4) || !memcmp(b, "RF64", 4) || !memcmp(b, "FORM", 4) || !memcmp(b, "fLaC", 4) ||
        !memcmp(b, "OggS", 4) || !memcmp(b, "ID3", 3) || !memcmp(b, "caff", 4) || !memcmp(b, ".snd", 4) ||
        !memcmp(b, "riff", 4))
        return 1;
    return b[0] == 0xFF && (b[1] & 0xE0) == 0xE0; /* MPEG audio frame sync */
}

/* 1 if the file starts with text (no NUL, almost all printable in its first 512 bytes). Every audio
 * container has binary bytes (sizes, versions) within its first bytes, so this never rejects audio;
 * it spares a text file the MP3 probe, whose decoder prints notes on stderr. */
static int looks_like_text(const file_head *h)
{
    if (h->n == 0) return 0;
    size_t printable = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (h->b[i] == 0) return 0;
        if (h->b[i] >= 0x20 || h->b[i] == '\n' || h->b[i] == '\r' || h->b[i] == '\t') printable++;
    }
    return printable * 100 >= h->n * 98;
}

/* Opens for reading with a classified error. */
static SNDFILE *open_read(const char *path, SF_INFO *sfi, cdsp_status *st, char *msg, size_t msg_len)
{
    struct stat sb;
    memset(sfi, 0, sizeof *sfi);
    if (!path || !*path) {
        *st = CDSP_ERR_INVALID_ARGUMENT;
        cdsp_message(msg, msg_len, "no file name given");
        return NULL;
    }
    if (stat(path, &sb) != 0) {
        *st = errno == ENOENT || errno == ENOTDIR ? CDSP_ERR_FILE_NOT_FOUND : CDSP_ERR_FILE_UNREADABLE;
        cdsp_message(msg, msg_len, "%s", errno == ENOENT || errno == ENOTDIR ? "no such file" : strerror(errno));
        return NULL;
    }
    if (S_ISDIR(sb.st_mode)) {
        *st = CDSP_ERR_FILE_UNREADABLE;
        cdsp_message(msg, msg_len, "is a directory, not an audio file");
        return NULL;
    }
    if (sb.st_size == 0) {
        *st = CDSP_ERR_FILE_EMPTY;
        cdsp_message(msg, msg_len, "the file is empty (0 bytes)");
        return NULL;
    }
    file_head head;
    read_head(path, &head);
    if (looks_like_text(&head)) {
        *st = CDSP_ERR_FILE_UNSUPPORTED;
        cdsp_message(msg, msg_len, "not an audio file: it is text");
        return NULL;
    }
    SNDFILE *f = sf_open(path, SFM_READ, sfi);
    if (!f) {
        int e = sf_error(NULL);
        const char *why = sf_strerror(NULL);
        if (!looks_like_audio(&head)) {
            /* libsndfile's own words are misleading here (e.g. the MP3 probe says "not a regular file"). */
            *st = CDSP_ERR_FILE_UNSUPPORTED;
            cdsp_message(msg, msg_len, "not an audio file: no known audio header (WAV, AIFF, FLAC, Ogg, MP3) at the start");
        } else if (e == SF_ERR_UNRECOGNISED_FORMAT) {
            *st = CDSP_ERR_FILE_UNSUPPORTED;
            cdsp_message(msg, msg_len, "not a recognised audio format (libsndfile: %s)", why);
        } else if (e == SF_ERR_MALFORMED_FILE) {
            *st = CDSP_ERR_FILE_CORRUPT;
            cdsp_message(msg, msg_len, "corrupt header (libsndfile: %s)", why);
        } else if (e == SF_ERR_UNSUPPORTED_ENCODING) {
            *st = CDSP_ERR_FILE_UNSUPPORTED;
            cdsp_message(msg, msg_len, "unsupported encoding (libsndfile: %s)", why);
        } else if (e == SF_ERR_SYSTEM) {
            *st = CDSP_ERR_FILE_UNREADABLE;
            cdsp_message(msg, msg_len, "cannot open (%s)", why);
        } else {
            *st = CDSP_ERR_FILE_CORRUPT;
            cdsp_message(msg, msg_len, "cannot decode (libsndfile: %s)", why);
        }
        return NULL;
    }
    if (sfi->channels < 1 || sfi->samplerate < 1000 || sfi->samplerate > 768000) {
        *st = CDSP_ERR_FILE_CORRUPT;
        cdsp_message(msg, msg_len, "implausible header: %d channels at %d Hz", sfi->channels, sfi->samplerate);
        sf_close(f);
        return NULL;
    }
    *st = CDSP_OK;
    return f;
}

static void fill_info(const SF_INFO *sfi, cdsp_audiofile_info *info)
{
    if (!info) return;
    info->frames = sfi->frames == SF_COUNT_MAX ? -1 : (int64_t)sfi->frames;
    info->sample_rate = (uint32_t)sfi->samplerate;
    info->channels = (uint32_t)sfi->channels;
    snprintf(info->format, sizeof info->format, "%s %s", major_name(sfi->format), sub_name(sfi->format));
}

cdsp_status cdsp_audiofile_probe(const char *path, cdsp_audiofile_info *info, char *msg, size_t msg_len)
{
    SF_INFO sfi;
    cdsp_status st;
    SNDFILE *f = open_read(path, &sfi, &st, msg, msg_len);
    if (!f) return st;
    fill_info(&sfi, info);
    sf_close(f);
    return CDSP_OK;
}

/* libsndfile notes a data chunk shorter than its header in the log: "data : 352800 (should be 199956)". */
static int log_says_truncated(SNDFILE *f)
{
    char log[8192];
    log[0] = 0;
    sf_command(f, SFC_GET_LOG_INFO, log, sizeof log);
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        while (*line == ' ') line++;
        if ((strncmp(line, "data", 4) == 0 || strncmp(line, "SSND", 4) == 0) && strstr(line, "should be")) return 1;
    }
    return 0;
}

cdsp_status cdsp_resample_stereo(const float *in, int64_t in_frames, uint32_t in_rate, uint32_t out_rate,
                                 cdsp_src_quality quality, cdsp_audio *out, char *msg, size_t msg_len)
{
    static const int converter[] = {SRC_SINC_BEST_QUALITY, SRC_SINC_MEDIUM_QUALITY, SRC_SINC_FASTEST};
    memset(out, 0, sizeof *out);
    if (in_rate == 0 || out_rate == 0 || in_frames < 0 || (unsigned)quality > CDSP_SRC_FASTEST) {
        cdsp_message(msg, msg_len, "invalid resampling request");
        return CDSP_ERR_INVALID_ARGUMENT;
    }
    double ratio = (double)out_rate / (double)in_rate;
    int64_t cap = (int64_t)ceil((double)in_frames * ratio) + 16;
    out->frames = malloc((size_t)cap * 2 * sizeof(float));
    if (!out->frames) {
        cdsp_message(msg, msg_len, "out of memory for %lld frames", (long long)cap);
        return CDSP_ERR_NO_MEMORY;
    }
    out->sample_rate = out_rate;
    if (in_rate == out_rate) {
        memcpy(out->frames, in, (size_t)in_frames * 2 * sizeof(float));
        out->length = in_frames;
        return CDSP_OK;
    }
    int e = 0;
    SRC_STATE *s = src_new(converter[quality], 2, &e);
    if (!s) {
        cdsp_audio_free(out);
        cdsp_message(msg, msg_len, "libsamplerate: %s", src_strerror(e));
        return CDSP_ERR_RESAMPLE;
    }
    /* Feed in blocks so that `long` frame counts never overflow and progress is steady. */
    int64_t used = 0, made = 0;
    const int64_t block = 1 << 16;
    for (;;) {
        SRC_DATA d;
        int64_t left = in_frames - used;
        d.data_in = in + 2 * used;
        d.input_frames = (long)(left < block ? left : block);
        d.data_out = out->frames + 2 * made;
        d.output_frames = (long)(cap - made);
        d.end_of_input = left <= block;
        d.src_ratio = ratio;
        e = src_process(s, &d);
        if (e) {
            src_delete(s);
            cdsp_audio_free(out);
            cdsp_message(msg, msg_len, "libsamplerate: %s", src_strerror(e));
            return CDSP_ERR_RESAMPLE;
        }
        used += d.input_frames_used;
        made += d.output_frames_gen;
        if (d.end_of_input && d.output_frames_gen == 0 && d.input_frames_used == d.input_frames) break;
        if (made >= cap) break;
    }
    src_delete(s);
    out->length = made;
    return CDSP_OK;
}

cdsp_status cdsp_audiofile_load(const char *path, uint32_t target_rate, cdsp_src_quality quality, double max_seconds,
                                cdsp_audio *out, cdsp_audiofile_info *info, char *msg, size_t msg_len)
{
    SF_INFO sfi;
    cdsp_status st;
    memset(out, 0, sizeof *out);
    SNDFILE *f = open_read(path, &sfi, &st, msg, msg_len);
    if (!f) return st;
    fill_info(&sfi, info);
    if (log_says_truncated(f)) {
        sf_close(f);
        cdsp_message(msg, msg_len, "the data chunk is shorter than the header says (an incomplete copy or download?)");
        return CDSP_ERR_FILE_TRUNCATED;
    }
    int ch = sfi.channels;
    int64_t declared = sfi.frames == SF_COUNT_MAX ? -1 : (int64_t)sfi.frames;
    int64_t limit = max_seconds > 0 ? (int64_t)(max_seconds * sfi.samplerate) : INT64_MAX;
    if (declared > limit) {
        sf_close(f);
        cdsp_message(msg, msg_len, "%.0f s long; the limit is %.0f s", (double)declared / sfi.samplerate, max_seconds);
        return CDSP_ERR_TOO_LONG;
    }
    int64_t cap = declared > 0 ? declared : (int64_t)sfi.samplerate * 60;
    float *stereo = malloc((size_t)cap * 2 * sizeof(float));
    float *block = malloc(4096 * (size_t)ch * sizeof(float));
    if (!stereo || !block) {
        free(stereo);
        free(block);
        sf_close(f);
        cdsp_message(msg, msg_len, "out of memory");
        return CDSP_ERR_NO_MEMORY;
    }
    int64_t got = 0;
    for (;;) {
        sf_count_t n = sf_readf_float(f, block, 4096);
        if (n <= 0) break;
        if (got + n > limit) {
            free(stereo);
            free(block);
            sf_close(f);
            cdsp_message(msg, msg_len, "longer than the limit of %.0f s", max_seconds);
            return CDSP_ERR_TOO_LONG;
        }
        if (got + n > cap) {
            int64_t ncap = cap * 2 > got + n ? cap * 2 : got + n;
            float *p = realloc(stereo, (size_t)ncap * 2 * sizeof(float));
            if (!p) {
                free(stereo);
                free(block);
                sf_close(f);
                cdsp_message(msg, msg_len, "out of memory");
                return CDSP_ERR_NO_MEMORY;
            }
            stereo = p;
            cap = ncap;
        }
        for (sf_count_t i = 0; i < n; i++) {
            const float *s = block + i * ch;
            float *d = stereo + 2 * (got + i);
            d[0] = s[0];
            d[1] = ch > 1 ? s[1] : s[0];
        }
        got += n;
    }
    int err = sf_error(f);
    char why[256];
    snprintf(why, sizeof why, "%s", sf_strerror(f));
    sf_close(f);
    free(block);
    if (declared > 0 && got < declared) {
        free(stereo);
        cdsp_message(msg, msg_len, "decoding stopped at %.2f s of %.2f s: the file is cut short or damaged (libsndfile: %s)",
            (double)got / sfi.samplerate, (double)declared / sfi.samplerate, why);
        return CDSP_ERR_FILE_TRUNCATED;
    }
    if (err != SF_ERR_NO_ERROR && got == 0) {
        free(stereo);
        cdsp_message(msg, msg_len, "corrupt audio data (libsndfile: %s)", why);
        return CDSP_ERR_FILE_CORRUPT;
    }
    if (got == 0) {
        free(stereo);
        cdsp_message(msg, msg_len, "no audio frames could be decoded");
        return CDSP_ERR_FILE_EMPTY;
    }
    uint32_t rate = (uint32_t)sfi.samplerate;
    if (target_rate == 0 || target_rate == rate) {
        out->frames = stereo;
        out->length = got;
        out->sample_rate = rate;
        return CDSP_OK;
    }
    st = cdsp_resample_stereo(stereo, got, rate, target_rate, quality, out, msg, msg_len);
    free(stereo);
    return st;
}

void cdsp_audio_downmix(const float *stereo, int64_t frames, float *mono)
{
    for (int64_t i = 0; i < frames; i++) mono[i] = 0.5f * (stereo[2 * i] + stereo[2 * i + 1]);
}

void cdsp_audio_free(cdsp_audio *a)
{
    if (!a) return;
    free(a->frames);
    a->frames = NULL;
    a->length = 0;
}

struct cdsp_audiofile_writer {
    SNDFILE *f;
    uint32_t channels;
    cdsp_file_format format;
    cdsp_status st;
    char why[256];
    uint64_t rng;     /* TPDF dither state (fixed seed: renders are reproducible) */
    short *pcm;       /* conversion buffer for dithered 16-bit */
};

enum { WRITE_BLOCK = 4096 };

cdsp_audiofile_writer *cdsp_audiofile_writer_create(const char *path, uint32_t sample_rate, uint32_t channels,
                                                    cdsp_file_format format, cdsp_status *err, char *msg,
                                                    size_t msg_len)
{
    static const int formats[] = {
        SF_FORMAT_WAV | SF_FORMAT_PCM_16,  SF_FORMAT_WAV | SF_FORMAT_PCM_24, SF_FORMAT_WAV | SF_FORMAT_FLOAT,
        SF_FORMAT_FLAC | SF_FORMAT_PCM_16, SF_FORMAT_FLAC | SF_FORMAT_PCM_24, SF_FORMAT_OGG | SF_FORMAT_VORBIS,
        SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III,
    };
    cdsp_audiofile_writer *w = NULL;
    if (!path || sample_rate < 1000 || channels < 1 || channels > 8 || (unsigned)format > CDSP_FILE_MP3) {
        if (err) *err = CDSP_ERR_INVALID_ARGUMENT;
        cdsp_message(msg, msg_len, "invalid output settings");
        return NULL;
    }
    w = calloc(1, sizeof *w);
    if (w) w->pcm = malloc(WRITE_BLOCK * (size_t)channels * sizeof(short));
    if (!w || !w->pcm) {
        if (w) free(w);
        if (err) *err = CDSP_ERR_NO_MEMORY;
        cdsp_message(msg, msg_len, "out of memory");
        return NULL;
    }
    SF_INFO sfi;
    memset(&sfi, 0, sizeof sfi);
    sfi.samplerate = (int)sample_rate;
    sfi.channels = (int)channels;
    sfi.format = formats[format];
    /* A WAV header cannot describe more than 4 GiB; renders that long should use FLAC or W64. */
    w->f = sf_open(path, SFM_WRITE, &sfi);
    if (!w->f) {
        if (err) *err = CDSP_ERR_FILE_WRITE;
        cdsp_message(msg, msg_len, "cannot create (libsndfile: %s)", sf_strerror(NULL));
        free(w->pcm);
        free(w);
        return NULL;
    }
    if (format != CDSP_FILE_WAV16 && format != CDSP_FILE_FLAC16) {
        int on = SF_TRUE;
        sf_command(w->f, SFC_SET_CLIPPING, &on, sizeof on);
    }
    w->channels = channels;
    w->format = format;
    w->rng = 0x9E3779B97F4A7C15ull;
    if (err) *err = CDSP_OK;
    return w;
}

static inline float uniform(uint64_t *s)
{
    /* xorshift64*: fast, deterministic; 24 bits in [0, 1). */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (float)((*s * 2685821657736338717ull) >> 40) * (1.0f / 16777216.0f);
}

cdsp_status cdsp_audiofile_writer_write(cdsp_audiofile_writer *w, const float *frames, int64_t count)
{
    if (!w || w->st != CDSP_OK) return w ? w->st : CDSP_ERR_INVALID_ARGUMENT;
    int dither16 = w->format == CDSP_FILE_WAV16 || w->format == CDSP_FILE_FLAC16;
    int64_t done = 0;
    while (done < count) {
        int64_t n = count - done < WRITE_BLOCK ? count - done : WRITE_BLOCK;
        sf_count_t wrote;
        if (dither16) {
            const float *src = frames + done * w->channels;
            for (int64_t i = 0; i < n * (int64_t)w->channels; i++) {
                float v = src[i] * 32767.0f + (uniform(&w->rng) - uniform(&w->rng)); /* TPDF, ±1 LSB */
                v = floorf(v + 0.5f);
                w->pcm[i] = (short)(v > 32767.0f ? 32767 : (v < -32768.0f ? -32768 : v));
            }
            wrote = sf_writef_short(w->f, w->pcm, n);
        } else {
            wrote = sf_writef_float(w->f, frames + done * w->channels, n);
        }
        if (wrote != n) {
            w->st = CDSP_ERR_FILE_WRITE;
            snprintf(w->why, sizeof w->why, "write failed (libsndfile: %s)", sf_strerror(w->f));
            return w->st;
        }
        done += n;
    }
    return CDSP_OK;
}

cdsp_status cdsp_audiofile_writer_close(cdsp_audiofile_writer *w, char *msg, size_t msg_len)
{
    if (!w) return CDSP_OK;
    cdsp_status st = w->st;
    if (st != CDSP_OK) cdsp_message(msg, msg_len, "%s", w->why);
    if (w->f && sf_close(w->f) != 0 && st == CDSP_OK) {
        st = CDSP_ERR_FILE_WRITE;
        cdsp_message(msg, msg_len, "closing the file failed");
    }
    free(w->pcm);
    free(w);
    return st;
}
