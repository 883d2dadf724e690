#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for `djd analyze --json --no-cache FILE` that prints the truth of FILE, to check that
score.py gives 1.0 everywhere: scripts/eval/score.py --djd scripts/eval/fake_djd.py
FILE is OUTDIR/audio/X.wav (truth in OUTDIR/truth/X.json) or DIR/audio.wav (truth in DIR/truth.json)."""
import json
import os
import sys

args = [a for a in sys.argv[1:] if not a.startswith('--')]
if len(args) != 2 or args[0] != 'analyze':
    sys.exit('usage: fake_djd.py analyze --json --no-cache FILE')
wav = os.path.abspath(args[1])
d, name = os.path.split(wav)
if name == 'audio.wav':
    tpath = os.path.join(d, 'truth.json')
else:
    tpath = os.path.join(os.path.dirname(d), 'truth', os.path.splitext(name)[0] + '.json')
with open(tpath) as f:
    t = json.load(f)
print(json.dumps(dict(bpm=t['tempo_bpm'], beats=t['beats'], downbeats=t['downbeats'],
                      beatsPerBar=t['beats_per_bar'], key=t.get('key'), keyConfidence=1.0, gridConfidence=1.0)))
