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
# shellcheck disable=SC2086
cmake -S . -B "$BUILD" -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchain-aarch64-linux-gnu.cmake" \
    -DSKY_ARM64_SYSROOT="$(realpath "$SYSROOT")/root" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSKY_BUILD_BENCH=OFF $launcher > "$BUILD.configure.log" 2>&1 ||
    { cat "$BUILD.configure.log"; exit 1; }
cmake --build "$BUILD" -j "$JOBS"
built=$(date +%s)
file "$BUILD/cli/sky" | grep -q "ARM aarch64" || { echo "test-arm64: $BUILD/cli/sky is not an arm64 binary" >&2; exit 1; }

# Without binfmt_misc (containers), only tests whose command is a test
# program get qemu in front (CMAKE_CROSSCOMPILING_EMULATOR); tests that are
# scripts, or programs that start `sky` or `sky-driver` as child processes,
# need the kernel to run arm64 binaries. With binfmt (qemu-user-static's
# registration) they run too; without it they are left out by name.
EXCLUDE_LABELS="gpu|valgrind|install|soak"
if [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] ||
   [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64-static ]; then
    export QEMU_LD_PREFIX="$(realpath "$SYSROOT")/root"
    EXCLUDE_TESTS="^$"
    echo "test-arm64: binfmt_misc runs arm64 binaries: every non-GPU suite"
else
    # Each of these runs an arm64 binary as a child process or from a script.
    EXCLUDE_TESTS="^(cli_options|cli_preview_cpu|layout_example_maps|cli_params|control_server|cli_control_options|test_read_frame_py|service_notify_driver|tools_main_job|test_frame_procs)$"
    echo "test-arm64: no binfmt_misc for aarch64: tests that start arm64 programs as children are left out"
fi
# shellcheck disable=SC2086
(cd "$BUILD" && ctest --output-on-failure --no-tests=error -j "$JOBS" -LE "$EXCLUDE_LABELS" \
    -E "$EXCLUDE_TESTS" ${CTEST_ARGS:-})
end=$(date +%s)

# The CPU evaluator end to end, through the arm64 `sky` under qemu: every
# example checked, and previewed on the CPU (no Vulkan device needed).
QEMU="qemu-aarch64 -L $(realpath "$SYSROOT")/root"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
$QEMU "$BUILD/cli/sky" check examples/*.sky
for f in examples/*.sky; do
    $QEMU "$BUILD/cli/sky" preview "$f" --cpu --layout grid:32x16 -o "$OUT/$(basename "$f" .sky).png" > /dev/null
done
echo "test-arm64: sky check and sky preview --cpu of $(ls examples/*.sky | wc -l) examples under qemu"
echo "test-arm64: build $((built - start)) s, tests $((end - built)) s, total $(($(date +%s) - start)) s"
