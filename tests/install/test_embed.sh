#!/bin/sh
# Installs the build into a temporary prefix, then builds examples/embed
# against it twice -- with CMake (find_package(Sky)) and with pkg-config --
# and checks that both programs compile a pattern, evaluate it and emit SPIR-V.
set -eu
BUILD=$1
SRC=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cmake --install "$BUILD" --prefix "$TMP/prefix" > "$TMP/install.log"
test -f "$TMP/prefix/include/sky/sky.h"
test -f "$TMP/prefix/lib/pkgconfig/sky.pc" || test -f "$TMP"/prefix/lib/*/pkgconfig/sky.pc

check_output() {
    out=$("$1")
    echo "$out" | grep -q '^param hue = 0.3$' || { echo "FAIL: $1: no param line"; echo "$out"; exit 1; }
    echo "$out" | grep -q '^led  0:  51 255   0$' || { echo "FAIL: $1: LED 0 is not hsv(0.3, 1, 1)"; echo "$out"; exit 1; }
    echo "$out" | grep -q 'magic 0x07230203' || { echo "FAIL: $1: no SPIR-V"; echo "$out"; exit 1; }
    # a bad pattern must fail with a rendered diagnostic
    if "$1" 'out nope' 2> "$TMP/err"; then echo "FAIL: $1 accepted a bad pattern"; exit 1; fi
    grep -q 'embed.sky:1:5: error' "$TMP/err" || { echo "FAIL: $1: diagnostic missing"; cat "$TMP/err"; exit 1; }
}

# CMake package
cmake -S "$SRC/examples/embed" -B "$TMP/cmake-build" -DCMAKE_PREFIX_PATH="$TMP/prefix" > "$TMP/cfg.log"
cmake --build "$TMP/cmake-build" > "$TMP/build.log"
check_output "$TMP/cmake-build/embed"

# pkg-config
PKG_CONFIG_PATH=$(dirname "$(find "$TMP/prefix" -name sky.pc | head -n 1)")
export PKG_CONFIG_PATH
mkdir -p "$TMP/pc-build"
make -s -C "$TMP/pc-build" -f "$SRC/examples/embed/Makefile" VPATH="$SRC/examples/embed" embed
check_output "$TMP/pc-build/embed"
echo "install_embed: 2 passed, 0 failed"
