#!/bin/sh
# The README's main job, run by `make run` after the build:
#   1. check and compile every example to SPIR-V (printing where it went),
#   2. render one example live through the shared frame file for a few seconds
#      on the Vulkan device (lavapipe when there is no GPU), printing the frame rate,
#      while a reader follows the frames,
#   3. write an animated preview GIF.
set -eu
BUILD=${1:-build}
SKY="$BUILD/cli/sky"
OUT=${SKY_OUT:-out}
mkdir -p "$OUT/spirv"

echo "== sky check: every example"
"$SKY" check examples/*.sky

echo "== sky compile: every example -> SPIR-V"
for f in examples/*.sky; do
    name=$(basename "$f" .sky)
    "$SKY" compile "$f" --emit spirv -o "$OUT/spirv/$name.spv"
    echo "  $f -> $OUT/spirv/$name.spv ($(wc -c < "$OUT/spirv/$name.spv") bytes)"
done

FRAME=${SKY_FRAME:-/dev/shm/skyscreen-demo}
echo "== sky run: examples/plasma.sky on disc:360x288 for 5 s into $FRAME"
"$SKY" run examples/plasma.sky --frame "$FRAME" --fps 60 --duration 5 --stats

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
