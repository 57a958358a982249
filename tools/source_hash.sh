#!/bin/sh
# Prints a short hash of the sources that decide what code kiln generates and how it runs
# (ir/, runtime/, lowering/, autotune/). Cache keys carry it, so a build from edited
# sources never loads an artifact that another build compiled under the same version.
# meson runs it at every build (vcs_tag); when it fails (no sha256sum), the version number
# stands in, so it must fail rather than print nothing.
set -e
cd "$(dirname "$0")/.."
command -v sha256sum >/dev/null
hash=$(find ir runtime lowering autotune -type f \( -name '*.cpp' -o -name '*.h' -o -name '*.def' \) |
  LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)
[ -n "$hash" ]
echo "$hash"
