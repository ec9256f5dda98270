"""Writes random convolution parity models (issue 8): Conv1d/2d/3d with
random shapes and options — stride, dilation, groups (depthwise included;
and cases with several channels per group, or depthwise with 6-12 channels),
non-square kernels, odd sizes, batch 1, padding as an int, a tuple, "same"
or "valid", bias on and off, and padding_mode reflect/replicate/circular.

  gen_conv_cases.py --out DIR --count N --seed S

Each model is a 1x1 convolution ("0", in_channels -> in_channels) followed
by the random convolution ("1") and an MSE loss: the parity harness compares
parameter gradients, so the random convolution's input gradient is checked
through the gradient of "0.weight" (which is sum(dx * x) over positions).
Deterministic for a seed (regression tests, not a fuzzer). Also writes
DIR/cases.cmake (train-step counts). Runs with any python3 (no torch).
"""
import argparse
import os
import random

from case_files import add_case, mse_sgd_training, write_steps


def conv_options(rng, rank, cin, mode="zeros", kind=None):
    """Options of the random convolution and the input's spatial sizes."""
    # Channels: plain, grouped or depthwise (groups == in_channels).
    if kind is None:
        kind = rng.choice(["plain", "plain", "grouped", "depthwise"])
    if kind == "wide_grouped":
        # Several channels per group on both sides (cin is a multiple of
        # the groups, chosen by the caller).
        groups = rng.choice([g for g in range(2, cin) if cin % g == 0 and cin // g >= 2])
        cout = groups * rng.randint(2, 3)
    elif kind == "depthwise":
        groups = cin
        cout = cin * rng.randint(1, 2)
    elif kind == "grouped":
        divisors = [g for g in range(2, cin + 1) if cin % g == 0]
        groups = rng.choice(divisors) if divisors else 1
        cout = groups * rng.randint(1, 3)
    else:
        groups = 1
        cout = rng.randint(1, 5)
    kmax = {1: 5, 2: 4, 3: 3}[rank]
    kernel = [rng.randint(1, kmax) for _ in range(rank)]
    dilation = [rng.choice([1, 1, 2, 3]) for _ in range(rank)]
    # A padding mode needs padding to show.
    style = rng.choice(["int", "tuple", "same", "valid"] if mode == "zeros" else ["int", "tuple", "same"])
    if style == "same":
        stride = [1] * rank
    else:
        stride = [rng.choice([1, 1, 2, 3]) for _ in range(rank)]
    if style == "int":
        p = rng.randint(0 if mode == "zeros" else 1, 2)
        padding, pads = p, [p] * rank
    elif style == "tuple":
        pads = [rng.randint(0 if mode == "zeros" else 1, 2) for _ in range(rank)]
        padding = pads
    elif style == "same":
        padding, pads = "same", [0] * rank  # sizes need no room then
    else:
        padding, pads = "valid", [0] * rank
    # Spatial sizes: at least the dilated kernel after padding, a few more,
    # odd and even alike.
    extra = {1: 12, 2: 7, 3: 4}[rank]
    sizes = [max(1, d * (k - 1) + 1 - 2 * p) + rng.randint(0, extra)
             for k, d, p in zip(kernel, dilation, pads)]
    options = {"in_channels": cin, "out_channels": cout,
               "kernel_size": kernel if rng.random() < 0.7 or len(set(kernel)) > 1 else kernel[0],
               "stride": stride if rng.random() < 0.7 or len(set(stride)) > 1 else stride[0],
               "padding": padding,
               "dilation": dilation if rng.random() < 0.7 or len(set(dilation)) > 1 else dilation[0],
               "groups": groups, "bias": rng.random() < 0.7, "padding_mode": "zeros"}
    return options, sizes


def out_size(n, k, s, p_lo, p_hi, d):
    return (n + p_lo + p_hi - d * (k - 1) - 1) // s + 1


def reads_input(n, k, s, p_lo, p_hi, d):
    return any(0 <= o * s + j * d - p_lo < n
               for o in range(out_size(n, k, s, p_lo, p_hi, d)) for j in range(k))


def expand(v, rank):
    return v if isinstance(v, list) else [v] * rank


def case(rng, name, rank, mode="zeros", lazy=False, kind=None):
    batch = rng.choice([1, 1, 2, 3])
    if kind == "wide_grouped":
        cin = rng.randint(2, 5) * rng.randint(2, 4)
    elif kind == "depthwise":
        cin = rng.randint(6, 12)
    else:
        cin = rng.randint(1, 6)
    opts, sizes = conv_options(rng, rank, cin, mode, kind)
    opts["padding_mode"] = mode
    k, s, d = (expand(opts[n], rank) for n in ("kernel_size", "stride", "dilation"))
    out = [batch, opts["out_channels"]]
    for i in range(rank):
        if opts["padding"] == "same":
            total = d[i] * (k[i] - 1)
            lo, hi = total // 2, total - total // 2
        elif opts["padding"] == "valid":
            lo = hi = 0
        else:
            lo = hi = expand(opts["padding"], rank)[i]
        # torch's F.pad: reflection needs padding < size, circular <= size.
        while (mode == "reflect" and sizes[i] <= max(lo, hi)) or \
                (mode == "circular" and sizes[i] < max(lo, hi)):
            sizes[i] += 1
        # A kernel that reads only padding makes every gradient but the
        # bias's zero, and the case vacuous: grow the input until some tap
        # reads it.
        while not reads_input(sizes[i], k[i], s[i], lo, hi, d[i]):
            sizes[i] += 1
        out.append(out_size(sizes[i], k[i], s[i], lo, hi, d[i]))
    conv = "Conv%dd" % rank
    pre = {"in_channels": cin, "out_channels": cin, "kernel_size": 1, "stride": 1,
           "padding": 0, "dilation": 1, "groups": 1, "bias": True, "padding_mode": "zeros"}
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": [{"name": "x", "shape": [batch, cin] + sizes, "dtype": "float32"}],
        "module": {"type": "Sequential", "children": [
            {"name": "0", "type": conv, "options": pre},
            {"name": "1", "type": ("Lazy" if lazy else "") + conv, "options": opts}]},
        "graph": [{"module": "0", "inputs": ["x"], "outputs": ["h"]},
                  {"module": "1", "inputs": ["h"], "outputs": ["y"]}],
        "outputs": ["y"],
        "training": mse_sgd_training(out, 0.05),
    }
    return model, 10


# Cases with padding_mode reflect / replicate / circular, per seed.
MODE_CASES = 6
# Grouped cases with several channels per group, and depthwise ones with
# more channels, per seed (the runtime's per-group GEMMs and depthwise
# kernels; the cases above mostly have one channel per group).
GROUP_CASES = 6


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(f"conv-{a.seed}")
    lines = []
    for i in range(a.count):
        rank = (1, 2, 3)[i % 3]
        name = f"conv{rank}d_random_{a.seed}_{i}_basic"
        # Every fourth a LazyConv (the DSL resolved in_channels; the same
        # layer once traced): i = 3, 7, 11 cover the three ranks.
        model, steps = case(rng, name, rank, lazy=(i % 4 == 3))
        add_case(a.out, lines, name, model, steps)
    # Padding modes other than zeros, from their own generator so that the
    # cases above stay what they were.
    rng = random.Random(f"conv-modes-{a.seed}")
    for i in range(MODE_CASES):
        rank = (1, 2, 3)[i % 3]
        mode = ("reflect", "replicate", "circular")[i % 3 if i < 3 else rng.randint(0, 2)]
        name = f"conv{rank}d_{mode}_random_{a.seed}_{i}_basic"
        model, steps = case(rng, name, rank, mode)
        add_case(a.out, lines, name, model, steps)
    rng = random.Random(f"conv-groups-{a.seed}")
    for i in range(GROUP_CASES):
        rank = (1, 2, 3)[i % 3]
        kind = ("wide_grouped", "depthwise")[i // 3 % 2]
        name = f"conv{rank}d_{kind}_random_{a.seed}_{i}_basic"
        model, steps = case(rng, name, rank, kind=kind)
        add_case(a.out, lines, name, model, steps)
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
