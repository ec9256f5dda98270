#!/usr/bin/env bash
# Install dependencies, build, and run every test suite through ctest
# (lit IR tests, unit tests, PyTorch parity, end to end).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j2
