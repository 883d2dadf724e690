/*
 * engine.h — the engine render: N decks -> mixer -> master and cue buses, one call per period.
 *
 * The control side talks to the render only through two SPSC rings (ring.h):
 *   commands (control -> audio): plain-data cdsp_cmd, each with the absolute engine frame at which it
 *     must take effect. The render applies it at exactly that frame inside the period (cutting the
 *     period there), so the output does not depend on the period size. A frame in the past (or 0)
 *     means "at the start of the next period". Up to `max_pending` future commands wait in the engine
 *     (a heap: commands for the same frame apply in the order sent); a render takes at most 1024 new
 *     commands from the ring, so a burst cannot blow one period's budget.
 *   events (audio -> control): cdsp_event — a track handed back (RETIRED: the owner may free it now),
 *     a track that played to its end, periods in which the queue of future commands was full (commands
 *     then wait in the ring: late, never lost).
 * State for the control side (positions, transport, mixer values, meters) is published after every
 * period through a triple buffer: wait-free on both sides, never torn.
 *
 * Thread contract: create/destroy — control; send/poll_events/snapshot — the one control producer /
 * consumer; render — the one audio thread (real-time safe: no allocation, lock, wait, I/O or logging).
 * The render sets flush-to-zero/denormals-are-zero while it runs and restores the caller's mode.
 *
 *   cdsp_engine_config c = cdsp_engine_config_default(48000);
 *   cdsp_engine *e = cdsp_engine_create(&c, &st);
 *   cdsp_cmd cmd = cdsp_cmd_make(CDSP_CMD_PLAY, 0, 0);  // deck 0, now
 *   cdsp_engine_send(e, &cmd);
 *   cdsp_engine_render(e, master, cue, 256);             // audio thread, every period
 */
#ifndef CDSP_ENGINE_H
#define CDSP_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"
#include "track.h"
#include "deck.h"
#include "mixer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CDSP_ENGINE_MAX_DECKS CDSP_MIXER_MAX_CHANNELS
#define CDSP_TARGET_MASTER 0xFFFFFFFFu

typedef enum cdsp_cmd_type {
    CDSP_CMD_NOP = 0,
    /* deck commands: target = deck index */
    CDSP_CMD_LOAD,          /* ptr = const cdsp_track* (NULL unloads), value = start position (frames) */
    CDSP_CMD_PLAY,
    CDSP_CMD_PAUSE,
    CDSP_CMD_SEEK,          /* value = position (frames) */
    CDSP_CMD_CUE_SET,       /* a = frame; a < 0 with value != 0: the deck's current position */
    CDSP_CMD_CUE_JUMP,
    CDSP_CMD_RATE,          /* value = rate, ramp */
    CDSP_CMD_LOOP_SET,      /* a = in, b = out (frames); activates */
    CDSP_CMD_LOOP_IN,       /* a = frame, or the current position when value != 0 */
    CDSP_CMD_LOOP_OUT,      /* a = frame, or the current position when value != 0; activates */
    CDSP_CMD_LOOP_EXIT,
    CDSP_CMD_LOOP_REENTER,
    /* channel strip commands: target = channel (= deck) index */
    CDSP_CMD_TRIM,          /* value = linear gain, ramp */
    CDSP_CMD_EQ,            /* a = band (0 low, 1 mid, 2 high), value = linear gain, ramp */
    CDSP_CMD_KILL,          /* a = band, value != 0 kills, ramp */
    CDSP_CMD_FILTER,        /* value = knob -1 .. 1, ramp */
    CDSP_CMD_FILTER_RESONANCE, /* value = Q */
    CDSP_CMD_FADER,         /* value = 0 .. 1, ramp */
    CDSP_CMD_ASSIGN,        /* a = cdsp_xfader_assign */
    CDSP_CMD_CUE_BUS,       /* value != 0 sends the channel to the cue bus (PFL) */
    /* master commands: target ignored */
    CDSP_CMD_CROSSFADER,    /* value = -1 .. 1, ramp */
    CDSP_CMD_CURVE,         /* a = cdsp_xfader_curve */
    CDSP_CMD_MASTER_GAIN,   /* value = linear gain, ramp */
    CDSP_CMD_CUE_MIX,       /* value = 0 (cue) .. 1 (master), ramp */
    CDSP_CMD_CUE_GAIN,      /* value = linear gain, ramp */
    CDSP_CMD_LIMITER_CEILING, /* value = dBFS */
    CDSP_CMD_COUNT
} cdsp_cmd_type;

/* A command: plain data, copied through the ring. */
typedef struct cdsp_cmd {
    uint64_t frame;        /* absolute engine frame to apply at; 0 or past = start of the next period */
    uint32_t type;         /* cdsp_cmd_type */
    uint32_t target;       /* deck / channel index */
    uint32_t ramp_frames;  /* for ramped parameters; 0 = jump */
    uint32_t id;           /* the sender's number for it, echoed in CDSP_EVENT_APPLIED */
    int64_t a, b;
    double value;
    const void *ptr;
} cdsp_cmd;

