#!/usr/bin/env python3
"""Makes the DJCore test and demo fixtures.

    python3 Fixtures/make_fixtures.py [OUTDIR] [--write-mix]

OUTDIR (default Fixtures/out, git-ignored) receives:
  house_124_Am.wav, techno_128_Fm.wav, deephouse_120_C.wav, electro_126_Em.wav
      ~90 s stereo 44.1 kHz 16-bit tracks, synthesized with numpy (drums, bass, chords, pads)
      and arranged in 8-bar phrases, peaks at -3 dBFS
  truth.json      tempo, first beat, key, downbeats and sections of each track
  bad/            broken files for error-handling demos (truncated, garbage, empty, not audio)

The demo mix Fixtures/demo-mix.json is computed from the same tempos and first beats. Without
--write-mix the script only checks that the committed file matches; with it, it rewrites it.

Python 3.11 + numpy, deterministic (fixed seeds: the same bytes every run). See Fixtures/README.md.
"""

import argparse
import json
import os
import sys
import time
import wave

import numpy as np

SR = 44100
PEAK_DBFS = -3.0
BARS = 48              # every track: 48 bars of 4 beats, in 8-bar phrases
TAIL = 1.5             # seconds after the last bar (note releases, echoes)
HERE = os.path.dirname(os.path.abspath(__file__))
TWO_PI = 2.0 * np.pi

NOTE = {"C": 0, "Db": 1, "D": 2, "Eb": 3, "E": 4, "F": 5, "Gb": 6, "G": 7, "Ab": 8, "A": 9, "Bb": 10, "B": 11}


def hz(midi):
    return 440.0 * 2.0 ** ((midi - 69) / 12.0)


def chord(root, quality, octave=4):
    """MIDI notes of a chord; root like "A", quality one of min, maj, min7, maj7, dom7."""
    base = 12 * (octave + 1) + NOTE[root]
    steps = {"min": (0, 3, 7), "maj": (0, 4, 7), "min7": (0, 3, 7, 10), "maj7": (0, 4, 7, 11),
             "dom7": (0, 4, 7, 10)}[quality]
    return [base + s for s in steps]


# --------------------------------------------------------------------------------------------------
# Tracks. Sections are [name, first bar, bars, elements]; elements switch the instruments on.
# --------------------------------------------------------------------------------------------------

def standard_sections():
    """Intro (drums only) 16 bars, main 8, breakdown (no drums) 8, main 8, outro (drums only) 8."""
    return [
        ["intro", 0, 8, {"kick", "ohat"}],
        ["intro", 8, 8, {"kick", "ohat", "chat", "clap", "perc"}],
        ["main", 16, 8, {"kick", "ohat", "chat", "clap", "perc", "bass", "stab"}],
        ["breakdown", 24, 8, {"pad", "arp", "riser"}],
        ["main", 32, 8, {"kick", "ohat", "chat", "clap", "perc", "bass", "stab", "arp"}],
        ["outro", 40, 4, {"kick", "ohat", "chat", "clap"}],
        ["outro", 44, 4, {"kick", "ohat"}],
    ]


