#!/usr/bin/env bash
# Virtual, real-time-paced sound device for tests and CI on machines without a sound card.
#
#   scripts/virtual-audio.sh start    # start a JACK dummy server (if not running), print env lines
#   scripts/virtual-audio.sh stop     # stop the server this script started (pid file), nothing else
#   scripts/virtual-audio.sh status   # exit 0 if a JACK server answers, 1 otherwise
#   scripts/virtual-audio.sh env      # print the env lines only
#
# Typical use (bash; `eval "$(... start)"` alone would hide a failed start from set -e):
#   lines="$(scripts/virtual-audio.sh start)" && eval "$lines"
#   trap 'scripts/virtual-audio.sh stop' EXIT
#   ...tests...
# A second, independent server (e.g. one a test may kill):  DJCORE_JACK_SERVER=djtest2 ... start|stop
# (own pid/log files; its clients need JACK_DEFAULT_SERVER=djtest2, and one process can be a client of
# only one JACK server at a time, so run such a writer in a child process).
#
# start prints, on stdout and nothing else, the lines the caller must export:
#   export ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:<repo>/scripts/alsa/djcore-test.conf
#   export DJCORE_TEST_ALSA=1
# (plus JACK_DEFAULT_SERVER when DJCORE_JACK_SERVER names a non-default server). Messages go to stderr.
#
# The server: `jackd --no-mlock -d dummy` (timer-paced, no hardware), 4 playback ports
# (system:playback_1..4: master 1/2, cue 3/4) and 2 capture ports (silence).
# Environment overrides: DJCORE_JACK_RATE (48000), DJCORE_JACK_PERIOD (256),
# DJCORE_JACK_SERVER (default), DJCORE_JACK_PLAYBACK_PORTS (4).
# The ALSA PCMs are defined in scripts/alsa/djcore-test.conf (djcore_jack2, djcore_jack4, djcore_capture, ...).
# Needs: jackd2 (jackd, jack_wait), libasound2-plugins (ALSA `jack` PCM type).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONF="$REPO/scripts/alsa/djcore-test.conf"
RATE="${DJCORE_JACK_RATE:-48000}"
PERIOD="${DJCORE_JACK_PERIOD:-256}"
SERVER="${DJCORE_JACK_SERVER:-default}"
PORTS="${DJCORE_JACK_PLAYBACK_PORTS:-4}"
RUNDIR="${TMPDIR:-/tmp}"
PIDFILE="$RUNDIR/djcore-jackd-$SERVER.pid"
LOGFILE="$RUNDIR/djcore-jackd-$SERVER.log"

# Headless box: no D-Bus, no device reservation; never let a client auto-start a server behind our back.
export JACK_NO_AUDIO_RESERVATION=1
export JACK_NO_START_SERVER=1
[ "$SERVER" = default ] || export JACK_DEFAULT_SERVER="$SERVER"

log() { echo "virtual-audio: $*" >&2; }

print_env() {
    echo "export ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:$CONF"
    echo "export DJCORE_TEST_ALSA=1"
    [ "$SERVER" = default ] || echo "export JACK_DEFAULT_SERVER=$SERVER"
    return 0
}

# process exists and is not a zombie
alive() {
    local st
    st="$(sed 's/.*) //; s/ .*//' "/proc/$1/stat" 2>/dev/null)" || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

# pid of the jackd this script started, if it is still alive (and really is jackd)
our_pid() {
    [ -f "$PIDFILE" ] || return 1
    local pid
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = jackd ] || return 1
    alive "$pid" || return 1    # a killed jackd lingers as a zombie until reaped: not running
    echo "$pid"
}

server_up() { [ "$(jack_wait -c 2>/dev/null)" = running ]; }   # honours JACK_DEFAULT_SERVER; exit code is always 0

check_tools() {
    local t
    for t in jackd jack_wait; do
        command -v "$t" >/dev/null || { log "$t not found: apt-get install jackd2 libasound2-plugins"; exit 1; }
    done
    [ -f "$CONF" ] || { log "missing $CONF"; exit 1; }
}

cmd_start() {
    check_tools
    local pid
    if pid="$(our_pid)"; then
        for _ in $(seq 100); do                # still starting, or shutting down after a kill?
            if server_up; then
                log "already running (pid $pid, server '$SERVER')"
                print_env; return 0
            fi
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then log "pid $pid is jackd but the server does not answer; see $LOGFILE"; exit 1; fi
    fi
    rm -f "$PIDFILE"
    if server_up; then
        log "a JACK server '$SERVER' not started by this script is already running; using it as is" \
            "(needs a dummy/real backend with >= $PORTS playback ports; 'stop' will not touch it)"
        print_env; return 0
    fi
    mkdir -p "$RUNDIR"
    # A jackd killed a moment ago (e.g. kill -9) lingers as a zombie for ~1 s, and a new one started
    # meanwhile exits with "`default' server already active": retry a few times.
    local attempt ready
    for attempt in 1 2 3 4 5; do
        # setsid: own session, so a Ctrl-C or a process-group kill of the caller does not take it down.
        setsid jackd --no-mlock -n "$SERVER" -d dummy -r "$RATE" -p "$PERIOD" -P "$PORTS" -C 2 \
            </dev/null >"$LOGFILE" 2>&1 &
        pid=$!
        echo "$pid" >"$PIDFILE"
        ready=0
        for _ in $(seq 100); do                # up to 10 s, like `jack_wait -w -t 10`, but fails fast
            alive "$pid" || break              # jackd exited
            if server_up; then ready=1; break; fi
            sleep 0.1
        done
        [ "$ready" = 1 ] && break
        if alive "$pid"; then
            log "jackd (pid $pid) did not become ready in 10 s; log $LOGFILE:"
            sed 's/^/    /' "$LOGFILE" >&2 || true
            kill "$pid" 2>/dev/null || true
            rm -f "$PIDFILE"
            exit 1
        fi
        wait "$pid" 2>/dev/null || true
        rm -f "$PIDFILE"
        if [ "$attempt" = 5 ]; then
            log "jackd exited at start 5 times; last log $LOGFILE:"
            sed 's/^/    /' "$LOGFILE" >&2 || true
            exit 1
        fi
        log "jackd exited at start (attempt $attempt: $(grep -m1 -iE 'active|fail|error|cannot' "$LOGFILE" || echo '?')); retrying in 1 s"
        sleep 1
    done
    log "started jackd pid $pid: server '$SERVER', dummy, ${RATE} Hz, period $PERIOD, $PORTS playback ports; log $LOGFILE"
    print_env
}

cmd_stop() {
    local pid
    if ! pid="$(our_pid)"; then
        rm -f "$PIDFILE"
        log "not running (no live jackd from $PIDFILE)"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        log "jackd pid $pid ignored SIGTERM for 5 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    log "stopped jackd pid $pid"
}

cmd_status() {
    local pid
    if pid="$(our_pid)"; then
        if server_up; then log "running: pid $pid, server '$SERVER', log $LOGFILE"; return 0; fi
        log "pid $pid alive but server '$SERVER' does not answer"; return 1
    fi
    if server_up; then log "a JACK server '$SERVER' runs, not started by this script"; return 0; fi
    log "not running"; return 1
}

case "${1:-}" in
    start)  cmd_start ;;
    stop)   cmd_stop ;;
    status) cmd_status ;;
    env)    print_env ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
