#!/bin/sh
# The data-parallel Fashion-MNIST example under mpirun -np 2: one epoch with
# a checkpoint, then a resume for the second; rank 0 alone prints, the test
# accuracy after epoch 2 is above 80 %. Exit 77 (skip) without the data.
# usage: example_resume.sh <mpirun> <train_fashion_mnist_dp> <work dir>
set -eu
mpirun=$1 trainer=$2 work=$3
data=/usr/share/datasets/fashion-mnist
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "no Fashion-MNIST in $data: skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
run() { "$mpirun" --allow-run-as-root --oversubscribe -np 2 -x KILN_NUM_THREADS=1 "$trainer" "$@" 2>/dev/null; }
run --epochs 1 --checkpoint "$work/ck" > "$work/first.txt"
run --epochs 2 --resume "$work/ck" --checkpoint "$work/ck" > "$work/second.txt"
cat "$work/first.txt" "$work/second.txt"
grep -q "2 processes (global batch 128)" "$work/first.txt"
[ "$(grep -c '^epoch 1:' "$work/first.txt")" = 1 ]   # rank 0 only
[ "$(grep -c 'resumed from' "$work/second.txt")" = 1 ]
[ "$(cat "$work/ck/epoch.txt")" = 2 ]
grep '^epoch 2:' "$work/second.txt" | awk '{ for (i = 1; i <= NF; ++i) if ($i == "accuracy") { sub("%", "", $(i + 1)); exit !($(i + 1) > 80) } exit 1 }'
echo "example: OK"
