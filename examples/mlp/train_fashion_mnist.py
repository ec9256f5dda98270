"""PyTorch reference for examples/mlp (build/bin/train_fashion_mnist): the same recipe.

Model: Flatten, Linear(784, 512), ReLU, Linear(512, 512), ReLU, Linear(512, 10)
(state_dict names 1.*, 3.*, 5.*, like the Kiln model). CrossEntropyLoss, SGD
lr 0.01 momentum 0.9, batch 128, 3 epochs; data and loop in
examples/common/fashion_mnist.py.

usage: /usr/bin/python3 train_fashion_mnist.py [--epochs 3] [--threads 2]
           [--seed 0] [--data-dir /usr/share/datasets/fashion-mnist]
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import fashion_mnist  # noqa: E402


def make_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(),
                         nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


if __name__ == "__main__":
    fashion_mnist.main(__doc__.split("\n")[0], make_model,
                       lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
                       batch_size=128, epochs=3)
