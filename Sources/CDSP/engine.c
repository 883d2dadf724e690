#include "cdsp/engine.h"
#include "cdsp/ring.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define CDSP_HAVE_MXCSR 1
#endif

enum { RETIRE_BACKLOG = 64, IDLE_CELL = 1024, DRAIN_PER_PERIOD = 1024 };

/* A future command in the engine's queue: a binary min-heap on (frame, arrival), so commands for the same
 * frame apply in the order they were sent, and any burst costs O(log n) per command on the audio thread. */
typedef struct pending_cmd {
    uint64_t frame;
    uint64_t seq;
    cdsp_cmd cmd;
} pending_cmd;

struct cdsp_engine {
    cdsp_engine_config cfg;
    cdsp_deck *deck[CDSP_ENGINE_MAX_DECKS];
    float *deck_buf[CDSP_ENGINE_MAX_DECKS];
    cdsp_mixer *mixer;
    cdsp_ring *commands;
    cdsp_ring *events;
    /* audio side only */
    pending_cmd *pending;      /* min-heap on (frame, seq) */
    uint32_t npending;
    uint64_t seq;
    uint64_t periods, applied, queue_full_periods;
    uint64_t queue_full_unreported;
    /* Idle channels skip their EQ and filter. The decision is taken only at the start of each IDLE_CELL-frame
     * cell of absolute engine time (segments are cut there), from "was the deck audible anywhere in the
     * last cells": a deck only starts at a command frame, so that fact does not depend on how time was cut
     * into periods, and neither does the output. */
    uint32_t silent_cells[CDSP_ENGINE_MAX_DECKS]; /* whole cells in a row without sound */
    int cell_audible[CDSP_ENGINE_MAX_DECKS];      /* sound in the current cell */
    int skipped[CDSP_ENGINE_MAX_DECKS];           /* strip skipped: reset before use */
    uint32_t skip_after_cells;                    /* > 1 s: EQ and filter tails are far below -100 dB */
    const void *retired[RETIRE_BACKLOG];
    uint32_t nretired;
    /* the audio clock, readable anywhere */
    _Atomic uint64_t frame;
    /* triple buffer: audio owns `back`, control owns `front`, `middle` = index | DIRTY */
    cdsp_engine_state state[3];
    uint32_t back, front;
    _Atomic uint32_t middle;
};

#define TB_DIRTY 4u

cdsp_engine_config cdsp_engine_config_default(uint32_t sample_rate)
{
    cdsp_engine_config c;
    memset(&c, 0, sizeof c);
    c.sample_rate = sample_rate;
    c.decks = 4;
    c.max_block = 4096;
    c.command_capacity = 4096;
    c.max_pending = 4096;
    c.event_capacity = 1024;
    c.deck = cdsp_deck_config_default(sample_rate, c.max_block);
    c.mixer = cdsp_mixer_config_default(sample_rate, c.decks);
    return c;
}

