#!/bin/sh
# Smoke test of the examples (make check): runs each one that is built, with a time
# limit, and checks that it exits 0 and prints what it should (and not what it must
# not). An example whose socket types are not built yet is reported as skipped.
fail=0

# run NAME MUST_MATCH [MUST_NOT_MATCH]: patterns are grep basic regular expressions.
run() {
    name=$1
    want=$2
    unwanted=$3
    bin=examples/$name
    if [ ! -x "$bin" ]; then
        echo "SKIP $name (not built)"
        return
    fi
    out=$(timeout 60 "$bin" 2>&1)
    rc=$?
    if [ $rc -ne 0 ] || ! printf '%s\n' "$out" | grep -q -- "$want" ||
        { [ -n "$unwanted" ] && printf '%s\n' "$out" | grep -q -- "$unwanted"; }; then
        echo "FAIL $name (exit $rc); its output:"
        printf '%s\n' "$out"
        fail=1
    else
        echo "PASS $name"
    fi
}

run demo '^done$'
run reqrep_echo '^5 of 5 echoed$'
# Every worker got tasks: the ventilator waited for all of them.
run pipeline '^sink: 40 results in' 'did 0 tasks'
run weather '^average temperature for zip code 10001 over 20 updates'
run broker '^9 of 9 requests answered, by 3 workers$'
run lazy_pirate '^client: 8 of 8 requests answered, server restarted 1 time(s)$'
exit $fail
