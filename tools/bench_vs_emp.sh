#!/usr/bin/env bash
# bench_vs_emp.sh: garnet's headline figures side by side with EMP-toolkit 0.3's.
#
# usage: EMP_BUILD=/path/to/emp-bench [ROUNDS=3] tools/bench_vs_emp.sh
#
# This script neither builds nor downloads EMP. Build emp-tool, emp-ot and emp-sh2pc
# 0.3.x yourself, following EMP's own instructions (cmake, make, make install), then
# compile four small drivers against that install and put them in $EMP_BUILD. It exits
# 0 with a message when EMP_BUILD is unset or not a directory.
#
# Expected in $EMP_BUILD (each prints "key value" lines on standard output; a figure
# whose line is missing or unparsable is shown as n/a):
#   emp_halfgate_bench [ANDS] [REPS]
#       one thread, emp-tool HalfGateGen/HalfGateEva (MITCCRH) over a MemIO: garbles
#       an AND-only layer (garnet's shape: width 4096, gate k = AND(k, 4096+(7k+1)%4096))
#       into memory, then evaluates it from memory, best wall time of REPS.
#       prints: garble_ns_per_and X, eval_ns_per_and Y
#   emp_iknp_cot_bench PARTY PORT [N] [CHUNK]      (PARTY 1 = sender, 2 = receiver)
#       emp-ot passive IKNP send_cot/recv_cot between two processes over loopback TCP,
#       N correlated OTs after an untimed warm-up that does the base OTs.
#       prints: cot_per_second X
#     (if it is missing, emp-ot's own test binary test_ot is used instead: its
#      "Passive IKNP COT ... OTps" line, 2^20+101 OTs after its setup)
#   emp_aes_bench PARTY PORT AES_FILE [N] [KEY_HEX] [PT_HEX]
#       emp-sh2pc semi-honest session over loopback TCP on a Bristol Fashion AES-128
#       file: the garbler (1) feeds the key once, the evaluator (2) feeds a plaintext
#       and learns the ciphertext N times. The evaluator prints out0 0x... (bit i of
#       the value is wire i, as garnet) and after_setup_seconds X (after
#       setup_semi_honest, i.e. after the base OTs and EMP's first IKNP batch).
#   emp_mult_bench PARTY PORT [M]
#       emp-sh2pc: M products Integer(32)*Integer(32) between two processes, ANDs
#       counted with circ_exec->num_and() (EMP's mul_full: 1024 per product).
#       prints: ands N, and_per_second X (evaluator's wall time incl. connect + setup)
#   aes_128.txt   EMP's emp-tool/circuits/files/bristol_fashion/aes_128.txt (or set
#                 EMP_AES_FILE; also looked up under $EMP_BUILD/../include/...)
#
# Figures (garnet | EMP):
#   garble/eval ns/AND   `garnet bench --json` garble_ns_per_and / eval_ns_per_and
#                        | emp_halfgate_bench                 (lower is better)
#   IKNP COT/s           cot_per_second (garnet: two threads, in-memory channel)
#                        | emp_iknp_cot_bench (two processes, loopback TCP)
#   AES-128 x1000 s      evaluator's wall time of `garnet evaluate` with the plaintext
#                        given AES_RUNS times against `garnet garble --once`
#                        | wall time of emp_aes_bench's evaluator process, same shape
#   AES-128 1x wall s    the same with one plaintext
#   AES-128 1x after setup s   garnet: evaluator report total - handshake - base OT
#                        | emp_aes_bench after_setup_seconds
#   e2e AND/s            e2e_and_per_second (50M-AND synthetic layers, two processes)
#                        | emp_mult_bench and_per_second (32-bit multiplications)
# Each round runs every figure for garnet, then for EMP; the table shows the median
# over ROUNDS (the per-round values follow it). Environment: ROUNDS (3), AES_RUNS
# (1000), EMP_MULTS (50000), EMP_PORT (first TCP port for EMP, 23400).
set -euo pipefail

