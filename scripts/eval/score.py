#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scores `djd analyze` (and aubio, as the peer) on the evaluation set and the real recordings.

    scripts/eval/score.py [--set DIR] [--data DIR] [--djd PATH] [--no-aubio] [--verbose] [--json OUT]
                          [--only ID,ID] [--trim5]

--set   the set written by make_evalset.py (default <repo>/eval-out; its index.json lists the songs)
--data  folders holding audio.wav + truth.json (default <repo>/../shared/data when it exists)
--djd   the djd binary (default <repo>/.build/release/djd); it is run as
        `djd analyze --json --no-cache FILE` and must print one JSON object with bpm, beats, downbeats,
        beatsPerBar, key ("A minor" / "F# major" / null), keyConfidence, gridConfidence
--trim5 drop beats and downbeats before 5 s from truth and estimates (mir_eval's usual protocol);
        by default every beat counts

Scores (means over songs): tempo Acc1 (within 4 % of the truth), Acc2 (also at x2, x1/2, x3, x1/3),
beat F-measure (+-70 ms), CMLt and AMLt (mir_eval continuity), downbeat F (+-70 ms), key (MIREX weighted
score: 1 same key, 0.5 fifth, 0.3 relative, 0.2 parallel), speed = audio seconds per CPU second of the
child process (user + system, from getrusage(RUSAGE_CHILDREN)).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import wave

import numpy as np

try:
    import mir_eval
except ImportError:
    sys.exit('mir_eval is missing: run scripts/eval/setup.sh (or python3 -m pip install mir_eval)')

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
TOL = 0.04


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_timed(cmd):
    c0 = cpu_children()
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p, cpu_children() - c0


def audio_seconds(path):
    with wave.open(path) as w:
        return w.getnframes() / w.getframerate()

# ----------------------------------------------------------------------------------------------


def load_songs(set_dir, data_dir, only):
    songs = []
    if set_dir and os.path.exists(os.path.join(set_dir, 'index.json')):
        with open(os.path.join(set_dir, 'index.json')) as f:
            index = json.load(f)
        for e in index['songs']:
            with open(os.path.join(set_dir, e['truth'])) as f:
                t = json.load(f)
            songs.append(dict(id=e['id'], set=e['set'], audio=os.path.join(set_dir, e['audio']), truth=t))
    elif set_dir:
        print('no evaluation set at %s (make it with scripts/eval/make_evalset.py)' % set_dir, file=sys.stderr)
    if data_dir and os.path.isdir(data_dir):
        for name in sorted(os.listdir(data_dir)):
            d = os.path.join(data_dir, name)
            wav, tj = os.path.join(d, 'audio.wav'), os.path.join(d, 'truth.json')
            if os.path.isfile(wav) and os.path.isfile(tj):
                with open(tj) as f:
                    t = json.load(f)
                t.setdefault('style', t.get('style', 'real'))
                songs.append(dict(id=name, set='real', audio=wav, truth=t))
    if only:
        keep = only.split(',')
        songs = [s for s in songs if any(s['id'].startswith(k) for k in keep)]
    return songs


def run_djd(djd, wav):
    p, cpu = run_timed([djd, 'analyze', '--json', '--no-cache', wav])
    if p.returncode != 0:
        return dict(error='exit %d: %s' % (p.returncode, (p.stderr or p.stdout).strip()[-300:])), cpu
    try:
        out = json.loads(p.stdout)
    except ValueError:
        # tolerate log lines around the object: take the last line that parses
        out = None
        for line in reversed(p.stdout.strip().splitlines()):
            try:
                out = json.loads(line)
                break
            except ValueError:
                continue
        if not isinstance(out, dict):
            return dict(error='no JSON object in the output: %r' % p.stdout[-200:]), cpu
    return dict(bpm=out.get('bpm'), beats=out.get('beats') or [], downbeats=out.get('downbeats') or [],
                key=out.get('key'), beats_per_bar=out.get('beatsPerBar'),
                key_confidence=out.get('keyConfidence'), grid_confidence=out.get('gridConfidence')), cpu


def run_aubio(wav):
    p1, c1 = run_timed(['aubio', 'tempo', '-i', wav])
    p2, c2 = run_timed(['aubio', 'beat', '-i', wav])
    if p1.returncode or p2.returncode:
        return dict(error='aubio failed: %s' % (p1.stderr + p2.stderr).strip()[-300:]), c1 + c2
    bpm = None
    for tok in p1.stdout.split():
        try:
            bpm = float(tok)
            break
        except ValueError:
            pass
    beats = [float(v) for v in p2.stdout.split()]
    return dict(bpm=bpm, beats=beats, downbeats=None, key=None), c1 + c2

# ----------------------------------------------------------------------------------------------


def tempo_scores(est, ref):
    if est is None or not np.isfinite(est) or est <= 0:
        return 0.0, 0.0
    acc1 = abs(est - ref) <= TOL * ref
    acc2 = any(abs(est - ref * m) <= TOL * ref * m for m in (1, 2, 0.5, 3, 1 / 3))
    return float(acc1), float(acc2)


def beat_scores(ref, est, trim):
    ref = np.asarray(ref, dtype=float)
    est = np.asarray(sorted(est), dtype=float)
    if trim:
        ref, est = mir_eval.beat.trim_beats(ref), mir_eval.beat.trim_beats(est)
    if len(est) == 0 or len(ref) == 0:
        return 0.0, 0.0, 0.0
    f = mir_eval.beat.f_measure(ref, est, 0.07)
    if len(ref) < 2 or len(est) < 2:
        return f, 0.0, 0.0
    _, cmlt, _, amlt = mir_eval.beat.continuity(ref, est)
    return f, cmlt, amlt


def downbeat_f(ref, est, trim):
    ref = np.asarray(ref, dtype=float)
    est = np.asarray(sorted(est), dtype=float)
    if trim:
        ref, est = ref[ref >= 5.0], est[est >= 5.0]
    if len(ref) == 0 or len(est) == 0:
        return 0.0
    return mir_eval.beat.f_measure(ref, est, 0.07)


def key_score(ref, est):
    if not est:
        return 0.0
    try:
        return mir_eval.key.weighted_score(ref, est)
    except ValueError:
        return 0.0


def score(truth, est, trim, full):
    """est: a tool's output; full: the tool also gives downbeats, meter and key (djd)."""
    r = {}
    if 'error' in est:
        r['error'] = est['error']
        est = dict(bpm=None, beats=[], downbeats=[], key=None, beats_per_bar=None)
    r['bpm'] = est['bpm']
    r['acc1'], r['acc2'] = tempo_scores(est['bpm'], truth['tempo_bpm'])
    r['beat_f'], r['cmlt'], r['amlt'] = beat_scores(truth['beats'], est['beats'], trim)
    if full:
        if truth.get('downbeats'):
            r['downbeat_f'] = downbeat_f(truth['downbeats'], est['downbeats'], trim)
        if truth.get('beats_per_bar'):
            r['meter_ok'] = float(est.get('beats_per_bar') == truth['beats_per_bar'])
        if truth.get('key'):
            r['key'] = est['key']
            r['key_score'] = key_score(truth['key'], est['key'])
    return r


# ----------------------------------------------------------------------------------------------

METRICS = [('acc1', 'tempo Acc1 (±4 %)'), ('acc2', 'tempo Acc2 (×2, ×½, ×3, ×⅓)'), ('beat_f', 'beat F (±70 ms)'),
           ('cmlt', 'beat CMLt'), ('amlt', 'beat AMLt'), ('downbeat_f', 'downbeat F (±70 ms)'),
           ('meter_ok', 'beats per bar right'), ('key_score', 'key (MIREX weighted)')]
TOOLS = [('djd', 'DJCore'), ('aubio', 'aubio')]


def table(rows, title, tools):
    out = ['', '### %s (%d songs, %.0f s of audio)' % (title, len(rows), sum(r['audio_s'] for r in rows)), '',
           '| metric | ' + ' | '.join(n for t, n in tools) + ' |',
           '|---|' + '---:|' * len(tools)]
    for m, label in METRICS:
        cells = []
        for t, _ in tools:
            vals = [r[t][m] for r in rows if t in r and m in r[t]]
            cells.append('%.3f' % np.mean(vals) if vals else '—')
        if all(c == '—' for c in cells):
            continue
        out.append('| %s | %s |' % (label, ' | '.join(cells)))
    cells = []
    for t, _ in tools:
        cpu = sum(r[t + '_cpu'] for r in rows if t + '_cpu' in r)
        audio = sum(r['audio_s'] for r in rows if t + '_cpu' in r)
        cells.append('%.0f' % (audio / cpu) if cpu > 0 else '—')
    out.append('| speed (audio s / CPU s) | %s |' % ' | '.join(cells))
    errs = {t: sum(1 for r in rows if 'error' in r.get(t, {})) for t, _ in tools}
    if any(errs.values()):
        out.append('| failed runs | %s |' % ' | '.join(str(errs[t]) for t, _ in tools))
    return '\n'.join(out)


def fmt_bpm(v):
    return '%.1f' % v if isinstance(v, (int, float)) and v is not None else '—'


def verbose_line(r, tools):
    t = r['truth']
    parts = ['%-22s %-10s %6.1f' % (r['id'], str(t.get('style', ''))[:10], t['tempo_bpm'])]
    for tool, _ in tools:
        s = r.get(tool)
        if s is None:
            continue
        if 'error' in s:
            parts.append('%s: ERROR %s' % (tool, ' '.join(s['error'].split())[:60]))
            continue
        p = '%s %6s F %.2f' % (tool, fmt_bpm(s['bpm']), s['beat_f'])
        if 'downbeat_f' in s:
            p += ' dbF %.2f' % s['downbeat_f']
        parts.append(p)
    if 'djd' in r and 'key_score' in r['djd']:
        parts.append('key %s / %s' % (t.get('key'), r['djd'].get('key') or '—'))
    elif t.get('key'):
        parts.append('key %s / —' % t.get('key'))
    return ' | '.join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--set', default=os.path.join(REPO, 'eval-out'))
    default_data = os.path.normpath(os.path.join(REPO, '..', 'shared', 'data'))
    ap.add_argument('--data', default=default_data if os.path.isdir(default_data) else None)
    ap.add_argument('--djd', default=os.path.join(REPO, '.build', 'release', 'djd'))
    ap.add_argument('--no-aubio', action='store_true')
    ap.add_argument('--no-djd', action='store_true', help='score aubio only')
    ap.add_argument('--verbose', '-v', action='store_true')
    ap.add_argument('--json', help='write every per-song result and the summaries here')
    ap.add_argument('--only', help='comma-separated id prefixes')
    ap.add_argument('--trim5', action='store_true', help='ignore beats before 5 s (mir_eval protocol)')
    a = ap.parse_args()

    songs = load_songs(a.set, a.data, a.only)
    if not songs:
        sys.exit('nothing to score')
    tools = []
    if not a.no_djd:
        if os.path.isfile(a.djd) and os.access(a.djd, os.X_OK):
            tools.append(TOOLS[0])
        else:
            print('djd not found at %s (build it: swift build -c release --product djd): scoring without it'
                  % a.djd, file=sys.stderr)
    if not a.no_aubio:
        tools.append(TOOLS[1])
    if not tools:
        sys.exit('no tool to score')
    results = []
    for s in songs:
        r = dict(id=s['id'], set=s['set'], truth=s['truth'], audio_s=audio_seconds(s['audio']))
        for tool, _ in tools:
            est, cpu = run_djd(a.djd, s['audio']) if tool == 'djd' else run_aubio(s['audio'])
            r[tool] = score(s['truth'], est, a.trim5, tool == 'djd')
            r[tool + '_cpu'] = cpu
        results.append(r)
        if a.verbose:
            print(verbose_line(r, tools), flush=True)
    sets = [('A', 'Set A: full-band songs in 9 styles'), ('B', 'Set B: electronic productions'),
            ('real', 'Real recordings (%s)' % a.data)]
    summary = {}
    for key, title in sets + [(None, 'All')]:
        rows = [r for r in results if key is None or r['set'] == key]
        if not rows:
            continue
        print(table(rows, title, tools))
        summary[key or 'all'] = {t: {m: float(np.mean([r[t][m] for r in rows if m in r[t]]))
                                     for m, _ in METRICS if any(m in r[t] for r in rows)}
                                 for t, _ in tools}
        for t, _ in tools:
            cpu = sum(r[t + '_cpu'] for r in rows)
            summary[key or 'all'][t]['audio_s_per_cpu_s'] = sum(r['audio_s'] for r in rows) / cpu if cpu else None
    if a.json:
        for r in results:
            r['truth'] = {k: r['truth'].get(k) for k in ('style', 'tempo_bpm', 'key', 'beats_per_bar')}
        with open(a.json, 'w') as f:
            json.dump(dict(summary=summary, songs=results, trim5=a.trim5), f, indent=1)


if __name__ == '__main__':
    main()
