/* A deck: transport, loops, cue and libsamplerate varispeed (Erik de Castro Lopo's libsamplerate). */
#include "cdsp/deck.h"
#include "cdsp/ramp.h"

#include <math.h>
#include <samplerate.h>
#include <stdlib.h>
#include <string.h>

enum {
    FEED_FRAMES = 256,  /* input handed to libsamplerate per refill */
    PRIME_FRAMES = 192  /* history run through the converter before the first audible frame */
};

struct cdsp_deck {
    cdsp_deck_config cfg;
    const cdsp_track *track;
    double pos;            /* output position, track frames */
    int playing;           /* rendering (audible or fading out) */
    int stopping;          /* fading out towards a pause */
    cdsp_ramp gate;        /* play/pause declick gain */
    cdsp_ramp_d rate;      /* per-sample rate */
    double cell_rate;      /* rate handed to the converter for the current grid cell */
    int varispeed;         /* libsamplerate in the path */
    int need_prime;        /* the converter must be re-seated at `pos` before the next frame */
    SRC_STATE *src;
    int64_t feed;          /* next track frame to queue for the converter */
    float *feed_buf;       /* FEED_FRAMES stereo frames queued, not yet consumed */
    uint32_t feed_off, feed_avail;
    float *scratch;        /* PRIME_FRAMES stereo frames of discarded priming output */
    int64_t cue;
    int64_t loop_in, loop_out;
    int loop_active;
    /* A seek while audible crossfades: the old position keeps sounding, fading out, while the new one
     * fades in. The fading reader interpolates linearly (it lasts declick_frames only). */
    double ghost_pos, ghost_step;
    cdsp_ramp ghost_gain;
};

cdsp_deck_config cdsp_deck_config_default(uint32_t sample_rate, uint32_t max_block)
{
    cdsp_deck_config c = {sample_rate, max_block, CDSP_SRC_FASTEST, sample_rate / 500};
    return c;
}

cdsp_deck *cdsp_deck_create(const cdsp_deck_config *cfg, cdsp_status *err)
{
    cdsp_deck *d = NULL;
    int e = 0;
    if (!cfg || cfg->sample_rate < 8000 || cfg->max_block == 0 || (unsigned)cfg->quality > CDSP_SRC_FASTEST ||
        cfg->declick_frames > cfg->sample_rate) {
        if (err) *err = CDSP_ERR_INVALID_ARGUMENT;
        return NULL;
    }
    d = calloc(1, sizeof *d);
    if (!d) goto fail;
    d->cfg = *cfg;
    static const int converter[] = {SRC_SINC_BEST_QUALITY, SRC_SINC_MEDIUM_QUALITY, SRC_SINC_FASTEST};
    d->src = src_new(converter[cfg->quality], 2, &e);
    d->feed_buf = calloc(2 * FEED_FRAMES, sizeof(float));
    d->scratch = calloc(2 * PRIME_FRAMES, sizeof(float));
    if (!d->src || !d->feed_buf || !d->scratch) goto fail;
    cdsp_ramp_init(&d->gate, 0.0f);
    cdsp_ramp_init(&d->ghost_gain, 0.0f);
    cdsp_ramp_d_init(&d->rate, 1.0);
    d->cell_rate = 1.0;
    if (err) *err = CDSP_OK;
    return d;
fail:
    cdsp_deck_destroy(d);
    if (err) *err = CDSP_ERR_NO_MEMORY;
    return NULL;
}

void cdsp_deck_destroy(cdsp_deck *d)
{
    if (!d) return;
    if (d->src) src_delete(d->src);
    free(d->feed_buf);
    free(d->scratch);
    free(d);
}

static int64_t track_length(const cdsp_deck *d) { return d->track ? d->track->length : 0; }

