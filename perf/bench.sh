#!/usr/bin/env bash
# perf/bench.sh [PAIRS]: runs every pattern benchmark listed in perf/benches.txt twice per
# pair, once built on sinew and once on libzmq (the same source, see bench_api.h), sides
# alternating, and prints each metric's medians and the ratio (>1: sinew is better).
#
# A benchmark prints one line per metric: "<metric> <value> <unit> higher|lower".
# benches.txt: one run per line, "<program> <arguments...>"; '#' starts a comment.
# Run from the directory that holds the built programs (make bench does).
set -u -o pipefail
LIST=${BENCH_LIST:-$(dirname "$0")/benches.txt}
PAIRS=${1:-${PAIRS:-3}}
RUN_TIMEOUT=${RUN_TIMEOUT:-120}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/all"

run() { # side program args... -> appends "side metric value unit better" lines
    local side=$1 prog=$2
    shift 2
    local bin=./$prog
    [[ $side == libzmq ]] && bin=./${prog}_zmq
    timeout "$RUN_TIMEOUT" "$bin" "$@" | while read -r metric value unit better; do
        echo "$side $prog:$metric $value $unit $better"
    done >>"$tmp/all" || echo "bench.sh: $bin $* failed" >&2
}

while read -r line; do
    line=${line%%#*}
    [[ -z ${line// /} ]] && continue
    read -r -a words <<<"$line"
    for ((i = 0; i < PAIRS; i++)); do
        run sinew "${words[@]}"
        run libzmq "${words[@]}"
    done
done <"$LIST"

awk '
function median(arr, n,    i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && arr[j-1] > arr[j]; j--) { t = arr[j]; arr[j] = arr[j-1]; arr[j-1] = t }
    return n % 2 ? arr[(n+1)/2] : (arr[n/2] + arr[n/2+1]) / 2
}
{
    k = $2; if (!(k in seen)) { seen[k] = 1; order[++nk] = k; unit[k] = $4; better[k] = $5 }
    if ($1 == "sinew") s[k, ++ns[k]] = $3; else z[k, ++nz[k]] = $3
}
END {
    printf "%-44s %14s %14s %8s\n", "benchmark", "sinew", "libzmq", "ratio"
    for (i = 1; i <= nk; i++) {
        k = order[i]; delete a; delete b
        for (j = 1; j <= ns[k]; j++) a[j] = s[k, j]
        for (j = 1; j <= nz[k]; j++) b[j] = z[k, j]
        if (ns[k] == 0 || nz[k] == 0) { printf "%-44s missing a side\n", k; continue }
        ms = median(a, ns[k]); mz = median(b, nz[k])
        r = better[k] == "lower" ? (ms > 0 ? mz / ms : 0) : (mz > 0 ? ms / mz : 0)
        printf "%-44s %10.4g %-3s %10.4g %-3s %8.3f\n", k, ms, unit[k], mz, unit[k], r
        if (r > 0) { lg += log(r); n++ }
    }
    if (n > 0) printf "geomean ratio %.3f over %d metrics\n", exp(lg / n), n
}' "$tmp/all"
