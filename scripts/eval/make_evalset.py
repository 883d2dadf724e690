#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes DJCore's musical-analysis evaluation set: ~47 synthetic songs with exact truth.

    scripts/eval/make_evalset.py [OUTDIR] [-j JOBS] [--only ID,ID] [--no-render] [--force]

OUTDIR (default <repo>/eval-out) gets midi/X.mid, audio/X.wav (rendered by fluidsynth with the GM
soundfont), truth/X.json and index.json. Everything is deterministic (fixed seeds); a song whose MIDI
did not change is not rendered again unless --force.

Timing. Every note-on is put on fluidsynth's 64-sample block grid (fluidsynth starts voices only at
block boundaries), so a note sounds exactly at block_start + a constant that a calibration render
measures per drum kit (the kick's onset: first sample above 1 % of the hit's peak). Truth beats are the
block-aligned grid times plus that constant. The MIDI file has one tempo event (1 tick = 1 ms) and the
musical tempo map is applied when the tick positions are computed: fluidsynth's player loses about 5 ms
over 300 tempo events (measured), so a map of tempo events would make the truth drift.
See scripts/eval/README.md for the content and the annotation conventions.
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys
import time
import wave
from concurrent.futures import ThreadPoolExecutor

import numpy as np

SR = 44100
BLOCK = 64                      # fluidsynth renders (and starts voices) in blocks of 64 samples
BL = BLOCK / SR
PPQ = 1000
MIDI_TEMPO_US = 1_000_000       # with PPQ 1000: 1 tick = 1 ms
SF2 = '/usr/share/sounds/sf2/FluidR3_GM.sf2'
GAIN = '0.6'
TAIL_S = 2.5

# ----------------------------------------------------------------------------------------------
# Standard MIDI file writer

