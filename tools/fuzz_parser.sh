#!/usr/bin/env bash
# Fuzzes the IR text parser and verifier (tests/fuzz_ir/parse_fuzzer.cpp) with libFuzzer,
# ASan and UBSan for a bounded time. Usage: tools/fuzz_parser.sh [seconds=60] [libFuzzer args…]
# Meson builds the fuzzer (the `parse-fuzzer` target in tools/meson.build) in its own build
# folder, build-parser-fuzz/, configured with clang and coverage on every object; this script
# seeds a corpus from the tests' .kir files, runs on one core, and exits non-zero on a crash,
# hang, leak or round-trip failure (the reproducer is left in build-parser-fuzz/artifacts/).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-60}
shift $(($# > 0 ? 1 : 0))
out=$root/build-parser-fuzz
# Clang 19: clang 14 (Debian's default clang) rejects lambdas that capture structured
# bindings (C++20 P1091, clang >= 16), which ir/verify.cpp uses. CXX_FUZZ overrides it.
cxx=${CXX_FUZZ:-clang++-19}

# Packages (non-interactive, only when missing): clang, libFuzzer's runtime, fmt, meson.
packages=(clang-19 libclang-rt-19-dev libfmt-dev meson ninja-build)
[ -n "${CXX_FUZZ:-}" ] && packages=(libfmt-dev meson ninja-build)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "fuzz_parser: installing Debian packages: ${missing[*]}"
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq < /dev/null
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" < /dev/null
fi

# Build: only the fuzzer and the ir library it links, every object instrumented for libFuzzer.
if [ ! -f "$out/build.ninja" ]; then
  CXX=$cxx meson setup "$out" --native-file "$root/tools/meson/native.ini" \
    -Dbuildtype=plain -Dcpp_args="-g -O1 -fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined" \
    -Db_sanitize=address,undefined -Db_lundef=false -Dfuzzer=enabled \
    -Dtests=false -Dlibtorch=disabled -Dcuda=disabled
fi
ninja -C "$out" -j"${KILN_BUILD_JOBS:-2}" tools/parse-fuzzer
mkdir -p "$out/corpus" "$out/artifacts"
rm -rf "$out/seeds" && mkdir -p "$out/seeds"

# Seeds: every test .kir, split into one seed per case at '# ----' and '# EXPECT:' lines.
shopt -s globstar nullglob
n=0
for f in "$root"/tests/ir/**/*.kir "$root"/tests/tools/*.kir; do
  base=$(echo "${f#"$root"/tests/}" | tr '/' '_')
  awk -v prefix="$out/seeds/${base%.kir}" '
    function flush() { if (buf != "") printf "%s", buf > (prefix "-" part ".kir"); close(prefix "-" part ".kir"); buf = ""; part++ }
    BEGIN { part = 0; buf = "" }
    /^# ----/ || /^# EXPECT:/ { flush(); next }
    { buf = buf $0 "\n" }
    END { flush() }' "$f"
  n=$((n + 1))
done
echo "fuzz_parser: $(ls "$out/seeds" | wc -l) seeds from $n files"

# Dictionary: keywords, punctuation, dtypes, op names (ir/ops.def) and attribute keys.
{
  for w in graph where device cpu cuda return true false inf nan -inf bool i32 i64 f32 f64 \
           '->' '%' '@' '[' ']' '(' ')' '{' '}' , : = '"' '# ----' 1e308 9223372036854775807 \
           -9223372036854775808 2147483648 4294967296 3037000500 0.5 -1 dims keepdim shape dtype value start step \
           end seed offset low high min max approximate correction perm dim stop axes eps p \
           train reduction ignore_index classes '"mean"' '"sum"' '"none"'; do
    printf '"%s"\n' "$(printf '%s' "$w" | sed 's/\\/\\\\/g; s/"/\\"/g')"
  done
  sed -n 's/^KILN_OP([A-Za-z0-9]*, "\([a-z0-9_]*\)".*/"\1"/p' "$root/ir/ops.def"
} > "$out/kir.dict"

# New inputs go to the first directory, build-parser-fuzz/corpus, so extra directories given after
# the seconds (e.g. tests/fuzz_ir/crashes) are only read. One process, one core. A crash,
# timeout (>10 s per input), leak or OOM stops the run and libFuzzer exits non-zero, which
# this script passes on.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "$out/tools/parse-fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -dict="$out/kir.dict" -artifact_prefix="$out/artifacts/" -print_final_stats=1 \
  "$out/corpus" "$out/seeds" "$@"