TRACKS = [
    {
        "file": "house_124_Am.wav", "bpm": 124, "first_beat": 0.25, "key": "A minor", "camelot": "8A", "seed": 124,
        "tonic": "A",
        "progression": [chord("A", "min"), chord("F", "maj"), chord("G", "maj"), chord("A", "min")],
        "bass_roots": [33, 29, 31, 33],          # A1 F1 G1 A1
        "bass_steps": [(2, 2, 0), (6, 2, 0), (10, 2, 0), (13, 1, 12), (14, 2, 0)],  # (16th, length, +semitones)
        "bass_wave": "saw", "bass_cutoff": 380.0, "bass_level": 0.70,
        "stab_steps": [3, 6, 11], "stab_level": 0.54, "stab_cutoff": 2400.0,
        "kick": {"f0": 160.0, "f1": 55.0, "tp": 0.030, "decay": 0.22, "length": 0.40, "drive": 1.2, "click": 0.25},
        "pad_level": 0.55, "arp_level": 0.14, "hat_level": 0.32,
        "sections": standard_sections(),
    },
    {
        "file": "techno_128_Fm.wav", "bpm": 128, "first_beat": 0.06, "key": "F minor", "camelot": "4A", "seed": 128,
        "tonic": "F",
        "progression": [chord("F", "min"), chord("F", "min"), chord("Db", "maj"), chord("Eb", "maj")],
        "bass_roots": [29, 29, 25, 27],          # F1 F1 Db1 Eb1
        "bass_steps": [(s, 1, 0) for s in range(16) if s % 4 != 0],   # rolling 16ths between the kicks
        "bass_wave": "saw", "bass_cutoff": 260.0, "bass_level": 0.60,
        "stab_steps": [3, 10], "stab_level": 0.54, "stab_cutoff": 1500.0, "stab_echo": True,
        "kick": {"f0": 190.0, "f1": 43.65, "tp": 0.022, "decay": 0.30, "length": 0.42, "drive": 2.6, "click": 0.35},
        "pad_level": 0.55, "arp_level": 0.12, "hat_level": 0.35,
        "sections": standard_sections(),
    },
    {
        "file": "deephouse_120_C.wav", "bpm": 120, "first_beat": 0.12, "key": "C major", "camelot": "8B", "seed": 120,
        "tonic": "C",
        "progression": [chord("C", "maj7"), chord("A", "min7", 3), chord("D", "min7"), chord("G", "dom7", 3)],
        "bass_roots": [36, 33, 38, 31],          # C2 A1 D2 G1
        "bass_steps": [(0, 3, 0), (3, 2, 0), (6, 2, 12), (10, 3, 0), (14, 1, 7)],
        "bass_wave": "sine", "bass_cutoff": 300.0, "bass_level": 0.75,
        "stab_steps": [], "stab_level": 0.0, "stab_cutoff": 1800.0,
        "kick": {"f0": 130.0, "f1": 49.0, "tp": 0.040, "decay": 0.20, "length": 0.36, "drive": 1.0, "click": 0.12},
        "pad_level": 0.50, "arp_level": 0.15, "hat_level": 0.28,
        "sections": [
            ["pad intro", 0, 8, {"pad"}],
            ["intro", 8, 8, {"kick", "ohat", "chat", "clap", "pad_soft"}],
            ["main", 16, 8, {"kick", "ohat", "chat", "clap", "perc", "bass", "pad"}],
            ["breakdown", 24, 8, {"pad", "arp", "riser"}],
            ["main", 32, 8, {"kick", "ohat", "chat", "clap", "perc", "bass", "pad", "arp"}],
            ["outro", 40, 4, {"kick", "ohat", "chat", "clap"}],
            ["outro", 44, 4, {"kick", "ohat"}],
        ],
    },
    {
        "file": "electro_126_Em.wav", "bpm": 126, "first_beat": 0.18, "key": "E minor", "camelot": "9A", "seed": 126,
        "tonic": "E",
        "progression": [chord("E", "min"), chord("E", "min"), chord("C", "maj"), chord("D", "maj")],
        "bass_roots": [28, 28, 24, 26],          # E1 E1 C1 D1
        "bass_steps": [(0, 1, 0), (2, 1, 12), (3, 1, 0), (6, 1, 12), (8, 1, 0), (10, 1, 12), (11, 1, 0),
                       (13, 1, 15), (14, 1, 12)],
        "bass_wave": "square", "bass_cutoff": 520.0, "bass_level": 0.55,
        "stab_steps": [0, 7, 12], "stab_level": 0.47, "stab_cutoff": 3200.0,
        "kick": {"f0": 170.0, "f1": 41.2, "tp": 0.026, "decay": 0.18, "length": 0.32, "drive": 1.8, "click": 0.3},
        "pad_level": 0.55, "arp_level": 0.15, "hat_level": 0.35, "snare": True,
        "sections": standard_sections(),
    },
]


def beat_seconds(t):
    return 60.0 / t["bpm"]


def bar_time(t, bar):
    """Track time (s) of the downbeat of `bar` (0-based)."""
    return t["first_beat"] + bar * 4 * beat_seconds(t)


def step_time(t, bar, step):
    """Track time (s) of 16th-note `step` (0..15) of `bar`."""
    return t["first_beat"] + (bar * 16 + step) * beat_seconds(t) / 4.0


def track_frames(t):
    return int(round((bar_time(t, BARS) + TAIL) * SR))


# --------------------------------------------------------------------------------------------------
# Synthesis helpers: every note has an attack and a release, so nothing clicks.
# --------------------------------------------------------------------------------------------------

def envelope(n, attack, release, decay=None, sustain=1.0):
    """Amplitude envelope of n samples: linear attack, optional exponential decay towards `sustain`,
    raised-cosine release to exactly 0 at the end."""
    t = np.arange(n) / SR
    env = np.ones(n)
    if decay is not None:
        env = sustain + (1.0 - sustain) * np.exp(-t / decay)
    a = max(1, int(attack * SR))
    env[:a] *= np.linspace(0.0, 1.0, a, endpoint=False)
    r = min(n, max(1, int(release * SR)))
    env[n - r:] *= 0.5 * (1.0 + np.cos(np.linspace(0.0, np.pi, r)))
    env[-1] = 0.0
    return env


