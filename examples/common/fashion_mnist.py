"""The PyTorch side of the Fashion-MNIST examples: data loading and the
training loop that examples/common/train_classifier.cpp runs on the Kiln
side. Each example's reference script defines only its model and optimizer.

Recipe: pixels scaled to [0, 1] (no normalisation), shuffled each epoch with a
seeded generator, the last partial batch kept (DataLoader(drop_last=False)
semantics), CrossEntropyLoss; test accuracy in eval mode after each epoch.
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


def main(description, make_model, make_optimizer, batch_size, epochs, make_scheduler=None,
         scheduler_per_batch=False, clip_grad_norm=None):
    """Parses the command line, trains make_model() with make_optimizer(params)
    (and make_scheduler(optimizer), stepped once per epoch, or after every
    batch with scheduler_per_batch, where given; clip_grad_norm_ with that
    max_norm between backward and step, where given) and prints one line
    per epoch like the Kiln trainer."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--epochs", type=int, default=epochs)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=batch_size)
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = load(a.data_dir, "train")
    xte, yte = load(a.data_dir, "t10k")

    model = make_model()
    crit = nn.CrossEntropyLoss()
    opt = make_optimizer(model.parameters())
    sched = make_scheduler(opt) if make_scheduler else None
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
            if clip_grad_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            opt.step()
            if sched and scheduler_per_batch:
                sched.step()
            total += loss.item() * idx.numel()
        dt = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            correct = sum((model(xte[s:s + B]).argmax(1) == yte[s:s + B]).sum().item()
                          for s in range(0, xte.shape[0], B))
        print(f"epoch {epoch}: train loss {total / n:.4f}  test accuracy "
              f"{100.0 * correct / xte.shape[0]:.2f}%  lr {opt.param_groups[0]['lr']:.6g}  "
              f"{n / dt:.0f} samples/s", flush=True)
        if sched and not scheduler_per_batch:
            sched.step()
