#!/usr/bin/env bash
# The benchmark suite: sets up and builds if needed, then runs kiln-bench over every
# workload at 1 and 2 threads, writing the table to stdout and perf/results/latest.json
# and perf/results/speedups.svg (the chart needs gnuplot; libtorch's column needs
# libtorch-dev, both optional Debian packages). Extra arguments go to kiln-bench.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/tools/setup.sh"
mkdir -p "$root/perf/results"
exec "$root/build/perf/kiln-bench" --json "$root/perf/results/latest.json" \
  --plot "$root/perf/results/speedups.svg" "$@"
