#!/usr/bin/env bash
# Shared set-up for demo.sh and test.sh: installs missing Debian packages (non-interactive,
# only when missing), configures build/ once, and builds. Safe to run again: it does only
# what is not yet done. Under CI (CI=true) warnings are errors (-Dwerror=true).
# clang-format-19 is the one version tools/check_format.sh accepts (versions differ in layout).
# libhiredis-dev and libssl-dev build the cache's Redis tier; redis-server is for its tests
# (they start their own servers; the package's service is not needed and not started here);
# chromium opens kiln-report's pages headless in a test (console errors, a screenshot).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packages=(g++ pkg-config meson ninja-build llvm-19-dev libfmt-dev nlohmann-json3-dev doctest-dev libxxhash-dev
          clang-format-19 graphviz libhiredis-dev libssl-dev redis-server chromium)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "kiln: installing Debian packages: ${missing[*]}"
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq < /dev/null
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" < /dev/null
fi

werror=()
[ "${CI:-}" = "true" ] && werror=(-Dwerror=true)
if [ ! -f "$root/build/build.ninja" ]; then
  meson setup "$root/build" --native-file "$root/tools/meson/native.ini" "${werror[@]}"
elif ((${#werror[@]})) && [[ $(meson introspect "$root/build" --buildoptions) != \
                               *'"name": "werror", "value": true'* ]]; then
  meson configure "$root/build" "${werror[@]}"
fi
ninja -C "$root/build" -j"${KILN_BUILD_JOBS:-2}"
