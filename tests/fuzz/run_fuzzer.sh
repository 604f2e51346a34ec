#!/bin/sh
# run_fuzzer.sh FUZZER NAME SRC_DIR WORK_DIR SECONDS [EXTRA libFuzzer flags...]
#
# Runs one libFuzzer target for a bounded time, for `make test-fuzz` (ctest
# label "fuzz-run"), starting from a COPY of its seed corpus and its
# regressions (so CI never modifies the repository's corpus). Fails when
# libFuzzer finds a crash, a leak, a timeout or an out-of-memory input, and
# then prints the input as hex with its path, ready to be fixed and kept in
# tests/fuzz/regressions/NAME/. On success prints the execution count.
set -eu
fuzzer=$1 name=$2 src=$3 work=$4/$2 seconds=$5
shift 5

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$src/corpus/$name"/* "$work/corpus/"
if [ -d "$src/regressions/$name" ]; then
    find "$src/regressions/$name" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$work/corpus/" \;
fi
# A hang is an input over -timeout seconds. The compiler's own work limit
# (4M lowering steps, CHECK_MAX_STEPS in compiler/lower.c) lets a 70-byte pattern of nested
# reductions take ~1 s to compile in the plain build, which is up to 15 s
# here (ASan, compiled twice for the -O0 check): its target gets 30 s.
timeout=10
if [ "$name" = compile ]; then timeout=30; fi
dict=""
if [ -f "$src/dict/$name.dict" ]; then dict="-dict=$src/dict/$name.dict"; fi

# Leaks are findings too; symbolized stacks so the log says where.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}${UBSAN_OPTIONS:+:}print_stacktrace=1:halt_on_error=1"

status=0
# shellcheck disable=SC2086
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout="$timeout" \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" $dict "$@" "$work/corpus" \
    >"$work/log" 2>&1 || status=$?

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
slowest=$(sed -n 's/^stat::slowest_unit_time_sec: *//p' "$work/log" | tail -n 1)
# slow-unit-* files are libFuzzer's notes (an input over 10 s is already a
# timeout- failure); crash-, leak-, timeout- and oom- files are findings.
for f in $(find "$work/artifacts" -type f -name 'slow-unit-*' | sort); do
    echo "fuzz $name: note: slow input (${slowest:-?} s): $f"
done
found=$(find "$work/artifacts" -type f ! -name 'slow-unit-*' | sort)
if [ "$status" -ne 0 ] || [ -n "$found" ]; then
    tail -n 80 "$work/log"
    echo "fuzz $name: FAILED (libFuzzer exit status $status) after ${runs:-?} executions"
    for f in $found; do
        echo "fuzz $name: input that failed: $f ($(wc -c <"$f") bytes), as hex:"
        od -A x -t x1z -v "$f" | head -n 64
        echo "fuzz $name: replay with: $fuzzer $f ; once fixed, keep it:"
        echo "    cp $f $src/regressions/$name/"
    done
    exit 1
fi
echo "fuzz $name: ${runs:-?} executions in ${seconds} s, no crash, leak or timeout" \
     "(corpus $(find "$work/corpus" -type f | wc -l) inputs, slowest ${slowest:-?} s)" |
    tee "$work/summary"
