"""Writes random parity models: SGD cases (learning rates drawn
log-uniformly over 1e-5..1, every torch.optim.SGD option, random layer
sizes and losses) and slicing/joining cases (torch.narrow, torch.cat and
torch.pow on random shapes, bounds and dims).

  gen_sgd_cases.py --out DIR --count N --seed S

Deterministic for a seed (the cases are regression tests, not a fuzzer); a
case that once failed keeps failing until fixed. Also writes DIR/cases.cmake
with the train-step count of each case: large learning rates get fewer steps
so that a diverging run does not turn float rounding into chaos.
Runs with any python3 (no torch).
"""
import argparse
import math
import os
import random

from case_files import (add_case, mlp_model, mse_sgd_training, random_loss, random_mlp_sizes,
                        write_steps)


def sgd_options(rng):
    lr = 10 ** rng.uniform(-5, 0)
    momentum = rng.choice([0.0, rng.uniform(0.1, 0.99)])
    nesterov = momentum > 0 and rng.random() < 0.4
    dampening = 0.0 if nesterov or momentum == 0 else rng.choice([0.0, rng.uniform(0.0, 0.9)])
    weight_decay = rng.choice([0.0, 10 ** rng.uniform(-5, -1)])
    return {"lr": lr, "momentum": momentum, "dampening": dampening,
            "weight_decay": weight_decay, "nesterov": nesterov,
            "maximize": rng.random() < 0.25}


def case(rng, name):
    sizes = random_mlp_sizes(rng)
    ce = rng.random() < 0.5
    opts = sgd_options(rng)
    loss, target = random_loss(rng, sizes[0], sizes[3], ce, label_smoothing=True)
    model = mlp_model(name, sizes, loss, target, {"type": "SGD", "options": opts},
                      first_bias=rng.random() < 0.8)
    # Large steps on a sum-reduced loss diverge within a few steps, and
    # divergence turns float rounding into chaos: fewer steps for them (two
    # still exercise the momentum update after the first step).
    steps = 10 if opts["lr"] < 0.01 else 4 if opts["lr"] < 0.1 else 2
    return model, steps


# Slicing/joining cases written per seed, besides the --count SGD cases.
SLICE_JOIN_CASES = 3


def slice_join_case(rng, name):
    """Linear -> narrow (random dim sign, start, length; negative starts
    too) -> pow(sigmoid(a), a row of a) broadcast over the batch -> cat of
    2-4 pieces along the features, recorded as the DSL does (a chain of
    two-input cat nodes)."""
    batch, fin, f = rng.randint(1, 6), rng.randint(1, 9), rng.randint(2, 12)
    length = rng.randint(1, f)
    start = rng.randint(0, f - length)
    if rng.random() < 0.5:
        start -= f  # torch.narrow counts a negative start from the end
    row = rng.randint(0, batch - 1)
    fdim = lambda: rng.choice([1, -1])

    def fn(function, inputs, out, **options):
        return {"function": function, "options": options, "inputs": inputs, "outputs": [out]}

    graph = [{"module": "0", "inputs": ["x"], "outputs": ["h"]},
             fn("narrow", ["h"], "a", dim=fdim(), start=start, length=length),
             fn("sigmoid", ["a"], "s"),
             fn("narrow", ["a"], "k", dim=0, start=row, length=1),
             fn("pow", ["s", "k"], "p")]
    widths = {"h": f, "a": length, "p": length}
    pieces = ["p"] + [rng.choice(list(widths)) for _ in range(rng.randint(1, 3))]
    rng.shuffle(pieces)
    current, width = pieces[0], widths[pieces[0]]
    for i, piece in enumerate(pieces[1:]):
        out = f"c{i}"
        graph.append(fn("cat", [current, piece], out, dim=fdim()))
        current, width = out, width + widths[piece]
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": [{"name": "x", "shape": [batch, fin], "dtype": "float32"}],
        "module": {"type": "Sequential", "children": [
            {"name": "0", "type": "Linear", "options": {"in_features": fin, "out_features": f, "bias": True}}]},
        "graph": graph,
        "outputs": [current],
        "training": mse_sgd_training([batch, width], 0.02),
    }
    return model, 10


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    lines = []
    for i in range(a.count):
        name = f"sgd_random_{a.seed}_{i}_basic"
        model, steps = case(rng, name)
        add_case(a.out, lines, name, model, steps)
    # Their own generator, so that the SGD cases stay what they were.
    rng = random.Random(f"slice-join-{a.seed}")
    for i in range(SLICE_JOIN_CASES):
        name = f"slice_join_random_{a.seed}_{i}_basic"
        model, steps = slice_join_case(rng, name)
        add_case(a.out, lines, name, model, steps)
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
