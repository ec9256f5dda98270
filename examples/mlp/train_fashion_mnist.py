"""PyTorch reference for examples/mlp/train_fashion_mnist.cpp: the same recipe.

Model: Flatten, Linear(784, 512), ReLU, Linear(512, 512), ReLU, Linear(512, 10)
(state_dict names 1.*, 3.*, 5.*, like the Kiln model). CrossEntropyLoss, SGD
lr 0.01 momentum 0.9, batch 128, shuffled each epoch, last partial batch kept
(DataLoader(drop_last=False) semantics). Pixels scaled to [0, 1], no
normalisation.

usage: /usr/bin/python3 train_fashion_mnist.py [--epochs 3] [--threads 2]
           [--seed 0] [--data-dir /usr/share/datasets/fashion-mnist]
Debian's torch 1.13 imports only with /usr/bin/python3. With --threads > 1 set
OMP_WAIT_POLICY=PASSIVE in the environment (see shared/bench/README.md).
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx(path, magic, ndim):
    """Reads one gzip'ed IDX file; checks the magic number and the size."""
    if not os.path.exists(path):
        sys.exit(f"error: missing data file {path}")
    with gzip.open(path, "rb") as f:
        data = f.read()
    got = int.from_bytes(data[0:4], "big")
    if got != magic:
        sys.exit(f"error: {path}: magic {got:#x}, expected {magic:#x}")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    off = 4 + 4 * ndim
    if len(data) - off != int(np.prod(dims)):
        sys.exit(f"error: {path}: {len(data) - off} payload bytes, expected {int(np.prod(dims))}")
    return np.frombuffer(data, dtype=np.uint8, offset=off).reshape(dims)


def load(data_dir, split):
    x = read_idx(os.path.join(data_dir, f"{split}-images-idx3-ubyte.gz"), 0x803, 3)
    y = read_idx(os.path.join(data_dir, f"{split}-labels-idx1-ubyte.gz"), 0x801, 1)
    if x.shape[0] != y.shape[0]:
        sys.exit(f"error: {split}: {x.shape[0]} images but {y.shape[0]} labels")
    x = torch.from_numpy(x.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return x, torch.from_numpy(y.astype(np.int64))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = load(a.data_dir, "train")
    xte, yte = load(a.data_dir, "t10k")

    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(),
                          nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    crit = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    gen = torch.Generator().manual_seed(a.seed)
    B, n = a.batch_size, xtr.shape[0]
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(auto)')}", flush=True)
    for epoch in range(1, a.epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=gen)
        total, t0 = 0.0, time.perf_counter()
        for s in range(0, n, B):
            idx = perm[s:s + B]
            opt.zero_grad()
            loss = crit(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            total += loss.item() * idx.numel()
        dt = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            correct = sum((model(xte[s:s + B]).argmax(1) == yte[s:s + B]).sum().item()
                          for s in range(0, xte.shape[0], B))
        print(f"epoch {epoch}: train loss {total / n:.4f}  test accuracy "
              f"{100.0 * correct / xte.shape[0]:.2f}%  {n / dt:.0f} samples/s", flush=True)


if __name__ == "__main__":
    main()
