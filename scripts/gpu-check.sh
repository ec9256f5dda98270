#!/bin/bash
# The GPU check of the CUDA target (issue 12), on a machine with an NVIDIA
# GPU and driver, CUDA and python3 with numpy, but no LLVM/MLIR (the device
# machine). Everything it runs was built and prepared elsewhere by
#   scripts/gpu_prepare.py --out build/gpu-check
# (test binaries, kilnc --target=cuda parity drivers, torch's references);
# carry build/gpu-check there and run, from the repository root,
#   scripts/gpu-check.sh build/gpu-check
# The binaries load that machine's own libcuda.so.1 and cuBLAS at run time.
#
# Runs: the device layer's tests (memory, copies, PTX, cuBLAS in every
# layout), the CUDA model tests (create on the GPU, train like the CPU
# build), then every prepared parity case against torch's reference with
# the GPU tolerances (rel 1e-4: cuBLAS sums in another order).
# $PYTHON (default python3) runs the comparisons; it needs numpy.
# --no-gpu runs only the parity loop, without nvidia-smi: a dry run of a
# `gpu_prepare.py --target cpu` directory on any machine.
# Exit status: 0 when everything passed, 1 when something failed, 2 without
# a GPU.
set -u
dir=${1:?usage: scripts/gpu-check.sh PREPARED-DIR [--no-gpu]}
gpu=1
[ "${2:-}" = "--no-gpu" ] && gpu=0
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
start=$SECONDS

fail() {
  echo "gpu-check: FAILED: $*" >&2
  status=1
}

if [ $gpu = 1 ]; then
  echo "== device"
  if ! nvidia-smi -L; then
    echo "gpu-check: no NVIDIA GPU or driver here" >&2
    exit 2
  fi
  echo "== device layer"
  "$dir/bin/runtime_unit_tests" --gtest_brief=1 --gtest_filter='RuntimeCuda*:RuntimeDevice*' ||
    fail runtime_unit_tests
  echo "== CUDA model"
  # NCCL for the communicator's test (CommNccl.*): the loader's, else the
  # toolkit's, else the one PyTorch's wheels bring.
  if [ -z "${KILN_NCCL_PATH:-}" ] && ! ldconfig -p 2>/dev/null | grep -q libnccl.so.2; then
    for candidate in /usr/local/cuda/lib64/libnccl.so.2 /usr/local/cuda/lib/libnccl.so.2 \
        $(${PYTHON:-python3} -c 'import nvidia.nccl, os; print(os.path.join(nvidia.nccl.__path__[0], "lib", "libnccl.so.2"))' 2>/dev/null); do
      if [ -f "$candidate" ]; then export KILN_NCCL_PATH=$candidate; break; fi
    done
  fi
  echo "NCCL: ${KILN_NCCL_PATH:-libnccl.so.2 on the loader path}"
  "$dir/bin/model_cuda_tests" --gtest_brief=1 || fail model_cuda_tests
fi

echo "== parity cases ($(wc -l < "$dir/manifest.tsv") prepared, $(wc -l < "$dir/skipped.tsv") skipped: $dir/skipped.tsv)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=()
while IFS=$'\t' read -r name args; do
  case_dir="$dir/cases/$name"
  mkdir -p "$work/$name"
  cp "$case_dir"/*.safetensors "$work/$name/"
  # shellcheck disable=SC2086
  if "${PYTHON:-python3}" "$root/tests/parity/run_case.py" parity --reuse-reference --model "$name" \
      --driver "$case_dir/driver" --work "$work/$name" $args \
      --forward-rtol 1e-4 > "$work/$name.log" 2>&1; then
    passed=$((passed + 1))
  else
    failed+=("$name")
    echo "--- $name"
    tail -n 15 "$work/$name.log"
  fi
done < "$dir/manifest.tsv"
echo "parity: $passed passed, ${#failed[@]} failed${failed:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ] || fail "parity cases"

echo "== gpu-check: $([ $status -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - start)) s"
exit $status
