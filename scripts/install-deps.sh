#!/bin/sh
# Installs every Debian package Skyscreen needs to build, run and test.
# Idempotent: packages already present are skipped by apt. Uses sudo when not root.
# `--arm64` adds the cross toolchain and qemu for `make test-arm64` and
# `make deb ARCH=arm64` (docs/arm64.md); `make test` does not need them.
set -eu

PACKAGES="
build-essential cmake pkg-config git clang libclang-rt-14-dev clang-format
libvulkan-dev libvulkan-volk-dev mesa-vulkan-drivers vulkan-tools
libshaderc-dev glslang-dev glslang-tools spirv-tools spirv-headers
libcmocka-dev libpng-dev libgif-dev libinih-dev libjson-c-dev
libcivetweb-dev liblo-dev liblo-tools
python3 python3-numpy valgrind procps
nodejs npm chromium chromium-driver
gcc
libzstd-dev zstd
libavformat-dev libavcodec-dev libavutil-dev libswscale-dev ffmpeg
libjpeg62-turbo-dev
vulkan-validationlayers
libsystemd-dev
dpkg-dev adduser
libfftw3-dev libaubio-dev libsndfile1-dev libpulse-dev libasound2-dev
pulseaudio pulseaudio-utils
"
if [ "${1:-}" = "--arm64" ]; then PACKAGES="$PACKAGES crossbuild-essential-arm64 qemu-user"; fi

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

# A Node.js from elsewhere (NodeSource's nodejs bundles npm and conflicts with
# Debian's npm package) serves as well as Debian's: the studio needs node >= 18
# and npm, not a particular package.
node_major=$(node --version 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p')
if [ -n "$node_major" ] && [ "$node_major" -ge 18 ] && command -v npm > /dev/null 2>&1; then
    PACKAGES=$(echo "$PACKAGES" | tr ' ' '\n' | grep -v -x -e nodejs -e npm | tr '\n' ' ')
fi

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    echo "install-deps: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -q --no-install-recommends $missing
else
    echo "install-deps: all packages present"
fi

# The studio's npm packages (CodeMirror, esbuild, playwright-core), pinned by
# studio/package-lock.json; after this the studio builds with no network.
npm ci --prefix "$(cd "$(dirname "$0")/.." && pwd)/studio" --no-audit --no-fund
