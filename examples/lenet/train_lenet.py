"""PyTorch reference for examples/lenet (build/bin/train_lenet): the same recipe.

Model: LeNet-5 as W2 of shared/bench/workloads.py (Conv2d(1, 6, 5, padding=2),
ReLU, MaxPool2d(2), Conv2d(6, 16, 5), ReLU, MaxPool2d(2), Flatten,
Linear(400, 120), ReLU, Linear(120, 84), ReLU, Linear(84, 10); state_dict
names 0.*, 3.*, 7.*, 9.*, 11.* like the Kiln model). CrossEntropyLoss, SGD
lr 0.01 momentum 0.9, batch 64, 3 epochs; data and loop in
examples/common/fashion_mnist.py.

usage: /usr/bin/python3 train_lenet.py [--epochs 3] [--threads 2] [--seed 0]
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import fashion_mnist  # noqa: E402


def make_model():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


if __name__ == "__main__":
    fashion_mnist.main(__doc__.split("\n")[0], make_model,
                       lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
                       batch_size=64, epochs=3)
