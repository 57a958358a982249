#!/usr/bin/env bash
# The CI-only part of the test command (test.sh runs it when CI=true, or KILN_CI_EXTRAS=1):
#   0. the layout check: every tracked C++ file as .clang-format says, by the pinned
#      clang-format-19 (tools/check_format.sh);
#   1. the sanitizer job: the test binary and the tools it runs (kiln-opt, kiln-cache,
#      kiln-report: the `depends` of tests/meson.build) built with ASan + UBSan (at -O0, so
#      the build stays short; only the targets the suites need), then every suite but
#      bench-quick and pkgconfig (which builds an unsanitized program against the library),
#      leaks checked, any report fatal;
#   2. a bounded libFuzzer run (60 s) of the IR parser and verifier (tools/fuzz_parser.sh, which
#      builds meson's parse-fuzzer target with clang).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$root/build-asan

"$root/tools/check_format.sh"

if [ ! -f "$out/build.ninja" ]; then
  meson setup "$out" --native-file "$root/tools/meson/native.ini" \
    -Db_sanitize=address,undefined -Dbuildtype=plain -Dcpp_args=-O0 \
    -Dlibtorch=disabled -Dcuda=disabled
fi
# meson test wants every test program to exist, kiln-bench included (its suite is skipped).
ninja -C "$out" -j"${KILN_BUILD_JOBS:-2}" tests/kiln-tests tools/kiln-opt tools/kiln-cache tools/kiln-report \
  perf/kiln-bench
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C "$out" --no-rebuild --no-suite bench-quick --no-suite pkgconfig \
    --timeout-multiplier 4 --print-errorlogs

"$root/tools/fuzz_parser.sh" "${KILN_FUZZ_SECONDS:-60}"
