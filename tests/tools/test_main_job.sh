#!/bin/sh
# test_main_job.sh BUILD - runs scripts/main-job.sh end to end in a temporary
# folder (2 s of live rendering) and checks that every part of the chain ran
# and sky-receive found the driver's frames equal to the frame file's, and
# that it ends with the studio answering at the URL it prints; then
# runs it again with the driver applying gamma 2.2, which must fail the job at
# the receiver (so the check is known to catch changed colours).
# Run from the source root (ctest sets the working directory).
set -eu
BUILD=$1
DIR=$(mktemp -d "${TMPDIR:-/tmp}/sky-test-main-job.XXXXXX")
trap 'rm -rf "$DIR"' EXIT

fail() {
    echo "test_main_job: FAIL: $*" >&2
    exit 1
}

expect_line() { # expect_line LOG TEXT: LOG has a line containing TEXT
    grep -qF -- "$2" "$1" || fail "no line with \`$2\` in the output above"
}

echo "== the main job"
if SKY_OUT="$DIR/out" SKY_FRAME="$DIR/frame" SKY_RUN_SECONDS=2 SKY_STUDIO_SECONDS=3 \
    sh scripts/main-job.sh "$BUILD" > "$DIR/ok.log" 2>&1; then
    cat "$DIR/ok.log"
else
    cat "$DIR/ok.log"
    fail "the main job failed"
fi
expect_line "$DIR/ok.log" "[sky run] sky run: examples/plasma.sky"
expect_line "$DIR/ok.log" "[sky-driver] sky-driver: sending at"
expect_line "$DIR/ok.log" "[sky-receive] sky-receive: reading $DIR/frame"
expect_line "$DIR/ok.log" "frames/s"
expect_line "$DIR/ok.log" "[sky-receive] sky-receive: ok:"
expect_line "$DIR/ok.log" "== sky-driver: done (status 0)"
expect_line "$DIR/ok.log" "wrote $DIR/out/aurora.gif"
[ -s "$DIR/out/aurora.gif" ] || fail "no preview GIF"
expect_line "$DIR/ok.log" "== the studio is serving the running show: open http://127.0.0.1:"
expect_line "$DIR/ok.log" "== studio: done (status 0)"

echo "== the main job with a driver that applies gamma 2.2: must fail at sky-receive"
rm -rf "$DIR/out"
if SKY_OUT="$DIR/out" SKY_FRAME="$DIR/frame" SKY_RUN_SECONDS=2 SKY_DDP_OPTIONS=gamma=2.2 \
    sh scripts/main-job.sh "$BUILD" > "$DIR/bad.log" 2>&1; then
    cat "$DIR/bad.log"
    fail "the main job passed although the driver changed every colour"
fi
cat "$DIR/bad.log"
expect_line "$DIR/bad.log" "sky-receive: FAIL: no received frame equals a frame of the file"
expect_line "$DIR/bad.log" "main-job: sky-receive failed with status 1"
echo "test_main_job: ok"
