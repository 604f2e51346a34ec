#!/bin/sh
# The Debian packages end to end, as a user gets them: builds them (the
# same configure as `make deb`, in a temporary folder), installs them with
# `apt-get install ./*.deb`, checks the skyscreen user, /etc/skyscreen and the
# units, runs the *installed* programs (sky check, sky run --frames 10 and
# sky-driver --check, as the skyscreen user, sharing a frame file), builds a
# program against the installed headers and pkg-config files, then purges
# the packages and checks that every file they installed is gone.
#
# Needs root (apt); without it, or when skyscreen packages or a /usr/bin/sky
# are already on this machine (a developer's own copy, which this must not
# replace or remove), it refuses: exit 77, which ctest reports as skipped,
# with the reason.
#   test_deb.sh SOURCE_DIR
set -eu
SRC=$(realpath "$1")
PACKAGES="sky sky-driver libsky skyscreen-common"
SKIP=77

refuse() {
    echo "install_deb: refusing: $*" >&2
    exit $SKIP
}
[ "$(id -u)" -eq 0 ] || refuse "needs root to install packages (run ctest as root)"
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2> /dev/null || true)
    case "$status" in
    "" | not-installed) ;;
    *) refuse "package $p is already on this machine ($status); remove it first (apt purge $p)" ;;
    esac
done
for f in /usr/bin/sky /usr/bin/sky-driver /etc/skyscreen/driver.ini; do
    [ ! -e "$f" ] || refuse "$f exists (not from these packages); it would be overwritten"
done

