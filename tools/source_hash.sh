#!/bin/sh
# Prints a short hash of the sources that decide what code kiln generates and how it runs
# (ir/, runtime/, lowering/, autotune/). Cache keys carry it, so a build from edited
# sources never loads an artifact that another build compiled under the same version.
# meson runs it at every build (vcs_tag); without sha256sum the version number stands in.
set -e
cd "$(dirname "$0")/.."
find ir runtime lowering autotune -type f \( -name '*.cpp' -o -name '*.h' -o -name '*.def' \) |
  LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16
