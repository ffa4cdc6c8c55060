#!/bin/sh
# bench/run.sh - every benchmark of bench/ in one go, for one device call
# (bench/README.md). Run from the repository root with build/ built here
# (make all bench) and carried. Full output goes to OUTDIR/bench.log (default
# $OUT, else /tmp); the markdown table rows are printed again at the end.
#   BENCH_BUDGET  seconds of GPU time per timing mode (default 4)
#   BENCH_QUICK=1 only the default matmul and the 8192 x 8192 GEMVs
out=${1:-${OUT:-/tmp}}
budget=${BENCH_BUDGET:-4}
log=$out/bench.log
mkdir -p "$out"
: >"$log"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.draw,temperature.gpu \
    --format=csv >>"$log" 2>&1
one() {
    limit=$1
    shift
    echo "== $*" >>"$log"
    timeout "$limit" "$@" --budget "$budget" >>"$log" 2>&1
    echo "== rc=$?" >>"$log"
}
one 60 build/bench/matmul
[ -n "$BENCH_QUICK" ] || one 60 build/bench/matmul --spec bm=32,bn=64,bk=32,wm=1,wn=4
one 60 build/bench/gemv --spec wt=u3,group=128
one 60 build/bench/gemv --spec wt=u4,group=64
if [ -z "$BENCH_QUICK" ]; then
    one 60 build/bench/gemv --spec wt=u4,group=64 --n 4096 --k 4096
    one 60 build/bench/gemv --spec wt=u4,group=64 --n 14336 --k 4096
    one 60 build/bench/gemv --spec wt=u4,group=64 --n 28672 --k 4096
fi
# the tensor-core GEMV (group 128) for u4 and u3 codes
one 60 build/bench/gemv --file samples/kernels/gemv_u4.lpk
one 60 build/bench/gemv --file samples/kernels/gemv_u4.lpk --spec wt=u3
if [ -z "$BENCH_QUICK" ]; then
    for nk in "4096 4096" "14336 4096" "28672 4096"; do
        set -- $nk
        one 60 build/bench/gemv --file samples/kernels/gemv_u4.lpk --n "$1" --k "$2"
    done
fi
grep -E '^(card|copy|==|  )' "$log" | grep -v '^== rc=0'
grep -E '^\|' "$log" | awk '!/^\|---/ && (!seen[$0]++ || !/^\| (shape|N x K)/)'
