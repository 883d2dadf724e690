#!/usr/bin/env bash
# Sets up a fresh machine, builds djd, generates the fixture tracks and renders the demo mix to demo.wav.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product djd
python3 Fixtures/make_fixtures.py Fixtures/out
.build/release/djd render Fixtures/demo-mix.json -o "${1:-demo.wav}"
echo "Rendered ${1:-demo.wav}. To hear it on a sound card: .build/release/djd play ${1:-demo.wav} (devices: .build/release/djd devices)"
