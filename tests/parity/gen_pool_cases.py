"""Writes random pooling parity models (issue 8): MaxPool1d/2d/3d,
AvgPool1d/2d/3d, AdaptiveMaxPool1d/2d/3d, AdaptiveAvgPool1d/2d/3d and
LPPool1d/2d with random shapes (odd sizes, batch 1, unbatched inputs) and
options: non-square kernels, stride (None, an int or a tuple), padding,
dilation, ceil_mode (windows clipped at the end included),
count_include_pad, divisor_override, adaptive output sizes smaller and
larger than the input or None (that input size), and LPPool's norm_type. MaxUnpool1d/2d/3d behind a
MaxPool (or an AdaptiveMaxPool2d) with return_indices=True: a node with
two outputs, the indices flowing into the unpool (also unbatched, and
F.max_unpool2d with torch's output_size argument).

  gen_pool_cases.py --out DIR --count N --seed S

Each model is a Linear over the last dimension ("0", W -> W) followed by
the pooling layer ("1") and an MSE loss: the parity harness compares
parameter gradients, so the pooling layer's input gradient is checked
through the gradient of "0.weight". Ten SGD steps with momentum follow.
Deterministic for a seed (regression tests, not a fuzzer). Also writes
DIR/cases.cmake (train-step counts). Runs with any python3 (no torch).
"""
import argparse
import os
import random

from case_files import add_case, mse_sgd_training, write_steps

# (torch type, spatial dimensions)
LAYERS = [
    ("MaxPool2d", 2), ("AvgPool2d", 2), ("AdaptiveAvgPool2d", 2),
    ("MaxPool1d", 1), ("MaxPool3d", 3), ("AvgPool1d", 1), ("AvgPool3d", 3),
    ("AdaptiveAvgPool1d", 1), ("AdaptiveAvgPool3d", 3),
    ("AdaptiveMaxPool1d", 1), ("AdaptiveMaxPool2d", 2), ("AdaptiveMaxPool3d", 3),
    ("LPPool1d", 1), ("LPPool2d", 2),
    ("MaxUnpool1d", 1), ("MaxUnpool2d", 2), ("MaxUnpool3d", 3), ("AdaptiveMaxPool2d+MaxUnpool2d", 2),
    # Unbatched indices into an unbatched MaxUnpool; F.max_unpool{D}d with
    # torch's output_size argument (D or D + 2 values).
    ("MaxUnpool1d_unbatched", 1), ("max_unpool2d_output_size", 2),
    # Adaptive output_size with None elements (that input size), 2-d and 3-d.
    ("AdaptiveAvgPool2d_none", 2), ("AdaptiveMaxPool3d_none", 3),
]


def out_size(n, k, s, p, d, ceil):
    """torch's pooling_output_shape."""
    num = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)
    o = num // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def tuple_or_int(rng, values):
    """One int when all values agree (and by chance), else the list."""
    if len(set(values)) == 1 and rng.random() < 0.5:
        return values[0]
    return values


