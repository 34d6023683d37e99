#!/bin/sh
# make check: build every libFuzzer target (tests/fuzz/run-fuzz.sh) and run each for a
# few seconds (FUZZ_CHECK_SECS, default 4). Skipped (exit 77) when clang or its libFuzzer
# runtime is missing; CI runs the same targets for a minute each.
set -u

here=$(cd "$(dirname "$0")" && pwd)
cc=${CLANG:-$(command -v clang || command -v clang-14 || true)}
if [ -z "$cc" ]; then
    echo "check-fuzz.sh: SKIP: clang not found (needed for the libFuzzer targets)"
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sinew-check-fuzz.XXXXXX")
cat >"$tmp/probe.c" <<'PROBE'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    return 0;
}
PROBE
if ! "$cc" -fsanitize=fuzzer,address,undefined "$tmp/probe.c" -o "$tmp/probe" \
    >"$tmp/probe.log" 2>&1; then
    echo "check-fuzz.sh: SKIP: $cc cannot link -fsanitize=fuzzer,address,undefined" \
        "(libFuzzer or sanitizer runtime missing?):"
    cat "$tmp/probe.log"
    rm -rf "$tmp"
    exit 77
fi

FUZZ_OUT=$tmp CLANG=$cc "$here/run-fuzz.sh" "${FUZZ_CHECK_SECS:-4}"
rc=$?
if [ "$rc" -eq 0 ]; then
    rm -rf "$tmp"
else
    echo "check-fuzz.sh: FAIL ($rc); reproducers and builds kept in $tmp"
    [ "$rc" -eq 77 ] && rc=1 # a finding must not read as a skip
fi
exit "$rc"