TMP=$(mktemp -d /tmp/sky-deb-XXXXXX)
chmod 0755 "$TMP"
installed=0
user_before=0
getent passwd skyscreen > /dev/null && user_before=1
cleanup() {
    if [ "$installed" -eq 1 ]; then
        echo "install_deb: cleaning up: purging the packages" >&2
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $PACKAGES > /dev/null 2>&1 || true
    fi
    if [ "$user_before" -eq 0 ] && getent passwd skyscreen > /dev/null; then
        userdel skyscreen 2> /dev/null || true
        groupdel skyscreen 2> /dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() {
    echo "install_deb: FAIL: $*" >&2
    exit 1
}

echo "== building the packages (in $TMP/build)"
launcher=""
if command -v ccache > /dev/null 2>&1; then
    launcher="-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
fi
# shellcheck disable=SC2086
cmake -S "$SRC" -B "$TMP/build" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSKY_BUILD_TESTS=OFF -DSKY_BUILD_BENCH=OFF $launcher > "$TMP/configure.log" 2>&1 ||
    { cat "$TMP/configure.log"; fail "configure"; }
cmake --build "$TMP/build" -j "$(nproc)" > "$TMP/build.log" 2>&1 || { tail -50 "$TMP/build.log"; fail "build"; }
(cd "$TMP/build" && cpack -B "$TMP/dist" > "$TMP/cpack.log" 2>&1) || { cat "$TMP/cpack.log"; fail "cpack"; }
debs=$(ls "$TMP"/dist/*.deb)
[ "$(echo "$debs" | wc -l)" -eq 4 ] || fail "expected 4 packages, got: $debs"
for d in $debs; do echo "   $(basename "$d"): Depends: $(dpkg-deb -f "$d" Depends)"; done
dpkg-deb -f "$TMP"/dist/sky_*.deb Depends | grep -q libvulkan1 || fail "sky does not depend on libvulkan1"
dpkg-deb -f "$TMP"/dist/sky_*.deb Depends | grep -q "skyscreen-common (= " || fail "sky does not depend on skyscreen-common"

echo "== apt-get install ./*.deb"
installed=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $debs > "$TMP/apt.log" 2>&1 ||
    { cat "$TMP/apt.log"; fail "apt-get install"; }
for p in $PACKAGES; do
    dpkg-query -W -f='${db:Status-Status}' "$p" | grep -qx installed || fail "$p is not installed"
    dpkg -L "$p" > "$TMP/files-$p"
done

echo "== the skyscreen user, /etc/skyscreen and the units"
getent passwd skyscreen > /dev/null || fail "no skyscreen user after install"
uid=$(id -u skyscreen)
[ "$uid" -lt 1000 ] || fail "skyscreen is not a system user (uid $uid): logind's RemoveIPC would delete the frame file"
[ "$(stat -c '%U:%G %a' /etc/skyscreen)" = "root:root 755" ] ||
    fail "/etc/skyscreen is $(stat -c '%U:%G %a' /etc/skyscreen), not root:root 755"
for unit in sky-run sky-driver; do
    f=/usr/lib/systemd/system/$unit.service
    [ -f "$f" ] || fail "$f is not installed"
    ! grep -q /usr/local "$f" || fail "$f still names /usr/local"
    for prog in $(sed -n 's/^ExecStart\(Pre\)\{0,1\}=\([^ ]*\).*/\2/p' "$f"); do
        [ -x "$prog" ] || fail "$unit: $prog is not installed"
    done
    for uri in $(sed -n 's/^Documentation=file:\/\///p' "$f"); do
        [ -f "/$uri" ] || fail "$unit: Documentation $uri is not installed"
    done
done
[ -f /usr/share/skyscreen/examples/plasma.sky ] || fail "the examples are not in /usr/share/skyscreen/examples"

echo "== the installed programs, as the skyscreen user"
run_as() { runuser -u skyscreen -- env HOME="$TMP/home" XDG_CACHE_HOME="$TMP/home/cache" "$@"; }
mkdir -p "$TMP/home" "$TMP/show"
chown skyscreen:skyscreen "$TMP/home" "$TMP/show"
frame="$TMP/show/frame"
run_as /usr/bin/sky check /usr/share/skyscreen/examples/*.sky || fail "sky check"
run_as /usr/bin/sky run /usr/share/skyscreen/examples/plasma.sky --layout grid:32x8 \
    --frame "$frame" --frames 10 --stats 600 > "$TMP/run.log" 2>&1 || { cat "$TMP/run.log"; fail "sky run --frames 10"; }
cat "$TMP/run.log"
# --stats: the closing stats line ends with the frame count.
grep -q "| frame 10\$" "$TMP/run.log" || fail "sky run did not report 10 frames"
[ -f "$frame" ] || fail "sky run left no frame file"
[ "$(stat -c %a "$frame")" = 600 ] || fail "the frame file is mode $(stat -c %a "$frame"), not 600"
run_as /usr/bin/sky-driver --check --out null:// --frame "$frame" > "$TMP/check.log" 2>&1 ||
    { cat "$TMP/check.log"; fail "sky-driver --check"; }
cat "$TMP/check.log"
grep -q "not there yet" "$TMP/check.log" && fail "sky-driver --check did not see the frame file"

echo "== a program against the installed libraries (pkg-config sky-runtime, sky-frame)"
cat > "$TMP/embed.c" << 'EOF'
#include <stdio.h>
#include <string.h>
#include "sky/frame.h"
#include "sky/runtime.h"
#include "sky/sky.h"
int main(int argc, char **argv) {
    (void)argc;
    char error[256] = "";
    sky_frame_writer_options wo;
    memset(&wo, 0, sizeof wo);
    wo.path = argv[1];
    wo.led_count = 8;
    sky_frame_writer *w = NULL;
    if (sky_frame_writer_create(&wo, &w, error, sizeof error) != SKY_OK) {
        fprintf(stderr, "writer: %s\n", error);
        return 1;
    }
    sky_frame_reader *r = NULL;
    sky_status st = sky_frame_reader_open(argv[1], &r, error, sizeof error);
    if (st != SKY_OK) {
        fprintf(stderr, "reader: %s\n", error);
        return 1;
    }
    printf("libsky %s, frame file of %u LEDs\n", sky_version(), sky_frame_reader_info(r)->led_count);
    sky_frame_reader_free(r);
    sky_frame_writer_free(w);
    return 0;
}
EOF
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -Wall -Werror "$TMP/embed.c" -o "$TMP/embed" $(pkg-config --cflags --libs sky-runtime) ||
    fail "building against the installed sky-runtime, sky-frame and sky-shared"
"$TMP/embed" "$TMP/embed-frame" | tee "$TMP/embed.log"
grep -q "of 8 LEDs" "$TMP/embed.log" || fail "the embedded frame writer and reader"

echo "== apt-get purge"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $PACKAGES > "$TMP/purge.log" 2>&1 ||
    { cat "$TMP/purge.log"; fail "apt-get purge"; }
installed=0
left=0
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2> /dev/null || true)
    case "$status" in "" | not-installed) ;; *) fail "$p is still known to dpkg after purge ($status)" ;; esac
    while IFS= read -r path; do
        if [ -f "$path" ] || [ -L "$path" ]; then
            echo "install_deb: left behind by $p: $path" >&2
            left=$((left + 1))
        fi
    done < "$TMP/files-$p"
done
[ "$left" -eq 0 ] || fail "$left files left behind after purge"
for d in /etc/skyscreen /var/cache/skyscreen /usr/share/skyscreen /usr/share/doc/skyscreen /usr/include/sky; do
    [ ! -e "$d" ] || fail "$d left behind after purge"
done
# The user stays (Debian's policy for system users: docs/deploy-pi.md, "Removing").
getent passwd skyscreen > /dev/null || fail "purge removed the skyscreen user, which the documented policy keeps"
echo "install_deb: 4 packages built, installed, run and purged; $(cat "$TMP"/files-* | wc -l) paths gone"
