#!/usr/bin/env bash
# bench_netem.sh: half-gates vs three-halves over a bandwidth-limited link.
#
# usage: [ANDS=28896223] [RATE=1gbit] [DELAY=1ms] [GARNET=path/to/garnet] tools/bench_netem.sh
#
# A benchmark, not a test. It creates two network namespaces joined by a veth pair,
# shapes both ends with `tc qdisc ... netem delay $DELAY rate $RATE`, and runs the
# `garnet bench` end-to-end session (synthetic AND layers, ANDS AND gates; the
# default is DeepSecure benchmark 1's 28,896,223) between a garbler in one namespace
# and an evaluator in the other, once per garbling scheme. It prints the evaluator's
# wall time (connect to last output), M AND/s and table bytes per AND of each.
#
# Needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN), iproute2 (`ip`, `tc`; Debian:
# apt-get install iproute2) and a release build (`cargo build --release`; GARNET
# overrides the binary). Where namespaces cannot be made it exits 0 with a message.
# Where the kernel lacks the netem qdisc it falls back to tbf (the same rate, no added
# delay) and says so: the tables are a one-way stream, so the delay only adds the
# few round trips of the handshake and OT to either scheme.
set -euo pipefail

ANDS=${ANDS:-28896223}
RATE=${RATE:-1gbit}
DELAY=${DELAY:-1ms}
here=$(cd "$(dirname "$0")/.." && pwd)
GARNET=${GARNET:-${CARGO_TARGET_DIR:-$here/target}/release/garnet}

skip() {
    echo "bench_netem: $*; skipping."
    exit 0
}

[[ -x "$GARNET" ]] || skip "no garnet binary at $GARNET (cargo build --release, or set GARNET)"
command -v ip >/dev/null && command -v tc >/dev/null ||
    skip "ip/tc not found (Debian: apt-get install iproute2)"

tag=$$
NS_G=garnet-netem-g-$tag
NS_E=garnet-netem-e-$tag
ADDR_G=10.213.13.1
ADDR_E=10.213.13.2
PORT=7913
tmp=$(mktemp -d)
peer=""

cleanup() {
    [[ -n "$peer" ]] && kill "$peer" 2>/dev/null || true
    ip netns del "$NS_G" 2>/dev/null || true
    ip netns del "$NS_E" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$NS_G" 2>/dev/null || skip "cannot create network namespaces here (ip netns add: not permitted)"
ip netns add "$NS_E"
ip link add "g13g$tag" type veth peer name "g13e$tag" 2>/dev/null ||
    skip "cannot create a veth pair here"
ip link set "g13g$tag" netns "$NS_G"
ip link set "g13e$tag" netns "$NS_E"
ip -n "$NS_G" addr add "$ADDR_G/24" dev "g13g$tag"
ip -n "$NS_E" addr add "$ADDR_E/24" dev "g13e$tag"
for ns in "$NS_G" "$NS_E"; do
    ip -n "$ns" link set lo up
done
ip -n "$NS_G" link set "g13g$tag" up
ip -n "$NS_E" link set "g13e$tag" up

shaping="netem delay $DELAY rate $RATE"
shape() { # ns dev
    ip netns exec "$1" tc qdisc add dev "$2" root $shaping
}
if ! shape "$NS_G" "g13g$tag" 2>"$tmp/tc.err"; then
    echo "bench_netem: netem is not available here ($(tr -d '\n' <"$tmp/tc.err"));"
    echo "bench_netem: falling back to tbf: rate $RATE, NO added delay."
    shaping="tbf rate $RATE burst 512kb latency 20ms"
    shape "$NS_G" "g13g$tag" || skip "cannot shape the link with tc (tbf)"
fi
shape "$NS_E" "g13e$tag"
echo "link: veth between namespaces, both directions: $shaping"
echo "work: $ANDS AND gates (garnet bench synthetic AND layers, width 4096)"
echo

run() { # scheme
    local scheme=$1
    : >"$tmp/peer.out"
    ip netns exec "$NS_G" "$GARNET" bench --e2e-peer --e2e-listen "$ADDR_G:$PORT" \
        --ands "$ANDS" --scheme "$scheme" >"$tmp/peer.out" 2>"$tmp/peer.err" &
    peer=$!
    for _ in $(seq 300); do
        grep -q '^port ' "$tmp/peer.out" && break
        kill -0 "$peer" 2>/dev/null || { cat "$tmp/peer.err"; exit 1; }
        sleep 0.1
    done
    grep -q '^port ' "$tmp/peer.out" || { echo "bench_netem: the garbler did not start"; exit 1; }
    ip netns exec "$NS_E" "$GARNET" bench --e2e-connect "$ADDR_G:$PORT" \
        --ands "$ANDS" --scheme "$scheme" >"$tmp/$scheme.json"
    wait "$peer"
    peer=""
}

for scheme in half-gates three-halves; do
    run "$scheme"
done

python3 - "$tmp/half-gates.json" "$tmp/three-halves.json" <<'EOF'
import json, sys
rows = [json.load(open(p)) for p in sys.argv[1:]]
print(f"{'scheme':<14} {'seconds':>8} {'M AND/s':>8} {'bytes/AND':>10}")
for r in rows:
    print(f"{r['scheme']:<14} {r['e2e_seconds']:>8.2f} {r['e2e_and_per_second']/1e6:>8.2f} "
          f"{r['table_bytes_per_and']:>10.3f}")
hg, th = rows
print(f"three-halves / half-gates time: {th['e2e_seconds'] / hg['e2e_seconds']:.3f}")
EOF
