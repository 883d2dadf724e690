#!/usr/bin/env bash
# The whole test suite, as CI runs it on a fresh clone:
#  0. the Debian packages (scripts/setup.sh; skipped with --no-setup when the caller installed them);
#  1. the virtual sound device (a JACK dummy server, paced in real time: scripts/virtual-audio.sh) that
#     the ALSA tests play to, stopped again on exit;
#  2. the real-time safety tests again, in a build linked with clang's RealtimeSanitizer
#     (any malloc, free, lock or blocking call on the render path aborts the run); this build leaves the
#     daemon out (DJCORE_CORE_ONLY=1: see Package.swift), as the audio path is all in CDSP and DJCore;
#  3. every test (swift test), whose summary ends the output.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = "--no-setup" ] || bash scripts/setup.sh
echo "== virtual sound device (JACK dummy backend)"
lines="$(bash scripts/virtual-audio.sh start)"
eval "$lines"
trap 'bash scripts/virtual-audio.sh stop >/dev/null 2>&1' EXIT   # quietly: swift test's summary ends the output
echo "== real-time safety under RealtimeSanitizer (.build-rtsan; the engine only, without the daemon's packages)"
DJCORE_CORE_ONLY=1 swift test --scratch-path .build-rtsan \
    -Xswiftc -Xclang-linker -Xswiftc -fsanitize=realtime -Xcc -DCRTCHECK_RTSAN \
    --filter "RealtimeSafety"
echo "== all tests"
swift test
