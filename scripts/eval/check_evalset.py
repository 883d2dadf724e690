#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verifies the truth of the evaluation set made by make_evalset.py.

    scripts/eval/check_evalset.py [OUTDIR] [--songs ID,ID] [--no-aubio]

1. timing: renders each checked song's kick drum alone (same MIDI, other notes removed) and measures
   every kick's audio onset against its predicted time (block-aligned note-on + calibrated offset);
   also `aubio onset` on the same render as an independent detector;
2. tempo map: for the drifting songs (and one constant-tempo song per kit) renders a click track, a
   kick on every truth beat computed from the song's tempo map, and compares onsets with truth beats;
3. key: chroma of every rendered song, correlated with Krumhansl-Kessler profiles; the best key must be
   the truth key (and the tonic triad must hold the strongest pitch classes);
4. consistency of every truth file (monotonic beats, downbeats on beats, tempo vs. beat spacing).
"""
import argparse
import copy
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_evalset as me  # noqa: E402

KK_MAJ = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MIN = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def mono(path):
    x, sr = me.read_wav(path)
    return x.mean(axis=1), sr


def onset_near(x, t, sr):
    """Onset of the hit expected at t: first sample from t-15 ms above max(1 % of the hit's peak,
    3x the level 15-25 ms before t)."""
    a = int(round((t - 0.015) * sr))
    bg = np.abs(x[int(round((t - 0.025) * sr)):a]).max(initial=0.0)
    seg = np.abs(x[a:a + int(0.12 * sr)])
    thr = max(0.01 * seg.max(), 3 * bg)
    above = np.nonzero(seg > thr)[0]
    return (a + above[0]) / sr if len(above) else np.nan


def render_variant(song, notes, outdir, tag, ccs=()):
    s = copy.copy(song)
    s.notes = notes
    s.ccs = list(ccs)
    mid = os.path.join(outdir, '%s_%s.mid' % (song.id, tag))
    ev, end = s.midi_events()
    me.write_smf(mid, ev, end)
    wav = mid[:-4] + '.wav'
    me.render(mid, wav)
    return wav


def aubio_onsets(wav):
    out = subprocess.run(['aubio', 'onset', '-i', wav], capture_output=True, text=True).stdout
    return np.array([float(v) for v in out.split()])


def stats(e):
    e = np.asarray(e) * 1000
    return 'n=%d mean %+.3f ms, sd %.3f, max|e| %.3f' % (len(e), e.mean(), e.std(), np.abs(e).max())


def check_timing(song, offsets, work, use_aubio):
    off = offsets[str(song.st['kit'])] / 1000
    kicks = [n for n in song.notes if n[2] == 9 and n[3] in (me.K, me.K2)]
    wav = render_variant(song, kicks, work, 'kick')
    x, sr = mono(wav)
    pred = sorted({me.block_of(n[0]) * me.BL + off for n in kicks})
    # isolated kicks only (no other kick within 150 ms before): the previous one's tail would mask it
    iso = [t for i, t in enumerate(pred) if i == 0 or t - pred[i - 1] > 0.15]
    err = [onset_near(x, t, sr) - t for t in iso]
    line = '%-22s kick-only render: own onset - predicted: %s' % (song.id, stats(err))
    if use_aubio:
        on = aubio_onsets(wav)
        d = [on[np.argmin(np.abs(on - t))] - t for t in iso]
        d = [v for v in d if abs(v) < 0.05]
        line += '\n%-22s   aubio onset - predicted: %s' % ('', stats(d))
    return line, np.nanmax(np.abs(err))


def check_click(song, truth, work):
    """A kick on every grid beat of the song's tempo map, no jitter; onsets vs. truth beats."""
    s = copy.copy(song)
    s.notes = []
    s.jitter_ms = 0.0
    for i in range(len(truth['beats'])):
        s.notes.append((s.grid[i], s.grid[i] + 0.1, 9, me.K, 110))
    wav = render_variant(song, s.notes, work, 'click')
    x, sr = mono(wav)
    err = [onset_near(x, t, sr) - t for t in truth['beats']]
    ibi = np.diff(truth['beats'])
    return ('%-22s click on the tempo map (%.1f-%.1f BPM): onset - truth beat: %s'
            % (song.id, 60 / ibi.max(), 60 / ibi.min(), stats(err))), np.nanmax(np.abs(err))