const cdsp_track *cdsp_deck_load(cdsp_deck *d, const cdsp_track *track, double position)
{
    const cdsp_track *old = d->track;
    d->track = track;
    d->playing = d->stopping = 0;
    cdsp_ramp_init(&d->gate, 0.0f);
    cdsp_ramp_init(&d->ghost_gain, 0.0f);
    d->pos = position == position ? position : 0.0;
    d->cue = 0;
    d->loop_in = d->loop_out = 0;
    d->loop_active = 0;
    d->varispeed = 0;
    d->need_prime = 1;
    return old;
}

void cdsp_deck_play(cdsp_deck *d)
{
    if (!d->track) return;
    if (!d->playing) {
        /* Starting from silence: a sub-frame snap is inaudible and lets a rate of 1 run bit-exact. */
        if (!d->rate.remaining && d->rate.value == 1.0) d->pos = floor(d->pos + 0.5);
        d->need_prime = 1;
        d->playing = 1;
    }
    d->stopping = 0;
    cdsp_ramp_set(&d->gate, 1.0f, d->cfg.declick_frames);
}

void cdsp_deck_pause(cdsp_deck *d)
{
    if (!d->playing) return;
    d->stopping = 1;
    cdsp_ramp_set(&d->gate, 0.0f, d->cfg.declick_frames);
    if (d->gate.value == 0.0f) d->playing = d->stopping = 0;
}

void cdsp_deck_seek(cdsp_deck *d, double position)
{
    if (!(position == position)) return;
    if (d->playing && d->cfg.declick_frames > 0 && d->gate.value > 0.0f) {
        d->ghost_pos = d->pos;
        d->ghost_step = d->varispeed ? d->cell_rate : 1.0;
        cdsp_ramp_init(&d->ghost_gain, d->gate.value);
        cdsp_ramp_set(&d->ghost_gain, 0.0f, d->cfg.declick_frames);
        cdsp_ramp_init(&d->gate, 0.0f);
        if (!d->stopping) cdsp_ramp_set(&d->gate, 1.0f, d->cfg.declick_frames);
    }
    d->pos = position;
    d->need_prime = 1;
}

void cdsp_deck_set_cue(cdsp_deck *d, int64_t frame) { d->cue = frame; }
void cdsp_deck_jump_to_cue(cdsp_deck *d) { cdsp_deck_seek(d, (double)d->cue); }

void cdsp_deck_set_rate(cdsp_deck *d, double rate, uint32_t ramp_frames)
{
    if (!(rate == rate)) return;
    if (rate < CDSP_DECK_MIN_RATE) rate = CDSP_DECK_MIN_RATE;
    if (rate > CDSP_DECK_MAX_RATE) rate = CDSP_DECK_MAX_RATE;
    cdsp_ramp_d_set(&d->rate, rate, ramp_frames);
}

static void clamp_loop(cdsp_deck *d)
{
    int64_t len = track_length(d);
    if (d->loop_in < 0) d->loop_in = 0;
    if (d->loop_out > len) d->loop_out = len;
    if (d->loop_out <= d->loop_in) d->loop_active = 0;
}

void cdsp_deck_set_loop(cdsp_deck *d, int64_t loop_in, int64_t loop_out)
{
    if (loop_out <= loop_in) return;
    d->loop_in = loop_in;
    d->loop_out = loop_out;
    d->loop_active = 1;
    clamp_loop(d);
    d->need_prime |= d->varispeed; /* the converter may have read past the new loop end */
}

void cdsp_deck_loop_in(cdsp_deck *d, int64_t frame)
{
    d->loop_in = frame;
    if (d->loop_active) {
        clamp_loop(d);
        d->need_prime |= d->varispeed; /* the converter may already have wrapped to the old start */
    }
}

void cdsp_deck_loop_out(cdsp_deck *d, int64_t frame) { cdsp_deck_set_loop(d, d->loop_in, frame); }

void cdsp_deck_loop_exit(cdsp_deck *d)
{
    if (!d->loop_active) return;
    d->loop_active = 0;
    d->need_prime |= d->varispeed; /* the converter may already be reading the loop start again */
}

