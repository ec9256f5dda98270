"""Writes random padding-layer parity models (issue 8): ZeroPad2d,
ConstantPad1d/2d/3d, ReflectionPad1d/2d/3d and ReplicationPad1d/2d/3d with
random shapes, batched and unbatched inputs (ConstantPad: any number of
leading dimensions), padding as one int or 2 * D ints (asymmetric, zeros
included), ConstantPad's value, and negative ConstantPad/ZeroPad padding
(cropping).

  gen_pad_cases.py --out DIR --count N --seed S

Each model is a Linear over the last dimension ("0", W -> W) followed by
the padding layer ("1") and an MSE loss: the parity harness compares
parameter gradients, so the padding layer's input gradient is checked
through the gradient of "0.weight". Ten SGD steps with momentum follow.
Deterministic for a seed (regression tests, not a fuzzer). Also writes
DIR/cases.cmake (train-step counts). Runs with any python3 (no torch).
"""
import argparse
import os
import random

from case_files import add_case, mse_sgd_training, write_steps

# (torch type, padded dimensions D, mode)
LAYERS = [
    ("ReflectionPad1d", 1, "reflect"), ("ReflectionPad2d", 2, "reflect"),
    ("ReflectionPad3d", 3, "reflect"), ("ReplicationPad1d", 1, "replicate"),
    ("ReplicationPad2d", 2, "replicate"), ("ReplicationPad3d", 3, "replicate"),
    ("ConstantPad1d", 1, "constant"), ("ConstantPad2d", 2, "constant"),
    ("ConstantPad3d", 3, "constant"), ("ZeroPad2d", 2, "constant"),
]


def case(rng, name, layer, dims, mode):
    smax = {1: 9, 2: 6, 3: 4}[dims]
    if mode == "constant":
        lead = rng.choice([0, 1, 2])
    else:
        lead = rng.choice([1, 2])  # unbatched [C, *D] or batched [N, C, *D]
    shape = [rng.randint(1, 3) for _ in range(lead)] + [rng.randint(1, smax) for _ in range(dims)]
    # torch's order: the last dimension's (lo, hi) first.
    pads = []
    for k in range(dims):
        n = shape[-1 - k]
        for _ in range(2):
            p = rng.randint(0, 3)
            if mode == "constant" and rng.random() < 0.25:
                p = -rng.randint(1, 2)
            pads.append(p)
        lo, hi = pads[-2], pads[-1]
        if mode == "reflect":
            n = max(n, lo + 1, hi + 1)
        if mode == "constant":
            # Cropping must leave an element: -lo + -hi < n.
            n = max(n, max(0, -lo) + max(0, -hi) + 1)
        shape[-1 - k] = n
    if rng.random() < 0.3 and len(set(pads)) == 1 and pads[0] > 0:
        padding = pads[0]
    elif rng.random() < 0.2 and min(pads) >= 0:
        padding = max(1, pads[0])
        pads = [padding] * (2 * dims)
        for k in range(dims):
            if mode == "reflect":
                shape[-1 - k] = max(shape[-1 - k], padding + 1)
    else:
        padding = pads
    out = list(shape)
    for k in range(dims):
        out[-1 - k] += pads[2 * k] + pads[2 * k + 1]
    options = {"padding": padding}
    if layer.startswith("ConstantPad"):
        options["value"] = round(rng.uniform(-2, 2), 3)
    w = shape[-1]
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": [{"name": "x", "shape": shape, "dtype": "float32"}],
        "module": {"type": "Sequential", "children": [
            {"name": "0", "type": "Linear", "options": {"in_features": w, "out_features": w, "bias": True}},
            {"name": "1", "type": layer, "options": options}]},
        "graph": [{"module": "0", "inputs": ["x"], "outputs": ["h"]},
                  {"module": "1", "inputs": ["h"], "outputs": ["y"]}],
        "outputs": ["y"],
        "training": mse_sgd_training(out, 0.05),
    }
    return model, 10


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=len(LAYERS))
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(f"pad-{a.seed}")
    lines = []
    for i in range(a.count):
        layer, dims, mode = LAYERS[i % len(LAYERS)]
        name = f"pad_{layer.lower()}_random_{a.seed}_{i}_basic"
        model, steps = case(rng, name, layer, dims, mode)
        add_case(a.out, lines, name, model, steps)
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
