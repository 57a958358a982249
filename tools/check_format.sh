#!/usr/bin/env bash
# Checks that every C++ file git tracks (*.cpp, *.h) is laid out as .clang-format says, with
# the pinned clang-format-19 that tools/setup.sh installs: other versions lay out some lines
# differently, so the check names its version rather than whatever `clang-format` is.
# Usage: tools/check_format.sh [--fix] [FILE...]   (default: every tracked *.cpp and *.h)
# Exits 1 listing the files that differ (and the command that fixes them); --fix rewrites them.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
clang_format=${CLANG_FORMAT:-clang-format-19}
cd "$root"

fix=0
if [ "${1:-}" = "--fix" ]; then
  fix=1
  shift
fi
if ! command -v "$clang_format" > /dev/null; then
  echo "check_format: $clang_format not found (tools/setup.sh installs it)" >&2
  exit 2
fi
if (($#)); then
  files=("$@")
else
  mapfile -t files < <(git ls-files -- '*.cpp' '*.h')
fi

if ((fix)); then
  "$clang_format" -i --style=file "${files[@]}"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  "$clang_format" --style=file --dry-run -Werror "$f" > /dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]})); then
  echo "check_format: ${#bad[@]} of ${#files[@]} files differ from $clang_format's layout:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "  hint: tools/check_format.sh --fix FILE... rewrites them (no FILE: every file)" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files match $clang_format's layout"
