#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs what the evaluation needs on Debian: fluidsynth + the GM soundfont (rendering), aubio-tools
# (the peer tracker), numpy, and mir_eval (scoring). Safe to run again.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends fluidsynth fluid-soundfont-gm aubio-tools libaubio-dev python3-numpy python3-pip
if ! python3 -c 'import mir_eval' 2>/dev/null; then
    # Debian 12 marks the system Python as externally managed (PEP 668)
    python3 -m pip install --user mir_eval 2>/dev/null || python3 -m pip install --user --break-system-packages mir_eval
fi
python3 -c 'import mir_eval, numpy; print("mir_eval", mir_eval.__version__, "numpy", numpy.__version__)'
