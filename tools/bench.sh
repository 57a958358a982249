#!/usr/bin/env bash
# The benchmark suite: sets up and builds if needed, then runs kiln-bench over every
# workload at 1 and 2 threads, writing the table to stdout and perf/results/latest.json
# and perf/results/speedups.svg. The chart needs gnuplot (Debian gnuplot-nox), installed
# here when missing; libtorch's column needs libtorch-dev, large, so it is installed only
# with KILN_BENCH_LIBTORCH=1. Either may fail to install (no root, no sudo -n, no network):
# the run goes on without it and says so. Extra arguments go to kiln-bench.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# Installs the Debian packages given, non-interactively as tools/setup.sh does; returns
# nonzero instead of stopping the run when that is not possible here.
install_optional() {
  local as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
  echo "kiln: installing optional Debian packages: $*"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq < /dev/null &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "$@" < /dev/null
}

optional=()
installed gnuplot-nox || command -v gnuplot > /dev/null || optional+=(gnuplot-nox)
# With OpenBLAS: libtorch only recommends it, and under --no-install-recommends Debian's
# reference BLAS would be the baseline's sgemm (about 6 GFLOP/s).
if [ "${KILN_BENCH_LIBTORCH:-0}" = 1 ]; then
  for p in libtorch-dev libopenblas0; do installed "$p" || optional+=("$p"); done
fi
if ((${#optional[@]})) && ! install_optional "${optional[@]}"; then
  echo "kiln: could not install ${optional[*]} (needs root or sudo -n, and apt);" \
    "going on without" >&2
  installed gnuplot-nox || command -v gnuplot > /dev/null || echo "kiln: no gnuplot: no chart" >&2
  [ "${KILN_BENCH_LIBTORCH:-0}" != 1 ] || installed libtorch-dev ||
    echo "kiln: no libtorch-dev: the libtorch column reads n/a" >&2
  [ "${KILN_BENCH_LIBTORCH:-0}" != 1 ] || installed libopenblas0 ||
    echo "kiln: no libopenblas0: libtorch runs on the reference BLAS" >&2
fi

"$root/tools/setup.sh"
# meson looks for libtorch when it configures, so a build configured before libtorch-dev
# was installed is configured again (perf/meson.build's find_library checks run anew).
linked_to_torch() { ldd "$root/build/perf/kiln-bench" 2> /dev/null | grep libtorch > /dev/null; }
if installed libtorch-dev && ! linked_to_torch; then
  echo "kiln: libtorch-dev is installed but build/ was configured without it; reconfiguring"
  meson setup --reconfigure "$root/build" --native-file "$root/tools/meson/native.ini"
  ninja -C "$root/build" -j"${KILN_BUILD_JOBS:-2}"
fi
mkdir -p "$root/perf/results"
exec "$root/build/perf/kiln-bench" --json "$root/perf/results/latest.json" \
  --plot "$root/perf/results/speedups.svg" "$@"
