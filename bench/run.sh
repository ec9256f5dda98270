#!/usr/bin/env bash
# Runs a benchmark workload on Kiln and on PyTorch eager side by side, in one
# invocation, and writes the results into docs/performance.md.
#
# usage: bench/run.sh W1|W2|W3|W4|W5|gemm   (gemm: bench/gemm/run.sh, the GEMM kernel
#        against torch.mm on training and square shapes)
#
# Environment: BUILD_DIR (default <repo>/build; configured with clang-19 and
# Ninja if it does not exist yet), JOBS (build parallelism, default 2),
# THREADS (default 2), SHARED_BENCH (default <repo>/../shared/bench),
# TORCH_OPENBLAS_DIR (a directory holding OpenBLAS's libblas.so.3 and
# libopenblas.so.0, put on LD_LIBRARY_PATH for the "best" PyTorch run only).
#
# PyTorch's speed depends on the BLAS behind /usr/lib/x86_64-linux-gnu/libblas.so.3:
# with Debian's reference BLAS (libblas3) its GEMMs are ~25x slower than with
# OpenBLAS. Without OpenBLAS installed, get one without touching the system:
#   apt-get download libopenblas0-pthread && dpkg -x libopenblas0-pthread_*.deb ob
#   TORCH_OPENBLAS_DIR=$PWD/ob/usr/lib/x86_64-linux-gnu/openblas-pthread bench/run.sh W1
# The report names the BLAS each PyTorch run used.
# Workloads: W1 (MLP, examples/mlp's model), W2 (LeNet-5, examples/lenet's
# model with W2's Adam lr 1e-3), W3 (small ResNet, examples/resnet's
# model at 3 x 32 x 32), W4 (two Transformer encoder layers) and W5 (an
# LSTM), bench/models/. What it does:
#   1. builds the workload's benchmark (w1_mlp, w2_lenet, w3_resnet,
#      w4_transformer, w5_lstm; and with
#      it kilnc and the model) if needed;
#   2. times `kilnc <model>.json -o <model>.o --mode=train` (median of 3);
#   3. runs Kiln (KILN_NUM_THREADS=$THREADS) and PyTorch at its best
#      (OMP_WAIT_POLICY=PASSIVE, OPENBLAS_CORETYPE naming the CPU's kernel
#      family: SkylakeX with AVX-512, Haswell with AVX2, else unset) in
#      alternating rounds, one process each, until each side's last two
#      medians agree within AGREE_PCT % (default 5; MIN_ROUNDS 3, MAX_ROUNDS
#      6); then PyTorch as installed (environment unchanged), once;
#   4. bench/report.py turns the RESULT lines into the W1 section of
#      docs/performance.md. Raw outputs stay in $BUILD_DIR/bench-results/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
shared=${SHARED_BENCH:-$repo/../shared/bench}
build=${BUILD_DIR:-$repo/build}
jobs=${JOBS:-2}
threads=${THREADS:-2}
py=/usr/bin/python3   # Debian's torch imports only with this interpreter

workload=${1:-}
if [ "$workload" = gemm ]; then   # the kernel benchmark: its own script and table
  shift
  exec "$here/gemm/run.sh" "$@"
fi
opt_swap=()   # torch_workload.py's flag when Kiln compiles another optimizer
case "$workload" in
  W1) target=w1_mlp; model=mlp ;;
  W2) target=w2_lenet; model=lenet_w2 ;;
  W3) target=w3_resnet; model=resnet_w3 ;;
  W4) target=w4_transformer; model=tx_w4 ;;
  W5) target=w5_lstm; model=lstm_w5 ;;
  ""|-h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "bench/run.sh: workload '$workload' has no Kiln benchmark (have: W1 W2 W3 W4 W5 gemm)" >&2; exit 2 ;;
esac
[ -f "$shared/workloads.py" ] || { echo "bench/run.sh: $shared/workloads.py not found (set SHARED_BENCH)" >&2; exit 1; }

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=${CC:-clang-19} CXX=${CXX:-clang++-19} \
    cmake -G Ninja -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" --target "$target" -j "$jobs"
bin=$build/bin/$target
[ -x "$bin" ] || { echo "bench/run.sh: $bin was not built (is kilnc building? see the CMake status lines)" >&2; exit 1; }

out=$build/bench-results/$workload-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"

# Compile time of the model: kilnc alone on the traced JSON, as the build runs it.
json=$(find "$build/examples" "$build/bench" -name "$model.json" -path "*$model.kiln*" | head -n 1)
kilnc=$build/bin/kilnc
compile_s=""
if [ -n "$json" ] && [ -x "$kilnc" ]; then
  times=()
  for _ in 1 2 3; do
    t0=$(date +%s.%N)
    "$kilnc" "$json" -o "$out/$model.o" --mode=train
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc)")
  done
  compile_s=$(printf '%s\n' "${times[@]}" | sort -g | sed -n 2p)
  echo "kilnc compile time (s): ${times[*]} -> median $compile_s"