cdsp_engine *cdsp_engine_create(const cdsp_engine_config *cfg, cdsp_status *err)
{
    cdsp_status st = CDSP_OK;
    cdsp_engine *e = NULL;
    if (!cfg || cfg->sample_rate < 8000 || cfg->sample_rate > 384000 || cfg->decks == 0 ||
        cfg->decks > CDSP_ENGINE_MAX_DECKS || cfg->max_block == 0 || cfg->max_block > 65536 ||
        cfg->command_capacity == 0 || cfg->max_pending == 0 || cfg->event_capacity < 16) {
        st = CDSP_ERR_INVALID_ARGUMENT;
        goto fail;
    }
    e = calloc(1, sizeof *e);
    if (!e) {
        st = CDSP_ERR_NO_MEMORY;
        goto fail;
    }
    e->cfg = *cfg;
    e->cfg.deck.sample_rate = cfg->sample_rate;
    e->cfg.deck.max_block = cfg->max_block;
    e->cfg.mixer.sample_rate = cfg->sample_rate;
    e->cfg.mixer.channels = cfg->decks;
    e->cfg.mixer.limiter.sample_rate = cfg->sample_rate;
    for (uint32_t i = 0; i < cfg->decks; i++) {
        e->deck[i] = cdsp_deck_create(&e->cfg.deck, &st);
        if (!e->deck[i]) goto fail;
        e->deck_buf[i] = calloc(2 * (size_t)cfg->max_block, sizeof(float));
        if (!e->deck_buf[i]) {
            st = CDSP_ERR_NO_MEMORY;
            goto fail;
        }
    }
    e->mixer = cdsp_mixer_create(&e->cfg.mixer, &st);
    if (!e->mixer) goto fail;
    e->commands = cdsp_ring_create(cfg->command_capacity, sizeof(cdsp_cmd), &st);
    if (!e->commands) goto fail;
    e->events = cdsp_ring_create(cfg->event_capacity, sizeof(cdsp_event), &st);
    if (!e->events) goto fail;
    e->pending = calloc(cfg->max_pending, sizeof(pending_cmd));
    if (!e->pending) {
        st = CDSP_ERR_NO_MEMORY;
        goto fail;
    }
    e->skip_after_cells = cfg->sample_rate / IDLE_CELL + 1;
    for (uint32_t i = 0; i < CDSP_ENGINE_MAX_DECKS; i++) e->cell_audible[i] = 1;
    atomic_init(&e->frame, 0);
    e->back = 0;
    e->front = 1;
    atomic_init(&e->middle, 2u);
    if (err) *err = CDSP_OK;
    return e;
fail:
    cdsp_engine_destroy(e);
    if (err) *err = st;
    return NULL;
}

void cdsp_engine_destroy(cdsp_engine *e)
{
    if (!e) return;
    for (uint32_t i = 0; i < CDSP_ENGINE_MAX_DECKS; i++) {
        cdsp_deck_destroy(e->deck[i]);
        free(e->deck_buf[i]);
    }
    cdsp_mixer_destroy(e->mixer);
    cdsp_ring_destroy(e->commands);
    cdsp_ring_destroy(e->events);
    free(e->pending);
    free(e);
}

cdsp_cmd cdsp_cmd_make(cdsp_cmd_type type, uint32_t target, uint64_t frame)
{
    cdsp_cmd c;
    memset(&c, 0, sizeof c);
    c.type = (uint32_t)type;
    c.target = target;
    c.frame = frame;
    return c;
}

static int is_master_cmd(uint32_t t) { return t >= CDSP_CMD_CROSSFADER && t < CDSP_CMD_COUNT; }

cdsp_status cdsp_engine_send(cdsp_engine *e, const cdsp_cmd *cmd)
{
    if (!cmd || cmd->type == CDSP_CMD_NOP || cmd->type >= CDSP_CMD_COUNT) return CDSP_ERR_INVALID_ARGUMENT;
    if (!is_master_cmd(cmd->type) && cmd->target >= e->cfg.decks) return CDSP_ERR_INVALID_ARGUMENT;
    if (!(cmd->value == cmd->value) || isinf(cmd->value)) return CDSP_ERR_INVALID_ARGUMENT;
    if (cmd->type == CDSP_CMD_LOAD && cmd->ptr) {
        const cdsp_track *t = cmd->ptr;
        if (t->channels != 2 || t->sample_rate != e->cfg.sample_rate || t->length < 0 || (!t->frames && t->length))
            return CDSP_ERR_INVALID_ARGUMENT;
    }
    if ((cmd->type == CDSP_CMD_EQ || cmd->type == CDSP_CMD_KILL) && (cmd->a < 0 || cmd->a > 2))
        return CDSP_ERR_INVALID_ARGUMENT;
    return cdsp_ring_write(e->commands, cmd, 1) == 1 ? CDSP_OK : CDSP_ERR_FULL;
}

size_t cdsp_engine_poll_events(cdsp_engine *e, cdsp_event *out, size_t max)
{
    return cdsp_ring_read(e->events, out, max);
}

void cdsp_engine_snapshot(cdsp_engine *e, cdsp_engine_state *out)
{
    if (atomic_load_explicit(&e->middle, memory_order_acquire) & TB_DIRTY) {
        uint32_t old = atomic_exchange_explicit(&e->middle, e->front, memory_order_acq_rel);
        e->front = old & 3u;
    }
    memcpy(out, &e->state[e->front], sizeof *out);
}

