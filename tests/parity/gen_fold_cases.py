"""Writes random Unfold / Fold parity models (issue 8): kernel sizes,
dilation, padding and stride per dimension, odd sizes, batch 1 and
unbatched inputs.

  gen_fold_cases.py --out DIR --count N --seed S

Unfold models: a 1x1 convolution ("0", so that the parity harness checks
the input gradient through "0.weight") then Unfold ("1"). Fold models: a
Linear over the blocks dimension ("0") then Fold ("1"). Both with an MSE
loss. Deterministic for a seed. Also writes DIR/cases.cmake. Runs with any
python3 (no torch).
"""
import argparse
import os
import random

from case_files import add_case, mse_sgd_training, write_steps


def blocks(size, k, d, p, s):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def geometry(rng):
    k = [rng.randint(1, 3) for _ in range(2)]
    d = [rng.choice([1, 1, 2]) for _ in range(2)]
    p = [rng.randint(0, 1) for _ in range(2)]
    s = [rng.choice([1, 1, 2, 3]) for _ in range(2)]
    sizes = []
    for i in range(2):
        n = rng.randint(1, 7)
        while blocks(n, k[i], d[i], p[i], s[i]) < 2:
            n += 1
        sizes.append(n)
    pick = lambda v: v if rng.random() < 0.7 or v[0] != v[1] else v[0]  # noqa: E731
    opts = {"kernel_size": pick(k), "dilation": pick(d), "padding": pick(p), "stride": pick(s)}
    L = blocks(sizes[0], k[0], d[0], p[0], s[0]) * blocks(sizes[1], k[1], d[1], p[1], s[1])
    return opts, sizes, k[0] * k[1], L


def case(rng, name, fold):
    unbatched = rng.random() < 0.2
    lead = [] if unbatched else [rng.choice([1, 2, 3])]
    c = rng.randint(1, 4)
    opts, sizes, K, L = geometry(rng)
    if fold:
        opts = dict({"output_size": sizes}, **opts)
        x = lead + [c * K, L]
        first = {"name": "0", "type": "Linear", "options": {"in_features": L, "out_features": L, "bias": True}}
        second = {"name": "1", "type": "Fold", "options": opts}
        out = lead + [c] + sizes
    else:
        x = lead + [c] + sizes
        first = {"name": "0", "type": "Conv2d", "options": {
            "in_channels": c, "out_channels": c, "kernel_size": 1, "stride": 1, "padding": 0,
            "dilation": 1, "groups": 1, "bias": True, "padding_mode": "zeros"}}
        second = {"name": "1", "type": "Unfold", "options": opts}
        out = lead + [c * K, L]
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": [{"name": "x", "shape": x, "dtype": "float32"}],
        "module": {"type": "Sequential", "children": [first, second]},
        "graph": [{"module": "0", "inputs": ["x"], "outputs": ["h"]},
                  {"module": "1", "inputs": ["h"], "outputs": ["y"]}],
        "outputs": ["y"],
        "training": mse_sgd_training(out, 0.05),
    }
    return model, 10


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(f"fold-{a.seed}")
    lines = []
    for i in range(a.count):
        fold = i % 2 == 1
        name = f"{'fold' if fold else 'unfold'}_random_{a.seed}_{i}_basic"
        model, steps = case(rng, name, fold)
        add_case(a.out, lines, name, model, steps)
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
