#!/bin/sh
# Builds the arm64 (aarch64-linux-gnu) library tree the cross build links
# against and qemu-aarch64 runs from: Debian 12's :arm64 packages, downloaded
# with apt and unpacked into DIR (default build-arm64-sysroot), never installed.
#
# Why not `apt-get install foo:arm64`: spirv-tools and liblo-dev are not
# Multi-Arch: same, so installing their :arm64 builds removes the amd64 ones
# (and glslang-dev, libshaderc-dev with them), breaking this machine's own
# build. Unpacked here, nothing installed changes. Each package keeps its
# control files in DIR/pkgs/NAME/DEBIAN (shlibs: scripts/deb-arm64-depends.sh
# maps the binaries' libraries to Debian package names from them).
#
# Idempotent: adds the arm64 architecture and runs apt-get update only when
# arm64 is not yet known, downloads only packages not yet unpacked.
set -eu
DIR=$(realpath -m "${1:-build-arm64-sysroot}")
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

# The build's libraries (the cli's, the driver's, the tests'); their run-time
# libraries and libc come with the recursion below. libvulkan-dev, volk: headers only
# (the loader is opened at run time), and it would pull an arm64 python3.
DEV="libjson-c-dev libinih-dev libcmocka-dev libpng-dev libgif-dev libcivetweb-dev
liblo-dev libsystemd-dev libshaderc-dev glslang-dev spirv-tools libvulkan-volk-dev
libfftw3-dev libaubio-dev libsndfile1-dev libpulse-dev libasound2-dev
libzstd-dev libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libjpeg62-turbo-dev
libc6-dev libstdc++6 libgcc-s1"
# Needed at run time only: alsa-lib's PulseAudio hook. On a machine with
# PulseAudio, /etc/alsa/conf.d/99-pulse.conf has alsa-lib load it from its
# own plugin directory whenever the configuration is read, and qemu finds the
# arm64 one only here (test_audio_alsa's first open failed without it).
RUN_ONLY="libasound2-plugins"
HEADERS_ONLY="libvulkan-dev libvulkan-volk-dev"
# Packages the recursion names that a library tree does not need.
SKIP='^(python3.*|perl.*|debconf.*|dpkg|install-info|libpython.*|tzdata|media-types|readline-common|mime-support|libvulkan1|lsb-base|sensible-utils|gcc-12-base|libcrypt-dev|libnsl-dev|libtirpc-dev|rpcsvc-proto|linux-libc-dev|spirv-headers)$'

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
    $SUDO apt-get update -q
elif ! apt-cache show libc6:arm64 > /dev/null 2>&1; then
    $SUDO apt-get update -q
fi

mkdir -p "$DIR/debs" "$DIR/pkgs" "$DIR/root"
list=$(for p in $DEV $RUN_ONLY; do echo "$p:arm64"; done)
names=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
            --no-replaces --no-enhances $list |
        sed -n 's/^\([a-z0-9][a-z0-9.+-]*\)\(:arm64\)\{0,1\}$/\1/p' | sort -u |
        grep -Ev "$SKIP") || true
# Headers from these, plus the arm64 crt files, headers and libc for the
# compiler (libc6-dev, linux-libc-dev: the cross toolchain's are the same).
names="$names $HEADERS_ONLY linux-libc-dev libcrypt-dev"
cd "$DIR/debs"
for n in $names; do
    [ -d "$DIR/pkgs/$n" ] && continue
    # Arch: all packages (volk, headers) have no :arm64 build; ask for either.
    apt-get download -q "$n:arm64" > /dev/null 2>&1 || apt-get download -q "$n" > /dev/null
    deb=$(ls -t "${n}"_*.deb | head -n 1)
    dpkg-deb -R "$deb" "$DIR/pkgs/$n.tmp"
    mv "$DIR/pkgs/$n.tmp" "$DIR/pkgs/$n"
done
# One merged tree (the sysroot qemu -L takes), rebuilt only when the set of
# packages changed, beside the old one and swapped in: a program running
# from the old tree (a test under qemu, a build) keeps its mapped libraries,
# where copying over them in place would crash it (SIGBUS).
wanted=$(ls "$DIR/pkgs" | grep -v '\.tmp$')
if [ ! -f "$DIR/root/.packages" ] || [ "$(cat "$DIR/root/.packages")" != "$wanted" ]; then
    rm -rf "$DIR/root.new"
    mkdir -p "$DIR/root.new"
    for p in "$DIR"/pkgs/*/; do
        cp -a "$p." "$DIR/root.new/"
    done
    rm -rf "$DIR/root.new/DEBIAN"
    echo "$wanted" > "$DIR/root.new/.packages"
    rm -rf "$DIR/root.old"
    [ ! -d "$DIR/root" ] || mv "$DIR/root" "$DIR/root.old"
    mv "$DIR/root.new" "$DIR/root"
    rm -rf "$DIR/root.old"
fi
echo "arm64-sysroot: $(ls "$DIR/pkgs" | wc -l) packages unpacked in $DIR/root"
