#!/usr/bin/env bash
# DeepSecure benchmark 1 served from its compiled file, two processes over
# loopback: wall time and peak memory (max RSS) of compile, server and client.
# A benchmark, not a test: run it on a quiet machine.
#
#   bash tools/bench_b1.sh [IMAGES] [THREADS]     # defaults: 2 images, 1 thread per party
#
# Weights and images are random (tools/random_tensors.py, standard library only):
# the cost of a garbled network depends on its shape, not its values.
set -euo pipefail
cd "$(dirname "$0")/.."
images=${1:-2}
threads=${2:-1}
[ -x /usr/bin/time ] || { echo "bench_b1: needs /usr/bin/time (apt-get install time)"; exit 1; }
cargo build --release -q
exe=$PWD/target/release/garnet
dir=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT
net=models/deepsecure_b1/deepsecure_b1.gnet
python3 tools/random_tensors.py weights "$dir/b1.safetensors" 1 \
  conv1.weight=5x1x5x5 conv1.bias=5 fc1.weight=100x845 fc1.bias=100 fc2.weight=10x100 fc2.bias=10
python3 tools/random_tensors.py npy "$dir/images.npy" 2 "${images}x1x28x28"

measure() { # LABEL LOG CMD...: runs CMD under /usr/bin/time, its report into LOG
  local label=$1 log=$2; shift 2
  /usr/bin/time -o "$log" -f "%e %M" "$@"
}
report() { # LABEL LOG
  read -r secs kib < <(tail -1 "$2")
  printf '%-34s %9.2f s %9.1f MiB\n' "$1" "$secs" "$(echo "$kib / 1024" | bc -l)"
}

measure compile "$dir/compile.time" "$exe" compile "$net" -o "$dir/b1.gcirc" 2>/dev/null
/usr/bin/time -o "$dir/server.time" -f "%e %M" "$exe" garble "$dir/b1.gcirc" \
  --weights "$dir/b1.safetensors" --listen 127.0.0.1:0 --once --threads "$threads" \
  --timeout 600 2>"$dir/server.err" &
server=$!
for _ in $(seq 1 600); do
  grep -q "ready, listening on" "$dir/server.err" 2>/dev/null && break
  sleep 0.1
done
addr=$(sed -n 's/.*ready, listening on //p' "$dir/server.err" | head -1)
[ -n "$addr" ] || { cat "$dir/server.err"; exit 1; }
measure client "$dir/client.time" "$exe" evaluate "$dir/b1.gcirc" --connect "$addr" \
  --input "image=$dir/images.npy" --threads "$threads" --timeout 600 --json \
  >"$dir/client.out" 2>"$dir/client.err" || { cat "$dir/client.err"; exit 1; }
wait "$server"
server=
grep -c '"label"' "$dir/client.out" | grep -qx "$images" || { cat "$dir/client.out"; exit 1; }

ands=$("$exe" stats "$dir/b1.gcirc" --json | sed -n 's/^  "and_gates": \([0-9]*\),*/\1/p')
echo "DeepSecure B1 from b1.gcirc ($(du -h "$dir/b1.gcirc" | cut -f1), $ands AND), $images images in one session, --threads $threads"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores"
report "garnet compile (once)" "$dir/compile.time"
report "server: garnet garble b1.gcirc" "$dir/server.time"
report "client: garnet evaluate b1.gcirc" "$dir/client.time"
grep -E "^session " "$dir/server.err" | tail -1 | sed 's/^/server log: /'
