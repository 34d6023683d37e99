#!/bin/sh
# Regenerate the seed corpora of the handshake, endpoint, curve and z85 fuzz targets
# (tests/fuzz/corpus/<target>). Curve seeds are full CURVE transcripts made by
# fuzz_curve.c itself (built with -DFUZZ_CURVE_SEEDS; needs a C compiler and libsodium). Handshake seeds are real
# libzmq 4.3.4 byte streams from tests/vectors/*.hex behind the target's 4-byte
# configuration header (layout at the top of fuzz_handshake.c). Needs awk and xxd.
#   usage: tests/fuzz/make-seeds.sh
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
vec=$top/tests/vectors
hs=$top/tests/fuzz/corpus/handshake
ep=$top/tests/fuzz/corpus/endpoint
cv=$top/tests/fuzz/corpus/curve
z85=$top/tests/fuzz/corpus/z85
pl=$top/tests/fuzz/corpus/plain
ct=$top/tests/fuzz/corpus/cert
rm -rf "$hs" "$ep" "$cv" "$z85" "$pl" "$ct"
mkdir -p "$hs" "$ep" "$cv" "$z85" "$pl" "$ct"

# Hex of the segments of file $1 written by $2 ("zmq" or "peer"), concatenated.
segs() {
    awk -v dir="$2" '
        /^#/ { take = ($2 == dir); next }
        take { printf "%s", $0; take = 0 }' "$vec/$1"
}

# seed NAME HEADER-HEX STREAM-HEX
seed() {
    printf '%s%s' "$2" "$3" | xxd -r -p >"$hs/$1"
}

# Header: byte 0 = socket type | 20 as_server | 40 greeting_whole | 80 routing id;
# byte 1 = maxmsgsize (0 -1, 1 1MiB, 2 64, 3 28) | props << 2 | output mode << 4 |
# 40 own body | 80 body window; bytes 2-3 = chunk schedule, low nibble of byte 2 first
# (0 = the rest, 1-5 = 1-5 bytes, 6 = 7, 7 = 8, 8 = 9, 9 = 10, a = 11, b = 12, c = 13,
# d = 53, e = 64, f = 100): "19 0d" reads 10, 1, 53, then the rest, as libzmq stages.
greeting="ff00000000000000017f03014e554c4c$(printf '%096d' 0)"
seed dealer-from-router 05000000 "$(segs null_router.hex zmq)"
seed router-as-server-from-dealer 26000000 "$(segs null_dealer_connects.hex zmq)"
seed router-rid-staged 8610190d "$(segs null_dealer_routing_id.hex zmq)"
seed pub-whole-max64 41020000 "$(segs null_sub.hex zmq)"
seed sub-max28 02030000 "$(segs null_pub.hex zmq)"
seed req-props 03040000 "$(segs null_rep.hex zmq)"
seed rep-big-ready 040c0000 "$(segs null_req.hex zmq)"
seed pull-bytewise 07301111 "$(segs null_push.hex zmq)"
seed push-mixed-chunks 08106d3e "$(segs null_pull.hex zmq)"
seed pair-two-props 00080000 "$(segs null_pair.hex zmq)"
seed xpub-from-xsub 09200000 "$(segs null_xsub.hex zmq)"
seed xsub-from-xpub 0a100000 "$(segs null_xpub.hex zmq)"
seed dealer-pings 05000000 "$(segs heartbeat_ping_pong.hex peer)"
seed dealer-multipart-own-body 05c00000 "$(segs multipart_dealer.hex peer)"
seed dealer-multipart-bytewise 05401111 "$(segs multipart_dealer.hex peer)"
seed pub-filtering 01000000 "$(segs pub_filtering.hex peer)"
seed sub-zmtp30 02000000 "$(segs sub_subscribe_zmtp30.hex peer)"
seed rep-envelope 04000000 "$(segs rep_envelope.hex peer)"
seed req-envelope 03000000 "$(segs req_envelope.hex peer)"
seed xpub-subscriptions 09000000 "$(segs xsub_send_subscribe_zmtp31.hex zmq)"
seed refuse-zmtp20 05000000 "$(segs compat_zmtp20_peer.hex peer)"
seed refuse-plain 05000000 "$(segs plain_server_zap_400.hex peer)"
seed router-refuses-pub 06000000 "$(segs null_pub.hex zmq)"
# Hand-made: ERROR "400" instead of READY; a draft CLIENT talking to a SERVER; bodies
# too big for the decoder's inline buffer (600 and 601 bytes, then a short frame).
router_ready=041c0552454144590b536f636b65742d5479706500000006524f55544552
big600=$(awk 'BEGIN { for (i = 0; i < 600; i++) printf "59" }')
seed peer-error 05000000 "${greeting}040a054552524f5203343030"
seed client-from-server 0d000000 \
    "${greeting}041c0552454144590b536f636b65742d5479706500000006534552564552"