def chroma(path, n=16384):
    """Pitch-class profile of the whole render: spectral peaks (local maxima 8x above the frame's
    median magnitude) between 55 Hz and 2 kHz, weighted by the square root of their magnitude."""
    x, sr = mono(path)
    hop = n // 2
    win = np.hanning(n)
    f = np.fft.rfftfreq(n, 1 / sr)
    sel = np.nonzero((f > 55) & (f < 2000))[0]
    pcs = ((np.round(12 * np.log2(f[sel] / 440.0)) + 9) % 12).astype(int)
    c = np.zeros(12)
    for a in range(0, len(x) - n, hop):
        m = np.abs(np.fft.rfft(x[a:a + n] * win))
        ms = m[sel]
        pk = (ms > m[sel - 1]) & (ms >= m[sel + 1]) & (ms > m[sel - 2]) & (ms >= m[sel + 2]) & (ms > 8 * np.median(ms))
        np.add.at(c, pcs[pk], np.sqrt(ms[pk]))
    return c / c.max()


def key_of(c):
    best = None
    for mode, prof in (('major', KK_MAJ), ('minor', KK_MIN)):
        for pc in range(12):
            r = np.corrcoef(c, np.roll(prof, pc))[0, 1]
            if best is None or r > best[0]:
                best = (r, pc, mode)
    return best


def main():
    repo = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('outdir', nargs='?', default=os.path.join(repo, 'eval-out'))
    ap.add_argument('--songs', help='comma-separated id prefixes for the timing check (default: a sample)')
    ap.add_argument('--no-aubio', action='store_true')
    a = ap.parse_args()
    import mir_eval
    work = os.path.join(a.outdir, 'check')
    os.makedirs(work, exist_ok=True)
    songs = me.build_songs()
    with open(os.path.join(a.outdir, 'calib', 'offsets.json')) as f:
        offsets = {k: round(v[0], 3) for k, v in json.load(f).items()}
    truths = {}
    bad = 0
    print('## 4. truth consistency')
    for s in songs:
        with open(os.path.join(a.outdir, 'truth', s.id + '.json')) as f:
            t = json.load(f)
        truths[s.id] = t
        b, d = np.array(t['beats']), np.array(t['downbeats'])
        ok = np.all(np.diff(b) > 0) and set(np.round(d, 6)) <= set(np.round(b, 6)) \
            and np.allclose(d, b[::t['beats_per_bar']]) \
            and abs(np.median(60 / np.diff(b)) / t['tempo_bpm'] - 1) < 0.002 \
            and 60 <= t['duration_s'] <= 150 and 60 <= t['tempo_bpm'] <= 200
        mir_eval.key.validate_key(t['key'])
        mir_eval.beat.validate(b, b)
        if not ok:
            bad += 1
            print('BAD', s.id)
    print('%d truth files, %d inconsistent' % (len(songs), bad))

    print('\n## 1. kick onsets vs. predicted note-on + offset (offsets %s ms)' % offsets)
    if a.songs:
        pick = [s for s in songs if any(s.id.startswith(p) for p in a.songs.split(','))]
    else:
        want = ('A01', 'A08', 'A10', 'A18', 'A25', 'A29', 'B09', 'B12', 'B15')
        pick = [s for s in songs if s.id[:3] in want]
    worst = 0
    for s in pick:
        line, w = check_timing(s, offsets, work, not a.no_aubio)
        worst = max(worst, w)
        print(line)
    print('\n## 2. click tracks on the tempo maps')
    kits_done = set()
    for s in songs:
        if s.drift or s.st['kit'] not in kits_done:
            kits_done.add(s.st['kit'])
            line, w = check_click(s, truths[s.id], work)
            worst = max(worst, w)
            print(line)
    print('worst timing error: %.3f ms' % (worst * 1000))

    print('\n## 3. key: chroma of the render vs. truth')
    scores = []
    for s in songs:
        wav = os.path.join(a.outdir, 'audio', s.id + '.wav')
        if not os.path.exists(wav):
            continue
        c = chroma(wav)
        r, pc, mode = key_of(c)
        est = me.key_name(pc, mode)
        truth = truths[s.id]['key']
        sc = mir_eval.key.weighted_score(truth, est)
        scores.append(sc)
        top3 = set(np.argsort(c)[-3:])
        triad = set(me.chord_pcs(s.tonic, 'I' if s.mode == 'major' else 'i')[1])
        print('%-22s truth %-9s chroma-KK %-9s (r=%.2f) score %.1f  top-3 chroma = tonic triad: %s'
              % (s.id, truth, est, r, sc, 'yes' if top3 == triad else 'no (%d of 3)' % len(top3 & triad)))
    if scores:
        print('chroma key estimate: mean MIREX score %.3f over %d songs' % (np.mean(scores), len(scores)))


if __name__ == '__main__':
    main()
