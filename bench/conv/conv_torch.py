"""The convolution benchmark's PyTorch side (run with /usr/bin/python3).

Times, for every shape of shapes.def, what conv_bench times on Kiln, the same
way (warm-up, median of `runs` runs of k back-to-back calls, each run
>= min_run_s): forward (no autograd), gradients of one Conv2d under an MSE
loss (forward + loss + weight/bias gradients; x needs no gradient) and, for
<shape>_2 models, of two stacked; plus the input and the weight gradient
alone (aten.convolution_backward), which the Kiln side can only derive.
Prints `RESULT <shape> <fwd> <grad_1> <grad_2 or -> <dgrad> <wgrad>` in ms.

usage: conv_torch.py [--threads N] [--quick] [--only <shape>[,<shape>...]]
"""
import os
import re
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
STACKED = {"r56", "res_32", "dw56", "dw28", "rx56"}  # the shapes with a <shape>_2 Kiln model


def shapes():
    with open(os.path.join(HERE, "shapes.def")) as f:
        for m in re.finditer(r"^SHAPE\((\w+),([^)]*)\)", f.read(), re.M):
            yield m.group(1), [int(v) for v in m.group(2).split(",")]


def median_ms(fn, runs, min_run_s):
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    k = max(1, min(10000, int(min_run_s / one)))
    per = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        per.append((time.perf_counter() - t0) / k)
    per.sort()
    return per[len(per) // 2] * 1e3


def main():
    threads, runs, min_run_s, only = 2, 5, 0.2, None
    args = sys.argv[1:]
    while args:
        a = args.pop(0)
        if a == "--threads":
            threads = int(args.pop(0))
        elif a == "--quick":
            runs, min_run_s = 1, 0.0
        elif a == "--only":
            only = args.pop(0)
        else:
            sys.exit(__doc__)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    for name, (n, c, f, h, w, k, s, p, g) in shapes():
        if only and name not in only.split(","):
            continue
        convs = [torch.nn.Conv2d(c, f, k, stride=s, padding=p, groups=g) for _ in range(2)]
        x = torch.randn(n, c, h, w)
        y = convs[0](x).detach()
        target = torch.randn_like(y)

        def forward():
            with torch.no_grad():
                convs[0](x)

        def gradients(layers):
            out = x
            for conv in layers:
                out = conv(out)
            loss = torch.nn.functional.mse_loss(out, target)
            params = [t for conv in layers for t in conv.parameters()]
            torch.autograd.grad(loss, params)

        def backward(mask):
            torch.ops.aten.convolution_backward(
                target, x, convs[0].weight.detach(), [f], [s, s], [p, p], [1, 1],
                False, [0, 0], g, mask)

        fwd = median_ms(forward, runs, min_run_s)
        g1 = median_ms(lambda: gradients(convs[:1]), runs, min_run_s)
        g2 = median_ms(lambda: gradients(convs), runs, min_run_s) if name in STACKED else None
        dgrad = median_ms(lambda: backward([True, False, False]), runs, min_run_s)
        wgrad = median_ms(lambda: backward([False, True, True]), runs, min_run_s)
        print("RESULT %s %.3f %.3f %s %.3f %.3f" % (
            name, fwd, g1, "-" if g2 is None else "%.3f" % g2, dgrad, wgrad), flush=True)


if __name__ == "__main__":
    main()
