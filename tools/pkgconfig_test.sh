#!/usr/bin/env bash
# Builds the README's example (examples/hello.cpp) the way a user does, once against each
# pkg-config file: kiln.pc after `meson install` into a temporary folder, and
# kiln-uninstalled.pc straight from the build folder. Runs each program and checks its last
# line (softmax rows sum to 1), and the installed kiln-opt's --version.
# Usage: tools/pkgconfig_test.sh BUILD_DIR HELLO_CPP   (the meson test `pkgconfig` runs it)
set -euo pipefail
build=$(cd "$1" && pwd)
hello=$2
cxx=${CXX:-c++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# build_and_run NAME: compile hello.cpp with `pkg-config NAME`, run it, check its output.
build_and_run() {
  local name=$1 flags
  flags=$(pkg-config --cflags --libs "$name")
  echo "pkgconfig_test: $cxx -std=c++20 hello.cpp $flags"
  # shellcheck disable=SC2086  # the flags are words
  "$cxx" -std=c++20 -O1 "$hello" $flags -o "$tmp/hello-$name"
  local out
  out=$("$tmp/hello-$name")
  if [ "$(tail -n 1 <<< "$out")" != 1 ]; then
    echo "pkgconfig_test: $name: expected the last line to be 1, got:"$'\n'"$out" >&2
    exit 1
  fi
  echo "pkgconfig_test: $name: ok"
}

# 1. Installed: meson install into $tmp/root, then point pkg-config's prefix there.
meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/root" > "$tmp/install.log"
pc=$(find "$tmp/root" -name kiln.pc -print -quit)
[ -n "$pc" ] || { echo "pkgconfig_test: meson install wrote no kiln.pc" >&2; exit 1; }
prefix=$(pkg-config --variable=prefix "$pc")
opt=$tmp/root$prefix/bin/kiln-opt
[ -x "$opt" ] || { echo "pkgconfig_test: meson install did not install $prefix/bin/kiln-opt" >&2; exit 1; }
"$opt" --version
# The .pc file names the real prefix; --define-variable moves it into the temporary root.
export PKG_CONFIG_PATH=$(dirname "$pc")
pkg_config=$(command -v pkg-config)
pkg-config() { "$pkg_config" --define-variable=prefix="$tmp/root$prefix" "$@"; }
build_and_run kiln
unset -f pkg-config

# 2. Uninstalled: the build folder as it is.
PKG_CONFIG_PATH=$build/meson-uninstalled
build_and_run kiln-uninstalled
