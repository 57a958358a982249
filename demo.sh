#!/usr/bin/env bash
# The demo: sets up and builds if needed, then runs examples/demo.cpp.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$root/tools/setup.sh"
exec "$root/build/examples/kiln-demo" "$@"