if [[ -z "${EMP_BUILD:-}" ]]; then
    echo "bench_vs_emp: EMP_BUILD is not set; skipping (see the header of $0)."
    exit 0
fi
if [[ ! -d "$EMP_BUILD" ]]; then
    echo "bench_vs_emp: EMP_BUILD=$EMP_BUILD is not a directory; skipping."
    exit 0
fi
EMP_BUILD=$(cd "$EMP_BUILD" && pwd)
ROUNDS=${ROUNDS:-3}
AES_RUNS=${AES_RUNS:-1000}
EMP_MULTS=${EMP_MULTS:-50000}
port=${EMP_PORT:-23400}
KEY=0x000102030405060708090a0b0c0d0e0f
PT=0x00112233445566778899aabbccddeeff
CT=0x69c4e0d86a7b0430d8cdb78070b4c55a # FIPS-197 C.1

cd "$(dirname "$0")/.."
echo "building garnet (cargo build --release) ..."
cargo build --release --quiet
G=$PWD/target/release/garnet

AES=${EMP_AES_FILE:-}
if [[ -z "$AES" ]]; then
    for f in "$EMP_BUILD/aes_128.txt" \
        "$EMP_BUILD/../include/emp-tool/circuits/files/bristol_fashion/aes_128.txt" \
        "$EMP_BUILD/../emp-tool/circuits/files/bristol_fashion/aes_128.txt"; do
        if [[ -f "$f" ]]; then AES=$f; break; fi
    done
fi
if [[ -n "$AES" && ! -f "$AES" ]]; then AES=; fi

TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a - b }'; }
# a number or n/a
num() { if [[ "$1" =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then echo "$1"; else echo n/a; fi; }
# value of "key value" in a file
kv() { num "$(awk -v k="$1" '$1 == k { v = $2 } END { print v }' "$2" 2>/dev/null)"; }
# numeric value of "key": in a JSON file
jnum() { num "$(grep -oE "\"$1\":[-0-9.eE+]+" "$2" 2>/dev/null | head -1 | cut -d: -f2)"; }
have() { [[ -x "$EMP_BUILD/$1" ]]; }
nextport() { port=$((port + 1)); }

# Runs an EMP two-process driver: garbler (party 1) in the background, evaluator
# (party 2) timed; $TMP/emp1.out, $TMP/emp2.out; sets WALL to the evaluator's wall
# seconds (n/a if either side fails).
emp_pair() {
    local bin=$1
    shift
    nextport
    timeout 300 "$EMP_BUILD/$bin" 1 "$port" "$@" >"$TMP/emp1.out" 2>&1 &
    local p1=$!
    PIDS+=("$p1")
    sleep 0.2
    local t0 t1 rc=0
    t0=$(now)
    timeout 300 "$EMP_BUILD/$bin" 2 "$port" "$@" >"$TMP/emp2.out" 2>&1 || rc=$?
    t1=$(now)
    wait "$p1" || rc=$?
    if [[ $rc -ne 0 ]]; then
        echo "  ($bin failed, rc $rc: $(tail -1 "$TMP/emp2.out"))" >&2
        : >"$TMP/emp2.out"
        WALL=n/a
    else
        WALL=$(sub "$t1" "$t0")
    fi
}

# garnet: garbler with --once in the background, evaluator timed with N plaintexts.
# Sets WALL and AFTER (n/a when it fails or a ciphertext is wrong).
garnet_aes() {
    local n=$1 i addr="" t0 t1 rc=0
    WALL=n/a AFTER=n/a
    "$G" garble "$AES" --listen 127.0.0.1:0 --once --input in0=$KEY \
        >"$TMP/gg.out" 2>"$TMP/gg.err" &
    local p1=$!
    PIDS+=("$p1")
    for i in $(seq 100); do
        addr=$(grep -oE 'listening on [^ ]+' "$TMP/gg.err" 2>/dev/null | awk '{print $3}' || true)
        [[ -n "$addr" ]] && break
        sleep 0.05
    done
    if [[ -z "$addr" ]]; then
        kill "$p1" 2>/dev/null || true
        echo "  (garnet garble did not start: $(tail -1 "$TMP/gg.err"))" >&2
        return
    fi
    local args=()
    for ((i = 0; i < n; i++)); do args+=(--input "in1=$PT"); done
    t0=$(now)
    timeout 300 "$G" evaluate "$AES" --connect "$addr" "${args[@]}" --json \
        >"$TMP/ge.out" 2>"$TMP/ge.err" || rc=$?
    t1=$(now)
    wait "$p1" || rc=$?
    if [[ $rc -ne 0 ]] || [[ $(grep -c "$CT" "$TMP/ge.out" || true) -ne $n ]]; then
        echo "  (garnet AES run failed, rc $rc: $(tail -1 "$TMP/ge.err"))" >&2
        return
    fi
    local after
    after=$(awk '$1 == "total" { t = $2 } $1 == "handshake" { h = $2 }
                 $1 == "base" && $2 == "OT" { b = $3 }
                 END { if (t != "") printf "%.6f", t - h - b }' "$TMP/ge.err")
    WALL=$(sub "$t1" "$t0")
    AFTER=$(num "$after")
}

FIGS=(garble_ns eval_ns cot aes1000 aes1_wall aes1_after e2e)
declare -A LABEL=(
    [garble_ns]="garble ns/AND (1 thread, to memory)"
    [eval_ns]="eval ns/AND (1 thread, from memory)"
    [cot]="IKNP COT/s"
    [aes1000]="AES-128 x$AES_RUNS, 1 session, s"
    [aes1_wall]="AES-128 x1 session wall, s"
    [aes1_after]="AES-128 x1 after setup, s"
    [e2e]="end-to-end AND/s (2 processes)"
)
declare -A GV EV # "figure" -> space-separated values of the rounds
KERNEL=-

for ((r = 1; r <= ROUNDS; r++)); do
    echo "round $r/$ROUNDS ..."
    # --- garnet bench, then EMP half-gates and COT
    if "$G" bench --json >"$TMP/gb.json" 2>"$TMP/gb.err"; then :; else : >"$TMP/gb.json"; fi
    GV[garble_ns]+="$(jnum garble_ns_per_and "$TMP/gb.json") "
    GV[eval_ns]+="$(jnum eval_ns_per_and "$TMP/gb.json") "
    GV[cot]+="$(jnum cot_per_second "$TMP/gb.json") "
    GV[e2e]+="$(jnum e2e_and_per_second "$TMP/gb.json") "
    k=$(grep -oE '"kernel":("[^"]*"|[A-Za-z0-9_.-]+)' "$TMP/gb.json" | head -1 | cut -d: -f2- | tr -d '"' || true)
    if [[ -n "$k" ]]; then KERNEL=$k; fi

    if have emp_halfgate_bench; then
        timeout 300 "$EMP_BUILD/emp_halfgate_bench" >"$TMP/hg.out" 2>&1 || true
        EV[garble_ns]+="$(kv garble_ns_per_and "$TMP/hg.out") "
        EV[eval_ns]+="$(kv eval_ns_per_and "$TMP/hg.out") "
    else
        EV[garble_ns]+="n/a "
        EV[eval_ns]+="n/a "
    fi

    if have emp_iknp_cot_bench; then
        emp_pair emp_iknp_cot_bench
        EV[cot]+="$(kv cot_per_second "$TMP/emp2.out") "
    elif have test_ot; then
        # test_ot's later (Ferret) tests want a ./data directory
        (mkdir -p "$TMP/ot/data" && cd "$TMP/ot" && emp_pair test_ot) || true
        v=$(awk -F'\t' '/^Passive IKNP COT/ { for (i = 1; i <= NF; i++) if ($i ~ /OTps/) { split($i, a, " "); print a[1] } }' "$TMP/emp2.out" | head -1)
        EV[cot]+="$(num "$v") "
    else
        EV[cot]+="n/a "
    fi

    # --- Bristol AES-128, two processes
    if [[ -n "$AES" ]]; then
        garnet_aes "$AES_RUNS"
        GV[aes1000]+="$WALL "
        garnet_aes 1
        GV[aes1_wall]+="$WALL "
        GV[aes1_after]+="$AFTER "
        if have emp_aes_bench; then
            for n in "$AES_RUNS" 1; do
                emp_pair emp_aes_bench "$AES" "$n" "$KEY" "$PT"
                w=$WALL
                if ! grep -q "^out0 $CT" "$TMP/emp2.out"; then
                    if [[ "$w" != n/a ]]; then echo "  (emp_aes_bench: wrong or missing ciphertext)" >&2; fi
                    w=n/a
                    : >"$TMP/emp2.out"
                fi
                if [[ $n == 1 ]]; then
                    EV[aes1_wall]+="$w "
                    EV[aes1_after]+="$(kv after_setup_seconds "$TMP/emp2.out") "
                else
                    EV[aes1000]+="$w "
                fi
            done
        else
            EV[aes1000]+="n/a "
            EV[aes1_wall]+="n/a "
            EV[aes1_after]+="n/a "
        fi
    else
        for f in aes1000 aes1_wall aes1_after; do
            GV[$f]+="n/a "
            EV[$f]+="n/a "
        done
    fi

    # --- EMP end to end: 32-bit multiplications (garnet's e2e came from its bench above)
    if have emp_mult_bench; then
        emp_pair emp_mult_bench "$EMP_MULTS"
        EV[e2e]+="$(kv and_per_second "$TMP/emp2.out") "
        EMP_ANDS_PER_MULT=$(awk '{ for (i = 1; i < NF; i++) if ($i == "ands_per_mult") print $(i + 1) }' "$TMP/emp2.out" | head -1)
    else
        EV[e2e]+="n/a "
    fi
done

median() {
    printf '%s\n' $1 | awk '/^-?[0-9.eE+-]+$/ { v[n++] = $1 }
        END { if (n == 0) { print "n/a"; exit }
              for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
              print (n % 2) ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2 }'
}
fmt() {
    awk -v x="$1" 'BEGIN { if (x == "n/a") print "n/a"
        else if (x + 0 >= 1e6) printf "%.2fM", x / 1e6
        else if (x + 0 >= 100) printf "%.1f", x
        else printf "%.4g", x }'
}
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'
}

CPU=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
echo
echo "CPU: ${CPU:--}  ($(nproc 2>/dev/null || echo '?') cores)"
echo "garnet kernel: $KERNEL"
echo "EMP_BUILD: $EMP_BUILD   AES file: ${AES:-none}   rounds: $ROUNDS"
if [[ -n "${EMP_ANDS_PER_MULT:-}" ]]; then
    echo "EMP 32-bit Integer*Integer: $EMP_ANDS_PER_MULT AND gates each (counted)"
fi
echo
printf '%-40s %12s %12s %14s\n' figure garnet EMP garnet/EMP
printf '%-40s %12s %12s %14s\n' ------ ------ --- ----------
for f in "${FIGS[@]}"; do
    g=$(median "${GV[$f]:-}")
    e=$(median "${EV[$f]:-}")
    printf '%-40s %12s %12s %14s\n' "${LABEL[$f]}" "$(fmt "$g")" "$(fmt "$e")" "$(ratio "$g" "$e")"
done
echo "(medians; ns/AND and seconds: lower is better; per second: higher is better."
echo " garnet's COT figure is two threads over an in-memory channel, EMP's two processes over TCP.)"
echo
echo "per round:"
for f in "${FIGS[@]}"; do
    printf '  %-38s garnet: %s| EMP: %s\n' "$f" "${GV[$f]:-}" "${EV[$f]:-}"
done
