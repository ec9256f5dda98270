"""PyTorch reference for examples/mlp's AdamW recipe (build/bin/train_fashion_mnist_adamw).

Model: Flatten, Linear(784, 512), ReLU, Linear(512, 512), ReLU, Linear(512, 10).
CrossEntropyLoss, AdamW lr 1e-3 weight_decay 1e-2, OneCycleLR max_lr 2e-3 over
3 x 469 batches (stepped per batch; cycle_momentum cycles beta1),
clip_grad_norm_(max_norm 1.0), batch 128, 3 epochs; data and loop in
examples/common/fashion_mnist.py.

usage: /usr/bin/python3 train_fashion_mnist_adamw.py [--epochs 3] [--threads 2]
           [--seed 0] [--data-dir /usr/share/datasets/fashion-mnist]
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import fashion_mnist  # noqa: E402
from train_fashion_mnist import make_model  # noqa: E402  (the same MLP)

if __name__ == "__main__":
    fashion_mnist.main(__doc__.split("\n")[0], make_model,
                       lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=1e-2),
                       batch_size=128, epochs=3,
                       make_scheduler=lambda o: torch.optim.lr_scheduler.OneCycleLR(
                           o, max_lr=2e-3, total_steps=3 * 469),
                       scheduler_per_batch=True, clip_grad_norm=1.0)
