"""Writes random transposed-convolution parity models (issue 8):
ConvTranspose1d/2d/3d with random shapes and options — stride, padding,
output_padding (also stride <= output_padding < dilation, which torch
allows), dilation, groups (depthwise included), non-square kernels, odd
sizes, batch 1, unbatched inputs, bias on and off; every fourth case as
LazyConvTranspose (in_channels already resolved, as the DSL writes it).

  gen_convt_cases.py --out DIR --count N --seed S

Each model is a 1x1 convolution ("0", in_channels -> in_channels) followed by
the random transposed convolution ("1") and an MSE loss: the parity harness
compares parameter gradients, so the transposed convolution's input gradient
is checked through the gradient of "0.weight". Deterministic for a seed
(regression tests, not a fuzzer). Also writes DIR/cases.cmake (train-step
counts). Runs with any python3 (no torch).
"""
import argparse
import os
import random

from case_files import add_case, mse_sgd_training, write_steps


def pick(rng, values, rank):
    """A list per dimension, or (sometimes, when all equal) one int."""
    return values if rng.random() < 0.7 or len(set(values)) > 1 else values[0]


def case(rng, name, rank, stress_output_padding, lazy=False):
    unbatched = rng.random() < 0.15
    batch = rng.choice([1, 1, 2, 3])
    cin = rng.randint(1, 6)
    kind = rng.choice(["plain", "plain", "grouped", "depthwise"])
    if kind == "depthwise":
        groups, cout = cin, cin * rng.randint(1, 2)
    elif kind == "grouped":
        divisors = [g for g in range(2, cin + 1) if cin % g == 0]
        groups = rng.choice(divisors) if divisors else 1
        cout = groups * rng.randint(1, 3)
    else:
        groups, cout = 1, rng.randint(1, 5)
    kmax = {1: 5, 2: 4, 3: 3}[rank]
    kernel = [rng.randint(1, kmax) for _ in range(rank)]
    stride = [rng.choice([1, 1, 2, 3]) for _ in range(rank)]
    dilation = [rng.choice([1, 1, 2, 3]) for _ in range(rank)]
    if stress_output_padding:
        # output_padding >= stride, allowed by torch because < dilation.
        stride[0], dilation[0] = 1, rng.choice([2, 3])
    padding = [rng.randint(0, 2) for _ in range(rank)]
    output_padding = [rng.randint(0, max(s, d) - 1) for s, d in zip(stride, dilation)]
    if stress_output_padding:
        output_padding[0] = dilation[0] - 1
    extra = {1: 8, 2: 5, 3: 3}[rank]
    sizes, out = [], []
    for i in range(rank):
        n = rng.randint(1, extra)
        # At least two output rows that kernel taps reach (Kiln rejects the
        # degenerate bias-only output, see ConvTranspose.cpp; a single row
        # makes so small an output that the update can be within rounding).
        while (n - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1 - padding[i] \
                - max(padding[i] - output_padding[i], 0) < 2:
            n += 1
        sizes.append(n)
        out.append((n - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + output_padding[i] + 1)
    opts = {"in_channels": cin, "out_channels": cout, "kernel_size": pick(rng, kernel, rank),
            "stride": pick(rng, stride, rank), "padding": pick(rng, padding, rank),
            "output_padding": pick(rng, output_padding, rank), "groups": groups,
            "bias": rng.random() < 0.7, "dilation": pick(rng, dilation, rank),
            "padding_mode": "zeros"}
    lead = [] if unbatched else [batch]
    pre = {"in_channels": cin, "out_channels": cin, "kernel_size": 1, "stride": 1,
           "padding": 0, "dilation": 1, "groups": 1, "bias": True, "padding_mode": "zeros"}
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": [{"name": "x", "shape": lead + [cin] + sizes, "dtype": "float32"}],
        "module": {"type": "Sequential", "children": [
            {"name": "0", "type": "Conv%dd" % rank, "options": pre},
            {"name": "1", "type": ("Lazy" if lazy else "") + "ConvTranspose%dd" % rank, "options": opts}]},
        "graph": [{"module": "0", "inputs": ["x"], "outputs": ["h"]},
                  {"module": "1", "inputs": ["h"], "outputs": ["y"]}],
        "outputs": ["y"],
        "training": mse_sgd_training(lead + [cout] + out, 0.05),
    }
    return model, 10


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(f"convt-{a.seed}")
    lines = []
    for i in range(a.count):
        rank = (1, 2, 3)[i % 3]
        name = f"convt{rank}d_random_{a.seed}_{i}_basic"
        # Every fourth a LazyConvTranspose (i = 3, 7, 11: the three ranks).
        model, steps = case(rng, name, rank, stress_output_padding=(i % 5 == 4), lazy=(i % 4 == 3))
        add_case(a.out, lines, name, model, steps)
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