def additive(freq, n, cutoff, kind="saw", phase_rng=None, max_partials=48, fc_env=None):
    """Band-limited saw/square/sine of n samples through a 4th-order-like low-pass at `cutoff`
    (fc_env: optional per-sample multiplier of the cut-off, for filter envelopes)."""
    t = np.arange(n) / SR
    out = np.zeros(n)
    if kind == "sine":
        return np.sin(TWO_PI * freq * t) + 0.08 * np.sin(TWO_PI * 2 * freq * t)
    fc = cutoff if fc_env is None else cutoff * fc_env
    fc_max = cutoff if fc_env is None else cutoff * float(np.max(fc_env))
    for k in range(1, max_partials + 1):
        fk = k * freq
        if fk > 15000.0:
            break
        if kind == "square" and k % 2 == 0:
            continue
        if (fk / fc_max) ** 4 > 4e6:
            break
        w = (1.0 / k) / np.sqrt(1.0 + (fk / fc) ** 4)
        ph = 0.0 if phase_rng is None else phase_rng.uniform(0, TWO_PI)
        out += w * np.sin(TWO_PI * fk * t + ph)
    return out


def fft_filter(x, lo=None, hi=None, order=2):
    """Zero-phase band-pass by FFT magnitude shaping (for noise-based drums)."""
    nfft = 1 << (len(x) - 1).bit_length()  # a power of two: pocketfft is slow on awkward lengths
    spec = np.fft.rfft(x, nfft)
    f = np.fft.rfftfreq(nfft, 1.0 / SR)
    g = np.ones_like(f)
    if lo:
        g *= 1.0 / np.sqrt(1.0 + (lo / np.maximum(f, 1e-3)) ** (2 * order))
    if hi:
        g *= 1.0 / np.sqrt(1.0 + (f / hi) ** (2 * order))
    return np.fft.irfft(spec * g, nfft)[:len(x)]


def dc_free(x):
    """Removes the mean of a note with a smooth (Hann) bump, so that it still starts and ends at 0."""
    w = np.hanning(len(x) + 2)[1:-1]
    return x - (x.sum() / w.sum()) * w


def add(buf, start, sig, gain=1.0):
    """Adds sig into buf (1-D) from sample `start`, clipped to the buffer."""
    if start >= len(buf):
        return
    a, b = max(0, start), min(len(buf), start + len(sig))
    if b > a:
        buf[a:b] += gain * sig[a - start:b - start]


def at(seconds):
    return int(round(seconds * SR))


# --------------------------------------------------------------------------------------------------
# Instruments
# --------------------------------------------------------------------------------------------------

def make_kick(p, rng):
    """Sine kick with a pitch drop from f0 to f1 (tuned to the track's tonic or fifth), optional drive
    and a short noise click."""
    n = int(p["length"] * SR)
    t = np.arange(n) / SR
    phase = TWO_PI * (p["f1"] * t + (p["f0"] - p["f1"]) * p["tp"] * (1.0 - np.exp(-t / p["tp"])))
    body = np.sin(phase)
    if p["drive"] > 1.0:
        body = np.tanh(p["drive"] * body) / np.tanh(p["drive"])
    amp = np.exp(-t / p["decay"])
    click = fft_filter(rng.standard_normal(n), lo=1500, hi=9000) * np.exp(-t / 0.004)
    click /= np.max(np.abs(click)) + 1e-12
    return dc_free((body * amp + p["click"] * click) * envelope(n, 0.0008, 0.03))


def make_hat(rng, decay, length, lo=7000.0):
    n = int(length * SR)
    x = fft_filter(rng.standard_normal(n), lo=lo, hi=16000, order=3)
    x /= np.max(np.abs(x)) + 1e-12
    t = np.arange(n) / SR
    return dc_free(x * np.exp(-t / decay) * envelope(n, 0.0005, min(0.01, length / 3)))


def make_clap(rng):
    n = int(0.30 * SR)
    t = np.arange(n) / SR
    out = []
    for _ in range(2):  # stereo: independent noise per side
        x = fft_filter(rng.standard_normal(n), lo=900, hi=4500, order=2)
        x /= np.max(np.abs(x)) + 1e-12
        env = np.zeros(n)
        for k, off in enumerate((0.0, 0.009, 0.019)):
            m = t >= off
            env[m] += (0.8 if k < 2 else 1.0) * np.exp(-(t[m] - off) / (0.006 if k < 2 else 0.075))
        out.append(dc_free(x * env * envelope(n, 0.0005, 0.02)))
    return out


def make_snare(rng):
    n = int(0.25 * SR)
    t = np.arange(n) / SR
    tone = np.sin(TWO_PI * 190.0 * t) * np.exp(-t / 0.05)
    noise = fft_filter(rng.standard_normal(n), lo=1800, hi=9000)
    noise /= np.max(np.abs(noise)) + 1e-12
    return dc_free((0.6 * tone + 0.7 * noise * np.exp(-t / 0.08)) * envelope(n, 0.0005, 0.02))


