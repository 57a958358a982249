#!/usr/bin/env bash
# The tests: sets up and builds if needed, then runs every meson test. Under CI (CI=true)
# the build treats warnings as errors; under CI or KILN_CI_EXTRAS=1 it then runs
# tools/ci_extras.sh: the clang-format check, the ASan + UBSan build of the suites and a
# bounded fuzz run of the IR parser.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$root/tools/setup.sh"
meson test -C "$root/build" --print-errorlogs "$@"
if [ "${CI:-}" = "true" ] || [ "${KILN_CI_EXTRAS:-}" = "1" ]; then
  "$root/tools/ci_extras.sh"
fi
