#!/bin/sh
# The README's main job, run by `make run` after the build:
#   1. check and compile every example to SPIR-V (printing where it went),
#   2. run the whole chain for a few seconds: `sky run` renders one example
#      live into the shared frame file on the Vulkan device (lavapipe when
#      there is no GPU), `sky-driver` streams the frames as DDP to
#      `sky-receive` on loopback, which prints frames/s and LEDs received and
#      checks every frame against the frame file; each part's output carries
#      its name, and every exit status is checked,
#   3. read the frame file as a Python reader sees it,
#   4. write an animated preview GIF,
#   5. end with the studio: `sky run --control` serving the running show and
#      its studio for SKY_STUDIO_SECONDS, with the URL to open printed.
# Environment: SKY_OUT (default out), SKY_FRAME (default /dev/shm/skyscreen-demo),
# SKY_RUN_SECONDS (default 5): how long `sky run` renders; SKY_DDP_OPTIONS (default
# gamma=1): the driver's DDP output options (anything that changes colours makes
# the receiver fail: tests/tools/test_main_job.sh checks that it does).
set -eu
BUILD=${1:-build}
SKY="$BUILD/cli/sky"
DRIVER="$BUILD/driver/sky-driver"
RECEIVE="$BUILD/tools/sky-receive"
OUT=${SKY_OUT:-out}
FRAME=${SKY_FRAME:-/dev/shm/skyscreen-demo}
SECONDS_LIVE=${SKY_RUN_SECONDS:-5}
# The studio at the end: how long it serves (the job still ends by itself) and on which
# port (0: any free one; the URL printed names it).
STUDIO_SECONDS=${SKY_STUDIO_SECONDS:-60}
STUDIO_PORT=${SKY_STUDIO_PORT:-0}
mkdir -p "$OUT/spirv"

echo "== sky check: every example"
"$SKY" check examples/*.sky

echo "== sky compile: every example -> SPIR-V"
for f in examples/*.sky; do
    name=$(basename "$f" .sky)
    "$SKY" compile "$f" --emit spirv -o "$OUT/spirv/$name.spv"
    echo "  $f -> $OUT/spirv/$name.spv ($(wc -c < "$OUT/spirv/$name.spv") bytes)"
done

# ---- the chain: every part in the background, its pid and exit status in $RUN
RUN=$(mktemp -d "${TMPDIR:-/tmp}/sky-main-job.XXXXXX")
cleanup() {
    for pidfile in "$RUN"/*.pid; do
        [ -f "$pidfile" ] || continue
        part=$(basename "$pidfile" .pid)
        [ -f "$RUN/$part.rc" ] || kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME CMD...: runs CMD in the background; each line it prints is
# prefixed with [NAME] (and kept in $RUN/NAME.log); its pid goes to $RUN/NAME.pid, its status to $RUN/NAME.rc.
start() {
    name=$1
    shift
    { "$@" 2>&1 &
      echo $! > "$RUN/$name.pid"
      wait $! && rc=0 || rc=$?
      echo $rc > "$RUN/$name.rc"; } | while IFS= read -r line; do
        printf '[%s] %s\n' "$name" "$line"
        printf '%s\n' "$line" >> "$RUN/$name.log"
    done &
}

# wait_for FILE PART: until FILE exists; fails if PART exited first (progress, not a clock).
wait_for() {
    while [ ! -s "$1" ]; do
        if [ -f "$RUN/$2.rc" ]; then
            echo "main-job: $2 exited (status $(cat "$RUN/$2.rc")) before $1 appeared" >&2
            exit 1
        fi
        sleep 0.1
    done
}

# fail_if_any_failed: exits when a part has already exited with a non-zero status.
fail_if_any_failed() {
    for rcfile in "$RUN"/*.rc; do
        [ -s "$rcfile" ] || continue
        rc=$(cat "$rcfile")
        if [ "$rc" != 0 ]; then
            echo "main-job: $(basename "$rcfile" .rc) failed with status $rc" >&2
            exit 1
        fi
    done
}

# finish PART: waits for PART to exit (failing at once if any part fails meanwhile).
finish() {
    while [ ! -s "$RUN/$1.rc" ]; do
        fail_if_any_failed
        sleep 0.1
    done
    fail_if_any_failed
    echo "== $1: done (status 0)"
}

echo "== the chain for ${SECONDS_LIVE} s: sky run -> $FRAME -> sky-driver -> DDP on loopback -> sky-receive"
start sky-receive "$RECEIVE" --ddp 127.0.0.1:0 --port-file "$RUN/port" --frame "$FRAME" --timeout 300
wait_for "$RUN/port" sky-receive
PORT=$(cat "$RUN/port")
# gamma=1 (brightness 1, no dithering, no power budget are the defaults for DDP):
# the driver passes colours unchanged, so the receiver can compare them with the
# file. --hold 60: the driver keeps sending the last frame, never a fade, until stopped.
start sky-driver "$DRIVER" --frame "$FRAME" --out "ddp://127.0.0.1:$PORT?${SKY_DDP_OPTIONS:-gamma=1}" \
    --stats 1 --hold 60
start "sky run" "$SKY" run examples/plasma.sky --frame "$FRAME" --fps 60 --duration "$SECONDS_LIVE" --stats
finish "sky run"
finish sky-receive # stops once the writer has exited
kill "$(cat "$RUN/sky-driver.pid")"
finish sky-driver

echo "== the frame file, as a Python reader sees it"
# Debian's python3 has python3-numpy; a python3 earlier in PATH (pyenv, venv) may not.
PY=""
for p in python3 /usr/bin/python3; do
    if "$p" -c 'import numpy' 2>/dev/null; then PY=$p; break; fi
done
if [ -z "$PY" ]; then echo "main-job: no python3 with numpy (install python3-numpy)" >&2; exit 1; fi
"$PY" examples/python/read_frame.py "$FRAME"

echo "== sky preview: an animated GIF of examples/aurora.sky"
"$SKY" preview examples/aurora.sky -o "$OUT/aurora.gif" --duration 3 --fps 15
echo "  wrote $OUT/aurora.gif"

echo "== the studio: sky run examples/plasma.sky --control for ${STUDIO_SECONDS} s"
start studio "$SKY" run examples/plasma.sky --frame "$FRAME" --fps 60 \
    --duration "$STUDIO_SECONDS" --control "127.0.0.1:$STUDIO_PORT"
# The URL once the server prints it (progress, not a clock).
url=""
while [ -z "$url" ]; do
    fail_if_any_failed
    if [ -f "$RUN/studio.rc" ]; then
        echo "main-job: the studio's sky run exited before it served" >&2
        exit 1
    fi
    url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$RUN/studio.log" 2>/dev/null | head -n 1 || true)
    sleep 0.1
done
# The page answers (python3 is a dependency already, curl is not).
"$PY" -c 'import sys, urllib.request; r = urllib.request.urlopen(sys.argv[1] + "/", timeout=60); sys.exit(0 if r.status == 200 and b"<html" in r.read().lower() else 1)' "$url" ||
    { echo "main-job: the studio at $url/ did not answer with its page" >&2; exit 1; }
echo "== the studio is serving the running show: open $url/ (for ${STUDIO_SECONDS} s;"
echo "   SKY_STUDIO_SECONDS sets how long, SKY_STUDIO_PORT the port; docs/studio.md)"
finish studio
