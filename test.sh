#!/usr/bin/env bash
# The tests: sets up and builds if needed, then runs every meson test.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$root/tools/setup.sh"
exec meson test -C "$root/build" --print-errorlogs "$@"
