#!/bin/sh
# arm64 (aarch64-linux-gnu): cross-builds the tree with Debian's cross
# toolchain against an unpacked arm64 sysroot (scripts/arm64-sysroot.sh) and
# runs, under qemu-aarch64 (user mode), the suites that need no GPU: the
# compiler with its CPU evaluator, the frame file and layouts, the driver,
# the control parser, the service notifications, the generated-program and
# fuzz-corpus replays. On arm64 `char` is unsigned and unaligned access rules
# differ, which is what this is for. Its run time: docs/arm64.md.
#   scripts/test-arm64.sh [BUILD_DIR] [SYSROOT_DIR]   (default build-arm64, build-arm64-sysroot)
# Environment: JOBS (default nproc), CTEST_ARGS (more ctest arguments, e.g. -R frame).
# Idempotent: the sysroot and the build are reused and brought up to date.
set -eu
BUILD=${1:-build-arm64}
SYSROOT=${2:-build-arm64-sysroot}
JOBS=${JOBS:-$(nproc 2> /dev/null || echo 2)}
cd "$(dirname "$0")/.."

start=$(date +%s)
./scripts/arm64-sysroot.sh "$SYSROOT"
launcher=""
if command -v ccache > /dev/null 2>&1; then
    launcher="-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
fi
mkdir -p "$BUILD"
# shellcheck disable=SC2086
cmake -S . -B "$BUILD" -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchain-aarch64-linux-gnu.cmake" \
    -DSKY_ARM64_SYSROOT="$(realpath "$SYSROOT")/root" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSKY_BUILD_BENCH=OFF $launcher > "$BUILD/configure.log" 2>&1 ||
    { cat "$BUILD/configure.log"; exit 1; }
cmake --build "$BUILD" -j "$JOBS"
built=$(date +%s)
file "$BUILD/cli/sky" | grep -q "ARM aarch64" || { echo "test-arm64: $BUILD/cli/sky is not an arm64 binary" >&2; exit 1; }

# Without binfmt_misc (containers), only tests whose command is a test
# program get qemu in front (CMAKE_CROSSCOMPILING_EMULATOR); tests that are
# scripts, or programs that start `sky` or `sky-driver` as child processes,
# need the kernel to run arm64 binaries. With binfmt (qemu-user-static's
# registration) they run too; without it they are left out by name.
# install_embed builds with the host's compiler against the installed tree: never here.
# test_cpu_backend, test_gen_cpu: the CPU backend compiles each kernel with `cc`, which here is the
# host's x86-64 compiler (an aarch64 cross gcc refuses -march=native), so the arm64
# test cannot load what it builds; it runs on a real arm64 machine.
EXCLUDE_LABELS="gpu|valgrind|install|soak"
EXCLUDE_TESTS="install_embed|test_cpu_backend|test_gen_cpu"
if [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    export QEMU_LD_PREFIX="$(realpath "$SYSROOT")/root"
    echo "test-arm64: binfmt_misc runs arm64 binaries: every non-GPU suite"
else
    # Each of these runs an arm64 binary as a child process or from a script.
    EXCLUDE_TESTS="$EXCLUDE_TESTS|cli_version|cli_options|cli_preview_cpu|layout_example_maps|cli_params"
    EXCLUDE_TESTS="$EXCLUDE_TESTS|control_server|cli_control_options|test_read_frame_py|test_frame_procs"
    EXCLUDE_TESTS="$EXCLUDE_TESTS|test_diagnostics_update_is_not_a_pass|driver_faults|service_notify_driver"
    EXCLUDE_TESTS="$EXCLUDE_TESTS|test_audio_cli|cli_play|cli_render_cpu|cli_preview_video|cli_pictures"
    EXCLUDE_TESTS="$EXCLUDE_TESTS|cli_pictures_fade_cpu"
    PULSE_LACKS="test_sky_run_hears_the_monitor"
    echo "test-arm64: no binfmt_misc for aarch64: tests that start arm64 programs as children are left out"
fi
# Suites run below one test at a time, each without the tests it cannot run
# here. driver_outputs: qemu-user (7.2) itself lacks two socket options,
# SO_TIMESTAMPNS (ENOPROTOOPT: test_pacing_spreads_a_frame) and an
# IP_ADD_MEMBERSHIP with struct ip_mreqn (ENODEV: the multicast test).
# test_audio_pulse: without binfmt_misc, its last test's child `sky run`
# cannot start (the rest talk to the host's PulseAudio daemon, which is fine).
QEMU_LACKS="test_pacing_spreads_a_frame test_sacn_multicast_on_private_loopback"
PULSE_LACKS=${PULSE_LACKS:-}
# shellcheck disable=SC2086
(cd "$BUILD" && ctest --output-on-failure --no-tests=error -j "$JOBS" -LE "$EXCLUDE_LABELS" \
    -E "^($EXCLUDE_TESTS|driver_outputs|test_audio_pulse)\$" ${CTEST_ARGS:-})

QEMU="qemu-aarch64 -L $(realpath "$SYSROOT")/root"
# one_by_one NAME PROGRAM SOURCE LEFT_OUT MIN: each test named in SOURCE's
# cmocka_unit_test*() list, except LEFT_OUT, as its own run of PROGRAM (which
# takes a test name as its argument); at least MIN must run.
one_by_one() {
    ran=0
    for t in $(sed -n 's/^ *cmocka_unit_test[a-z_]*(\(test_[a-z0-9_]*\).*$/\1/p' "$3"); do
        case " $4 " in *" $t "*) continue ;; esac
        log="$BUILD/$1.$t.log"
        # A filter that matched nothing would pass: each run must report its one test passed.
        if ! $QEMU "$BUILD/$2" "$t" > "$log" 2>&1 || ! grep -q "PASSED  \] 1 test" "$log"; then
            cat "$log"
            echo "test-arm64: $1 $t FAILED" >&2
            exit 1
        fi
        ran=$((ran + 1))
    done
    [ "$ran" -ge "$5" ] || { echo "test-arm64: found only $ran tests of $1 in $3" >&2; exit 1; }
    echo "test-arm64: $1: $ran tests passed (left out here: ${4:-none})"
}
one_by_one driver_outputs tests/driver/test_driver_outputs tests/driver/test_outputs.c "$QEMU_LACKS" 10
# What ctest would set for it (tests/audio/CMakeLists.txt).
SKY_CLI="$(realpath "$BUILD")/cli/sky" NO_COLOR=1
export SKY_CLI NO_COLOR
one_by_one test_audio_pulse tests/audio/test_audio_pulse tests/audio/test_audio_pulse.c "$PULSE_LACKS" 5
end=$(date +%s)

# The CPU evaluator end to end, through the arm64 `sky` under qemu: every
# example checked, and previewed on the CPU (no Vulkan device needed).
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
$QEMU "$BUILD/cli/sky" check examples/*.sky
for f in examples/*.sky; do
    $QEMU "$BUILD/cli/sky" preview "$f" --cpu --layout grid:32x16 -o "$OUT/$(basename "$f" .sky).png" > /dev/null
done
echo "test-arm64: sky check and sky preview --cpu of $(ls examples/*.sky | wc -l) examples under qemu"
echo "test-arm64: build $((built - start)) s, tests $((end - built)) s, total $(($(date +%s) - start)) s"
