#!/usr/bin/env bash
# The GEMM benchmark (issue 11 item 1): Kiln's kiln_sgemm (gemm_bench) and
# PyTorch's torch.mm (gemm_torch.py) on the shapes of shapes.def, one after
# the other in one invocation, then one side-by-side markdown table on stdout
# (report.py).
#
# usage: bench/gemm/run.sh [--quick]
# Environment: BUILD_DIR (default <repo>/build, must be configured),
# JOBS (default 2), THREADS (default 2), TORCH_OPENBLAS_DIR (as for
# bench/run.sh: OpenBLAS for PyTorch; without it torch.mm runs on whatever
# libblas.so.3 is installed, Debian's reference BLAS by default).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$(dirname "$here")")
build=${BUILD_DIR:-$repo/build}
threads=${THREADS:-2}
cmake --build "$build" --target gemm_bench -j "${JOBS:-2}" >&2
out=$build/bench-results/gemm-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
KILN_NUM_THREADS=$threads "$build/bin/gemm_bench" "$here/shapes.def" "$@" | tee "$out/kiln.txt" >&2
torch_env=(-u OPENBLAS_CORETYPE OMP_WAIT_POLICY=PASSIVE)
blas="installed libblas.so.3 ($(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3))"
if [ -n "${TORCH_OPENBLAS_DIR:-}" ]; then
  torch_env+=("LD_LIBRARY_PATH=$TORCH_OPENBLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
  blas="OpenBLAS from TORCH_OPENBLAS_DIR"
fi
env "${torch_env[@]}" /usr/bin/python3 "$here/gemm_torch.py" "$here/shapes.def" --threads "$threads" "$@" | tee "$out/torch.txt" >&2
/usr/bin/python3 "$here/report.py" "$out/kiln.txt" "$out/torch.txt" "$threads" "$blas"
