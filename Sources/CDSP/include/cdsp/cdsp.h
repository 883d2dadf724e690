/* CDSP — the C DSP core of DJCore. Umbrella header. */
#ifndef CDSP_H
#define CDSP_H
#include "status.h"
#include "ring.h"
#include "ramp.h"
#include "biquad.h"
#include "eq3.h"
#include "filter.h"
#include "limiter.h"
#include "track.h"
#include "deck.h"
#include "mixer.h"
#include "engine.h"
#include "audiofile.h"
#include "pcm.h"
#include "player.h"
#include "loudness.h"
#include "waveform.h"
#include "key.h"
#include "rhythm.h"
#include "hash.h"
#include "stems.h"
#endif
