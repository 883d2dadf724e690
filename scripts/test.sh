#!/usr/bin/env bash
# The whole test suite, as CI runs it on a fresh clone:
#  0. the Debian packages (scripts/setup.sh; skipped with --no-setup when the caller installed them);
#  1. the real-time safety tests again, in a build linked with clang's RealtimeSanitizer
#     (any malloc, free, lock or blocking call on the render path aborts the run);
#  2. every test (swift test), whose summary ends the output.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = "--no-setup" ] || bash scripts/setup.sh
echo "== real-time safety under RealtimeSanitizer (.build-rtsan)"
swift test --scratch-path .build-rtsan \
    -Xswiftc -Xclang-linker -Xswiftc -fsanitize=realtime -Xcc -DCRTCHECK_RTSAN \
    --filter "RealtimeSafety"
echo "== all tests"
swift test
