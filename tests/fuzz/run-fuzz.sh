#!/bin/sh
# Build libFuzzer targets straight from the sources with clang
# (-fsanitize=fuzzer,address,undefined) and run each for N seconds (default 60), one
# after the other. Targets (tests/fuzz/fuzz_<name>.c, seeds in tests/fuzz/corpus/<name>):
#   zmtp       ZMTP parsers: greeting, frame decoder, commands, metadata
#   handshake  the whole ZMTP handshake (greeting + NULL commands), then traffic
#   endpoint   endpoint strings: sn_endpoint_parse / sn_endpoint_format
#   curve      the CURVE handshake, server and client side, then MESSAGE traffic
#              (needs libsodium; skipped with a note without it)
#   z85        Z85 decode/encode round trips
#   log_recover  the log's files (segments, indexes, positions): open, read, append
#   plain      the PLAIN handshake, server (with its ZAP wait) and client
#   cert       the CURVE certificate parser (czmq's text format)
# Exit status is non-zero if a build fails or a fuzzer finds a crash, leak, hang or
# undefined behaviour; the reproducer is left in $FUZZ_OUT/<name>/ (default: a temp dir).
#   usage: tests/fuzz/run-fuzz.sh [seconds] [target...]     (default: every target)
set -eu

secs=${1:-60}
if [ $# -gt 0 ]; then shift; fi
targets=${*:-zmtp handshake endpoint curve z85 log_recover plain cert}
top=$(cd "$(dirname "$0")/../.." && pwd)
cc=${CLANG:-$(command -v clang || command -v clang-14 || true)}
if [ -z "$cc" ]; then
    echo "run-fuzz.sh: clang not found" >&2
    exit 2
fi
out=${FUZZ_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/sinew-fuzz.XXXXXX")}
# log_recover writes log directories: on a tmpfs its fsyncs cost nothing.
if [ -z "${SINEW_FUZZ_LOG_TMP:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    export SINEW_FUZZ_LOG_TMP=/dev/shm
fi

zmtp_src="src/zmtp/greeting.c src/zmtp/codec.c src/zmtp/command.c src/zmtp/metadata.c
    src/zmtp/null.c src/zmtp/handshake.c src/zmtp/socktype.c"

for t in $targets; do
    libs=
    # Sources each target links besides its own file, and its longest input.
    case $t in
    zmtp) src=$zmtp_src max_len=4096 ;;
    handshake) src=$zmtp_src max_len=4096 ;;
    endpoint) src="src/transports/endpoint.c src/transports/tcp.c src/transports/ipc.c"
              max_len=1024 ;;
    curve)
        if ! pkg-config --exists libsodium 2>/dev/null; then
            echo "run-fuzz.sh: libsodium not found, curve target skipped"
            continue
        fi
        src="$zmtp_src src/security/curve.c src/security/z85.c src/core/msg.c
             src/core/msgpool.c"
        libs=$(pkg-config --libs libsodium) max_len=8192 ;;
    z85) src="src/security/z85.c" max_len=512 ;;
    log_recover) src=$(cd "$top" && echo src/log/*.c) max_len=4096 ;;
    plain) src="$zmtp_src src/security/plain.c" max_len=4096 ;;
    cert) src="src/security/cert.c src/security/z85.c" max_len=4096 ;;
    *)
        echo "run-fuzz.sh: unknown target '$t' (zmtp, handshake, endpoint, curve, z85," \
            "log_recover, plain, cert)" >&2
        exit 2
        ;;
    esac
    mkdir -p "$out/$t/corpus"
    files=
    for f in $src; do files="$files $top/$f"; done
    # shellcheck disable=SC2086 # $files is a list of paths without spaces
    "$cc" -g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        -fno-omit-frame-pointer -pthread \
        -I"$top/include" -I"$top/src" \
        $files "$top/tests/fuzz/fuzz_$t.c" -o "$out/$t/fuzz_$t" $libs
    dict=
    if [ -f "$top/tests/fuzz/$t.dict" ]; then
        dict="-dict=$top/tests/fuzz/$t.dict"
    fi

    echo "run-fuzz.sh: fuzzing $t for ${secs}s, output in $out/$t"
    # New inputs go to $out/$t/corpus; the checked-in seeds are read only. Findings exit
    # 1: libFuzzer's default, 77, would read as "skipped" to automake.
    # shellcheck disable=SC2086 # $dict is empty or one word
    "$out/$t/fuzz_$t" -max_total_time="$secs" -max_len="$max_len" -timeout=10 \
        -rss_limit_mb=2048 -error_exitcode=1 -timeout_exitcode=1 \
        -artifact_prefix="$out/$t/" -print_final_stats=1 $dict \
        "$out/$t/corpus" "$top/tests/fuzz/corpus/$t"
done
