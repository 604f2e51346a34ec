#!/bin/sh
# hardware-check.sh - the GPU checks and benchmarks to run on a real device
# (a Raspberry Pi 4 with Mesa's v3dv, an NVIDIA Jetson), from a checkout of
# this repository. docs/hardware.md says what to expect and how to read it.
#
#   scripts/hardware-check.sh [--build DIR] [--out DIR] [--device N|NAME] [--quick]
#
# 1. what the device reports (vulkaninfo: name, driver, the limits and the
#    extension the runtime's choices depend on) and `sky devices`;
# 2. builds the project (RelWithDebInfo) unless DIR already has a build;
# 3. every GPU suite (ctest -L gpu); the runtime's run under the Khronos
#    validation layer with synchronization validation (the plain tree sets
#    SKY_VULKAN_VALIDATE=1 for them) and fail on any message it reports;
# 4. `sky run --validate` into a scratch frame file (the publishing path it
#    takes) and `sky bench --validate` on plasma.sky (no message allowed), then the
#    benchmarks without the layer: bench_fallbacks (each fallback's cost as
#    ratios) and, unless --quick, bench_runtime (throughput, publishing,
#    pacing, show controls).
# Everything goes into OUT (default hw-results-HOST-DATE), one log per step and
# summary.txt; the exit status is 0 only when every step passed.
set -u

BUILD=build-hw
OUT=""
DEVICE=""
QUICK=0
while [ $# -gt 0 ]; do
    case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --device) DEVICE=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "hardware-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ -n "$OUT" ] || OUT="hw-results-$(hostname)-$(date -u +%Y%m%dT%H%MZ)"
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
[ -n "$DEVICE" ] && export SKY_DEVICE="$DEVICE"
unset SKY_DEVICE_PROFILE # the real device, unmasked
failed=0

note() { echo "$*" | tee -a "$SUMMARY"; }

step() { # NAME LOG, then the command; records pass/fail and the time taken
    name=$1
    log=$2
    shift 2
    start=$(date +%s)
    "$@" >"$OUT/$log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    if [ $rc -eq 0 ]; then
        note "ok    $name (${took} s, $log)"
    else
        note "FAIL  $name: exit $rc after ${took} s, see $OUT/$log"
        failed=1
    fi
    return $rc
}

note "hardware-check $(date -u +%Y-%m-%dT%H:%MZ) on $(hostname), $(uname -m), $(nproc) cores"
if [ -r /proc/device-tree/model ]; then note "board: $(tr -d '\0' </proc/device-tree/model)"; fi

# 1. What the device reports.
if command -v vulkaninfo >/dev/null 2>&1; then
    vulkaninfo >"$OUT/vulkaninfo.txt" 2>&1
    grep -E "deviceName|driverName|driverInfo|apiVersion|maxComputeWorkGroupInvocations|maxStorageBufferRange|maxUniformBufferRange|maxTexelBufferElements|minStorageBufferOffsetAlignment|minImportedHostPointerAlignment|VK_EXT_external_memory_host" \
        "$OUT/vulkaninfo.txt" | sed 's/^[[:space:]]*/  /' | sort -u | tee -a "$SUMMARY"
    grep -A3 "maxComputeWorkGroupSize" "$OUT/vulkaninfo.txt" | head -4 | tee -a "$SUMMARY"
else
    note "vulkaninfo not installed (apt install vulkan-tools): limits not recorded"
fi

# 2. Build.
if [ ! -x "$BUILD/cli/sky" ]; then
    step "configure" configure.log cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo ||
        exit 2
    step "build" build.log cmake --build "$BUILD" -j "$(nproc)" || exit 2
fi
SKY="$BUILD/cli/sky"
step "sky devices" devices.txt "$SKY" devices
cat "$OUT/devices.txt" >>"$SUMMARY"

# 3. The GPU suites under the validation layer.
step "GPU suites (ctest -L gpu; the runtime's under validation)" ctest-gpu.log \
    sh -c "cd '$BUILD' && ctest -L gpu --output-on-failure"
grep -E "tests passed|Failed|\*\*\*" "$OUT/ctest-gpu.log" | tee -a "$SUMMARY"

# The publishing path the device takes (zero-copy or copy), from `sky run`'s banner.
step "sky run --validate (publishing path)" run-path.log "$SKY" run "$ROOT/examples/plasma.sky" \
    --frames 30 --fps 0 --frame "$OUT/frame" --validate
grep -E " into |validation layer reported" "$OUT/run-path.log" | tee -a "$SUMMARY"
rm -f "$OUT/frame"

# 4. Benchmarks.
step "sky bench --validate (no validation message)" bench-validate.log \
    "$SKY" bench "$ROOT/examples/plasma.sky" --frames 20 --validate
step "sky bench plasma.sky disc:360x288" bench-plasma.txt \
    "$SKY" bench "$ROOT/examples/plasma.sky" --frames 300
if [ -x "$BUILD/bench/bench_fallbacks" ]; then
    step "bench_fallbacks" bench_fallbacks.md "$BUILD/bench/bench_fallbacks"
    cat "$OUT/bench_fallbacks.md" >>"$SUMMARY"
fi
if [ $QUICK -eq 0 ] && [ -x "$BUILD/bench/bench_runtime" ]; then
    step "bench_runtime" bench_runtime.md "$BUILD/bench/bench_runtime"
fi

note ""
[ $failed -eq 0 ] && note "all steps passed" || note "some steps FAILED"
note "results: $OUT (send summary.txt and the logs with a report)"
exit $failed
