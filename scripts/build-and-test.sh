#!/usr/bin/env bash
# Install dependencies, build, and run every test suite through ctest
# (lit IR tests, unit tests, PyTorch parity, end to end, hostile inputs).
#
#   scripts/build-and-test.sh              Release build in build/
#   scripts/build-and-test.sh --sanitize   the suite with compiler,
#       runtime, tools and tests built with AddressSanitizer,
#       UndefinedBehaviorSanitizer and assertions in build-sanitize/ (any report
#       fails), plus the libFuzzer targets of tests/fuzz, each run for
#       KILN_FUZZ_SECONDS (default 60) after replaying its seeds. For CI's
#       time limit the parity models are compiled by build/'s kilnc (the
#       instrumented kilnc compiles the hand-written ones, the hostile
#       inputs, the lit tests and the fuzz inputs) and every 4th generated
#       parity case of each family is kept (KILN_PARITY_SAMPLE).
#   scripts/build-and-test.sh --tsan       the runtime and its tests (ctest
#       label `runtime`: tests/unit's runtime_* and model_*) built with
#       ThreadSanitizer in build-tsan/, models compiled by build/'s kilnc
#       (any report fails)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
case "${1:-}" in
  "")
    scripts/build.sh
    ctest --test-dir build --output-on-failure -j2
    ;;
  --sanitize)
    if [ -f build/build.ninja ]; then ninja -C build kilnc; else scripts/build.sh; fi
    flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
    # Release without -DNDEBUG: assert() is on in our code and in the MLIR
    # and LLVM header code it instantiates (ODS builders, op interfaces),
    # which a Release build compiles out and a Debug build would hit.
    cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
      -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
      -DCMAKE_C_FLAGS_RELEASE=-O3 -DCMAKE_CXX_FLAGS_RELEASE=-O3 \
      -DKILN_KILNC="$PWD/build/bin/kilnc" -DKILN_PARITY_SAMPLE=4 \
      -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
      -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
      -DKILN_MUTANT_COUNT=500 -DKILN_FUZZ=ON \
      -DKILN_FUZZ_SECONDS="${KILN_FUZZ_SECONDS:-60}" >/dev/null
    # kilnc runs during the build (kiln_add_model) too. allow_user_poisoning=0:
    # LLVM's header-only BumpPtrAllocator poisons its slabs when compiled
    # with ASan, but libMLIR.so (not instrumented) allocates from the same
    # slabs without unpoisoning them: false reports, not bugs of ours.
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allow_user_poisoning=0
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1
    ninja -C build-sanitize
    ctest --test-dir build-sanitize --output-on-failure -j2
    ;;
  --tsan)
    # Only the runtime and the code that calls it are instrumented: kilnc is
    # the Release build's (KILN_KILNC), built first if it is not there, and
    # the kernels it generates are not compiled by clang. TSan sees the
    # runtime's own synchronisation (pool, instances, file writes), which is
    # what the concurrency contract rests on (docs/reliability.md).
    if [ -f build/build.ninja ]; then ninja -C build kilnc; else scripts/build.sh; fi
    flags="-fsanitize=thread -fno-omit-frame-pointer -g"
    cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
      -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
      -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread \
      -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread \
      -DKILN_KILNC="$PWD/build/bin/kilnc" >/dev/null
    ninja -C build-tsan runtime_unit_tests model_unit_tests
    # Reports go to files rather than stderr so that one in a forked child
    # (death tests, the killed-save tests), whose exit status the test
    # expects to be abnormal anyway, fails the run too.
    reports="$PWD/build-tsan/tsan-reports"
    rm -rf "$reports"
    mkdir -p "$reports"
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$reports/report"
    status=0
    ctest --test-dir build-tsan --output-on-failure -j2 --no-tests=error \
      -L '^runtime$' || status=$?
    if compgen -G "$reports/report.*" >/dev/null; then
      cat "$reports"/report.*
      echo "ThreadSanitizer reported (above; files in $reports)" >&2
      exit 1
    fi
    exit "$status"
    ;;
  *)
    echo "usage: $0 [--sanitize | --tsan]" >&2
    exit 2
    ;;
esac
