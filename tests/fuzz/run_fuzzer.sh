#!/usr/bin/env bash
# run_fuzzer.sh <fuzzer> <seed corpus> <work dir> <seconds> [more seed dirs or libFuzzer flags]
#
# Replays the checked-in seeds and everything earlier runs found (kept in
# <work dir>/corpus, never in the source tree), then fuzzes for <seconds>.
# Limits as in docs/reliability.md: inputs up to 1 MiB, 2 GiB of memory,
# 30 s per input. A crash, leak, hang or out-of-memory fails the run and
# leaves the input in <work dir>/artifacts.
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 seconds=$4
shift 4
name=$(basename "$fuzzer")
dict=$(dirname "$seeds")/../$name.dict
mkdir -p "$work/corpus" "$work/artifacts"
flags=(-max_total_time="$seconds" -rss_limit_mb=2048 -max_len=1048576
       -timeout=30 -print_final_stats=1 -artifact_prefix="$work/artifacts/")
[[ -f $dict ]] && flags+=(-dict="$dict")
# allow_user_poisoning=0: see scripts/build-and-test.sh (MLIR's allocator).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allow_user_poisoning=0"
# The first directory receives what the run finds: the build tree, never a
# seed directory of the source tree.
exec "$fuzzer" "${flags[@]}" "$work/corpus" "$seeds" "$@"
