#!/usr/bin/env bash
# The main job: install dependencies, build, compile the example MLP with
# kilnc, link it, and train it on Fashion-MNIST (3 epochs by default;
# extra arguments go to the trainer, e.g. --epochs 1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
mkdir -p build/checkpoints
exec build/bin/train_fashion_mnist --checkpoint build/checkpoints/mlp "$@"
