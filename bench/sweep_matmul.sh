#!/bin/sh
# bench/sweep_matmul.sh - times the candidate schedules of the tiled f16
# matmul sample (samples/kernels/matmul.lpk, k16-sliced register
# double-buffered fragments) at 4096^3 against cuBLAS, each in its own
# build/bench/matmul run (cuBLAS timed in the same run), and prints one
# table. Run from the repository root on the GPU machine, build/ carried:
#
#   sh bench/sweep_matmul.sh OUTDIR        (logs: OUTDIR/matmul_N.log)
#
# BUDGET (default 2) is --budget, seconds of GPU time per timing mode.
# When git can show HEAD's sample, its schedule (all fragments of a k step
# loaded after the barrier) runs first as the baseline, built by this same
# code generator.
out=${1:-/tmp/sweep_matmul}
budget=${BUDGET:-2}
mkdir -p "$out"
bin=build/bench/matmul
[ -x "$bin" ] || { echo "sweep_matmul: $bin not built (make bench)"; exit 1; }

# spec | why it is a candidate
cands="bm=128,bn=256,bk=32,wm=2,wn=4,stages=3|default: 8 warps of 64x64, 72 KB shared
bm=128,bn=256,bk=32,wm=2,wn=4,stages=4|one more stage in flight, 96 KB
bm=128,bn=256,bk=64,wm=2,wn=4,stages=3|half the barriers and waits per k, 144 KB
bm=256,bn=128,bk=32,wm=4,wn=2,stages=4|the transposed block tile, 96 KB
bm=128,bn=128,bk=32,wm=2,wn=2,stages=4|4 warps of 64x64: 2 blocks per SM, 64 KB each
bm=128,bn=128,bk=64,wm=2,wn=2,stages=3|4 warps, bk=64: 2 blocks per SM, 96 KB each"

rows=""
i=0
run() { # file spec label
    i=$((i + 1))
    log="$out/matmul_$i.log"
    "$bin" --file "$1" --spec "$2" --budget "$budget" > "$log" 2>&1
    row=$(grep '^| 4096 x 4096 x 4096' "$log" | tail -1)
    chk=$(grep 'check:' "$log" | sed 's/.*= //' | tail -1)
    [ -n "$row" ] || row="| 4096 x 4096 x 4096 | - | $2 | run failed, see $log |"
    rows="$rows
$row $3 | ${chk:--} |"
    echo "done: $3 $2"
}

if git show HEAD:samples/kernels/matmul.lpk > "$out/matmul_head.lpk" 2>/dev/null; then
    run "$out/matmul_head.lpk" "bm=128,bn=256,bk=32,wm=2,wn=4,stages=3" "baseline: HEAD's schedule"
fi
echo "$cands" | while IFS='|' read -r spec why; do
    [ -n "$spec" ] || continue
    echo "$spec|$why"
done > "$out/cands.txt"
while IFS='|' read -r spec why; do
    run samples/kernels/matmul.lpk "$spec" "$why"
done < "$out/cands.txt"

echo
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null
echo
echo "| shape (m x n x k) | dtype | spec | lpvm b2b us | lpvm single us | lpvm TFLOP/s (b2b) | cuBLAS b2b us | cuBLAS single us | cuBLAS TFLOP/s (b2b) | lpvm / cuBLAS (b2b) | candidate | check |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
echo "$rows" | sed '/^$/d'