typedef enum cdsp_event_type {
    CDSP_EVENT_RETIRED = 1,   /* ptr = a track no deck uses any more; frame = when */
    CDSP_EVENT_TRACK_END = 2, /* target = deck; frame = when it ran out */
    CDSP_EVENT_QUEUE_FULL = 3, /* a = periods in which the queue of future commands was full (commands waited in the ring) */
    CDSP_EVENT_INVALID = 4,   /* a = the command type that was ignored (bad target or type) */
    CDSP_EVENT_APPLIED = 5    /* only with report_applied: a = the command's id, b = its type, frame = the
                               * engine frame it took effect at (its time stamp, or the start of the period
                               * that took it when the stamp was 0 or past) */
} cdsp_event_type;

typedef struct cdsp_event {
    uint64_t frame;
    uint32_t type;
    uint32_t target;
    int64_t a;
    const void *ptr;
    int64_t b;
} cdsp_event;

typedef struct cdsp_engine_config {
    uint32_t sample_rate;      /* 8000 .. 384000, default 48000 */
    uint32_t decks;            /* 1 .. CDSP_ENGINE_MAX_DECKS, default 4 */
    uint32_t max_block;        /* most frames one render call may ask for, default 4096 */
    uint32_t command_capacity; /* ring size, default 4096 */
    uint32_t max_pending;      /* future commands waiting in the engine, default 4096 */
    uint32_t event_capacity;   /* default 1024 */
    uint32_t report_applied;   /* 1: an APPLIED event for every command (a command log: what took effect
                                * when). Default 0. */
    cdsp_deck_config deck;     /* sample_rate and max_block are filled in from above */
    cdsp_mixer_config mixer;   /* sample_rate and channels are filled in from above */
} cdsp_engine_config;

typedef struct cdsp_deck_state {
    cdsp_deck_info deck;
    cdsp_strip_info strip;
    cdsp_meter meter;
} cdsp_deck_state;

/* What the control side reads: one consistent picture taken at the end of a period. */
typedef struct cdsp_engine_state {
    uint64_t frame;          /* engine frames rendered so far */
    uint64_t periods;
    uint64_t commands_applied;
    uint64_t queue_full_periods; /* periods in which future commands had to wait in the ring */
    uint32_t decks;
    uint32_t pending;        /* future commands waiting */
    cdsp_deck_state deck[CDSP_ENGINE_MAX_DECKS];
    cdsp_mixer_info mixer;
    cdsp_meter master;
    cdsp_meter cue;
} cdsp_engine_state;

typedef struct cdsp_engine cdsp_engine;

cdsp_engine_config cdsp_engine_config_default(uint32_t sample_rate);
/* Thread: control. Allocates everything the render will ever use. */
cdsp_engine *cdsp_engine_create(const cdsp_engine_config *cfg, cdsp_status *err);
/* Thread: control, after the audio thread has stopped. Tracks still on decks are NOT freed (the
 * owner holds them); NULL-safe. */
void cdsp_engine_destroy(cdsp_engine *e);

/* Thread: control (the single producer). Real-time safe. CDSP_ERR_FULL if the ring is full (counted),
 * CDSP_ERR_INVALID_ARGUMENT for an unknown type or target (nothing sent). */
cdsp_status cdsp_engine_send(cdsp_engine *e, const cdsp_cmd *cmd);
/* Thread: control (the single consumer). Copies up to max events; returns how many. */
size_t cdsp_engine_poll_events(cdsp_engine *e, cdsp_event *out, size_t max);
/* Thread: control. Fills `out` with the newest published state. */
void cdsp_engine_snapshot(cdsp_engine *e, cdsp_engine_state *out);

/* Thread: audio. Real-time safe. Renders `frames` (<= max_block) frames of master and cue (stereo
 * interleaved; cue may be NULL). Never fails. */
void cdsp_engine_render(cdsp_engine *e, float *master, float *cue, uint32_t frames);

/* Thread: any. */
uint32_t cdsp_engine_sample_rate(const cdsp_engine *e);
uint32_t cdsp_engine_decks(const cdsp_engine *e);
uint32_t cdsp_engine_max_block(const cdsp_engine *e);
/* Frames from a command's time stamp to its effect at the master output (the limiter look-ahead). */
uint32_t cdsp_engine_latency(const cdsp_engine *e);
/* Thread: any. Engine frames rendered so far (the audio thread's clock). */
uint64_t cdsp_engine_frame(const cdsp_engine *e);
uint64_t cdsp_engine_ring_overflows(const cdsp_engine *e);
/* Thread: any. Commands in the ring not yet taken by the render. */
size_t cdsp_engine_queue_depth(const cdsp_engine *e);

/* Convenience constructor for a zeroed command. Thread: any. */
cdsp_cmd cdsp_cmd_make(cdsp_cmd_type type, uint32_t target, uint64_t frame);

#ifdef __cplusplus
}
#endif
#endif
