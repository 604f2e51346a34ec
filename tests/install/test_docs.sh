#!/bin/sh
# The systemd units' Documentation= and ExecStart= name files that
# `cmake --install` puts there: installs the build into a temporary prefix
# and maps every file:///usr/local/... URI and /usr/local/bin/... program of
# examples/systemd/*.service into it. Also: every docs/*.md is installed.
set -eu
BUILD=$1
SRC=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cmake --install "$BUILD" --prefix "$TMP/prefix" > "$TMP/install.log"
fail=0
checked=0
for unit in "$SRC"/examples/systemd/*.service; do
    name=$(basename "$unit")
    uris=$(sed -n 's/^Documentation=//p' "$unit")
    [ -n "$uris" ] || { echo "FAIL: $name has no Documentation="; fail=1; }
    for uri in $uris; do
        case "$uri" in
        file:///usr/local/*) path=${uri#file:///usr/local/} ;;
        *) echo "FAIL: $name: Documentation=$uri is not a file:///usr/local/ path that cmake --install makes"; fail=1; continue ;;
        esac
        if [ -f "$TMP/prefix/$path" ]; then checked=$((checked + 1)); else
            echo "FAIL: $name: Documentation=$uri: cmake --install does not install $path"; fail=1
        fi
    done
    for prog in $(sed -n 's/^ExecStart\(Pre\)\{0,1\}=\(\/usr\/local\/[^ ]*\).*/\2/p' "$unit"); do
        if [ -x "$TMP/prefix/${prog#/usr/local/}" ]; then checked=$((checked + 1)); else
            echo "FAIL: $name: $prog is not installed"; fail=1
        fi
    done
done
for doc in "$SRC"/docs/*.md; do
    if [ -f "$TMP/prefix/share/doc/skyscreen/$(basename "$doc")" ]; then checked=$((checked + 1)); else
        echo "FAIL: docs/$(basename "$doc") is not installed in share/doc/skyscreen"; fail=1
    fi
done
[ "$fail" -eq 0 ] || exit 1
echo "install_docs: $checked installed files checked, 0 missing"