def vlq(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def write_smf(path, events, end_tick):
    """events: (tick, priority, bytes); format 0, one track."""
    events = sorted(events, key=lambda e: (e[0], e[1]))
    data = bytearray()
    last = 0
    for tick, _, msg in events:
        data += vlq(tick - last) + msg
        last = tick
    data += vlq(max(0, end_tick - last)) + b'\xff\x2f\x00'
    blob = b'MThd' + struct.pack('>IHHH', 6, 0, 1, PPQ) + b'MTrk' + struct.pack('>I', len(data)) + bytes(data)
    if os.path.exists(path):
        with open(path, 'rb') as f:
            if f.read() == blob:
                return False
    with open(path, 'wb') as f:
        f.write(blob)
    return True


def block_of(t):
    return int(round(t / BL))


def tick_of_block(k):
    # fluidsynth's player clock: msec = (int)(1000.0 * samples / rate), evaluated once per block;
    # an event whose tick equals the clock at block k starts sounding in a fixed place after block k.
    return math.floor(1000.0 * (k * BLOCK) / float(SR))

# ----------------------------------------------------------------------------------------------
# Music theory

MAJOR_NAMES = ['C', 'Db', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B']
MINOR_NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'G#', 'A', 'Bb', 'B']
SCALE = {'major': [0, 2, 4, 5, 7, 9, 11], 'minor': [0, 2, 3, 5, 7, 8, 10]}
ROMAN = {'I': (0, 'maj'), 'ii': (2, 'min'), 'iii': (4, 'min'), 'IV': (5, 'maj'), 'V': (7, 'maj'),
         'vi': (9, 'min'), 'i': (0, 'min'), 'iv': (5, 'min'), 'v': (7, 'min'), 'III': (3, 'maj'),
         'VI': (8, 'maj'), 'VII': (10, 'maj')}
# Every progression starts on the tonic; minor ones use the major V (raised leading tone), so the key
# is unambiguous (not the relative major).
PROGS = {'major': [['I', 'V', 'vi', 'IV'], ['I', 'IV', 'V', 'I'], ['I', 'vi', 'IV', 'V'],
                   ['I', 'IV', 'I', 'V'], ['I', 'ii', 'V', 'I']],
         'minor': [['i', 'VI', 'iv', 'V'], ['i', 'iv', 'V', 'i'], ['i', 'i', 'VI', 'V'],
                   ['i', 'iv', 'i', 'V'], ['i', 'VI', 'III', 'V']]}


def key_name(pc, mode):
    return (MAJOR_NAMES if mode == 'major' else MINOR_NAMES)[pc] + ' ' + mode


def chord_pcs(tonic, roman):
    off, q = ROMAN[roman]
    root = (tonic + off) % 12
    third = 4 if q == 'maj' else 3
    return root, [root, (root + third) % 12, (root + 7) % 12]


def place(pc, lo):
    """lowest MIDI note >= lo with pitch class pc"""
    return lo + ((pc - lo) % 12)

# ----------------------------------------------------------------------------------------------
# Styles. Drum patterns: one string per layer on a 16th grid (12 steps in 3/4);
# 'X' accent, 'x' normal, 'o' ghost, '.' rest.

K, K2, RIM, S, CLAP, S2, CH, PH, OH, CR, RD, TAMB, COW, SHK, CONGA_H, CONGA_L, BONGO_H, BONGO_L, CLAVE = \
    36, 35, 37, 38, 39, 40, 42, 44, 46, 49, 51, 54, 56, 70, 62, 64, 60, 61, 75
TOMS = [50, 48, 47, 45]

FOUR = 'x...x...x...x...'
BACK = '....x.......x...'
OFF8 = '..x...x...x...x.'
ALL8 = 'x.x.x.x.x.x.x.x.'
ALL16 = 'xoxoxoxoxoxoxoxo'

STYLES = {
    # ---------------- set A: full-band songs in 9 styles
    'house': dict(kit=25, electronic=True, sidechain=True, family='edm',
                  drums={'main': [('kick', K, FOUR, 112), ('snare', CLAP, BACK, 92), ('hat', OH, OFF8, 72),
                                  ('hat', CH, 'o.o.o.o.o.o.o.o.', 80), ('perc', SHK, ALL16, 52)]},
                  bass='house', chords='stab_off', lead='riff', progs=None,
                  inst=dict(bass=[38, 39, 33], chords=[4, 0, 89], pad=[89, 88, 90], lead=[80, 81, 98])),
    'techno': dict(kit=24, electronic=True, sidechain=True, family='edm',
                   drums={'main': [('kick', K, FOUR, 115), ('hat', CH, 'o.x.o.x.o.x.o.x.', 80),
                                   ('hat', OH, OFF8, 60), ('perc', RIM, '...x..x....x.x..', 70),
                                   ('snare', CLAP, BACK, 70), ('perc', RD, '..x...x...x...x.', 55)]},
                   bass='rolling16', chords='stab_synco', lead='arp',
                   inst=dict(bass=[38, 39], chords=[81, 90, 62], pad=[95, 89], lead=[80, 81])),
    'dnb': dict(kit=24, electronic=True, sidechain=False, family='edm',
                drums={'main': [('kick', K, 'x.........x.....', 115), ('snare', S, BACK, 112),
                                ('hat', CH, ALL8, 78), ('perc', S, '.......o.o....o.', 40),
                                ('perc', RD, '..x...x...x...x.', 55)],
                       'alt': [('kick', K, 'x.........x..x..', 115), ('snare', S, BACK, 112),
                               ('hat', CH, ALL8, 78), ('perc', S, '.o.....o.o......', 40),
                               ('perc', RD, '..x...x...x...x.', 55)]},
                bass='dnb', chords='pad', lead='sparse',
                inst=dict(bass=[38, 39, 87], chords=[89, 94, 4], pad=[89, 88, 94], lead=[80, 98])),
    'hiphop': dict(kit=0, electronic=False, sidechain=False, family='hiphop',
                   drums={'main': [('kick', K, 'x......x..x.....', 108), ('snare', S, BACK, 105),
                                   ('hat', CH, ALL16, 78)],
                          'alt': [('kick', K, 'x.....x...x..x..', 108), ('snare', S, '....x.......x..o', 105),
                                  ('hat', CH, ALL16, 78)]},
                   bass='hiphop', chords='hiphop', lead='synco',
                   inst=dict(bass=[33, 32, 38], chords=[4, 0, 11], pad=[48, 89], lead=[65, 73, 56])),
    'pop': dict(kit=0, electronic=False, sidechain=False, family='band',
                drums={'main': [('kick', K, 'x.....x.x.......', 105), ('snare', S, BACK, 100),
                                ('hat', CH, ALL8, 75), ('perc', TAMB, BACK, 60)]},
                bass='pop', chords='block', lead='pop',
                inst=dict(bass=[33, 34], chords=[0, 25, 4], pad=[48, 89], lead=[73, 65, 53])),
    'rock': dict(kit=16, electronic=False, sidechain=False, family='band',
                 drums={'main': [('kick', K, 'x.......x.x.....', 110), ('snare', S, '....X.......X...', 105),
                                 ('hat', CH, ALL8, 80)],
                        'chorus': [('kick', K, 'x.......x.x.....', 110), ('snare', S, '....X.......X...', 105),
                                   ('hat', RD, ALL8, 78)]},
                 bass='rock', chords='strum8', lead='pop',
                 inst=dict(bass=[34, 33], chords=[29, 30, 27], pad=[16, 48], lead=[29, 56, 30])),
    'halftime': dict(kit=24, electronic=True, sidechain=False, family='edm',
                     drums={'main': [('kick', K, 'x.........x.....', 115), ('snare', S, '........X.......', 115),
                                     ('hat', CH, ALL16, 75)],
                            'alt': [('kick', K, 'x.x.......x.....', 115), ('snare', S, '........X.......', 115),
                                    ('hat', CH, ALL8, 78)]},
                     bass='halftime', chords='pad', lead='sparse',
                     inst=dict(bass=[38, 39], chords=[4, 89], pad=[94, 88], lead=[80, 98])),
    'reggae': dict(kit=0, electronic=False, sidechain=False, family='band', swing8=0.62,
                   drums={'main': [('kick', K, '........x.......', 105), ('snare', RIM, '........x.......', 100),
                                   ('hat', CH, ALL8, 70)],
                          'alt': [('kick', K, '........x.......', 105), ('snare', RIM, '........x.......', 100),
                                  ('hat', CH, ALL8, 70), ('hat', OH, '......x.........', 60)]},
                   bass='reggae', chords='skank', lead='sparse',
                   inst=dict(bass=[33, 32], chords=[27, 16, 0], pad=[16, 17], lead=[56, 65, 73])),
    'waltz': dict(kit=32, electronic=False, sidechain=False, family='waltz', meter=3,
                  drums={'main': [('kick', K, 'x...........', 95), ('snare', S, '....o...o...', 70),
                                  ('hat', RD, 'x...x...x...', 72), ('hat', PH, '....x...x...', 55)]},
                  bass='waltz', chords='oompah', lead='waltz',
                  inst=dict(bass=[32, 43], chords=[0, 48, 21], pad=[48, 49], lead=[40, 73, 71])),
    # ---------------- set B: electronic productions
    'moombahton': dict(kit=25, electronic=True, sidechain=True, family='edm',
                       drums={'main': [('kick', K, FOUR, 112), ('snare', S2, '...x..x....x..x.', 100),
                                       ('hat', CH, OFF8, 75), ('perc', TOMS[1], '......x.......x.', 70),
                                       ('perc', SHK, ALL16, 50)]},
                       bass='dembow', chords='stab_synco', lead='riff',
                       inst=dict(bass=[38, 39], chords=[81, 62, 90], pad=[89], lead=[80, 84])),
    'techhouse': dict(kit=25, electronic=True, sidechain=True, family='edm',
                      drums={'main': [('kick', K, FOUR, 115), ('snare', CLAP, BACK, 90), ('hat', OH, OFF8, 72),
                                      ('perc', SHK, ALL16, 55), ('perc', CONGA_H, '..o..x...o.x..o.', 70),
                                      ('perc', BONGO_L, '.x......x....x..', 60)]},
                      bass='rolling16', chords='stab_synco', lead='riff',
                      inst=dict(bass=[38, 39], chords=[4, 17, 81], pad=[89], lead=[80])),
    'trance': dict(kit=25, electronic=True, sidechain=True, family='edm',
                   drums={'main': [('kick', K, FOUR, 115), ('snare', CLAP, BACK, 88), ('hat', OH, OFF8, 75),
                                   ('hat', CH, ALL16, 60)]},
                   bass='offbeat8', chords='pad', lead='arp',
                   inst=dict(bass=[38], chords=[81, 90, 50], pad=[88, 94, 95], lead=[81, 80, 98])),
    'dubstep': dict(kit=24, electronic=True, sidechain=False, family='edm',
                    drums={'main': [('kick', K, 'x.........x.....', 118), ('snare', S, '........X.......', 118),
                                    ('hat', CH, ALL8, 72)],
                           'alt': [('kick', K, 'x.....x.........', 118), ('snare', S, '........X.....o.', 118),
                                   ('hat', CH, ALL16, 70)]},
                    bass='wobble', chords='pad', lead='sparse',
                    inst=dict(bass=[38, 39, 87], chords=[94, 89], pad=[94, 89], lead=[81])),
    'hardstyle': dict(kit=24, electronic=True, sidechain=True, family='edm',
                      drums={'main': [('kick', K, 'X...X...X...X...', 110), ('snare', CLAP, BACK, 85),
                                      ('hat', OH, OFF8, 75)]},
                      bass='reverse', chords='pad', lead='riff',
                      inst=dict(bass=[38], chords=[90, 81], pad=[90], lead=[81, 84])),
    'dnb_b': dict(kit=25, electronic=True, sidechain=False, family='edm',
                  drums={'main': [('kick', K, 'x.........x.....', 118), ('snare', S, BACK, 115),
                                  ('hat', CH, ALL16, 70), ('perc', SHK, ALL16, 45)],
                         'alt': [('kick', K, 'x.x.......x.....', 118), ('snare', S, BACK, 115),
                                 ('hat', CH, ALL16, 70), ('perc', SHK, ALL16, 45)]},
                  bass='reese', chords='pad', lead='sparse',
                  inst=dict(bass=[38, 39], chords=[89, 94], pad=[89, 94], lead=[80, 98])),
    'jungle': dict(kit=0, electronic=True, sidechain=False, family='edm',
                   drums={'main': [('kick', K, 'x.x.......xx....', 110), ('snare', S, '....x..o.o..x..o', 108),
                                   ('hat', RD, ALL8, 70)],
                          'alt': [('kick', K, 'x.x.......x.....', 110), ('snare', S, '.o..x..o.o.ox..o', 108),
                                  ('hat', RD, ALL8, 70)],
                          'alt2': [('kick', K, 'x.x.......x..x..', 110), ('snare', S, '....x..o.o....x.', 108),
                                   ('hat', RD, ALL8, 70)]},
                   bass='reese', chords='pad', lead='sparse',
                   inst=dict(bass=[38, 39], chords=[89, 52], pad=[89, 52], lead=[4, 80])),
    'hardcore': dict(kit=24, electronic=True, sidechain=True, family='edm',
                     drums={'main': [('kick', K, FOUR, 120), ('snare', CLAP, BACK, 95), ('hat', OH, OFF8, 75),
                                     ('hat', CH, ALL16, 55)]},
                     bass='offbeat8', chords='stab_off', lead='riff',
                     inst=dict(bass=[38], chords=[0, 1], pad=[81, 90], lead=[81])),
    'gabber': dict(kit=24, electronic=True, sidechain=True, family='edm',
                   drums={'main': [('kick', K, 'X...X...X...X...', 112), ('hat', OH, OFF8, 70),
                                   ('snare', CLAP, BACK, 80)]},
                   bass='root4', chords='stab_off', lead='riff',
                   inst=dict(bass=[38], chords=[62, 81], pad=[90], lead=[81, 62])),
    'footwork': dict(kit=25, electronic=True, sidechain=False, family='edm',
                     drums={'main': [('kick', K, 'x..x..x...x..x..', 112), ('snare', CLAP, BACK, 100),
                                     ('hat', CH, ALL8, 70), ('perc', RIM, '.x...x.x.x...x.x', 55)]},
                     bass='footwork', chords='pad', lead='riff',
                     inst=dict(bass=[38], chords=[4, 52], pad=[89], lead=[80])),
    'downtempo': dict(kit=25, electronic=True, sidechain=False, family='edm',
                      drums={'main': [('kick', K, 'x.......x.x.....', 110), ('snare', S, BACK, 105),
                                      ('hat', CH, ALL16, 70), ('perc', SHK, '..x...x...x...x.', 55)]},
                      bass='hiphop', chords='hiphop', lead='synco',
                      inst=dict(bass=[38, 33], chords=[4, 0], pad=[89, 48], lead=[73, 11])),
}

# Bass rhythms: (position in beats, duration in beats, degree: 'r' root, '5' fifth, 'o' octave)
BASS = {
    'house': [(0.5, 0.4, 'r'), (1.5, 0.4, 'r'), (1.75, 0.2, 'o'), (2.5, 0.4, 'r'), (3.5, 0.4, '5')],
    'rolling16': [(b + f, 0.2, 'r' if f != 0.75 else 'o') for b in range(4) for f in (0.25, 0.5, 0.75)],
    'offbeat8': [(b + 0.5, 0.4, 'r') for b in range(4)],
    'root4': [(b, 0.8, 'r') for b in range(4)],
    'dnb': [(0, 1.4, 'r'), (2.5, 1.4, 'r')],
    'reese': [(0, 2.9, 'r'), (3, 0.9, '5')],
    'hiphop': [(0, 0.7, 'r'), (1.75, 0.25, 'r'), (2.5, 1.0, '5'), (3.5, 0.4, 'o')],
    'pop': [(0, 1.4, 'r'), (1.5, 0.5, 'r'), (2, 1.4, '5'), (3.5, 0.4, 'r')],
    'rock': [(b * 0.5, 0.45, 'r') for b in range(8)],
    'halftime': [(0, 1.9, 'r'), (2.5, 0.5, 'r'), (2.75, 1.1, 'o')],
    'reggae': [(0.5, 0.45, 'r'), (1, 0.9, 'r'), (2, 0.9, '5'), (3.5, 0.45, 'o')],
    'waltz': [(0, 0.9, 'r')],
    'wobble': [(b + f, 0.16, 'r') for b in range(4) for f in (0, 0.25, 0.5, 0.75)],
    'reverse': [(b + f, 0.22, 'r') for b in range(4) for f in (0.5, 0.75)],
    'dembow': [(0, 0.7, 'r'), (0.75, 0.5, 'r'), (1.5, 0.45, '5'), (2, 0.7, 'r'), (2.75, 0.5, 'r'), (3.5, 0.45, 'o')],
    'footwork': [(0, 0.7, 'r'), (0.75, 0.7, 'r'), (1.5, 0.9, 'r'), (2.5, 0.7, '5'), (3.25, 0.6, 'r')],
}
# Chord rhythms: (position, duration)
CHORDS = {
    'pad': None,                                   # whole bar
    'block': [(b, 0.9) for b in range(4)],
    'stab_off': [(b + 0.5, 0.3) for b in range(4)],
    'stab_synco': [(0, 0.3), (0.75, 0.3), (1.5, 0.3), (2.5, 0.3), (3.25, 0.3)],
    'skank': [(1, 0.3), (3, 0.3)],
    'oompah': [(1, 0.6), (2, 0.6)],
    'strum8': [(b * 0.5, 0.45) for b in range(8)],
    'hiphop': [(0, 1.4), (1.5, 2.3)],
}
LEAD = {
    'riff': [[(0, 0.5), (0.75, 0.5), (1.5, 0.5), (2.5, 0.5), (3, 0.75)], [(0, 0.75), (1, 0.5), (2, 0.5), (2.75, 1)]],
    'arp': 'arp',
    'sparse': [[(0, 2), (2, 1.5)], [(0, 1), (1, 1), (2, 2)], [(0, 3.5)]],
    'synco': [[(0, 0.75), (0.75, 0.75), (1.5, 1), (2.5, 0.5), (3, 1)], [(0, 1.5), (2, 0.5), (2.5, 1.5)]],
    'pop': [[(0, 1), (1, 0.5), (1.5, 0.5), (2, 1.5), (3.5, 0.5)], [(0, 0.5), (0.5, 0.5), (1, 1), (2, 2)],
            [(0, 1.5), (1.5, 0.5), (2, 1), (3, 1)]],
    'waltz': [[(0, 2), (2, 1)], [(0, 1), (1, 1), (2, 1)], [(0, 3)]],
}

# Section kinds -> layers
KINDS = {
    'intro_pad':   dict(drums=None, bass=False, chords='pad', pad=True, lead=False, text='drumless intro (pad)'),
    'intro_keys':  dict(drums=None, bass=True, chords='block', pad=False, lead=False, text='drumless intro (keys+bass)'),
    'intro_hats':  dict(drums='hats', bass=False, chords=None, pad=False, lead=False, text='intro: hats only'),
    'intro_perc':  dict(drums='perc', bass=False, chords=None, pad=False, lead=False, text='intro: percussion only'),
    'intro_drums': dict(drums='full', bass=True, chords=None, pad=False, lead=False, text='intro: drums+bass'),
    'main':        dict(drums='full', bass=True, chords='style', pad=False, lead=False, text='groove'),
    'verse':       dict(drums='full', bass=True, chords='style', pad=False, lead=True, text='verse'),
    'chorus':      dict(drums='full', bass=True, chords='style', pad=True, lead=True, text='chorus'),
    'breakdown':   dict(drums=None, bass=False, chords='pad', pad=True, lead=True, text='breakdown (no drums)'),
    'build':       dict(drums='build', bass=False, chords='style', pad=True, lead=False, text='build-up (snare roll)'),
    'drop':        dict(drums='full', bass=True, chords='style', pad=True, lead=True, text='drop'),
    'outro':       dict(drums='full', bass=True, chords=None, pad=False, lead=False, text='outro: drums+bass'),
}

# ----------------------------------------------------------------------------------------------
# The song list. (set, style, bpm, options)

SONGS = [
    ('A', 'house', 120, dict(intro='intro_pad')),
    ('A', 'house', 124, dict(intro='intro_drums')),
    ('A', 'house', 126, dict(intro='intro_keys')),
    ('A', 'techno', 128, dict(intro='intro_drums')),
    ('A', 'techno', 132, dict(intro='intro_pad')),
    ('A', 'techno', 135, dict(intro='intro_drums', no_breakdown=True)),
    ('A', 'dnb', 170, dict(intro='intro_pad')),
    ('A', 'dnb', 174, dict(intro='intro_drums')),
    ('A', 'dnb', 178, dict(intro='intro_keys')),
    ('A', 'hiphop', 85, dict(intro='intro_keys', swing16=0.62)),
    ('A', 'hiphop', 90, dict(intro='intro_drums', swing16=0.58)),
    ('A', 'hiphop', 94, dict(intro='intro_pad', swing16=0.66)),
    ('A', 'hiphop', 98, dict(intro='intro_drums', swing16=0.60)),
    ('A', 'pop', 64, dict(intro='intro_keys')),
    ('A', 'pop', 102, dict(intro='intro_drums')),
    ('A', 'pop', 112, dict(intro='intro_pad')),
    ('A', 'pop', 120, dict(intro='intro_keys')),
    ('A', 'rock', 96, dict(intro='intro_keys', drift=0.03)),
    ('A', 'rock', 118, dict(intro='intro_drums', drift=0.02)),
    ('A', 'rock', 132, dict(intro='intro_pad', drift=0.04)),
    ('A', 'rock', 148, dict(intro='intro_drums', drift=0.03)),
    ('A', 'halftime', 140, dict(intro='intro_pad')),
    ('A', 'halftime', 145, dict(intro='intro_drums')),
    ('A', 'halftime', 150, dict(intro='intro_keys')),
    ('A', 'reggae', 68, dict(intro='intro_keys')),
    ('A', 'reggae', 76, dict(intro='intro_drums')),
    ('A', 'reggae', 82, dict(intro='intro_pad')),
    ('A', 'waltz', 88, dict(intro='intro_keys')),
    ('A', 'waltz', 144, dict(intro='intro_drums')),
    ('A', 'waltz', 180, dict(intro='intro_pad')),
    ('B', 'moombahton', 100, dict(intro='intro_perc', intro_bars=16)),
    ('B', 'moombahton', 108, dict(intro='intro_hats', intro_bars=8)),
    ('B', 'techhouse', 124, dict(intro='intro_perc', intro_bars=16)),
    ('B', 'techhouse', 126, dict(intro='intro_hats', intro_bars=16)),
    ('B', 'trance', 138, dict(intro='intro_hats', intro_bars=16)),
    ('B', 'trance', 138, dict(intro='intro_pad', intro_bars=8)),
    ('B', 'dubstep', 140, dict(intro='intro_pad', intro_bars=8)),
    ('B', 'dubstep', 140, dict(intro='intro_hats', intro_bars=8)),
    ('B', 'hardstyle', 150, dict(intro='intro_hats', intro_bars=16)),
    ('B', 'dnb_b', 174, dict(intro='intro_hats', intro_bars=16)),
    ('B', 'dnb_b', 172, dict(intro='intro_pad', intro_bars=16)),
    ('B', 'jungle', 165, dict(intro='intro_perc', intro_bars=8)),
    ('B', 'hardcore', 180, dict(intro='intro_hats', intro_bars=16)),
    ('B', 'gabber', 190, dict(intro='intro_drums', intro_bars=16)),
    ('B', 'hardcore', 200, dict(intro='intro_hats', intro_bars=16)),
    ('B', 'footwork', 160, dict(intro='intro_perc', intro_bars=8)),
    ('B', 'downtempo', 87, dict(intro='intro_pad', intro_bars=8)),
]


def assign_keys(n, seed=20240):
    keys = [(pc, m) for m in ('minor', 'major') for pc in range(12)]
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        perm = rng.permutation(len(keys))
        out += [keys[i] for i in perm]
    return out[:n]

# ----------------------------------------------------------------------------------------------

class Song:
    def __init__(self, idx, set_, style, bpm, opts, key):
        self.idx, self.set, self.style_name, self.bpm, self.opts = idx, set_, style, bpm, opts
        self.st = STYLES[style]
        self.seed = 1000 + idx
        self.rng = np.random.default_rng(self.seed)
        self.tonic, self.mode = key
        self.bpb = self.st.get('meter', 4)
        self.electronic = self.st['electronic']
        self.jitter_ms = 0.0 if self.electronic else float(self.rng.choice([6.0, 8.0, 10.0, 12.0]))
        self.vel_var = 3 if self.electronic else 14
        self.swing16 = opts.get('swing16', 0.5)
        self.swing8 = self.st.get('swing8', 0.5)
        self.drift = opts.get('drift', 0.0)
        style_label = 'dnb' if style == 'dnb_b' else style
        self.id = 'A%02d' % (idx + 1) if set_ == 'A' else 'B%02d' % (idx + 1 - sum(1 for s in SONGS if s[0] == 'A'))
        self.id += '_%s_%d' % (style_label, bpm)
        self.style_label = style_label
        self.notes = []      # (t_on, t_off, ch, pitch, vel)
        self.ccs = []        # (t, ch, cc, value)
        self.inst = {r: int(self.rng.choice(v)) for r, v in self.st['inst'].items()}
        self.progs = PROGS[self.mode]
        self.arrange()
        self.make_grid()

    # ---------------- form
    def arrange(self):
        fam, rng, o = self.st['family'], self.rng, self.opts
        ib = o.get('intro_bars', int(rng.choice([4, 8])))
        intro = (o['intro'], ib)
        if fam == 'edm':
            bd = int(rng.choice([8, 16]))
            secs = [intro, ('main', 16), ('breakdown', bd), ('build', int(rng.choice([4, 8]))), ('drop', 16), ('outro', 8)]
            if o.get('no_breakdown'):
                secs = [intro, ('main', 16), ('drop', 16), ('main', 8), ('outro', 8)]
        elif fam == 'band':
            secs = [intro, ('verse', 8), ('chorus', 8), ('verse', 8), ('chorus', 8), ('breakdown', 8), ('chorus', 8), ('outro', 4)]
        elif fam == 'hiphop':
            secs = [intro, ('verse', 8), ('chorus', 8), ('verse', 8), ('breakdown', 4), ('chorus', 8), ('outro', 4)]
        else:  # waltz
            secs = [intro, ('verse', 16), ('chorus', 16), ('breakdown', 8), ('chorus', 16)]
        bar_s = self.bpb * 60.0 / self.bpm
        target_bars = float(rng.uniform(72, 118)) / bar_s
        fixed = {0} if 'intro_bars' in o else set()       # a requested intro length is kept
        tmpl = sum(b for i, (_, b) in enumerate(secs) if i not in fixed)
        free = target_bars - sum(secs[i][1] for i in fixed)
        f = max(free, 8) / tmpl
        while f > 1.5:                                     # fast songs repeat their last chorus/drop
            i = max(i for i, (k, b) in enumerate(secs) if k in ('chorus', 'drop', 'main'))
            secs.insert(i + 1, (secs[i][0], 8))
            tmpl += 8
            f = free / tmpl
        secs = [(k, b if i in fixed else max(4, int(round(b * f / 4)) * 4)) for i, (k, b) in enumerate(secs)]
        # breakdowns of 8-16 bars; intros of 4-8 bars unless the song list asks for a longer one
        secs = [(k, min(16, max(8, b)) if k == 'breakdown' else b) for k, b in secs]
        if not fixed:
            secs[0] = (secs[0][0], min(8, secs[0][1]))
        while sum(b for _, b in secs) * bar_s > 130:       # still too long (very slow songs): drop a repeat
            rep = [i for i, (k, b) in enumerate(secs) if k in ('verse', 'chorus', 'main', 'drop')
                   and any(k2 == k for k2, _ in secs[:i])]
            del secs[rep[0]]
        while sum(b for _, b in secs) * bar_s < 62:
            i = max(i for i, (k, b) in enumerate(secs) if k in ('chorus', 'drop', 'main'))
            secs[i] = (secs[i][0], secs[i][1] + 4)
        self.sections = []
        bar = 0
        for k, b in secs:
            self.sections.append(dict(kind=k, bars=b, start_bar=bar))
            bar += b
        self.nbars = bar

    def make_grid(self):
        nbeats = self.nbars * self.bpb + 8
        lead = float(self.rng.uniform(0.25, 1.2))
        if self.drift:
            i = np.arange(nbeats)
            p1, p2 = self.rng.uniform(48, 96), self.rng.uniform(17, 31)
            f1, f2 = self.rng.uniform(0, 2 * np.pi, 2)
            dev = 0.7 * np.sin(2 * np.pi * i / p1 + f1) + 0.3 * np.sin(2 * np.pi * i / p2 + f2)
            dev = dev / np.max(np.abs(dev)) * self.drift
            durs = 60.0 / (self.bpm * (1 + dev))
        else:
            durs = np.full(nbeats, 60.0 / self.bpm)
        self.grid = lead + np.concatenate([[0.0], np.cumsum(durs)])   # grid[i] = time of beat i

    def time_of(self, pos):
        i = int(math.floor(pos))
        return self.grid[i] + (pos - i) * (self.grid[i + 1] - self.grid[i])

    # ---------------- events
    def humanize(self, t):
        if not self.jitter_ms:
            return t
        j = float(np.clip(self.rng.normal(0, self.jitter_ms / 2), -self.jitter_ms, self.jitter_ms))
        return t + j / 1000.0

    def swung(self, pos):
        b = math.floor(pos)
        f = pos - b
        if self.swing16 != 0.5 and abs((f * 4) - round(f * 4)) < 1e-9 and round(f * 4) % 2 == 1:
            f = (0.5 if f > 0.5 else 0.0) + self.swing16 * 0.5
        elif self.swing8 != 0.5 and abs(f - 0.5) < 1e-9:
            f = self.swing8
        return b + f

    def vel(self, v):
        if self.vel_var:
            v += int(self.rng.integers(-self.vel_var, self.vel_var + 1))
        return int(np.clip(v, 1, 127))

    def note(self, ch, pitch, pos, dur, v, human=True):
        t0 = self.time_of(self.swung(pos))
        t1 = self.time_of(self.swung(pos + dur))
        if human:
            t0 = self.humanize(t0)
        self.notes.append((t0, max(t1, t0 + 0.03), ch, int(pitch), self.vel(v)))

    def cc(self, ch, num, pos, val):
        self.ccs.append((self.time_of(pos), ch, num, int(val)))

    # ---------------- parts
    def chord_at(self, bar, sec):
        prog = sec['prog']
        per = sec['bars_per_chord']
        return prog[((bar - sec['start_bar']) // per) % len(prog)]

    def drums(self, bar, sec, bib):
        mode = KINDS[sec['kind']]['drums']
        if mode is None:
            return
        b0 = bar * self.bpb
        steps = self.bpb * 4
        if mode == 'build':
            nb = sec['bars']
            frac = bib / nb
            div = 1 if frac < 0.25 else 2 if frac < 0.5 else 4 if frac < 0.875 else 8
            n = self.bpb * div
            for j in range(n):
                v = 50 + 70 * (bib + j / n) / nb
                self.note(9, S, b0 + j / div, 0.1, v, human=not self.electronic)
            if frac < 0.5:
                for j in range(self.bpb):
                    self.note(9, K, b0 + j, 0.1, 100)
            return
        pats = self.st['drums']
        variant = 'main'
        if sec['kind'] == 'chorus' and 'chorus' in pats:
            variant = 'chorus'
        names = [k for k in ('alt', 'alt2') if k in pats]
        if names and bib % 4 == 3:
            variant = names[0]
        if 'alt2' in pats and bib % 4 == 1:
            variant = 'alt2'
        fill = (not self.electronic) and bib % 8 == 7 and mode == 'full'
        roles = {'full': None, 'hats': {'hat'}, 'perc': {'perc', 'hat'}}[mode]
        for role, num, pat, v in pats[variant]:
            if roles is not None and role not in roles:
                continue
            assert len(pat) == steps, (self.style_name, pat)
            for j, c in enumerate(pat):
                if c == '.':
                    continue
                if fill and j >= steps - 4 and role != 'kick':
                    continue
                vv = v + 15 if c == 'X' else v - 35 if c == 'o' else v
                self.note(9, num, b0 + j / 4, 0.1, vv)
        if fill:
            for j in range(4):
                self.note(9, TOMS[j] if j < 3 else S, b0 + self.bpb - 1 + j / 4, 0.1, 95)
        if bib == 0 and mode == 'full' and (sec['prev_drums'] != 'full'):
            self.note(9, CR, b0, 1, 100)
        elif bib % 8 == 0 and mode == 'full' and sec['kind'] in ('chorus', 'drop'):
            self.note(9, CR, b0, 1, 90)

    def sidechain(self, bar, sec, chans):
        if not (self.st['sidechain'] and KINDS[sec['kind']]['drums'] == 'full'):
            return
        for j in range(self.bpb):
            for ch in chans:
                for f, val in ((0.0, 35), (0.1, 60), (0.2, 85), (0.3, 105), (0.42, 127)):
                    self.cc(ch, 11, bar * self.bpb + j + f, val)

    def bass(self, bar, sec, roman):
        if not KINDS[sec['kind']]['bass']:
            return
        root, pcs = chord_pcs(self.tonic, roman)
        r = place(root, 36)
        rhythm = BASS[self.st['bass']]
        if self.bpb == 3:
            rhythm = [(p, d, g) for p, d, g in rhythm if p < 3]
        for pos, dur, deg in rhythm:
            p = r + (7 if deg == '5' else 12 if deg == 'o' else 0)
            if p > 55:
                p -= 12
            v = 100 if pos == int(pos) else 88
            self.note(0, p, bar * self.bpb + pos, dur, v)

    def chords(self, bar, sec, roman, kind):
        root, pcs = chord_pcs(self.tonic, roman)
        lo = 55
        voicing = sorted(place(pc, lo) for pc in pcs)
        b0 = bar * self.bpb
        if kind == 'pad':
            for p in voicing:
                self.note(1, p, b0, self.bpb - 0.05, 85, human=False)
            return
        rhythm = CHORDS[kind]
        if self.bpb == 3 and kind != 'oompah':
            rhythm = [(p, d) for p, d in rhythm if p < 3]
        for pos, dur in rhythm:
            v = 92 if pos == int(pos) else 84
            for p in voicing:
                self.note(1, p, b0 + pos, dur, v)

    def pad(self, bar, sec, roman):
        root, pcs = chord_pcs(self.tonic, roman)
        voicing = sorted(place(pc, 60) for pc in pcs) + [place(root, 48)]
        for p in voicing:
            self.note(3, p, bar * self.bpb, self.bpb - 0.02, 80, human=False)

    def lead(self, bar, sec, roman, bib):
        kind = self.st['lead']
        root, pcs = chord_pcs(self.tonic, roman)
        b0 = bar * self.bpb
        if kind == 'arp':
            tones = sorted(place(pc, 67) for pc in pcs)
            tones = tones + [tones[0] + 12]
            order = [0, 1, 2, 3, 2, 1, 0, 1]
            for j in range(self.bpb * 4):
                self.note(2, tones[order[j % 8]], b0 + j / 4, 0.22, 78 if j % 4 == 0 else 66)
            return
        prng = np.random.default_rng(self.seed * 100 + sec['index'] * 10 + bib % 4)
        rhythms = LEAD[kind]
        rhythm = rhythms[int(prng.integers(len(rhythms)))]
        scale = [(self.tonic + s) % 12 for s in SCALE[self.mode]]
        if self.mode == 'minor' and roman == 'V':
            scale[6] = (self.tonic + 11) % 12
        lo, hi = 64, 84
        prev = place(pcs[0], 67)
        last_bar = bib % 4 == 3
        for n, (pos, dur) in enumerate(rhythm):
            if pos >= self.bpb:
                continue
            strong = abs(pos - round(pos)) < 1e-9 and (round(pos) % 2 == 0 or self.bpb == 3)
            pool = pcs if strong else scale
            if last_bar and n == len(rhythm) - 1:
                pool = [self.tonic] if roman in ('I', 'i') else [root]
            cands = [p for p in range(lo, hi + 1) if p % 12 in pool]
            cands.sort(key=lambda p: abs(p - prev) + prng.uniform(0, 4))
            p = cands[0] if abs(cands[0] - prev) > 0 or len(cands) == 1 else cands[1]
            prev = p
            self.note(2, p, b0 + pos, min(dur, self.bpb - pos) * 0.95, 90 if strong else 80)

    def compose(self):
        st = self.st
        # one progression per section family, keep the same chords across verse/chorus pairs
        prog_main = self.progs[int(self.rng.integers(len(self.progs)))]
        prog_alt = self.progs[int(self.rng.integers(len(self.progs)))]
        bars_per_chord = 2 if self.bpm >= 160 and self.bpb == 4 else 1
        prev_drums = None
        for i, sec in enumerate(self.sections):
            sec['index'] = i
            sec['prog'] = prog_alt if sec['kind'] in ('chorus', 'drop', 'breakdown') else prog_main
            sec['bars_per_chord'] = bars_per_chord
            sec['prev_drums'] = prev_drums
            prev_drums = KINDS[sec['kind']]['drums']
        # programs / mixer
        ch_prog = {0: self.inst['bass'], 1: self.inst['chords'], 2: self.inst['lead'], 3: self.inst['pad']}
        self.programs = ch_prog
        self.volumes = {0: 104, 1: 100, 2: 98, 3: 100, 9: 100}
        if self.electronic:  # about -8 dB (CC7 acts squared): the electronic kits would clip at -g 0.6
            self.volumes = {ch: int(round(v * 0.63)) for ch, v in self.volumes.items()}
            self.volumes[1] = int(round(self.volumes[1] * 0.85))
        self.pans = {0: 64, 1: 50, 2: 76, 3: 64, 9: 64}
        for sec in self.sections:
            lay = KINDS[sec['kind']]
            for bib in range(sec['bars']):
                bar = sec['start_bar'] + bib
                roman = self.chord_at(bar, sec)
                self.drums(bar, sec, bib)
                self.bass(bar, sec, roman)
                if lay['chords']:
                    kind = st['chords'] if lay['chords'] == 'style' else lay['chords']
                    self.chords(bar, sec, roman, kind)
                if lay['pad']:
                    self.pad(bar, sec, roman)
                if lay['lead']:
                    self.lead(bar, sec, roman, bib)
                self.sidechain(bar, sec, [0, 1, 3])
                if sec['kind'] == 'build' and self.electronic:
                    self.cc(3, 11, bar * self.bpb, 50 + 77 * bib / sec['bars'])
            if sec['kind'] == 'build' and self.electronic:
                self.cc(3, 11, (sec['start_bar'] + sec['bars']) * self.bpb, 127)
        # ending: tonic chord + bass + crash on the downbeat after the last bar
        end = self.nbars * self.bpb
        tonic_roman = 'I' if self.mode == 'major' else 'i'
        root, pcs = chord_pcs(self.tonic, tonic_roman)
        for p in sorted(place(pc, 55) for pc in pcs):
            self.note(1, p, end, self.bpb, 80, human=False)
        self.note(0, place(root, 36), end, self.bpb, 100, human=False)
        self.note(9, CR, end, 1, 100, human=False)
        self.note(9, K, end, 0.1, 110, human=False)

    # ---------------- output
    def midi_events(self):
        ev = [(0, 0, b'\xff\x51\x03' + MIDI_TEMPO_US.to_bytes(3, 'big')),
              (0, 0, b'\xff\x03' + vlq(len(self.id)) + self.id.encode())]
        for ch, p in self.programs.items():
            ev.append((0, 1, bytes([0xC0 | ch, p])))
        ev.append((0, 1, bytes([0xC9, self.st['kit']])))
        for ch, v in self.volumes.items():
            ev.append((0, 2, bytes([0xB0 | ch, 7, v])))
            ev.append((0, 2, bytes([0xB0 | ch, 10, self.pans[ch]])))
            ev.append((0, 2, bytes([0xB0 | ch, 11, 127])))
        for sec in self.sections:
            txt = ('%s bar %d' % (sec['kind'], sec['start_bar'] + 1)).encode()
            ev.append((tick_of_block(block_of(self.grid[sec['start_bar'] * self.bpb])), 0, b'\xff\x06' + vlq(len(txt)) + txt))
        for t, ch, num, val in self.ccs:
            ev.append((tick_of_block(block_of(t)), 2, bytes([0xB0 | ch, num, val])))
        # note-offs before the next note-on of the same key
        by_key = {}
        for n in self.notes:
            by_key.setdefault((n[2], n[3]), []).append(n)
        last = 0
        for (ch, p), ns in by_key.items():
            ns.sort()
            ons = [tick_of_block(block_of(n[0])) for n in ns]
            for i, n in enumerate(ns):
                on = ons[i]
                off = tick_of_block(block_of(n[1]))
                if i + 1 < len(ns):
                    off = min(off, ons[i + 1])
                if off <= on:
                    off = on + 1
                    if i + 1 < len(ns) and ons[i + 1] == on:
                        continue  # duplicate hit at the same instant: keep one
                ev.append((on, 4, bytes([0x90 | ch, p, n[4]])))
                ev.append((off, 3, bytes([0x80 | ch, p, 0])))
                last = max(last, off)
        return ev, last + int(TAIL_S * 1000)

    def truth(self, offsets_ms):
        kit = self.st['kit']
        off = offsets_ms[str(kit)] / 1000.0
        nb = self.nbars * self.bpb
        beats = [block_of(self.grid[i]) * BL + off for i in range(nb + 1)]
        downbeats = beats[::self.bpb]
        if self.drift:
            ibi = np.diff(self.grid[:nb + 1])
            tempo = float(np.median(60.0 / ibi))
        else:
            tempo = float(self.bpm)
        feats = []
        for s in self.sections:
            feats.append('%s %d bars' % (KINDS[s['kind']]['text'], s['bars']))
        notes = '; '.join(feats)
        if self.drift:
            notes += '; tempo wander +-%.0f%% (%.1f-%.1f BPM)' % (
                self.drift * 100, 60 / np.max(np.diff(self.grid[:nb + 1])), 60 / np.min(np.diff(self.grid[:nb + 1])))
        if self.swing16 != 0.5:
            notes += '; swung 16ths %.0f%%' % (self.swing16 * 100)
        if self.swing8 != 0.5:
            notes += '; swung 8ths %.0f%%' % (self.swing8 * 100)
        if self.jitter_ms:
            notes += '; human timing jitter up to +-%g ms, velocity +-%d' % (self.jitter_ms, self.vel_var)
        if self.st['sidechain']:
            notes += '; sidechain pumping (CC11) on bass/chords/pad'
        return {
            'file': self.id + '.wav',
            'audio': 'audio/%s.wav' % self.id,
            'id': self.id,
            'set': self.set,
            'style': self.style_label,
            'tempo_bpm': round(tempo, 3),
            'notated_bpm': self.bpm,
            'meter': '%d/4' % self.bpb,
            'beats_per_bar': self.bpb,
            'key': key_name(self.tonic, self.mode),
            'beats': [round(b, 6) for b in beats],
            'downbeats': [round(b, 6) for b in downbeats],
            'duration_s': round(float(beats[-1] + self.bpb * 60 / self.bpm + TAIL_S), 2),
            'sections': [dict(kind=s['kind'], start_bar=s['start_bar'] + 1, bars=s['bars'],
                              start_s=round(beats[s['start_bar'] * self.bpb], 6),
                              drums=KINDS[s['kind']]['drums'] or 'none') for s in self.sections],
            'drift_pct': self.drift * 100,
            'swing16': self.swing16, 'swing8': self.swing8,
            'jitter_ms': self.jitter_ms,
            'drum_kit': kit,
            'programs': {str(k): v for k, v in self.programs.items()},
            'render_offset_ms': offsets_ms[str(kit)],
            'seed': self.seed,
            'notes': notes,
        }


def build_songs():
    keys = assign_keys(len(SONGS))
    songs = []
    for i, (set_, style, bpm, opts) in enumerate(SONGS):
        s = Song(i, set_, style, bpm, opts, keys[i])
        s.compose()
        songs.append(s)
    return songs

# ----------------------------------------------------------------------------------------------
# Rendering and calibration

def render(mid, wav):
    subprocess.run(['fluidsynth', '-ni', '-F', wav, '-r', str(SR), '-g', GAIN, SF2, mid],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def read_wav(path):
    with wave.open(path) as w:
        n = w.getnframes()
        x = np.frombuffer(w.readframes(n), dtype='<i2').reshape(-1, w.getnchannels()).astype(np.float64) / 32768
        return x, w.getframerate()


def onset_after(x, t, sr, thresh=0.01):
    """First sample after time t (looking from t-5 ms) above thresh * the hit's peak (within 150 ms)."""
    a = int(round((t - 0.005) * sr))
    seg = np.abs(x[a:a + int(0.15 * sr)])
    return (a + int(np.argmax(seg > thresh * seg.max()))) / sr


def calibrate(workdir, kits, note=K):
    """Renders isolated kicks (one per second, on random block positions) for each kit and returns
    {kit: (mean onset offset ms, sd ms)} of the first sample above 1 % of each hit's peak."""
    out = {}
    rng = np.random.default_rng(7)
    for kit in kits:
        ev = [(0, 0, b'\xff\x51\x03' + MIDI_TEMPO_US.to_bytes(3, 'big')), (0, 1, bytes([0xC9, kit]))]
        times = []
        for i in range(24):
            k = block_of(0.5 + i * 1.0 + rng.uniform(0, 0.05))
            tick = tick_of_block(k)
            ev += [(tick, 4, bytes([0x99, note, 110])), (tick + 200, 3, bytes([0x89, note, 0]))]
            times.append(k * BL)
        mid = os.path.join(workdir, 'calib_kit%d.mid' % kit)
        wav = mid[:-4] + '.wav'
        write_smf(mid, ev, tick + 3000)
        render(mid, wav)
        x, sr = read_wav(wav)
        x = x.mean(axis=1)
        d = np.array([onset_after(x, t, sr) - t for t in times]) * 1000
        out[kit] = (float(d.mean()), float(d.std()))
    return out


def print_table(songs):
    short = {'intro_pad': 'pad intro', 'intro_keys': 'keys intro', 'intro_hats': 'hats-only intro',
             'intro_perc': 'perc-only intro', 'intro_drums': 'drums+bass intro'}
    print('| id | style | BPM | key | meter | bars | features |')
    print('|---|---|---:|---|---|---:|---|')
    for s in songs:
        f = ['%s %d' % (short[s.sections[0]['kind']], s.sections[0]['bars'])]
        bd = [x['bars'] for x in s.sections if x['kind'] == 'breakdown']
        if bd:
            f.append('breakdown ' + '+'.join(map(str, bd)))
        bu = [x['bars'] for x in s.sections if x['kind'] == 'build']
        if bu:
            f.append('snare-roll build %d' % bu[0])
        if s.drift:
            d = np.diff(s.grid[:s.nbars * s.bpb + 1])
            f.append('tempo wander %.1f-%.1f' % (60 / d.max(), 60 / d.min()))
        if s.swing16 != 0.5:
            f.append('16th swing %.0f%%' % (s.swing16 * 100))
        if s.swing8 != 0.5:
            f.append('8th swing %.0f%%' % (s.swing8 * 100))
        if s.jitter_ms:
            f.append('jitter ±%g ms' % s.jitter_ms)
        if s.st['sidechain']:
            f.append('sidechain')
        bpm = s.bpm if not s.drift else float(np.median(60 / np.diff(s.grid[:s.nbars * s.bpb + 1])))
        print('| %s | %s | %s | %s | %d/4 | %d | %s |' % (s.id, s.style_label, ('%.1f' % bpm) if s.drift else bpm,
                                                           key_name(s.tonic, s.mode), s.bpb, s.nbars, ', '.join(f)))


def main():
    repo = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('outdir', nargs='?', default=os.path.join(repo, 'eval-out'))
    ap.add_argument('-j', '--jobs', type=int, default=os.cpu_count() or 2)
    ap.add_argument('--only', help='comma-separated song ids (or prefixes) to render')
    ap.add_argument('--no-render', action='store_true', help='write MIDI and truth only')
    ap.add_argument('--force', action='store_true', help='render again even if the MIDI did not change')
    ap.add_argument('--table', action='store_true', help='print the content table (Markdown) and exit')
    a = ap.parse_args()
    if a.table:
        print_table(build_songs())
        return
    for d in ('midi', 'audio', 'truth', 'calib'):
        os.makedirs(os.path.join(a.outdir, d), exist_ok=True)
    t0 = time.time()
    songs = build_songs()
    kits = sorted({s.st['kit'] for s in songs})
    cal_path = os.path.join(a.outdir, 'calib', 'offsets.json')
    if not a.no_render or not os.path.exists(cal_path):
        cal = calibrate(os.path.join(a.outdir, 'calib'), kits)
        for kit, (m, sd) in cal.items():
            print('calibration: kit %3d kick onset = note-on + %.3f ms (sd %.3f ms)' % (kit, m, sd))
            if sd > 0.3:
                print('warning: onsets are not block-aligned (sd %.3f ms): fluidsynth timing changed?' % sd)
        with open(cal_path, 'w') as f:
            json.dump({str(k): v for k, v in cal.items()}, f, indent=1)
    with open(cal_path) as f:
        offsets = {k: round(v[0], 3) for k, v in json.load(f).items()}
    only = a.only.split(',') if a.only else None
    todo = []
    for s in songs:
        mid = os.path.join(a.outdir, 'midi', s.id + '.mid')
        wav = os.path.join(a.outdir, 'audio', s.id + '.wav')
        ev, end = s.midi_events()
        changed = write_smf(mid, ev, end)
        if only and not any(s.id.startswith(o) for o in only):
            continue
        if not a.no_render and (changed or a.force or not os.path.exists(wav)):
            todo.append((s.id, mid, wav))
    t1 = time.time()
    audio_s = 0.0

    def job(item):
        sid, mid, wav = item
        render(mid, wav)
        x, sr = read_wav(wav)
        return sid, x.shape[0] / sr, float(np.abs(x).max())

    with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        for sid, dur, peak in ex.map(job, todo):
            audio_s += dur
            print('rendered %-24s %6.1f s  peak %.3f%s' % (sid, dur, peak, '  CLIPPING' if peak >= 0.999 else ''),
                  flush=True)
    t2 = time.time()
    index = []
    for s in songs:
        tr = s.truth(offsets)
        wav = os.path.join(a.outdir, 'audio', s.id + '.wav')
        if os.path.exists(wav):
            with wave.open(wav) as w:
                tr['duration_s'] = round(w.getnframes() / w.getframerate(), 3)
        with open(os.path.join(a.outdir, 'truth', s.id + '.json'), 'w') as f:
            json.dump(tr, f, indent=1)
        index.append(dict(id=s.id, set=s.set, style=tr['style'], tempo_bpm=tr['tempo_bpm'], key=tr['key'],
                          beats_per_bar=s.bpb, duration_s=tr['duration_s'], audio=tr['audio'],
                          truth='truth/%s.json' % s.id, notes=tr['notes']))
    with open(os.path.join(a.outdir, 'index.json'), 'w') as f:
        json.dump(dict(generator='scripts/eval/make_evalset.py', sample_rate=SR, soundfont=SF2, gain=float(GAIN),
                       render_offset_ms=offsets, songs=index), f, indent=1)
    total = sum(e['duration_s'] for e in index)
    print('%d songs (%.0f s of audio, %.1f min) in %s; rendered %d (%.0f s of audio) in %.1f s wall, %.1f s total'
          % (len(index), total, total / 60, a.outdir, len(todo), audio_s, t2 - t1, time.time() - t0))


if __name__ == '__main__':
    main()