seed dealer-large-frames 05000000 "${greeting}${router_ready}030000000000000258${big600}\
0200000000000002595a${big600}0001ab"

i=0
for addr in 'tcp://127.0.0.1:5555' 'tcp://*:*' 'tcp://[::1]:*' 'tcp://[fe80::1%lo]:1' \
    'tcp://eth0:0' 'tcp://127.0.0.2:*;localhost:5555' 'tcp://a;b:1' \
    'ipc:///tmp/sinew.sock' 'ipc://@x' 'ipc://*' 'inproc://x' \
    'inproc://any:thing //goes*' 'garbage'; do
    i=$((i + 1))
    printf '%s' "$addr" >"$ep/$(printf '%02d' $i)"
done
# Two endpoints in one input: the part after the NUL is parsed on its own.
printf 'tcp://[::1]:80\000ipc://@abc' >"$ep/$(printf '%02d' $((i + 1)))"

# CURVE: transcripts from fuzz_curve.c's seed mode.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sinew-seeds.XXXXXX")
${CC:-cc} -std=c11 -D_GNU_SOURCE -DFUZZ_CURVE_SEEDS -I"$top/include" -I"$top/src" \
    "$top/tests/fuzz/fuzz_curve.c" "$top/src/security/curve.c" "$top/src/security/z85.c" \
    "$top/src/core/msg.c" "$top/src/core/msgpool.c" "$top/src/zmtp/greeting.c" \
    "$top/src/zmtp/codec.c" "$top/src/zmtp/command.c" "$top/src/zmtp/metadata.c" \
    "$top/src/zmtp/null.c" "$top/src/zmtp/handshake.c" "$top/src/zmtp/socktype.c" \
    -o "$tmp/seeds" $(pkg-config --libs libsodium) -pthread
"$tmp/seeds" "$cv"
rm -rf "$tmp"

# Z85: the RFC example, keys from tests/vectors, edge values and refused strings.
i=0
for z in HelloWorld 'ND2q]e8FGqH6t{@fTP-{urw{E)[-La>TW+l^Jn#V' 00000 '%nSc0' '%nSc1' \
    '#####' 'abcd' 'Hello World' 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7'; do
    i=$((i + 1))
    printf '%s' "$z" >"$z85/$(printf '%02d' $i)"
done

# PLAIN: libzmq's side of the captured conversations behind fuzz_plain.c's 2-byte header
# (byte 0: 1 server | ZAP answer << 1 | 10 domain; byte 1: read size, 0 = all).
plain() {
    printf '%s%s' "$2" "$3" | xxd -r -p >"$pl/$1"
}
plain server-admitted 1100 "$(segs plain_server.hex peer)"
plain server-admitted-bytewise 1101 "$(segs plain_server.hex peer)"
plain server-300 1300 "$(segs plain_server_zap_300.hex peer)"
plain server-400-chunks 1507 "$(segs plain_server_zap_400.hex peer)"
plain server-no-handler 0900 "$(segs plain_server.hex peer)"
plain server-bad-reply 0b00 "$(segs plain_server.hex peer)"
plain client 0000 "$(segs plain_client.hex peer)"
plain client-gets-error 0003 "$(segs plain_server_zap_400.hex zmq)"

# Certificates: what sinew and czmq write, and near misses.
key='rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7'
sec='JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6'
printf '#   ZeroMQ CURVE Public Certificate\n\nmetadata\ncurve\n    public-key = "%s"\n' \
    "$key" >"$ct/public"
printf 'metadata\n    name = "x"\ncurve\n    public-key = "%s"\n    secret-key = "%s"\n' \
    "$key" "$sec" >"$ct/secret"
printf 'curve\n    public-key = %s\r\n' "$key" >"$ct/bare-crlf"
printf 'curve\n    public-key = "%s\n' "$key" >"$ct/open-quote"
printf 'context\n    sub\n        public-key = "%s"\n' "$key" >"$ct/nested"
