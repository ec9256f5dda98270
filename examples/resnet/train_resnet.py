"""PyTorch reference for examples/resnet (build/bin/train_resnet): the same recipe.

Model: SmallResNet of W3 in shared/bench/workloads.py, the stem taking 1 input
channel (Fashion-MNIST): Conv3x3(1->32)-BN-ReLU, BasicBlock(32, 32) x 2,
BasicBlock(32, 64, stride 2) with a 1x1 projection, AdaptiveAvgPool2d(1),
Linear(64, 10); state_dict names as the Kiln model's. CrossEntropyLoss, SGD
lr 0.01 momentum 0.9 weight_decay 5e-4 (W3's), CosineAnnealingLR(T_max=3)
stepped per epoch, batch 32 (divides 60000, so no partial batch reaches batch
norm), 3 epochs; data and loop in examples/common/fashion_mnist.py.

usage: /usr/bin/python3 train_resnet.py [--epochs 3] [--threads 2] [--seed 0]
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import fashion_mnist  # noqa: E402


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        s = x if self.proj is None else self.proj(x)
        return torch.relu(y + s)


class SmallResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.blocks = nn.Sequential(BasicBlock(32, 32), BasicBlock(32, 32), BasicBlock(32, 64, 2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.blocks(self.stem(x))), 1))


if __name__ == "__main__":
    fashion_mnist.main(__doc__.split("\n")[0], SmallResNet,
                       lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, weight_decay=5e-4),
                       batch_size=32, epochs=3,
                       make_scheduler=lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=3))
