#!/usr/bin/env bash
# Install dependencies, build, and run every test suite through ctest
# (lit IR tests, unit tests, PyTorch parity, end to end, hostile inputs).
#
#   scripts/build-and-test.sh              Release build in build/
#   scripts/build-and-test.sh --sanitize   the same suite with compiler,
#       runtime, tools and tests built with AddressSanitizer and
#       UndefinedBehaviorSanitizer in build-sanitize/ (any report fails)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
case "${1:-}" in
  "")
    scripts/build.sh
    ctest --test-dir build --output-on-failure -j2
    ;;
  --sanitize)
    flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
    cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
      -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
      -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
      -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
      -DKILN_MUTANT_COUNT=500 >/dev/null
    # kilnc runs during the build (kiln_add_model) too. allow_user_poisoning=0:
    # LLVM's header-only BumpPtrAllocator poisons its slabs when compiled
    # with ASan, but libMLIR.so (not instrumented) allocates from the same
    # slabs without unpoisoning them: false reports, not bugs of ours.
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allow_user_poisoning=0
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1
    ninja -C build-sanitize
    ctest --test-dir build-sanitize --output-on-failure -j2
    ;;
  *)
    echo "usage: $0 [--sanitize]" >&2
    exit 2
    ;;
esac
