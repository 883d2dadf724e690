#!/usr/bin/env bash
# The live-path soak: `djd latency` on the JACK dummy device with 4 decks playing (two through the varispeed
# converter, EQ and filters engaged, 20 mixer commands a second) while busy processes at normal priority
# load every core. One run per period size, 3 periods per buffer. Prints a table; the JSON of each run is
# kept under $SOAK_OUT (default .build/soak).
#
#   bash scripts/soak.sh                      # 10 minutes each at 256, 128 and 64 frames (~31 minutes)
#   bash scripts/soak.sh --seconds 20 --periods "256"   # a quick look
#
# Needs the packages of scripts/debian-packages.txt (jackd2, libasound2-plugins). Uses its own JACK server
# (named djcore-soak, restarted for each period size since the ALSA jack device's period is JACK's), so it
# does not disturb a running test server. Run it as root (or with CAP_SYS_NICE) to get SCHED_FIFO; it says
# in its output whether it did.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"

MINUTES=10
SECONDS_EACH=""
PERIODS="256 128 64"
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) MINUTES="$2"; shift 2 ;;
        --seconds) SECONDS_EACH="$2"; shift 2 ;;
        --periods) PERIODS="$2"; shift 2 ;;
        *) echo "usage: $0 [--minutes N | --seconds N] [--periods \"256 128 64\"]" >&2; exit 2 ;;
    esac
done
[ -n "$SECONDS_EACH" ] || SECONDS_EACH=$((MINUTES * 60))
OUT="${SOAK_OUT:-.build/soak}"
mkdir -p "$OUT"

echo "== building djd (release)"
swift build -c release --product djd >/dev/null
DJD="$(swift build -c release --show-bin-path)/djd"

export DJCORE_JACK_SERVER=djcore-soak
BUSY=()
cleanup() {
    for p in "${BUSY[@]}"; do kill "$p" 2>/dev/null || true; done
    bash scripts/virtual-audio.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

CORES="$(nproc)"
for P in $PERIODS; do
    echo "== period $P frames x 3, $SECONDS_EACH s, $CORES busy processes"
    lines="$(DJCORE_JACK_PERIOD="$P" bash scripts/virtual-audio.sh start)"
    eval "$lines"
    BUSY=()
    for _ in $(seq "$CORES"); do
        sh -c 'while :; do :; done' &
        BUSY+=($!)
    done
    "$DJD" latency --device djcore_jack2 --period "$P" --periods 3 --decks 4 \
        --seconds "$SECONDS_EACH" --json > "$OUT/soak-$P.json"
    for p in "${BUSY[@]}"; do kill "$p" 2>/dev/null || true; done
    BUSY=()
    bash scripts/virtual-audio.sh stop >/dev/null
    sleep 2   # a stopped jackd lingers about a second before its name is free
done

echo
python3 - "$OUT" $PERIODS <<'EOF'
import json, sys
out, periods = sys.argv[1], sys.argv[2:]
print("| period | buffer | minutes | periods | underruns | worst render | load p50 / p99 / worst | command -> heard p50 / max | stamped exact | SCHED_FIFO |")
print("|---|---|---|---|---|---|---|---|---|---|")
for p in periods:
    j = json.load(open(f"{out}/soak-{p}.json"))
    c = j["commandToHeard"]
    print(f"| {j['periodFrames']} | {j['bufferFrames']} ({j['bufferLatencyMs']:.1f} ms) | {j['seconds']/60:.1f} | {j['periodsRendered']} "
          f"| {j['underruns']} | {j['renderMaxMs']:.3f} ms | {100*j['loadP50']:.1f} / {100*j['loadP99']:.1f} / {100*j['loadMax']:.1f} % "
          f"| {c['p50Ms']:.1f} / {c['maxMs']:.1f} ms | {j['stampedExact']}/{j['stamped']} | {'yes' if j['realtime'] else 'no'} |")
EOF