uint32_t cdsp_engine_sample_rate(const cdsp_engine *e) { return e->cfg.sample_rate; }
uint32_t cdsp_engine_decks(const cdsp_engine *e) { return e->cfg.decks; }
uint32_t cdsp_engine_max_block(const cdsp_engine *e) { return e->cfg.max_block; }
uint32_t cdsp_engine_latency(const cdsp_engine *e) { return cdsp_mixer_latency(e->mixer); }
uint64_t cdsp_engine_frame(const cdsp_engine *e)
{
    return atomic_load_explicit(&((cdsp_engine *)e)->frame, memory_order_acquire);
}
uint64_t cdsp_engine_ring_overflows(const cdsp_engine *e) { return cdsp_ring_overflows(e->commands); }
size_t cdsp_engine_queue_depth(const cdsp_engine *e) { return cdsp_ring_available(e->commands); }

/* ---- audio side ---- */

static void emit(cdsp_engine *e, cdsp_event_type type, uint32_t target, uint64_t frame, int64_t a, const void *ptr)
{
    cdsp_event ev = {frame, (uint32_t)type, target, a, ptr, 0};
    cdsp_ring_write(e->events, &ev, 1);
}

static void retire(cdsp_engine *e, const void *track, uint64_t frame)
{
    cdsp_event ev = {frame, CDSP_EVENT_RETIRED, 0, 0, track, 0};
    /* A retired track must never be lost (its owner would leak it): keep it until the ring has room. */
    if (e->nretired == 0 && cdsp_ring_write(e->events, &ev, 1) == 1) return;
    if (e->nretired < RETIRE_BACKLOG) e->retired[e->nretired++] = track;
}

static void flush_retired(cdsp_engine *e, uint64_t frame)
{
    uint32_t i = 0;
    for (; i < e->nretired; i++) {
        cdsp_event ev = {frame, CDSP_EVENT_RETIRED, 0, 0, e->retired[i], 0};
        if (cdsp_ring_write(e->events, &ev, 1) != 1) break;
    }
    if (i) {
        memmove(e->retired, e->retired + i, (e->nretired - i) * sizeof e->retired[0]);
        e->nretired -= i;
    }
}

static inline int before(const pending_cmd *a, const pending_cmd *b)
{
    return a->frame < b->frame || (a->frame == b->frame && a->seq < b->seq);
}

static void heap_push(cdsp_engine *e, const pending_cmd *p)
{
    uint32_t i = e->npending++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!before(p, &e->pending[parent])) break;
        e->pending[i] = e->pending[parent];
        i = parent;
    }
    e->pending[i] = *p;
}

static void heap_pop(cdsp_engine *e, pending_cmd *out)
{
    *out = e->pending[0];
    pending_cmd last = e->pending[--e->npending];
    uint32_t i = 0, n = e->npending;
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        const pending_cmd *best = &last;
        if (l < n && before(&e->pending[l], best)) { m = l; best = &e->pending[l]; }
        if (r < n && before(&e->pending[r], best)) m = r;
        if (m == i) break;
        e->pending[i] = e->pending[m];
        i = m;
    }
    if (n) e->pending[i] = last;
}

/* Takes up to DRAIN_PER_PERIOD commands from the ring into the queue (a bound on the audio thread's
 * work per period; the rest wait in the ring for the next period). */
static void drain(cdsp_engine *e, uint64_t now)
{
    pending_cmd p;
    uint32_t taken = 0;
    while (taken < DRAIN_PER_PERIOD && e->npending < e->cfg.max_pending && cdsp_ring_read(e->commands, &p.cmd, 1) == 1) {
        p.frame = p.cmd.frame < now ? now : p.cmd.frame;
        p.seq = e->seq++;
        heap_push(e, &p);
        taken++;
    }
    if (e->npending == e->cfg.max_pending && cdsp_ring_available(e->commands) > 0) {
        /* Not dropped: they stay in the ring and are taken as the queue empties. Report the pressure. */
        e->queue_full_unreported++;
    }
}