def make_perc(freq):
    """A short tuned percussion hit (rim/conga-like)."""
    n = int(0.12 * SR)
    t = np.arange(n) / SR
    x = np.sin(TWO_PI * freq * t) * np.exp(-t / 0.03) + 0.3 * np.sin(TWO_PI * 2.7 * freq * t) * np.exp(-t / 0.012)
    return dc_free(x * envelope(n, 0.0005, 0.01))


def make_riser(rng, seconds):
    n = int(seconds * SR)
    t = np.arange(n) / SR
    out = []
    for _ in range(2):
        x = fft_filter(rng.standard_normal(n), lo=1200, hi=12000)
        x /= np.max(np.abs(x)) + 1e-12
        out.append(x * (t / seconds) ** 2 * envelope(n, 0.05, 0.01))
    return out


# --------------------------------------------------------------------------------------------------
# One track
# --------------------------------------------------------------------------------------------------

def render_track(t):
    rng = np.random.default_rng(t["seed"])
    n = track_frames(t)
    beat = beat_seconds(t)
    step = beat / 4.0
    L = np.zeros(n)
    R = np.zeros(n)
    music_l = np.zeros(n)   # pads/chords/arps: side-chained to the kick
    music_r = np.zeros(n)
    echo_l = np.zeros(n)    # stabs that feed the stereo echo
    echo_r = np.zeros(n)

    kick = make_kick(t["kick"], rng)
    hats_closed = [make_hat(rng, 0.025, 0.08) for _ in range(4)]
    hats_open = [make_hat(rng, 0.12, 0.30, lo=6000.0) for _ in range(3)]
    clap_l, clap_r = make_clap(rng)
    snare = make_snare(rng) if t.get("snare") else None
    perc_hi = make_perc(hz(NOTE[t["tonic"]] + 72))   # tonic, octave 5
    perc_lo = make_perc(hz(NOTE[t["tonic"]] + 67))   # its fifth, below
    hat_level = t["hat_level"]

    def elements(bar):
        for _, first, count, el in t["sections"]:
            if first <= bar < first + count:
                return el
        return set()

    bass_cache, stab_cache, pad_cache, arp_cache = {}, {}, {}, {}
    kicks = []  # kick times, for the side-chain

    for bar in range(BARS):
        el = elements(bar)
        prog = bar % 4
        notes = t["progression"][prog]

        # ---- drums
        for s in range(16):
            ts = step_time(t, bar, s)
            i = at(ts)
            if "kick" in el and s % 4 == 0:
                add(L, i, kick, 0.95)
                add(R, i, kick, 0.95)
                kicks.append(ts)
            if "ohat" in el and s % 4 == 2:
                h = hats_open[(bar * 4 + s // 4) % 3]
                add(L, i, h, hat_level * 1.0)
                add(R, i, h, hat_level * 1.25)
            if "chat" in el and s % 4 != 2:
                h = hats_closed[(bar * 16 + s) % 4]
                accent = 0.55 if s % 2 == 0 else 0.8
                add(L, i, h, hat_level * accent * 0.7)
                add(R, i, h, hat_level * accent * 0.55)
            if "clap" in el and s in (4, 12):
                add(L, i, clap_l, 0.75)
                add(R, i, clap_r, 0.75)
                if snare is not None:
                    add(L, i, snare, 0.45)
                    add(R, i, snare, 0.45)
            if "perc" in el and s in (3, 7, 11) and (bar % 2 == 1 or s != 7):
                p = perc_hi if s == 3 else perc_lo
                add(L, i, p, 0.20 if s == 3 else 0.10)
                add(R, i, p, 0.10 if s == 3 else 0.20)

        # ---- bass
        if "bass" in el:
            root = t["bass_roots"][prog]
            for s, length, interval in t["bass_steps"]:
                key = (root + interval, length)
                if key not in bass_cache:
                    dur = length * step * 0.92
                    m = int(dur * SR)
                    fenv = 0.55 + 1.6 * np.exp(-np.arange(m) / SR / 0.06)
                    sig = additive(hz(root + interval), m, t["bass_cutoff"], t["bass_wave"], fc_env=fenv)
                    sig = np.tanh(1.3 * sig) * envelope(m, 0.003, 0.015, decay=0.25, sustain=0.6)
                    bass_cache[key] = dc_free(sig)
                i = at(step_time(t, bar, s))
                add(L, i, bass_cache[key], t["bass_level"])
                add(R, i, bass_cache[key], t["bass_level"])

        # ---- chord stabs (dry, plus a send to the echo)
        if "stab" in el and t["stab_steps"]:
            if prog not in stab_cache:
                m = int(step * 1.6 * SR)
                fenv = 0.4 + 1.2 * np.exp(-np.arange(m) / SR / 0.05)
                sl = np.zeros(m)
                sr_ = np.zeros(m)
                for k, note in enumerate(notes):
                    f = hz(note + 12)
                    sl += additive(f * 0.997, m, t["stab_cutoff"], "saw", rng, fc_env=fenv)
                    sr_ += additive(f * 1.003, m, t["stab_cutoff"], "saw", rng, fc_env=fenv)
                env = envelope(m, 0.002, 0.03, decay=0.09, sustain=0.0)
                sl, sr_ = sl * env / len(notes), sr_ * env / len(notes)
                # the echo send is band-limited (a darker, thinner repeat)
                el_, er_ = fft_filter(sl, lo=300, hi=5000), fft_filter(sr_, lo=300, hi=5000)
                fade = envelope(m, 0.002, 0.03)
                stab_cache[prog] = (sl, sr_, el_ * fade, er_ * fade)
            sl, sr_, el_, er_ = stab_cache[prog]
            for s in t["stab_steps"]:
                i = at(step_time(t, bar, s))
                add(music_l, i, sl, t["stab_level"])
                add(music_r, i, sr_, t["stab_level"])
                add(echo_l, i, el_, 0.55 * t["stab_level"])
                add(echo_r, i, er_, 0.55 * t["stab_level"])

        # ---- pads: one chord per bar, slow attack, release overlapping the next bar
        if "pad" in el or "pad_soft" in el:
            if prog not in pad_cache:
                m = int((4 * beat + 0.6) * SR)
                pl = np.zeros(m)
                pr = np.zeros(m)
                for note in notes:
                    f = hz(note)
                    for det, wl, wr in ((-0.006, 0.75, 0.25), (0.0, 0.5, 0.5), (0.006, 0.25, 0.75)):
                        v = additive(f * (1.0 + det), m, 1100.0, "saw", rng, max_partials=14)
                        pl += wl * v
                        pr += wr * v
                env = envelope(m, 0.35, 0.6)
                pad_cache[prog] = (pl * env / len(notes), pr * env / len(notes))
            pl, pr = pad_cache[prog]
            lvl = t["pad_level"] * (0.4 if "pad" not in el else 0.6 if "kick" in el else 1.0)
            i = at(bar_time(t, bar))
            add(music_l, i, pl, lvl)
            add(music_r, i, pr, lvl)

        # ---- arpeggio (16ths up the chord, two octaves)
        if "arp" in el:
            seq = [notes[k % len(notes)] + 12 * (1 + k // len(notes)) for k in range(2 * len(notes))]
            for s in range(16):
                if s % 4 == 3 and bar % 2 == 0:
                    continue
                note = seq[(s + bar) % len(seq)]
                if note not in arp_cache:
                    m = int(step * 1.8 * SR)
                    tt = np.arange(m) / SR
                    f = hz(note)
                    x = np.sin(TWO_PI * f * tt) + 0.35 * np.sin(TWO_PI * 2 * f * tt) * np.exp(-tt / 0.05) \
                        + 0.15 * np.sin(TWO_PI * 3 * f * tt) * np.exp(-tt / 0.03)
                    arp_cache[note] = dc_free(x * envelope(m, 0.002, 0.03, decay=0.07, sustain=0.0))
                i = at(step_time(t, bar, s))
                pan = 0.5 + 0.3 * np.sin(s * np.pi / 8)
                add(music_l, i, arp_cache[note], t["arp_level"] * (1.0 - pan) * 2)
                add(music_r, i, arp_cache[note], t["arp_level"] * pan * 2)

        # ---- riser over the last 2 bars of a breakdown
        if "riser" in el and bar % 8 == 6:
            rl, rr = make_riser(rng, 8 * beat)
            i = at(bar_time(t, bar))
            add(L, i, rl, 0.10)
            add(R, i, rr, 0.10)

    # Stereo echo on the stabs: dotted eighths, ping-pong.
    if t.get("stab_echo") or t["stab_steps"]:
        d = at(0.75 * beat)
        fb = 0.42 if t.get("stab_echo") else 0.28
        for k in range(1, 5):
            g = fb ** k
            src_l, src_r = (echo_r, echo_l) if k % 2 else (echo_l, echo_r)
            add(music_l, k * d, src_l, g)
            add(music_r, k * d, src_r, g)

    # Side-chain "pump": the music bus ducks under each kick (ramped, so it never clicks).
    if kicks:
        duck = np.zeros(n)
        m = int(beat * SR)
        tt = np.arange(m) / SR
        shape = np.minimum(tt / 0.004, 1.0) * np.exp(-tt / 0.11)
        for k in kicks:
            i = at(k)
            seg = duck[i:i + m]
            np.maximum(seg, shape[:len(seg)], out=seg)
        gain = 1.0 - 0.55 * duck
        music_l *= gain
        music_r *= gain
    L += music_l
    R += music_r

    peak = max(np.max(np.abs(L)), np.max(np.abs(R)))
    scale = 10.0 ** (PEAK_DBFS / 20.0) / peak
    pcm = np.empty((n, 2), dtype="<i2")
    pcm[:, 0] = np.round(L * scale * 32767.0)
    pcm[:, 1] = np.round(R * scale * 32767.0)
    return pcm


def write_wav(path, pcm):
    with wave.open(path, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.tobytes())


def build_track(t, outdir):
    started = time.time()
    pcm = render_track(t)
    path = os.path.join(outdir, t["file"])
    write_wav(path, pcm)
    return t["file"], len(pcm), float(np.max(np.abs(pcm.astype(np.int32)))), time.time() - started


# --------------------------------------------------------------------------------------------------
# Truth sidecar
# --------------------------------------------------------------------------------------------------

def truth():
    out = {"format": "djcore-fixtures-truth/1",
           "notes": "Times in seconds from the start of the file. Beat k is at first_beat + k * 60 / bpm "
                    "(onsets placed on the nearest sample). Sections: bars are 0-based, [start_bar, end_bar).",
           "tracks": {}}
    for t in TRACKS:
        frames = track_frames(t)
        out["tracks"][t["file"]] = {
            "bpm": t["bpm"],
            "first_beat": t["first_beat"],
            "beats_per_bar": 4,
            "key": t["key"],
            "camelot": t["camelot"],
            "sample_rate": SR,
            "frames": frames,
            "duration": round(frames / SR, 6),
            "bars": BARS,
            "downbeats": [round(bar_time(t, b), 6) for b in range(BARS)],
            "sections": [{"name": name, "start_bar": first, "end_bar": first + count,
                          "start": round(bar_time(t, first), 6), "end": round(bar_time(t, first + count), 6),
                          "drums": "kick" in el}
                         for name, first, count, el in t["sections"]],
        }
    return out


def pretty_json(value, indent=0):
    """JSON with objects indented, but lists of numbers and the objects inside lists on one line each."""
    pad = "  " * (indent + 1)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k)}: {pretty_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return "[\n" + ",\n".join(pad + json.dumps(v) for v in value) + "\n" + "  " * indent + "]"
    return json.dumps(value)


def truth_json_text():
    return pretty_json(truth()) + "\n"


# --------------------------------------------------------------------------------------------------
# Bad files
# --------------------------------------------------------------------------------------------------

def write_bad_files(outdir, house_pcm_path):
    bad = os.path.join(outdir, "bad")
    os.makedirs(bad, exist_ok=True)
    written = []
    # truncated.wav: a real 4-second WAV (the start of the house track) cut in half: its header still
    # claims all 4 s of data.
    with wave.open(house_pcm_path, "rb") as w:
        frames = w.readframes(4 * SR)
    tmp = os.path.join(bad, "truncated.wav.tmp")
    with wave.open(tmp, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(frames)
    with open(tmp, "rb") as f:
        data = f.read()
    os.remove(tmp)
    with open(os.path.join(bad, "truncated.wav"), "wb") as f:
        f.write(data[:len(data) // 2])
    written.append(("bad/truncated.wav", f"{len(data) // 2} of {len(data)} bytes (header says 4.00 s)"))
    # garbage.wav: random bytes.
    rng = np.random.default_rng(404)
    with open(os.path.join(bad, "garbage.wav"), "wb") as f:
        f.write(rng.integers(0, 256, 65536, dtype=np.uint8).tobytes())
    written.append(("bad/garbage.wav", "65536 random bytes"))
    # empty.wav: 0 bytes.
    open(os.path.join(bad, "empty.wav"), "wb").close()
    written.append(("bad/empty.wav", "0 bytes"))
    # not-audio.mp3: a text file with an audio extension.
    with open(os.path.join(bad, "not-audio.mp3"), "w") as f:
        f.write("This is not an MP3 file.\nIt is a text file with an .mp3 extension, made by "
                "Fixtures/make_fixtures.py to test error handling.\n" * 20)
    written.append(("bad/not-audio.mp3", "a text file"))
    # missing.wav: must not exist.
    missing = os.path.join(bad, "missing.wav")
    if os.path.exists(missing):
        os.remove(missing)
    written.append(("bad/missing.wav", "(deliberately not written)"))
    # One tiny mix per bad file, to see the error: djd render OUTDIR/bad-mixes/truncated.json -o x.wav
    mixes = os.path.join(outdir, "bad-mixes")
    os.makedirs(mixes, exist_ok=True)
    for name in ("truncated.wav", "garbage.wav", "empty.wav", "not-audio.mp3", "missing.wav"):
        mix = {"format": "djcore-mix/1", "title": f"loads bad/{name}: the render must fail with a clear error",
               "tracks": {"bad": f"../bad/{name}"},
               "timeline": [{"at": 0, "action": "load", "deck": 1, "track": "bad"},
                            {"at": 0, "action": "play", "deck": 1}]}
        with open(os.path.join(mixes, os.path.splitext(name)[0] + ".json"), "w") as f:
            f.write(pretty_json(mix) + "\n")
    written.append(("bad-mixes/", "a one-line mix for each bad file"))
    return written


# --------------------------------------------------------------------------------------------------
# The demo mix
# --------------------------------------------------------------------------------------------------

MASTER_BPM = 124.0
MIX_BAR = 4 * 60.0 / MASTER_BPM   # seconds per bar in the mix


def by_file(name):
    return next(t for t in TRACKS if t["file"].startswith(name))


def demo_mix():
    """The demo mix, on a 124 BPM grid. Mix bar b starts at b * MIX_BAR seconds. Each deck is started
    on a mix downbeat from a position on one of its own downbeats, so the beat grids (and the 8-bar
    phrases) of all decks coincide; deck rate = 124 / track BPM."""
    decks = {1: by_file("deephouse"), 2: by_file("house"), 3: by_file("electro"), 4: by_file("techno")}
    tl = []

    def ms(bar, beat=0.0):
        """Mix time of mix bar `bar` (+ beats), rounded to the millisecond."""
        return round((bar + beat / 4.0) * MIX_BAR, 3)

    def tidy(v):
        return int(v) if isinstance(v, float) and v.is_integer() else v

    def act(t, action, **fields):
        tl.append({"at": tidy(t), "action": action, **{k: tidy(v) for k, v in fields.items()}})

    def rate(deck):
        return MASTER_BPM / decks[deck]["bpm"]

    def start(deck, track_bar, mix_bar, load_bar):
        """Loads deck at track bar `track_bar`, to start at mix bar `mix_bar`. The play time is rounded
        to the millisecond; the load position absorbs that rounding (rate r: r track-seconds per second),
        so the track's downbeat lands on the mix downbeat to the sample."""
        tr = decks[deck]
        play_at = ms(mix_bar)
        exact = mix_bar * MIX_BAR
        pos = bar_time(tr, track_bar) + rate(deck) * (play_at - exact)
        name = tr["file"].split("_")[0]
        act(ms(load_bar), "load", deck=deck, track=name, position=round(pos, 6))
        if rate(deck) != 1.0:
            act(ms(load_bar), "rate", deck=deck, value=round(rate(deck), 12), over=0)
        return play_at

    tracks = {t["file"].split("_")[0]: "out/" + t["file"] for t in decks.values()}

    def over(a, b):
        return round(b - a, 3)

    # ---- set-up: decks 1 and 2 on the crossfader (A/B), 3 and 4 "thru" (channel faders only)
    act(0, "assign", deck=1, side="A")
    act(0, "assign", deck=2, side="B")
    act(0, "crossfader", value=-1, over=0)
    act(0, "master", db=-1, over=0)
    # ---- deck 1: deep house from its pad intro (track bar b = mix bar b)
    t0 = start(1, 0, 0, 0)
    act(0, "trim", deck=1, db=1.5, over=0)            # gain staging: the deep house track is quieter
    act(t0, "play", deck=1)
    # ---- transition 1 (mix bars 16-40): deep house -> house, C major -> A minor (relative keys).
    # House drums come in under the deep house main section with their low band killed; bass swap at
    # the phrase boundary where deep house breaks down; crossfader blend out over deep house's last phrase.
    t_play = start(2, 0, 16, 14)                      # house bar 0 at mix bar 16: house bar b = mix bar b + 16
    act(ms(14), "kill", deck=2, band="low", on=True)
    act(ms(14, 2), "cue", deck=2)                     # cue point = house's first downbeat
    act(ms(15), "cue_jump", deck=2)
    act(t_play, "play", deck=2)
    act(t_play, "crossfader", value=0, over=over(t_play, ms(24)))
    act(ms(24), "kill", deck=1, band="low", on=True)  # bass swap on the phrase boundary
    act(ms(24), "kill", deck=2, band="low", on=False)
    act(ms(32), "crossfader", value=1, over=over(ms(32), ms(40)))
    act(ms(40), "pause", deck=1)
    act(ms(40, 1), "unload", deck=1)
    # ---- transition 2 (mix bars 48-60): house -> electro, A minor -> E minor (adjacent keys).
    # Electro filtered in (high-pass opening over a phrase) on the channel fader, EQ bass swap over the
    # last beat of the phrase, then house fades out with a high-pass sweep.
    t_play = start(3, 8, 48, 46)                      # electro bar 8 at mix bar 48: electro bar b = mix bar b + 40
    act(ms(46), "trim", deck=3, db=1, over=0)
    act(ms(46), "eq", deck=3, band="low", db="-inf", over=0)
    act(ms(46), "fader", deck=3, value=0, over=0)
    act(ms(46), "resonance", deck=3, value=1.8)
    act(ms(46), "filter", deck=3, value=0.6, over=0)
    act(t_play, "play", deck=3)
    act(t_play, "fader", deck=3, value=1, over=over(t_play, ms(52)))
    act(t_play, "filter", deck=3, value=0, over=over(t_play, ms(56)))
    act(ms(55, 3), "eq", deck=2, band="low", db="-inf", over=over(ms(55, 3), ms(56)))
    act(ms(55, 3), "eq", deck=3, band="low", db=0, over=over(ms(55, 3), ms(56)))
    act(ms(56), "resonance", deck=2, value=1.8)
    act(ms(56), "filter", deck=2, value=0.7, over=over(ms(56), ms(60)))
    act(ms(56), "fader", deck=2, value=0, over=over(ms(56), ms(60)))
    act(ms(60), "pause", deck=2)
    act(ms(60, 1), "unload", deck=2)
    # ---- transition 3 (mix bars 80-92): electro -> techno, E minor vs F minor: keys clash, so drums
    # over drums only. Electro's outro is held in an 8-beat loop while techno's intro comes in; bass swap
    # at techno's main section; electro faded out on its channel fader.
    t_play = start(4, 8, 80, 78)                      # techno bar 8 at mix bar 80: techno bar b = mix bar b + 8
    act(ms(78), "trim", deck=4, db=-1.5, over=0)
    act(ms(78), "kill", deck=4, band="low", on=True)
    act(ms(78), "fader", deck=4, value=0, over=0)
    act(t_play, "play", deck=4)
    act(t_play, "fader", deck=4, value=1, over=over(t_play, ms(84)))
    e = decks[3]
    act(ms(83), "loop", deck=3, start=round(bar_time(e, 44), 6), length=round(8 * beat_seconds(e), 6))
    act(ms(88), "kill", deck=3, band="low", on=True)
    act(ms(88), "kill", deck=4, band="low", on=False)
    act(ms(88), "fader", deck=3, value=0, over=over(ms(88), ms(92)))
    act(ms(92), "pause", deck=3)
    act(ms(92, 1), "loop_exit", deck=3)
    # ---- ending (mix bars 92-96): low-pass sweep and fade on techno's last main bars
    act(ms(92), "filter", deck=4, value=-0.6, over=over(ms(92), ms(96)))
    act(ms(92), "fader", deck=4, value=0, over=over(ms(92), ms(96)))
    act(ms(96), "pause", deck=4)

    tl.sort(key=lambda a: a["at"])  # stable: same-time actions keep their order
    return {
        "format": "djcore-mix/1",
        "title": "DJCore demo mix: 4 synthetic tracks beat-matched at 124 BPM "
                 "(made by Fixtures/make_fixtures.py; see Fixtures/README.md)",
        "sampleRate": 48000,
        "decks": 4,
        "limiterCeilingDb": -1,
        "crossfaderCurve": "constant-power",
        "varispeedQuality": "medium",
        "tracks": tracks,
        "timeline": tl,
    }


def mix_json_text():
    """The mix as JSON text: one timeline action per line."""
    return pretty_json(demo_mix()) + "\n"


# --------------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", nargs="?", default=os.path.join(HERE, "out"))
    ap.add_argument("--write-mix", action="store_true", help="(re)write Fixtures/demo-mix.json")
    args = ap.parse_args()
    started = time.time()
    outdir = args.outdir
    os.makedirs(outdir, exist_ok=True)

    for t in TRACKS:
        name, frames, peak, secs = build_track(t, outdir)
        print(f"wrote {os.path.join(outdir, name)}: {frames / SR:.2f} s, {t['bpm']} BPM, {t['key']}, "
              f"peak {20 * np.log10(peak / 32767.0):.1f} dBFS ({secs:.1f} s)")

    with open(os.path.join(outdir, "truth.json"), "w") as f:
        f.write(truth_json_text())
    print(f"wrote {os.path.join(outdir, 'truth.json')}")

    for name, what in write_bad_files(outdir, os.path.join(outdir, "house_124_Am.wav")):
        print(f"wrote {os.path.join(outdir, name)}: {what}" if "not written" not in what
              else f"skipped {os.path.join(outdir, name)} {what}")

    text = mix_json_text()
    mix_path = os.path.join(HERE, "demo-mix.json")
    current = None
    if os.path.exists(mix_path):
        with open(mix_path) as f:
            current = f.read()
    if args.write_mix:
        if current != text:
            with open(mix_path, "w") as f:
                f.write(text)
            print(f"wrote {mix_path}")
        else:
            print(f"{mix_path}: unchanged")
    elif current == text:
        print(f"{mix_path}: up to date")
    else:
        print(f"warning: {mix_path} differs from the generated mix; run with --write-mix to rewrite it",
              file=sys.stderr)
    print(f"done in {time.time() - started:.1f} s")


if __name__ == "__main__":
    main()