def fixed_windows(rng, layer, dims):
    """Options of a MaxPool/AvgPool/LPPool and spatial sizes that fit them."""
    kmax = {1: 5, 2: 4, 3: 3}[dims]
    kernel = [rng.randint(1, kmax) for _ in range(dims)]
    stride = None if rng.random() < 0.3 else [rng.randint(1, 3) for _ in range(dims)]
    padding = [0] * dims
    if not layer.startswith("LPPool"):
        padding = [rng.randint(0, k // 2) for k in kernel]
    dilation = [1] * dims
    if layer.startswith("MaxPool"):
        dilation = [rng.choice([1, 1, 2]) for _ in range(dims)]
    ceil = rng.random() < 0.4
    strides = stride or kernel
    extra = {1: 9, 2: 6, 3: 3}[dims]
    sizes = []
    for k, s, p, d in zip(kernel, strides, padding, dilation):
        n = max(1, d * (k - 1) + 1 - 2 * p) + rng.randint(0, extra)
        while out_size(n, k, s, p, d, ceil) < 1:
            n += 1
        if layer == "AvgPool3d":
            # torch 1.13's avg_pool3d refuses an input smaller than the
            # kernel, padded or not (seed 7's sweep drew such cases).
            n = max(n, k)
        sizes.append(n)
    options = {}
    if layer.startswith("LPPool"):
        options["norm_type"] = rng.choice([1.0, 2.0, 2.0, 4.0])
    # torch 1.13's lp_pool1d fails on a kernel_size tuple (mul by a list).
    options["kernel_size"] = kernel[0] if layer == "LPPool1d" else tuple_or_int(rng, kernel)
    options["stride"] = None if stride is None else tuple_or_int(rng, stride)
    out = [out_size(n, k, s, p, d, ceil)
           for n, k, s, p, d in zip(sizes, kernel, strides, padding, dilation)]
    if layer.startswith("MaxPool"):
        options["padding"] = tuple_or_int(rng, padding)
        options["dilation"] = tuple_or_int(rng, dilation)
        options["return_indices"] = False
    if layer.startswith("AvgPool"):
        options["padding"] = tuple_or_int(rng, padding)
    options["ceil_mode"] = ceil
    if layer.startswith("AvgPool"):
        options["count_include_pad"] = rng.random() < 0.5
        if dims > 1:
            options["divisor_override"] = rng.randint(1, 5) if rng.random() < 0.3 else None
    return options, sizes, out


def adaptive_windows(rng, layer, dims):
    extra = {1: 9, 2: 6, 3: 4}[dims]
    sizes = [rng.randint(1, 2 + extra) for _ in range(dims)]
    # Smaller, equal and larger than the input (overlapping windows).
    out = [max(1, n + rng.randint(-n, 2)) for n in sizes]
    options = {"output_size": tuple_or_int(rng, out)}
    if layer.startswith("AdaptiveMax"):
        options["return_indices"] = False
    return options, sizes, out


def unpool_case(rng, name, layer, dims):
    """Linear -> MaxPool{D}d / AdaptiveMaxPool{D}d with return_indices ->
    MaxUnpool{D}d. The unpool's output is at least the pooled input in every
    dimension (torch raises on an index past it)."""
    for _ in range(1000):
        if layer.startswith("Adaptive"):
            pool_type = f"AdaptiveMaxPool{dims}d"
            pool, sizes, out = adaptive_windows(rng, pool_type, dims)
            out = [min(o, n) for o, n in zip(out, sizes)]
            pool["output_size"] = out
            stride = [-(-n // o) for n, o in zip(sizes, out)]
            kernel = [max(1, n - (o - 1) * s) for n, o, s in zip(sizes, out, stride)]
            unpool = {"kernel_size": kernel, "stride": stride, "padding": 0}
            pads = [0] * dims
        else:
            pool_type = f"MaxPool{dims}d"
            pool, sizes, out = fixed_windows(rng, pool_type, dims)
            unpool = {k: pool[k] for k in ("kernel_size", "stride", "padding")}
            as_list = lambda v: v if isinstance(v, list) else [v] * dims
            kernel, pads = as_list(pool["kernel_size"]), as_list(pool["padding"])
            stride = kernel if pool["stride"] is None else as_list(pool["stride"])
        unpooled = [(o - 1) * s - 2 * p + k for o, s, p, k in zip(out, stride, pads, kernel)]
        if all(u >= n for u, n in zip(unpooled, sizes)):
            break
    else:
        raise RuntimeError("no MaxUnpool geometry found")
    pool["return_indices"] = True
    lead = [rng.randint(1, 3)] if layer.endswith("_unbatched") else [rng.randint(1, 3), rng.randint(1, 3)]
    shape = lead + sizes
    w = shape[-1]
    unpool_node = {"module": "2", "inputs": ["v", "i"], "outputs": ["y"]}
    if layer.startswith("max_unpool"):
        # Each size strictly within stride of the default, and at least the
        # pooled input's (so that every index fits the plane).
        as_list = lambda v: v if isinstance(v, list) else [v] * dims
        stride = as_list(unpool["kernel_size"]) if unpool["stride"] is None else as_list(unpool["stride"])
        unpooled = [rng.randint(max(n, u - s + 1), u + s - 1) for n, u, s in zip(sizes, unpooled, stride)]
        # torch ignores the first two of D + 2 values.
        size = lead + unpooled if len(lead) == 2 and rng.random() < 0.5 else unpooled
        unpool_node = {"function": f"max_unpool{dims}d", "inputs": ["v", "i"], "outputs": ["y"],
                       "options": dict(unpool, output_size=size)}
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": [{"name": "x", "shape": shape, "dtype": "float32"}],
        "module": {"type": "Sequential", "children": [
            {"name": "0", "type": "Linear", "options": {"in_features": w, "out_features": w, "bias": True}},
            {"name": "1", "type": pool_type, "options": pool}] +
            ([] if "function" in unpool_node else [{"name": "2", "type": f"MaxUnpool{dims}d", "options": unpool}])},
        "graph": [{"module": "0", "inputs": ["x"], "outputs": ["h"]},
                  {"module": "1", "inputs": ["h"], "outputs": ["v", "i"]},
                  unpool_node],
        "outputs": ["y"],
        "training": mse_sgd_training(lead + unpooled, 0.05),
    }
    return model, 10


def case(rng, name, layer, dims):
    if "MaxUnpool" in layer or "max_unpool" in layer:
        return unpool_case(rng, name, layer, dims)
    if layer.endswith("_none"):
        layer = layer[:-len("_none")]
        options, sizes, out = adaptive_windows(rng, layer, dims)
        keep = rng.sample(range(dims), rng.randint(1, dims - 1))
        size = [None if d in keep else o for d, o in enumerate(out)]
        out = [sizes[d] if d in keep else o for d, o in enumerate(out)]
        options["output_size"] = size
    elif layer.startswith("Adaptive"):
        options, sizes, out = adaptive_windows(rng, layer, dims)
    else:
        options, sizes, out = fixed_windows(rng, layer, dims)
    # Unbatched [C, *D], batch 1 or a batch of 2-3.
    lead = rng.choice([[rng.randint(1, 3)], [1, rng.randint(1, 3)], [rng.randint(2, 3), rng.randint(1, 3)]])
    shape = lead + sizes
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
        "training": mse_sgd_training(lead + out, 0.05),
    }
    return model, 10


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=len(LAYERS))
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(f"pool-{a.seed}")
    lines = []
    for i in range(a.count):
        layer, dims = LAYERS[i % len(LAYERS)]
        name = f"pool_{layer.lower().replace('+', '_')}_random_{a.seed}_{i}_basic"
        model, steps = case(rng, name, layer, dims)
        add_case(a.out, lines, name, model, steps)
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
