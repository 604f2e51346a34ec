#!/bin/sh
# Depends for cross-built packages (make deb ARCH=arm64), where dpkg-shlibdeps
# cannot work: the target's libraries are unpacked in a sysroot
# (scripts/arm64-sysroot.sh), not installed, so dpkg knows nothing of them.
# Does what dpkg-shlibdeps does from shlibs files: every library a binary
# needs (objdump's NEEDED) is looked up in the shlibs control files of the
# packages the sysroot was unpacked from, giving "package (>= version)".
#   deb-arm64-depends.sh SYSROOT_DIR BUILD_DIR > depends.txt
# Output: one line per component, "CLI: dep, dep" (cmake/package.cmake reads it).
set -eu
SYSROOT=$1
BUILD=$2
OBJDUMP=${OBJDUMP:-aarch64-linux-gnu-objdump}

depends_of() {
    sonames=""
    for binary in "$@"; do
        [ -f "$binary" ] || { echo "deb-arm64-depends: $binary is not built" >&2; exit 1; }
        sonames="$sonames $("$OBJDUMP" -p "$binary" | sed -n 's/^ *NEEDED *//p')"
    done
    deps=""
    for soname in $sonames; do
        # libfoo.so.5 -> "libfoo 5"; libfoo-1.2.so -> "libfoo-1.2" (no version)
        case "$soname" in
        *.so.*) name=${soname%%.so.*} version=${soname#*.so.} ;;
        *) name=${soname%.so} version="" ;;
        esac
        line=$(cat "$SYSROOT"/pkgs/*/DEBIAN/shlibs 2> /dev/null |
               awk -v n="$name" -v v="$version" '$1 == n && $2 == v { $1 = ""; $2 = ""; print; exit }')
        if [ -z "$line" ]; then
            echo "deb-arm64-depends: no package in $SYSROOT/pkgs provides $soname (needed by $*)" >&2
            exit 1
        fi
        deps="$deps$(echo "$line" | sed 's/^ *//')
"
    done
    printf '%s' "$deps" | sort -u | paste -sd, - | sed 's/,/, /g'
}

cli=$(depends_of "$BUILD/cli/sky")
driver=$(depends_of "$BUILD/driver/sky-driver")
lib=$(depends_of "$BUILD/compiler/embed/libsky.so")
echo "CLI: $cli"
echo "DRIVER: $driver"
echo "LIB: $lib"
