#!/bin/sh
# Build the ZMTP libFuzzer target straight from the sources with clang
# (-fsanitize=fuzzer,address,undefined) and run it for N seconds (default 60).
# Exit status is non-zero if the build fails or the fuzzer finds a crash, leak, hang
# or undefined behaviour; the reproducer is left in $FUZZ_OUT (default a temp dir).
#   usage: tests/fuzz/run-fuzz.sh [seconds]
set -eu

secs=${1:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
cc=${CLANG:-$(command -v clang || command -v clang-14 || true)}
if [ -z "$cc" ]; then
    echo "run-fuzz.sh: clang not found" >&2
    exit 2
fi
out=${FUZZ_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/sinew-fuzz.XXXXXX")}
mkdir -p "$out/corpus"

"$cc" -g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -fno-omit-frame-pointer \
    -I"$top/include" -I"$top/src" \
    "$top"/src/zmtp/greeting.c "$top"/src/zmtp/codec.c "$top"/src/zmtp/command.c \
    "$top"/src/zmtp/metadata.c "$top"/src/zmtp/null.c "$top"/src/zmtp/handshake.c \
    "$top"/tests/fuzz/fuzz_zmtp.c -o "$out/fuzz_zmtp"

echo "run-fuzz.sh: fuzzing for ${secs}s, output in $out"
# New inputs go to $out/corpus; the checked-in seeds are read only.
"$out/fuzz_zmtp" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$out/" -print_final_stats=1 \
    "$out/corpus" "$top/tests/fuzz/corpus/zmtp"
