#!/usr/bin/env bash
# ThreadSanitizer run of the concurrency tests: the runtime's thread pool, generated kernels
# split across it, and compiled functions shared by threads while they recompile. Builds
# build-tsan/ (test binary only, -O1) and runs the suites that start threads. Not part of CI
# (the build would push CI past its time budget); run it after touching threads or locks.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$root/build-tsan
if [ ! -f "$out/build.ninja" ]; then
  meson setup "$out" --native-file "$root/tools/meson/native.ini" -Db_sanitize=thread \
    -Dbuildtype=plain -Dcpp_args=-O1 -Dlibtorch=disabled -Dcuda=disabled
fi
ninja -C "$out" -j"${KILN_BUILD_JOBS:-2}" tests/kiln-tests
TSAN_OPTIONS=halt_on_error=1 "$out/tests/kiln-tests" --test-suite=runtime,lowering,tensor --no-intro
TSAN_OPTIONS=halt_on_error=1 "$out/tests/kiln-tests" --test-suite=compile -tc='*thread*' --no-intro
