"""Writes random parity models for the rearranging and two-input layers
(issue 9): Unflatten (negative dims, a -1 size), PixelShuffle,
PixelUnshuffle, ChannelShuffle (1 to 3 batch / spatial dimensions,
unbatched pixel-shuffle inputs), their functional forms (unflatten,
pixel_shuffle, pixel_unshuffle, channel_shuffle), Bilinear (bias on and
off, extra leading dimensions, 1-D inputs) and torch.bilinear (with or
without its bias input),
CosineSimilarity and PairwiseDistance (dim, eps, p in {1, 2, 3, 0.5,
-1.5}, keepdim, broadcasting inputs) and their functional forms, and
LazyLinear (in_features recorded, as the DSL writes it).

  gen_shuffle_cases.py --out DIR --count N --seed S

Each input goes through a Linear over its last dimension first (W -> W),
so the parity harness's parameter gradients check the layer's input
gradient(s); MSE loss, ten SGD steps. Deterministic for a seed. Also writes
DIR/cases.cmake. Runs with any python3 (no torch).
"""
import argparse
import math
import os
import random

from case_files import add_case, mse_sgd_training, write_steps

KINDS = ["Unflatten", "PixelShuffle", "PixelUnshuffle", "ChannelShuffle",
         "unflatten", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle",
         "Bilinear", "bilinear", "CosineSimilarity", "cosine_similarity",
         "PairwiseDistance", "pairwise_distance", "LazyLinear"]


def linear(name, w):
    return {"name": name, "type": "Linear", "options": {"in_features": w, "out_features": w, "bias": True}}


def rearrange(rng, kind):
    """(input shape, options, output shape) of a one-input layer."""
    if kind in ("Unflatten", "unflatten"):
        rank = rng.randint(1, 4)
        shape = [rng.randint(1, 4) for _ in range(rank)]
        d = rng.randrange(rank)
        factors = [rng.randint(1, 3) for _ in range(rng.randint(1, 3))]
        shape[d] = math.prod(factors)
        sizes = list(factors)
        if rng.random() < 0.5:
            sizes[rng.randrange(len(sizes))] = -1
        dim = d - rank if rng.random() < 0.5 else d
        out = shape[:d] + factors + shape[d + 1:]
        key = "unflattened_size" if kind == "Unflatten" else "sizes"
        return shape, {"dim": dim, key: sizes}, out
    if kind in ("PixelShuffle", "pixel_shuffle"):
        r = rng.randint(1, 3)
        lead = [rng.randint(1, 3) for _ in range(rng.randint(0, 2))]
        c, h, w = rng.randint(1, 3), rng.randint(1, 4), rng.randint(1, 4)
        return lead + [c * r * r, h, w], {"upscale_factor": r}, lead + [c, h * r, w * r]
    if kind in ("PixelUnshuffle", "pixel_unshuffle"):
        r = rng.randint(1, 3)
        lead = [rng.randint(1, 3) for _ in range(rng.randint(0, 2))]
        c, h, w = rng.randint(1, 3), rng.randint(1, 3), rng.randint(1, 3)
        return lead + [c, h * r, w * r], {"downscale_factor": r}, lead + [c * r * r, h, w]
    g = rng.randint(1, 4)
    shape = [rng.randint(1, 3), g * rng.randint(1, 3)] + [rng.randint(1, 4) for _ in range(rng.randint(1, 3))]
    return shape, {"groups": g}, shape


def broadcast(a, b):
    rank = max(len(a), len(b))
    a = [1] * (rank - len(a)) + a
    b = [1] * (rank - len(b)) + b
    return [max(x, y) for x, y in zip(a, b)]


def two_input(rng, kind):
    """(shape 1, shape 2, options or weight shape, output shape)."""
    if kind in ("Bilinear", "bilinear"):
        lead = [rng.randint(1, 4) for _ in range(rng.choice([0, 1, 1, 2]))]
        in1, in2, out = rng.randint(1, 6), rng.randint(1, 6), rng.randint(1, 5)
        if kind == "bilinear" and not lead:
            lead = [rng.randint(1, 4)]  # torch.bilinear's function path needs a batch
        opts = {"in1_features": in1, "in2_features": in2, "out_features": out,
                "bias": rng.random() < 0.7}
        return lead + [in1], lead + [in2], opts, lead + [out]
    rank = rng.randint(1, 4)
    full = [rng.randint(1, 5) for _ in range(rank)]
    full[-1] = max(full[-1], 2)
    # One side sometimes broadcasts: fewer leading dimensions or size-1 dims.
    s1, s2 = list(full), list(full)
    if rng.random() < 0.4:
        s2 = s2[rng.randint(0, rank - 1):]
    elif rng.random() < 0.3 and rank > 1:
        s1[rng.randrange(rank - 1)] = 1
    shape = broadcast(s1, s2)
    if kind in ("CosineSimilarity", "cosine_similarity"):
        # Both inputs at least 2 along dim (broadcasting elsewhere): over one
        # element, or an input constant along dim, the similarity does not
        # depend on that input's magnitude (no gradient: the case could not
        # fail).
        d = rng.randrange(len(shape))
        full[d] = max(full[d], 2)
        s1, s2 = [list(full) if d - len(shape) + len(s) < 0 else s for s in (s1, s2)]
        for s in (s1, s2):
            s[d - len(shape) + len(s)] = full[d]
        shape = broadcast(s1, s2)
        dim = d - len(shape) if rng.random() < 0.5 else d
        # (eps below the norms: for a norm in (0, eps) the clamp's gradient
        # is not torch's, see frontend/import/Distance.cpp.)
        opts = {"dim": dim, "eps": rng.choice([1e-8, 1e-6, 1e-4])}
        out = shape[:d] + shape[d + 1:]
        return s1, s2, opts, out
    # (p = 0 counts non-zero elements: no gradient, so no update to compare;
    # models/pairwise_distance_p0_forward.json checks it.)
    p = rng.choice([2.0, 2.0, 1.0, 3.0, 0.5, -1.5])
    keepdim = rng.random() < 0.4
    opts = {"p": p, "eps": rng.choice([1e-6, 1e-3, 0.0]), "keepdim": keepdim}
    out = shape[:-1] + ([1] if keepdim else [])
    return s1, s2, opts, out


