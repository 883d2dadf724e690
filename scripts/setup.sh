#!/usr/bin/env bash
# Installs the Debian packages DJCore needs to build, test and run. Safe to run again.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends \
    libasound2-dev libsndfile1-dev libfftw3-dev libsamplerate0-dev \
    python3 python3-numpy
command -v swift >/dev/null || { echo "swift not found: install Swift 6.1 or newer (e.g. /opt/swift/usr/bin on PATH)" >&2; exit 1; }
