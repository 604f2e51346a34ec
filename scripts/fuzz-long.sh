#!/bin/sh
# fuzz-long.sh NAME [SECONDS [libFuzzer flags...]] - fuzz one target for longer than CI does.
#
# For a developer (CI runs `make test-fuzz`, 60 s a target). Builds the clang
# fuzz tree if needed, then runs tests/fuzz's target NAME (compile,
# frame_header, driver_config, decoders) for SECONDS (default 600) on a
# corpus kept between runs in $BUILD_FUZZ/long/NAME (seeded from
# tests/fuzz/corpus/NAME and regressions/NAME; never the repository's
# folders). Further arguments go to libFuzzer (e.g. -use_value_profile=1).
# BUILD_FUZZ (default build-fuzz) is the clang tree. A finding lands in
# $BUILD_FUZZ/long/NAME-artifacts/: fix the bug,
# copy the input into tests/fuzz/regressions/NAME/, and list it in
# docs/reliability.md.
set -eu
cd "$(dirname "$0")/.."
name=${1:?usage: fuzz-long.sh NAME [SECONDS [libFuzzer flags...]]}
seconds=${2:-600}
shift $(($# < 2 ? $# : 2))
build=${BUILD_FUZZ:-build-fuzz}
if [ ! -x "$build/tests/fuzz/fuzz_$name" ]; then
    make build-fuzz BUILD_FUZZ="$build"
fi
corpus="$build/long/$name"
artifacts="$build/long/$name-artifacts"
mkdir -p "$corpus" "$artifacts"
cp -n tests/fuzz/corpus/"$name"/* "$corpus/"
if [ -d tests/fuzz/regressions/"$name" ]; then
    find tests/fuzz/regressions/"$name" -maxdepth 1 -type f ! -name '.*' -exec cp -n {} "$corpus/" \;
fi
# A hang is an input over -timeout seconds. The compiler's own work limit
# (4M lowering steps, CHECK_MAX_STEPS in compiler/lower.c) lets a 70-byte pattern of nested
# reductions take ~1 s to compile in the plain build, which is up to 15 s
# here (ASan, compiled twice for the -O0 check): its target gets 30 s.
timeout=10
if [ "$name" = compile ]; then timeout=30; fi
dict=""
if [ -f tests/fuzz/dict/"$name".dict ]; then dict="-dict=tests/fuzz/dict/$name.dict"; fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}${UBSAN_OPTIONS:+:}print_stacktrace=1:halt_on_error=1"
# shellcheck disable=SC2086
exec "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -malloc_limit_mb=2048 -timeout="$timeout" -print_final_stats=1 -artifact_prefix="$artifacts/" \
    $dict "$@" "$corpus"
