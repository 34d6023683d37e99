#!/bin/sh
# Regenerate the seed corpus of the log_recover fuzz target (tests/fuzz/corpus/
# log_recover): small log directories in the input format described at the top of
# tests/fuzz/fuzz_log_recover.c (options byte, then kind/base/length chunks). Needs xxd.
#   usage: tests/fuzz/make-log-seeds.sh
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$top/tests/fuzz/corpus/log_recover
rm -rf "$dir"
mkdir -p "$dir"

# seed NAME HEX
seed() {
    printf '%s' "$2" | xxd -r -p >"$dir/$1"
}

r8=000472656330000472656331000472656332000472656333000472656334000472656335
r8=${r8}000472656336000472656337
# Three records (one with two frames) in segment 0, after a crash.
seed one-segment 0001001200000568656c6c6f000361626380047778797a
# Segments 0 and 8 closed cleanly, with an index for segment 0.
seed two-segments-clean "0101003000${r8}0101140000047265633000047265633100047265633200040300100000000000180000000000000000000000"
# A record with a broken CRC between two good ones.
seed crc-damage-middle 0201006000001e$(printf '61%.0s' $(seq 30))011e$(printf '62%.0s' $(seq 30))001e$(printf '63%.0s' $(seq 30))
# After a damaged record, a valid one whose offset jumps by almost 2^32.
seed offset-jump 0001003400000a61616161616161616161010a62626262626262626262420af0ffffff63636363636363636363000a64646464646464646464
# A record and a consumer position "c" at 1.
seed consumers 000100030000017804001700534e4c4f47435031010000000100630100000000000000
# Junk after the records of the active segment.
seed raw-junk-tail 000100040000026f6b000130000000000000000000$(printf 'ff%.0s' $(seq 40))
# Segment 0 and a segment at 2^32, closed cleanly.
seed far-segment "0101003000${r8}81010a00000472656330000472656331"
