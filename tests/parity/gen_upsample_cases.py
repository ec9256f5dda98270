"""Writes random upsampling parity models (issue 9): nn.Upsample and
F.interpolate in every mode (nearest, nearest-exact, linear, bilinear,
bicubic, trilinear, area) with size or scale_factor (one number or one per
dimension, fractional, below 1 for downsampling), align_corners (None, False,
True), recompute_scale_factor (None, False, True), antialias (F.interpolate's
bilinear and bicubic cases of the second round, and --antialias-count
downsampling ones), one channel or several
(torch's channels-last kernel, taken for one channel, copies when a size is
unchanged), and nn.UpsamplingNearest2d / nn.UpsamplingBilinear2d.

  gen_upsample_cases.py --out DIR --count N --seed S

Each model is a Linear over the last dimension ("0", W -> W) followed by the
upsampling layer ("1") and an MSE loss, so the parameter gradients check
the layer's input gradient; ten SGD steps. Deterministic for a seed. Also
writes DIR/cases.cmake. Runs with any python3 (no torch).
"""
import argparse
import math
import os
import random

from case_files import add_case, mse_sgd_training, write_steps

KINDS = ["Upsample", "interpolate", "UpsamplingNearest2d", "UpsamplingBilinear2d"]
MODES = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "area": (1, 2, 3),
         "linear": (1,), "bilinear": (2,), "bicubic": (2,), "trilinear": (3,)}
SCALES = [0.5, 0.75, 1.0, 1.3, 1.5, 2.0, 2.5, 3.0]


def one_or_list(rng, values):
    if len(set(values)) == 1 and rng.random() < 0.5:
        return values[0]
    return values


def case(rng, name, kind, i):
    if kind == "UpsamplingNearest2d":
        mode, dims = "nearest", 2
    elif kind == "UpsamplingBilinear2d":
        mode, dims = "bilinear", 2
    else:
        mode = list(MODES)[i // len(KINDS) % len(MODES)]
        dims = rng.choice(MODES[mode])
    maxin = {1: 7, 2: 5, 3: 3}[dims]
    sizes = [rng.randint(1, maxin) for _ in range(dims)]
    channels = rng.choice([1, 1, 2, 3])
    shape = [rng.randint(1, 2), channels] + sizes
    opts = {}
    for _ in range(100):
        if rng.random() < 0.5:
            out = [rng.randint(1, 2 * maxin) for _ in range(dims)]
            opts = {"size": one_or_list(rng, out), "scale_factor": None}
            if isinstance(opts["size"], int):
                out = [opts["size"]] * dims
            recompute = None
        else:
            scale = [rng.choice(SCALES + [round(rng.uniform(0.4, 3.2), 3)]) for _ in range(dims)]
            opts = {"size": None, "scale_factor": one_or_list(rng, scale)}
            if not isinstance(opts["scale_factor"], list):
                scale = [opts["scale_factor"]] * dims
            recompute = rng.choice([None, False, True])
            out = [int(math.floor(n * s)) for n, s in zip(sizes, scale)]
        if min(out) >= 1:
            break
    if kind in ("Upsample", "interpolate"):
        opts["mode"] = mode
        if mode in ("linear", "bilinear", "bicubic", "trilinear"):
            opts["align_corners"] = rng.choice([None, False, True])
        opts["recompute_scale_factor"] = recompute
        if kind == "interpolate":
            # The second round of modes antialiases where torch can (the
            # first keeps the plain kernels; no draw, so the cases before
            # keep their numbers).
            opts["antialias"] = mode in ("bilinear", "bicubic") and i >= len(KINDS) * len(MODES)
    w = shape[-1]
    children = [{"name": "0", "type": "Linear", "options": {"in_features": w, "out_features": w, "bias": True}}]
    graph = [{"module": "0", "inputs": ["x"], "outputs": ["h"]}]
    if kind == "interpolate":
        graph.append({"function": "interpolate", "options": opts, "inputs": ["h"], "outputs": ["y"]})
    else:
        children.append({"name": "1", "type": kind, "options": opts})
        graph.append({"module": "1", "inputs": ["h"], "outputs": ["y"]})
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": [{"name": "x", "shape": shape, "dtype": "float32"}],
        "module": {"type": "Sequential", "children": children},
        "graph": graph,
        "outputs": ["y"],
        "training": mse_sgd_training(shape[:2] + out, 0.05),
    }
    return model, 10


def antialias_case(rng, name, i):
    """F.interpolate(antialias=True), bilinear or bicubic, mostly
    downsampling (where the window widens with the scale): inputs up to
    12 x 12, a smaller size or a scale factor in [0.2, 0.9] (sometimes 1.5,
    where the window keeps the filter's width)."""
    mode = ("bilinear", "bicubic")[i % 2]
    sizes = [rng.randint(3, 12), rng.randint(3, 12)]
    shape = [rng.randint(1, 2), rng.choice([1, 2, 3])] + sizes
    if rng.random() < 0.5:
        out = [rng.randint(1, n) for n in sizes]
        opts = {"size": out, "scale_factor": None, "recompute_scale_factor": None}
    else:
        scale = [rng.choice([0.2, 0.25, 1 / 3, 0.5, 0.6, 0.75, 0.9, 1.5]) for _ in sizes]
        scale = [round(v, 6) for v in scale]
        opts = {"size": None, "scale_factor": one_or_list(rng, scale),
                "recompute_scale_factor": rng.choice([None, False, True])}
        if not isinstance(opts["scale_factor"], list):
            scale = [opts["scale_factor"]] * 2
        sizes = [max(n, int(math.ceil(1 / v))) for n, v in zip(sizes, scale)]  # out >= 1
        shape = shape[:2] + sizes
        out = [int(math.floor(n * v)) for n, v in zip(sizes, scale)]
    opts.update({"mode": mode, "align_corners": rng.choice([None, False, True]), "antialias": True})
    w = shape[-1]
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": [{"name": "x", "shape": shape, "dtype": "float32"}],
        "module": {"type": "Sequential", "children": [
            {"name": "0", "type": "Linear", "options": {"in_features": w, "out_features": w, "bias": True}}]},
        "graph": [{"module": "0", "inputs": ["x"], "outputs": ["h"]},
                  {"function": "interpolate", "options": opts, "inputs": ["h"], "outputs": ["y"]}],
        "outputs": ["y"],
        "training": mse_sgd_training(shape[:2] + out, 0.05),
    }
    return model, 10


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=2 * len(KINDS) * len(MODES))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--antialias-count", type=int, default=8,
                   help="antialiased F.interpolate cases after the --count others")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(f"upsample-{a.seed}")
    lines = []
    for i in range(a.count):
        kind = KINDS[i % len(KINDS)]
        prefix = "fn_" if kind == "interpolate" else ""
        name = f"up_{prefix}{kind.lower()}_random_{a.seed}_{i}_basic"
        model, steps = case(rng, name, kind, i)
        add_case(a.out, lines, name, model, steps)
    # Their own stream: the cases above keep their numbers.
    aa_rng = random.Random(f"upsample-antialias-{a.seed}")
    for i in range(a.antialias_count):
        name = f"up_fn_interpolate_aa_random_{a.seed}_{i}_basic"
        model, steps = antialias_case(aa_rng, name, i)
        add_case(a.out, lines, name, model, steps)
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