void cdsp_deck_loop_reenter(cdsp_deck *d)
{
    if (d->loop_out > d->loop_in) cdsp_deck_set_loop(d, d->loop_in, d->loop_out);
}

/* Copies `n` frames of what the deck plays from track frame *cursor on: loops wrap at loop_out,
 * anything outside the track is silence. Advances *cursor. */
static void read_track(const cdsp_deck *d, float *dst, int64_t *cursor, uint32_t n)
{
    const float *fr = d->track->frames;
    int64_t len = d->track->length, c = *cursor;
    for (uint32_t i = 0; i < n; i++) {
        if (d->loop_active && c == d->loop_out) c = d->loop_in;
        if (c >= 0 && c < len) {
            dst[2 * i] = fr[2 * c];
            dst[2 * i + 1] = fr[2 * c + 1];
        } else {
            dst[2 * i] = dst[2 * i + 1] = 0.0f;
        }
        c++;
    }
    *cursor = c;
}

/* Runs the converter until `n` output frames are in `out`, at the ratio last set. */
static void convert(cdsp_deck *d, float *out, uint32_t n, double ratio)
{
    uint32_t made = 0;
    while (made < n) {
        if (d->feed_avail == 0) {
            read_track(d, d->feed_buf, &d->feed, FEED_FRAMES);
            d->feed_off = 0;
            d->feed_avail = FEED_FRAMES;
        }
        SRC_DATA data;
        data.data_in = d->feed_buf + 2 * d->feed_off;
        data.input_frames = d->feed_avail;
        data.data_out = out + 2 * made;
        data.output_frames = n - made;
        data.end_of_input = 0;
        data.src_ratio = ratio;
        data.input_frames_used = data.output_frames_gen = 0;
        if (src_process(d->src, &data) != 0) {
            /* Cannot happen with a valid ratio; never leave garbage in the output. */
            memset(out + 2 * made, 0, 2 * (size_t)(n - made) * sizeof(float));
            return;
        }
        d->feed_off += (uint32_t)data.input_frames_used;
        d->feed_avail -= (uint32_t)data.input_frames_used;
        made += (uint32_t)data.output_frames_gen;
    }
}

/* Seats the converter so that its next output frame is track position q, with real history behind it:
 * PRIME_FRAMES frames before q are run through at ratio 1 and discarded; the last of them steps by
 * 1 + frac(q) so that the fractional part lands exactly. */
static void prime(cdsp_deck *d, double q)
{
    double base = floor(q);
    double frac = q - base;
    src_reset(d->src);
    d->feed = (int64_t)base - PRIME_FRAMES;
    d->feed_off = d->feed_avail = 0;
    src_set_ratio(d->src, 1.0);
    convert(d, d->scratch, PRIME_FRAMES - 1, 1.0);
    double r = 1.0 / (1.0 + frac);
    src_set_ratio(d->src, r);
    convert(d, d->scratch, 1, r);
}

static void choose_mode(cdsp_deck *d)
{
    int unity = !d->rate.remaining && d->rate.value == 1.0;
    if (unity && (!d->varispeed || d->need_prime) && d->pos == floor(d->pos)) {
        d->varispeed = 0;
        d->need_prime = 0;
        d->cell_rate = 1.0;
        return;
    }
    if (!d->varispeed || d->need_prime) {
        prime(d, d->pos);
        d->varispeed = 1;
        d->need_prime = 0;
    }
    d->cell_rate = d->rate.value;
    src_set_ratio(d->src, 1.0 / d->cell_rate);
}

/* The fading-out reader of a seek crossfade: linear interpolation at ghost_pos. */
static inline void add_ghost(cdsp_deck *d, float *frame)
{
    float gg = cdsp_ramp_next(&d->ghost_gain);
    double p = d->ghost_pos;
    int64_t i = (int64_t)floor(p);
    float t = (float)(p - (double)i);
    const float *fr = d->track->frames;
    int64_t len = d->track->length;
    float l0 = 0, r0 = 0, l1 = 0, r1 = 0;
    if (i >= 0 && i < len) { l0 = fr[2 * i]; r0 = fr[2 * i + 1]; }
    if (i + 1 >= 0 && i + 1 < len) { l1 = fr[2 * i + 2]; r1 = fr[2 * i + 3]; }
    frame[0] += gg * (l0 + t * (l1 - l0));
    frame[1] += gg * (r0 + t * (r1 - r0));
    d->ghost_pos += d->ghost_step;
}