static void apply(cdsp_engine *e, const cdsp_cmd *c, uint64_t now)
{
    cdsp_deck *d = c->target < e->cfg.decks ? e->deck[c->target] : NULL;
    uint32_t ch = c->target;
    float v = (float)c->value;
    cdsp_deck_info info;
    switch ((cdsp_cmd_type)c->type) {
    case CDSP_CMD_LOAD: {
        const cdsp_track *old = cdsp_deck_load(d, (const cdsp_track *)c->ptr, c->value);
        if (old) retire(e, old, now);
        break;
    }
    case CDSP_CMD_PLAY: cdsp_deck_play(d); break;
    case CDSP_CMD_PAUSE: cdsp_deck_pause(d); break;
    case CDSP_CMD_SEEK: cdsp_deck_seek(d, c->value); break;
    case CDSP_CMD_CUE_SET:
        if (c->a < 0 && c->value != 0) {
            cdsp_deck_info_get(d, &info);
            cdsp_deck_set_cue(d, (int64_t)floor(info.position + 0.5));
        } else {
            cdsp_deck_set_cue(d, c->a);
        }
        break;
    case CDSP_CMD_CUE_JUMP: cdsp_deck_jump_to_cue(d); break;
    case CDSP_CMD_RATE: cdsp_deck_set_rate(d, c->value, c->ramp_frames); break;
    case CDSP_CMD_LOOP_SET: cdsp_deck_set_loop(d, c->a, c->b); break;
    case CDSP_CMD_LOOP_IN:
    case CDSP_CMD_LOOP_OUT: {
        int64_t f = c->a;
        if (c->value != 0) {
            cdsp_deck_info_get(d, &info);
            f = (int64_t)floor(info.position + 0.5);
        }
        if (c->type == CDSP_CMD_LOOP_IN) cdsp_deck_loop_in(d, f);
        else cdsp_deck_loop_out(d, f);
        break;
    }
    case CDSP_CMD_LOOP_EXIT: cdsp_deck_loop_exit(d); break;
    case CDSP_CMD_LOOP_REENTER: cdsp_deck_loop_reenter(d); break;
    case CDSP_CMD_TRIM: cdsp_mixer_set_trim(e->mixer, ch, v, c->ramp_frames); break;
    case CDSP_CMD_EQ: cdsp_mixer_set_eq(e->mixer, ch, (cdsp_eq3_band)c->a, v, c->ramp_frames); break;
    case CDSP_CMD_KILL: cdsp_mixer_set_kill(e->mixer, ch, (cdsp_eq3_band)c->a, c->value != 0, c->ramp_frames); break;
    case CDSP_CMD_FILTER: cdsp_mixer_set_filter(e->mixer, ch, v, c->ramp_frames); break;
    case CDSP_CMD_FILTER_RESONANCE: cdsp_mixer_set_filter_resonance(e->mixer, ch, v); break;
    case CDSP_CMD_FADER: cdsp_mixer_set_fader(e->mixer, ch, v, c->ramp_frames); break;
    case CDSP_CMD_ASSIGN: cdsp_mixer_set_assign(e->mixer, ch, (cdsp_xfader_assign)c->a); break;
    case CDSP_CMD_CUE_BUS: cdsp_mixer_set_cue(e->mixer, ch, c->value != 0); break;
    case CDSP_CMD_CROSSFADER: cdsp_mixer_set_crossfader(e->mixer, v, c->ramp_frames); break;
    case CDSP_CMD_CURVE: cdsp_mixer_set_curve(e->mixer, (cdsp_xfader_curve)c->a); break;
    case CDSP_CMD_MASTER_GAIN: cdsp_mixer_set_master_gain(e->mixer, v, c->ramp_frames); break;
    case CDSP_CMD_CUE_MIX: cdsp_mixer_set_cue_mix(e->mixer, v, c->ramp_frames); break;
    case CDSP_CMD_CUE_GAIN: cdsp_mixer_set_cue_gain(e->mixer, v, c->ramp_frames); break;
    case CDSP_CMD_LIMITER_CEILING: cdsp_mixer_set_limiter_ceiling(e->mixer, v); break;
    case CDSP_CMD_NOP:
    case CDSP_CMD_COUNT:
    default: emit(e, CDSP_EVENT_INVALID, c->target, now, (int64_t)c->type, NULL); return;
    }
    e->applied++;
    if (e->cfg.report_applied) {
        cdsp_event ev = {now, CDSP_EVENT_APPLIED, c->target, (int64_t)c->id, NULL, (int64_t)c->type};
        cdsp_ring_write(e->events, &ev, 1);
    }
}

