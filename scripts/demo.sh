#!/usr/bin/env bash
# Sets up a fresh machine, builds djd, makes the fixture tracks and starts the daemon with a demo playlist
# made from them. With a sound card it plays to it; without one it records what it plays, paced in real
# time, to demo-live.wav. Extra arguments go to `djd serve` (e.g. --output file:mix.wav, --port 9000).
# Stop it with Ctrl-C (it fades out and keeps its state in ~/.local/state/djcore).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product djd
python3 Fixtures/make_fixtures.py Fixtures/out
args=("$@")
if [[ " ${args[*]:-} " != *" --output "* && " ${args[*]:-} " != *" --device "* ]]; then
    if ls /dev/snd/pcmC*p >/dev/null 2>&1; then
        args+=(--device default)
    else
        echo "demo: no sound card here: recording what plays to demo-live.wav (in real time)"
        args+=(--output file:demo-live.wav)
    fi
fi
exec .build/release/djd serve --demo Fixtures/out "${args[@]}"