/* Per-frame bookkeeping shared by both paths: gate, seek crossfade, position, loop wrap, end, stop.
 * Returns 0 to go on, 1 when the track ended, 2 when the pause fade finished. */
static inline int advance(cdsp_deck *d, float *frame, double step)
{
    float g = cdsp_ramp_next(&d->gate);
    frame[0] *= g;
    frame[1] *= g;
    if (d->ghost_gain.remaining) add_ghost(d, frame);
    cdsp_ramp_d_next(&d->rate);
    double prev = d->pos;
    d->pos += step;
    if (d->loop_active && prev < (double)d->loop_out && d->pos >= (double)d->loop_out)
        d->pos -= (double)(d->loop_out - d->loop_in);
    if (d->pos >= (double)d->track->length) return 1;
    if (d->stopping && g == 0.0f && !cdsp_ramp_active(&d->gate) && !d->ghost_gain.remaining) return 2;
    return 0;
}

int cdsp_deck_render(cdsp_deck *d, float *out, uint32_t frames, uint64_t now)
{
    uint32_t done = 0;
    int ended = 0;
    while (done < frames && d->playing && d->track) {
        uint64_t t = now + done;
        uint32_t to_grid = CDSP_DECK_RATE_GRID - (uint32_t)(t % CDSP_DECK_RATE_GRID);
        uint32_t chunk = frames - done < to_grid ? frames - done : to_grid;
        if (d->need_prime || t % CDSP_DECK_RATE_GRID == 0) choose_mode(d);
        float *o = out + 2 * done;
        int stop = 0;
        uint32_t i = 0;
        if (!d->varispeed) {
            const float *fr = d->track->frames;
            int64_t len = d->track->length;
            for (; i < chunk && !stop; i++) {
                int64_t p = (int64_t)d->pos;
                if (p >= 0 && p < len) {
                    o[2 * i] = fr[2 * p];
                    o[2 * i + 1] = fr[2 * p + 1];
                } else {
                    o[2 * i] = o[2 * i + 1] = 0.0f;
                }
                stop = advance(d, o + 2 * i, 1.0);
            }
        } else {
            convert(d, o, chunk, 1.0 / d->cell_rate);
            for (; i < chunk && !stop; i++) stop = advance(d, o + 2 * i, d->cell_rate);
        }
        done += i;
        if (stop) {
            d->playing = d->stopping = 0;
            cdsp_ramp_init(&d->gate, 0.0f);
            cdsp_ramp_init(&d->ghost_gain, 0.0f);
            d->need_prime = 1;
            if (stop == 1) ended = 1;
        }
    }
    if (done < frames) {
        memset(out + 2 * done, 0, 2 * (size_t)(frames - done) * sizeof(float));
        for (uint32_t i = done; i < frames; i++) cdsp_ramp_d_next(&d->rate);
    }
    return ended;
}

void cdsp_deck_info_get(const cdsp_deck *d, cdsp_deck_info *info)
{
    info->position = d->pos;
    info->rate = d->rate.value;
    info->rate_target = d->rate.target;
    info->length = track_length(d);
    info->cue = d->cue;
    info->loop_in = d->loop_in;
    info->loop_out = d->loop_out;
    info->track_id = d->track ? d->track->id : 0;
    info->playing = d->playing && !d->stopping;
    info->loop_active = d->loop_active;
    info->has_track = d->track != NULL;
    info->varispeed = d->varispeed;
}

int cdsp_deck_audible(const cdsp_deck *d) { return d->playing && d->track != NULL; }