static void publish(cdsp_engine *e, uint64_t frame)
{
    cdsp_engine_state *s = &e->state[e->back];
    s->frame = frame;
    s->periods = e->periods;
    s->commands_applied = e->applied;
    s->queue_full_periods = e->queue_full_periods;
    s->decks = e->cfg.decks;
    s->pending = e->npending;
    for (uint32_t i = 0; i < e->cfg.decks; i++) {
        cdsp_deck_info_get(e->deck[i], &s->deck[i].deck);
        cdsp_mixer_strip_info(e->mixer, i, &s->deck[i].strip);
        cdsp_mixer_channel_meter(e->mixer, i, &s->deck[i].meter);
    }
    cdsp_mixer_info_get(e->mixer, &s->mixer);
    cdsp_mixer_master_meter(e->mixer, &s->master);
    cdsp_mixer_cue_meter(e->mixer, &s->cue);
    uint32_t old = atomic_exchange_explicit(&e->middle, e->back | TB_DIRTY, memory_order_acq_rel);
    e->back = old & 3u;
}

static void render_block(cdsp_engine *e, float *master, float *cue, uint32_t frames)
{
    uint64_t start = atomic_load_explicit(&e->frame, memory_order_relaxed);
    uint64_t end = start + frames;
    drain(e, start);
    flush_retired(e, start);
    uint32_t done = 0;
    while (done < frames) {
        uint64_t now = start + done;
        while (e->npending && e->pending[0].frame <= now) {
            pending_cmd p;
            heap_pop(e, &p);
            apply(e, &p.cmd, now);
        }
        uint64_t seg_end = e->npending && e->pending[0].frame < end ? e->pending[0].frame : end;
        uint64_t cell_end = (now / IDLE_CELL + 1) * IDLE_CELL;
        if (cell_end < seg_end) seg_end = cell_end;
        uint32_t seg = (uint32_t)(seg_end - now);
        int cell_start = now % IDLE_CELL == 0;
        float *bufs[CDSP_ENGINE_MAX_DECKS] = {0};
        for (uint32_t i = 0; i < e->cfg.decks; i++) {
            if (cell_start) {
                e->silent_cells[i] = e->cell_audible[i] ? 0 : e->silent_cells[i] + 1;
                e->cell_audible[i] = 0;
                if (e->silent_cells[i] >= e->skip_after_cells) e->skipped[i] = 1;
            }
            /* A deck only starts at a command, i.e. at a segment start: silent now = silent all segment. */
            if (cdsp_deck_audible(e->deck[i])) {
                e->cell_audible[i] = 1;
                if (e->skipped[i]) {
                    cdsp_mixer_reset_channel(e->mixer, i);
                    e->skipped[i] = 0;
                }
            }
            if (cdsp_deck_render(e->deck[i], e->deck_buf[i], seg, now))
                emit(e, CDSP_EVENT_TRACK_END, i, seg_end, 0, NULL);
            bufs[i] = e->skipped[i] ? NULL : e->deck_buf[i];
        }
        cdsp_mixer_process(e->mixer, bufs, seg, master + 2 * (size_t)done, cue ? cue + 2 * (size_t)done : NULL);
        done += seg;
    }
    if (e->queue_full_unreported) {
        emit(e, CDSP_EVENT_QUEUE_FULL, 0, start, (int64_t)e->queue_full_unreported, NULL);
        e->queue_full_periods += e->queue_full_unreported;
        e->queue_full_unreported = 0;
    }
    e->periods++;
    atomic_store_explicit(&e->frame, end, memory_order_release);
    publish(e, end);
}

void cdsp_engine_render(cdsp_engine *e, float *master, float *cue, uint32_t frames)
{
#ifdef CDSP_HAVE_MXCSR
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040); /* FTZ | DAZ: decaying filters never hit denormals */
#endif
    uint32_t done = 0;
    while (done < frames) {
        uint32_t n = frames - done < e->cfg.max_block ? frames - done : e->cfg.max_block;
        render_block(e, master + 2 * (size_t)done, cue ? cue + 2 * (size_t)done : NULL, n);
        done += n;
    }
#ifdef CDSP_HAVE_MXCSR
    _mm_setcsr(csr);
#endif
}