def case(rng, name, kind):
    children, graph, inputs = [], [], []
    if kind == "LazyLinear":
        shape = [rng.randint(1, 4) for _ in range(rng.randint(1, 3))]
        w, out_f = shape[-1], rng.randint(1, 5)
        children = [linear("0", w), {"name": "1", "type": "LazyLinear", "options": {
            "in_features": w, "out_features": out_f, "bias": rng.random() < 0.7}}]
        inputs = [{"name": "x", "shape": shape, "dtype": "float32"}]
        graph = [{"module": "0", "inputs": ["x"], "outputs": ["h"]},
                 {"module": "1", "inputs": ["h"], "outputs": ["y"]}]
        out = shape[:-1] + [out_f]
    elif kind in ("Bilinear", "bilinear", "CosineSimilarity", "cosine_similarity",
                  "PairwiseDistance", "pairwise_distance"):
        s1, s2, opts, out = two_input(rng, kind)
        inputs = [{"name": "x1", "shape": s1, "dtype": "float32"},
                  {"name": "x2", "shape": s2, "dtype": "float32"}]
        children = [linear("a", s1[-1]), linear("b", s2[-1])]
        graph = [{"module": "a", "inputs": ["x1"], "outputs": ["h1"]},
                 {"module": "b", "inputs": ["x2"], "outputs": ["h2"]}]
        if kind == "bilinear":
            # torch.bilinear(h1, h2, weight): the weight is a model input
            # (scaled by a Linear, so that its gradient path is live too).
            wshape = [opts["out_features"], opts["in1_features"], opts["in2_features"]]
            inputs.append({"name": "w", "shape": wshape, "dtype": "float32"})
            children.append(linear("c", wshape[-1]))
            graph.append({"module": "c", "inputs": ["w"], "outputs": ["hw"]})
            # torch.bilinear's optional bias [out], a model input too,
            # where the drawn options say bias.
            bias_inputs = []
            if opts["bias"]:
                inputs.append({"name": "bias", "shape": [opts["out_features"]], "dtype": "float32"})
                bias_inputs = ["bias"]
            graph.append({"function": "bilinear", "options": {}, "inputs": ["h1", "h2", "hw"] + bias_inputs,
                          "outputs": ["y"]})
        elif kind[0].isupper():
            children.append({"name": "l", "type": kind, "options": opts})
            graph.append({"module": "l", "inputs": ["h1", "h2"], "outputs": ["y"]})
        else:
            graph.append({"function": kind, "options": opts, "inputs": ["h1", "h2"], "outputs": ["y"]})
    else:
        shape, opts, out = rearrange(rng, kind)
        inputs = [{"name": "x", "shape": shape, "dtype": "float32"}]
        children = [linear("0", shape[-1])]
        graph = [{"module": "0", "inputs": ["x"], "outputs": ["h"]}]
        if kind[0].isupper():
            children.append({"name": "1", "type": kind, "options": opts})
            graph.append({"module": "1", "inputs": ["h"], "outputs": ["y"]})
        else:
            graph.append({"function": kind, "options": opts, "inputs": ["h"], "outputs": ["y"]})
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": inputs,
        "module": {"type": "Sequential", "children": children},
        "graph": graph,
        "outputs": ["y"],
        "training": mse_sgd_training(out, 0.05),
    }
    return model, 10


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=len(KINDS))
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(f"shuffle-{a.seed}")
    lines = []
    for i in range(a.count):
        kind = KINDS[i % len(KINDS)]
        prefix = "" if kind[0].isupper() else "fn_"
        name = f"misc_{prefix}{kind.lower()}_random_{a.seed}_{i}_basic"
        model, steps = case(rng, name, kind)
        add_case(a.out, lines, name, model, steps)
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
