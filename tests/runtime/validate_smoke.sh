#!/bin/sh
# validate_smoke.sh SKY SOURCE_DIR - `sky run`, `sky preview` and `sky bench` end to end
# under the Vulkan validation layer (--validate): each must exit 0, say the layer
# reported 0 messages, and print no validation message (its build processes included,
# whose messages reach the same stderr). The run covers the zero-copy and copy paths'
# frames, the post pass (brightness below 1) and a crossfade between two patterns.
set -u
SKY=$1
SRC=$2
DIR=$(mktemp -d "${TMPDIR:-/tmp}/sky-validate-smoke.XXXXXX") || exit 1
trap 'rm -rf "$DIR"' EXIT
failed=0

check() { # NAME, then the command
    name=$1
    shift
    "$@" >"$DIR/out" 2>"$DIR/err"
    rc=$?
    if [ $rc -ne 0 ] || grep -q "^sky: Vulkan validation" "$DIR/err" ||
        ! grep -q "validation layer reported 0 messages" "$DIR/err"; then
        echo "FAIL $name (exit $rc):"
        cat "$DIR/err"
        failed=1
    else
        echo "ok   $name"
    fi
}

check "sky run (playlist, crossfade, dimmed)" "$SKY" run "$SRC/examples/plasma.sky" \
    "$SRC/examples/aurora.sky" --each 0.2 --crossfade 0.1 --brightness 0.6 --fps 60 \
    --frames 40 --layout disc:12x10 --frame "$DIR/frame" --validate
check "sky run (copy path)" env SKY_DEVICE_PROFILE=rpi4 "$SKY" run "$SRC/examples/plasma.sky" \
    --frames 10 --fps 0 --layout grid:9x7 --frame "$DIR/frame2" --validate
check "sky preview" "$SKY" preview "$SRC/examples/plasma.sky" -o "$DIR/p.png" \
    --layout grid:9x7 --validate
check "sky bench" "$SKY" bench "$SRC/examples/plasma.sky" --frames 5 --layout disc:12x10 \
    --validate
exit $failed
