#!/usr/bin/env bash
# Installs the Debian packages DJCore needs to build, test and run (listed in scripts/debian-packages.txt).
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends $(cat scripts/debian-packages.txt)
command -v swift >/dev/null || { echo "swift not found: install Swift 6.1 or newer (e.g. /opt/swift/usr/bin on PATH)" >&2; exit 1; }
