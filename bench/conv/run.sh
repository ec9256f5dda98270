#!/usr/bin/env bash
# The convolution benchmark (issue 8 item 4): Kiln (conv_bench: whole
# models; conv_kernels: the runtime routines alone) and PyTorch
# (conv_torch.py) on the shapes of shapes.def, one after the other in one
# invocation, then one side-by-side markdown table on stdout (report.py).
#
# usage: bench/conv/run.sh [--quick] [--only <shape>[,<shape>...]]
# Environment: BUILD_DIR (default <repo>/build, must be configured),
# JOBS (default 2), THREADS (default 2).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$(dirname "$here")")
build=${BUILD_DIR:-$repo/build}
threads=${THREADS:-2}
cmake --build "$build" --target conv_bench conv_kernels -j "${JOBS:-2}" >&2
out=$build/bench-results/conv-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
KILN_NUM_THREADS=$threads "$build/bin/conv_bench" --threads "$threads" "$@" | tee "$out/kiln.txt" >&2
KILN_NUM_THREADS=$threads "$build/bin/conv_kernels" --threads "$threads" "$@" | tee "$out/kernels.txt" >&2
/usr/bin/python3 "$here/conv_torch.py" --threads "$threads" "$@" | tee "$out/torch.txt" >&2
/usr/bin/python3 "$here/report.py" "$out/kiln.txt" "$out/torch.txt" "$threads" "$out/kernels.txt"
