#!/bin/sh
# Installs the build into a temporary prefix, then builds examples/embed
# against it with CMake (find_package(Sky)) and with pkg-config, each against
# libsky.a and libsky.so, and checks that every program compiles a pattern,
# evaluates it and emits SPIR-V. Both libraries must show nothing but sky_*
# (nm), and an embedder defining names libsky uses inside (arena_alloc,
# graph_create) must still link against libsky.a.
set -eu
BUILD=$1
SRC=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cmake --install "$BUILD" --prefix "$TMP/prefix" > "$TMP/install.log"
test -f "$TMP/prefix/include/sky/sky.h"
test -f "$TMP/prefix/lib/pkgconfig/sky.pc" || test -f "$TMP"/prefix/lib/*/pkgconfig/sky.pc
LIBDIR=$(dirname "$(find "$TMP/prefix" -name libsky.a | head -n 1)")

# Only the public API leaves either library.
others=$(nm --defined-only --extern-only "$LIBDIR/libsky.a" | awk 'NF == 3 && $3 !~ /^sky_/')
[ -z "$others" ] || { echo "FAIL: libsky.a exports non-sky_ symbols:"; echo "$others" | head; exit 1; }
others=$(nm -D --defined-only "$LIBDIR/libsky.so" | awk 'NF == 3 && $3 !~ /^sky_/')
[ -z "$others" ] || { echo "FAIL: libsky.so exports non-sky_ symbols:"; echo "$others" | head; exit 1; }
nm -D --defined-only "$LIBDIR/libsky.so" | grep -q ' T sky_compile$' || { echo "FAIL: libsky.so lacks sky_compile"; exit 1; }
soname=$(readelf -d "$LIBDIR/libsky.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ -n "$soname" ] && [ -e "$LIBDIR/$soname" ] || { echo "FAIL: libsky.so has no SONAME, or no $soname installed"; exit 1; }

check_output() {
    out=$("$1")
    echo "$out" | grep -q '^param hue = 0.3$' || { echo "FAIL: $1: no param line"; echo "$out"; exit 1; }
    echo "$out" | grep -q '^led  0:  51 255   0$' || { echo "FAIL: $1: LED 0 is not hsv(0.3, 1, 1)"; echo "$out"; exit 1; }
    echo "$out" | grep -q 'magic 0x07230203' || { echo "FAIL: $1: no SPIR-V"; echo "$out"; exit 1; }
    # a bad pattern must fail with a rendered diagnostic
    if "$1" 'out nope' 2> "$TMP/err"; then echo "FAIL: $1 accepted a bad pattern"; exit 1; fi
    grep -q 'embed.sky:1:5: error' "$TMP/err" || { echo "FAIL: $1: diagnostic missing"; cat "$TMP/err"; exit 1; }
}
# A program linked to libsky.so names it (by its SONAME) among its dependencies.
check_shared() {
    readelf -d "$1" | grep -q "NEEDED.*\[$soname\]" || { echo "FAIL: $1 does not link $soname"; exit 1; }
}

# CMake package
for shared in OFF ON; do
    cmake -S "$SRC/examples/embed" -B "$TMP/cmake-$shared" -DCMAKE_PREFIX_PATH="$TMP/prefix" \
        -DSKY_SHARED=$shared > "$TMP/cfg.log"
    cmake --build "$TMP/cmake-$shared" > "$TMP/build.log"
    check_output "$TMP/cmake-$shared/embed"
done
check_shared "$TMP/cmake-ON/embed"

# pkg-config
PKG_CONFIG_PATH=$(dirname "$(find "$TMP/prefix" -name sky.pc | head -n 1)")
export PKG_CONFIG_PATH
for pkg in sky sky-shared; do
    mkdir -p "$TMP/pc-$pkg"
    make -s -C "$TMP/pc-$pkg" -f "$SRC/examples/embed/Makefile" VPATH="$SRC/examples/embed" PKG=$pkg embed
done
check_output "$TMP/pc-sky/embed"
(LD_LIBRARY_PATH=$LIBDIR; export LD_LIBRARY_PATH; check_output "$TMP/pc-sky-shared/embed")
check_shared "$TMP/pc-sky-shared/embed"

# An embedder with its own arena_alloc and graph_create links against libsky.a.
cat > "$TMP/collide.c" << 'END'
int arena_alloc(void);
int graph_create(void);
int arena_alloc(void) { return 1; }
int graph_create(void) { return 2; }
END
# shellcheck disable=SC2046 # pkg-config's output is meant to split into words
cc -O1 -o "$TMP/collide" "$SRC/examples/embed/embed.c" "$TMP/collide.c" \
    $(pkg-config --cflags --libs sky) -lm 2> "$TMP/collide.log" ||
    { echo "FAIL: an embedder defining arena_alloc and graph_create does not link:"; cat "$TMP/collide.log"; exit 1; }
check_output "$TMP/collide"
echo "install_embed: 5 passed, 0 failed"
