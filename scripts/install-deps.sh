#!/usr/bin/env bash
# Installs Kiln's build and test dependencies from Debian 12 packages.
# Idempotent: does nothing when every package is already installed.
set -euo pipefail
packages=(cmake ninja-build clang-19 llvm-19-dev llvm-19-tools libmlir-19-dev
          mlir-19-tools libgtest-dev nlohmann-json3-dev libopenmpi-dev
          openmpi-bin python3-torch python3-numpy dataset-fashion-mnist gzip
          libclang-rt-19-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "kiln: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
