#!/usr/bin/env bash
# Measures the isolator EQ's response (48 kHz, default 250 Hz / 2.5 kHz crossovers) with and without kills.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
clang -O2 -std=gnu11 -ISources/CDSP/include scripts/measure/eq_response.c Sources/CDSP/eq3.c Sources/CDSP/biquad.c \
    Sources/CDSP/status.c -lm -o "$out/eq_response"
"$out/eq_response"
rm -rf "$out"