fi

# OpenBLAS 0.3.21 (Debian 12) picks its kernels from cpuid and falls back
# to the SSE3 "Prescott" ones on CPUs it does not know (measured: the 2-CPU
# Xeon family 6 model 207 of 2026-12-05, W1 train step 9.3 ms instead of
# ~2.3): PyTorch's best then names the kernel family the CPU supports.
best_coretype=
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
  best_coretype=SkylakeX
elif grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
  best_coretype=Haswell
fi
if [ -n "$best_coretype" ]; then
  best_env=(OPENBLAS_CORETYPE=$best_coretype OMP_WAIT_POLICY=PASSIVE)
else
  best_env=(-u OPENBLAS_CORETYPE OMP_WAIT_POLICY=PASSIVE)
fi
command="bench/run.sh $workload"
if [ -n "${TORCH_OPENBLAS_DIR:-}" ]; then
  [ -f "$TORCH_OPENBLAS_DIR/libblas.so.3" ] || { echo "bench/run.sh: no libblas.so.3 in TORCH_OPENBLAS_DIR=$TORCH_OPENBLAS_DIR" >&2; exit 1; }
  best_env+=("LD_LIBRARY_PATH=$TORCH_OPENBLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
  command="TORCH_OPENBLAS_DIR=<OpenBLAS from Debian's libopenblas0-pthread> $command"
elif ! readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 | grep -qi openblas; then
  echo "bench/run.sh: warning: libblas.so.3 is not OpenBLAS and TORCH_OPENBLAS_DIR is unset:" \
       "PyTorch runs on the reference BLAS (see the header of this script)" >&2
fi
torch_run=("$py" "$here/torch_workload.py" "$shared" "$workload" "$threads")
# Stability (issue 11): Kiln and PyTorch at its best alternate, one process
# each per round (9 timed runs each), at least MIN_ROUNDS rounds and until
# each side's last two medians agree within AGREE_PCT % (at most MAX_ROUNDS);
# the table shows the median of the processes' medians and the spread over
# all their runs (bench/merge_runs.py). Alternating keeps a neighbour's load
# from landing on one side only.
min_rounds=${MIN_ROUNDS:-3}
max_rounds=${MAX_ROUNDS:-6}
agree_pct=${AGREE_PCT:-5}
kiln_runs=()
best_runs=()
for round in $(seq 1 "$max_rounds"); do
  echo "== round $round: Kiln, $threads threads"
  KILN_NUM_THREADS=$threads "$bin" | tee "$out/kiln-$round.txt"
  kiln_runs+=("$out/kiln-$round.txt")
  echo "== round $round: PyTorch, best configuration (${best_env[*]})"
  env "${best_env[@]}" "${torch_run[@]}" "${opt_swap[@]}" | tee "$out/torch-best-$round.txt"
  best_runs+=("$out/torch-best-$round.txt")
  if [ "$round" -ge "$min_rounds" ] &&
     "$py" "$here/merge_runs.py" --agree "$agree_pct" "${kiln_runs[@]}" &&
     "$py" "$here/merge_runs.py" --agree "$agree_pct" "${best_runs[@]}"; then
    break
  fi
done
"$py" "$here/merge_runs.py" "$out/kiln.txt" "${kiln_runs[@]}"
"$py" "$here/merge_runs.py" "$out/torch-best.txt" "${best_runs[@]}"
echo "== PyTorch, as installed (environment unchanged)"
"${torch_run[@]}" "${opt_swap[@]}" | tee "$out/torch-installed.txt"
extra=()
if [ ${#opt_swap[@]} -gt 0 ]; then
  echo "== PyTorch, best configuration, the workload's own optimizer"
  env "${best_env[@]}" "${torch_run[@]}" | tee "$out/torch-own-optimizer.txt"
  extra+=(--torch-own-optimizer "$out/torch-own-optimizer.txt")
fi
if [ -n "${TORCH_OPENBLAS_DIR:-}" ]; then
  echo "== PyTorch, environment unchanged but for OpenBLAS on LD_LIBRARY_PATH"
  LD_LIBRARY_PATH="$TORCH_OPENBLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "${torch_run[@]}" "${opt_swap[@]}" | tee "$out/torch-openblas-env.txt"
  extra+=(--torch-openblas-env "$out/torch-openblas-env.txt")
fi

"$py" "$here/report.py" --workload "$workload" --threads "$threads" \
  --kiln "$out/kiln.txt" --torch-best "$out/torch-best.txt" \
  --torch-installed "$out/torch-installed.txt" "${extra[@]}" --compile-s "${compile_s:-nan}" --model "$model" \
  --command "$command" --env-coretype "${OPENBLAS_CORETYPE:-(unset)}" \
  --best-coretype "${best_coretype:-(unset)}" \
  --out "$repo/docs/performance.md"
echo "results: $out; table: docs/performance.md"
