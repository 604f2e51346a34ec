#!/bin/sh
# A soak of the whole pipeline (tests/soak, docs/reliability.md#soak):
# sky run --watch + sky-driver to loopback E1.31 and DDP receivers, with hot
# reloads, writer SIGKILLs and restarts, receiver restarts and driver SIGHUPs,
# checking for torn frames, flat RSS/fds/threads and frame pacing.
#
#   scripts/soak.sh --minutes 30              # the run docs/reliability.md records
#   scripts/soak.sh --minutes 5 --kill-every 60 --hup-every 10
#
# Builds sky, sky-driver and the harness in $BUILD (default build), copies the
# three binaries aside (so a rebuild during a long soak changes nothing under
# it), and runs the harness with pacing enforced. Any other option goes to the
# harness (`sky-soak --help`). The summary goes to stdout and to
# $OUT/soak-summary.txt (OUT defaults to out); the exit status is the harness's.
set -eu

BUILD=${BUILD:-build}
OUT=${OUT:-out}
MINUTES=30
PASS=""
while [ $# -gt 0 ]; do
    case "$1" in
    --minutes)
        [ $# -ge 2 ] || { echo "soak.sh: --minutes needs a value" >&2; exit 2; }
        MINUTES=$2
        shift 2
        ;;
    --build)
        [ $# -ge 2 ] || { echo "soak.sh: --build needs a directory" >&2; exit 2; }
        BUILD=$2
        shift 2
        ;;
    -h | --help)
        sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        PASS="$PASS $1"
        shift
        ;;
    esac
done
case "$MINUTES" in
'' | *[!0-9.]*) echo "soak.sh: --minutes: expected a number, got \`$MINUTES\`" >&2; exit 2 ;;
esac

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" --target sky-cli sky-driver sky-soak -j 2

BIN=$(mktemp -d "${TMPDIR:-/tmp}/sky-soak-bin-XXXXXX")
trap 'rm -rf "$BIN"' EXIT INT TERM
cp "$BUILD/cli/sky" "$BUILD/driver/sky-driver" "$BUILD/tests/soak/sky-soak" "$BIN/"
mkdir -p "$OUT"

echo "soak.sh: $MINUTES minutes; commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'); $(nproc) cores; $(uname -r)"
status=0
# shellcheck disable=SC2086 # PASS is a list of options
"$BIN/sky-soak" --minutes "$MINUTES" --strict-pacing --sky "$BIN/sky" --driver "$BIN/sky-driver" \
    $PASS >"$OUT/soak-summary.txt" || status=$?
cat "$OUT/soak-summary.txt"
exit $status
