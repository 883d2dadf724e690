#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Musical-analysis evaluation: builds djd (release), makes the evaluation set if it is missing, scores
# djd and aubio, prints one Markdown table per set.
#   scripts/eval/run.sh [--setup] [--no-build] [--out DIR] [score.py options: --verbose --json OUT ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=eval-out
setup=0
build=1
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --setup) setup=1 ;;
        --no-build) build=0 ;;
        --out) out="$2"; shift ;;
        *) args+=("$1") ;;
    esac
    shift
done
if [ "$setup" = 1 ] || ! command -v fluidsynth >/dev/null || ! command -v aubio >/dev/null \
    || [ ! -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || ! python3 -c 'import mir_eval' 2>/dev/null; then
    scripts/eval/setup.sh
fi
if [ "$build" = 1 ]; then
    swift build -c release --product djd
fi
if [ ! -f "$out/index.json" ] || [ -n "$(find scripts/eval/make_evalset.py -newer "$out/index.json")" ]; then
    python3 scripts/eval/make_evalset.py "$out"
fi
python3 scripts/eval/score.py --set "$out" ${args[@]+"${args[@]}"}
