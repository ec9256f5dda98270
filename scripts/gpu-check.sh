#!/bin/bash
# The GPU suite of the CUDA target (issue 12), from prebuilt binaries: run on
# a machine with an NVIDIA GPU and driver but no LLVM/MLIR (the device
# machine), after building here with
#   ninja -C build model_cuda_tests runtime_unit_tests
# and copying build/tests/unit/{model_cuda_tests,runtime_unit_tests} there.
# The binaries load that machine's own libcuda.so.1 and cuBLAS at run time.
# Exit status: non-zero when a test fails or there is no GPU.
#
#   scripts/gpu-check.sh [build-dir]
set -u
build=${1:-build}
status=0

echo "== device"
if ! nvidia-smi -L; then
  echo "gpu-check: no NVIDIA GPU or driver here" >&2
  exit 2
fi

run() {
  echo "== $*"
  if ! "$@"; then
    echo "gpu-check: FAILED: $*" >&2
    status=1
  fi
}

# The device layer: memory, copies, a PTX kernel, cuBLAS in every layout.
run "$build/bin/runtime_unit_tests" --gtest_filter='RuntimeCuda*:RuntimeDevice*'
# A kilnc --target=cuda model: created on the GPU, trained against the CPU
# build of the same model (rel 1e-4).
run "$build/bin/model_cuda_tests"

echo "== gpu-check: $([ $status -eq 0 ] && echo passed || echo FAILED)"
exit $status
