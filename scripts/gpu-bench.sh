#!/bin/bash
# The GPU benchmarks and the Fashion-MNIST run of the CUDA target (issue 12),
# on the GPU machine, from the bundle `scripts/gpu_prepare.py --bench`
# writes (build/gpu-bench: W1-W5 built against their --target=cuda
# objects, the CUDA MLP's trainer with the dataset, workloads.py):
#   scripts/gpu-bench.sh build/gpu-bench [rounds]
# Each round runs every workload's Kiln binary and then PyTorch CUDA eager
# (bench/torch_workload_cuda.py: resident inputs, and inputs from host
# memory as a Kiln call with host pointers takes them); each prints one
# RESULT line: compare each side's best median (docs/performance.md).
# Then 3 epochs of the MLP on Fashion-MNIST, with the CPU build's accuracy
# (made by gpu_prepare.py) beside it: within one point is the target.
# --no-gpu: a dry run of a `gpu_prepare.py --bench --target cpu` bundle
# (PyTorch then runs on the CPU).
set -u
dir=${1:?usage: scripts/gpu-bench.sh BUNDLE [rounds] [--no-gpu]}
rounds=${2:-2}
gpu=1
[ "${3:-}" = "--no-gpu" ] && gpu=0
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python3}
status=0
suffix=cuda
if [ $gpu = 1 ]; then
  nvidia-smi -L || { echo "gpu-bench: no NVIDIA GPU or driver here" >&2; exit 2; }
else
  suffix=cpu
fi

for round in $(seq 1 "$rounds"); do
  for w in "w1_mlp W1" "w2_lenet W2" "w3_resnet W3" "w4_transformer W4" "w5_lstm W5"; do
    set -- $w
    echo "== round $round: $2 kiln"
    "$dir/${1}_$suffix" | grep '^RESULT' || { echo "gpu-bench: $1 failed" >&2; status=1; }
    echo "== round $round: $2 torch"
    if [ $gpu = 1 ]; then
      "$py" "$root/bench/torch_workload_cuda.py" "$dir/shared_bench" "$2" | grep '^RESULT' || status=1
    else
      "$py" "$root/bench/torch_workload_cuda.py" "$dir/shared_bench" "$2" cpu | grep '^RESULT' || status=1
    fi
  done
done

echo "== Fashion-MNIST, 3 epochs (CPU build for reference:)"
cat "$dir/cpu_reference.txt"
"$dir/train_fashion_mnist_$suffix" --epochs 3 --seed 0 --data-dir "$dir/data" 2>/dev/null |
  grep "^epoch " || { echo "gpu-bench: training failed" >&2; status=1; }
exit $status
