"""Writes random normalization-layer parity models (issue 8): BatchNorm1d/2d/3d,
SyncBatchNorm, LazyBatchNorm, LayerNorm, GroupNorm, InstanceNorm1d/2d/3d,
LazyInstanceNorm and LocalResponseNorm with random shapes (odd sizes, batch
1 where torch allows it, unbatched instance norm) and every option class:
momentum a number or None, affine / elementwise_affine off, running
statistics tracked or not, eps, normalized_shape of rank 1 to 3, groups,
window sizes larger than the channel count; and the functional forms
layer_norm, group_norm, local_response_norm, batch_norm and instance_norm
(graph functions; the last two with their statistics, weight and bias as
model inputs).

  gen_norm_cases.py --out DIR --count N --seed S

Each model is a Linear over the last dimension ("0", W -> W, W >= 2, no
bias) followed by the normalization layer ("1") and an MSE loss: the parity
harness compares parameter gradients, so the layer's input gradient is
checked through the gradient of "0.weight". (A bias would be removed by the
normalisation's mean, and W = 1 by its scale invariance: gradients of
rounding noise only.) Ten SGD steps with momentum follow; the reference
holds the buffers (running statistics, num_batches_tracked) after them and
the eval-mode output, which uses the running statistics when tracked.
Lazy layers are written as the DSL writes them: the resolved num_features
in the options (the oracle builds the module they become).
Deterministic for a seed (regression tests, not a fuzzer). Also writes
DIR/cases.cmake (train-step counts; update_bn over three batches after the
steps for the batch norms with running statistics). Runs with any python3 (no torch).
"""
import argparse
import os
import random

from case_files import add_case, mse_sgd_training, write_steps

# One option class per entry, cycled: (torch type, variant).
LAYERS = [
    ("BatchNorm2d", "default"), ("BatchNorm2d", "momentum_none"),
    ("BatchNorm1d", "3d_no_affine"), ("BatchNorm1d", "2d_no_tracking"),
    ("BatchNorm3d", "random"), ("BatchNorm2d", "batch1_none_no_affine"),
    ("SyncBatchNorm", "random"), ("LazyBatchNorm2d", "random"),
    ("LayerNorm", "rank1"), ("LayerNorm", "rank2_no_affine"), ("LayerNorm", "rank3"),
    ("GroupNorm", "3d"), ("GroupNorm", "4d_no_affine"),
    ("InstanceNorm1d", "affine_tracking"), ("InstanceNorm2d", "unbatched_default"),
    ("InstanceNorm3d", "tracking"), ("LocalResponseNorm", "3d"),
    ("LocalResponseNorm", "4d_wide"), ("LazyInstanceNorm2d", "affine_tracking"),
    ("BatchNorm1d", "2d_momentum_none"),
    # The functional forms (graph functions; no parameters).
    ("layer_norm", "rank2"), ("group_norm", "4d"), ("local_response_norm", "3d"),
    # F.batch_norm / F.instance_norm: running statistics, weight and bias as
    # model inputs (positional, as torch's), the variance through abs.
    ("batch_norm", "train_affine"), ("batch_norm", "eval_weight"),
    ("instance_norm", "input_stats"), ("instance_norm", "running_affine"),
    # Spatial sizes (per-channel rows) that are multiples of 16: nn.batch_norm's
    # vectorised path with 16 partial sums per channel (passes/LowerNorm.cpp).
    ("BatchNorm2d", "lanes"), ("BatchNorm1d", "3d_lanes_none"),
    ("InstanceNorm2d", "lanes_affine_tracking"), ("LayerNorm", "rank2_lanes"),
    ("GroupNorm", "4d_lanes"), ("batch_norm", "train_affine_lanes"),
]

# [H, W] / [L] sizes whose product is a multiple of 16.
LANE_SPATIAL_2D = [[4, 4], [2, 8], [6, 8], [4, 12], [3, 16]]
LANE_SPATIAL_1D = [[16], [32], [48]]


def eps(rng):
    return rng.choice([1e-5, 1e-3, 0.1])


def momentum(rng):
    return round(rng.uniform(0.05, 0.5), 3)


def batch_norm(rng, layer, variant):
    # Spatial dimensions: BatchNorm1d takes [N, C] or [N, C, L].
    if layer == "SyncBatchNorm":
        dims = rng.choice([1, 2])
    elif layer == "BatchNorm1d":
        dims = 1 if variant.startswith("3d") else 0
    else:
        dims = int(layer[-2])
    c = rng.randint(1 if dims else 2, 5)
    n = 1 if variant.startswith("batch1") else rng.randint(2, 4)
    smax = {0: 1, 1: 7, 2: 5, 3: 3}[dims]
    spatial = [rng.randint(2 if n == 1 or d == dims - 1 else 1, smax) for d in range(dims)]
    if "lanes" in variant:
        spatial = rng.choice(LANE_SPATIAL_2D if dims == 2 else LANE_SPATIAL_1D)
    shape = [n, c] + spatial
    options = {"num_features": c, "eps": eps(rng), "momentum": momentum(rng),
               "affine": True, "track_running_stats": True}
    if variant == "default":
        options["eps"], options["momentum"] = 1e-5, 0.1
    if "none" in variant:
        options["momentum"] = None
    if "no_affine" in variant:
        options["affine"] = False
    if "no_tracking" in variant:
        options["track_running_stats"] = False
    if variant == "random":
        options["affine"] = rng.random() < 0.7
        options["track_running_stats"] = rng.random() < 0.8
        if rng.random() < 0.3:
            options["momentum"] = None
    return shape, options


def instance_norm(rng, layer, variant):
    dims = int(layer[-2])
    c = rng.randint(1, 5)
    smax = {1: 8, 2: 5, 3: 3}[dims]
    spatial = [rng.randint(1, smax) for _ in range(dims - 1)] + [rng.randint(2, smax)]
    if "lanes" in variant:
        spatial = rng.choice(LANE_SPATIAL_2D)
    lead = [] if variant.startswith("unbatched") else [rng.randint(1, 3)]
    options = {"num_features": c, "eps": eps(rng), "momentum": momentum(rng),
               "affine": "affine" in variant, "track_running_stats": "tracking" in variant}
    if variant == "unbatched_default":
        options["eps"], options["momentum"] = 1e-5, 0.1
    return lead + [c] + spatial, options


def layer_norm(rng, variant):
    k = int(variant[4])
    lead = [rng.randint(1, 3) for _ in range(rng.randint(1, 2))]
    # One normalized dimension of 2 would leave only +-1 (and no gradient).
    normalized = [rng.randint(2 if k > 1 else 3, 5) for _ in range(k)]
    if "lanes" in variant:
        normalized = rng.choice(LANE_SPATIAL_2D)
    options = {"normalized_shape": normalized if k > 1 or rng.random() < 0.5 else normalized[0],
               "eps": eps(rng), "elementwise_affine": "no_affine" not in variant}
    return lead + normalized, options


def group_norm(rng, variant):
    g = rng.randint(1, 3)
    c = g * rng.randint(1, 3)
    spatial = [rng.randint(1, 5) for _ in range(0 if variant == "3d" else 1)] + [rng.randint(2, 5)]
    if "lanes" in variant:
        g, c = 2, 2 * rng.randint(1, 3)
        spatial = rng.choice(LANE_SPATIAL_2D)
    shape = [rng.randint(1, 3), c] + spatial
    return shape, {"num_groups": g, "num_channels": c, "eps": eps(rng),
                   "affine": "no_affine" not in variant}


def local_response_norm(rng, variant):
    c = rng.randint(2, 7)
    spatial = [rng.randint(1, 6) for _ in range(0 if variant == "3d" else 1)] + [rng.randint(2, 6)]
    size = rng.randint(c + 1, 2 * c + 3) if variant.endswith("wide") else rng.randint(1, c)
    options = {"size": size, "alpha": round(rng.uniform(1e-4, 0.5), 4),
               "beta": round(rng.uniform(0.5, 1.0), 3), "k": round(rng.uniform(0.5, 2.0), 3)}
    return [rng.randint(1, 3), c] + spatial, options


def stats_function_case(rng, name, layer, variant):
    """F.batch_norm / F.instance_norm(h, running_mean, running_var, weight,
    bias, <mode>, momentum, eps): the statistics and affine values are model
    inputs (running_var = |input|), passed positionally as torch takes them."""
    c = rng.randint(1, 5)
    spatial = [rng.randint(2, 5) for _ in range(rng.randint(1, 2))]
    if "lanes" in variant:
        spatial = rng.choice(LANE_SPATIAL_1D)
    shape = [rng.randint(2, 3), c] + spatial
    given = {"train_affine": 4, "eval_weight": 3, "input_stats": 0, "running_affine": 4,
             "train_affine_lanes": 4}[variant]
    names = ["running_mean", "running_var_raw", "weight", "bias"][:given]
    inputs = [{"name": "x", "shape": shape, "dtype": "float32"}]
    inputs += [{"name": n, "shape": [c], "dtype": "float32"} for n in names]
    graph = [{"module": "0", "inputs": ["x"], "outputs": ["h"]}]
    args = ["h"] + names
    if given >= 2:
        graph.append({"function": "abs", "inputs": ["running_var_raw"], "outputs": ["running_var"]})
        args[2] = "running_var"
    mode = ("training", variant.startswith("train")) if layer == "batch_norm" else \
        ("use_input_stats", variant == "input_stats")
    options = {mode[0]: mode[1], "momentum": momentum(rng), "eps": eps(rng)}
    graph.append({"function": layer, "options": options, "inputs": args, "outputs": ["y"]})
    w = shape[-1]
    return {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": inputs,
        "module": {"type": "Sequential", "children": [
            {"name": "0", "type": "Linear", "options": {"in_features": w, "out_features": w, "bias": False}}]},
        "graph": graph,
        "outputs": ["y"],
        "training": mse_sgd_training(shape, 0.05),
    }, 10


def case(rng, name, layer, variant):
    if layer in ("batch_norm", "instance_norm"):
        return stats_function_case(rng, name, layer, variant)
    if "BatchNorm" in layer:
        shape, options = batch_norm(rng, layer.replace("Lazy", ""), variant)
    elif "InstanceNorm" in layer:
        shape, options = instance_norm(rng, layer.replace("Lazy", ""), variant)
    elif layer in ("LayerNorm", "layer_norm"):
        shape, options = layer_norm(rng, variant)
    elif layer in ("GroupNorm", "group_norm"):
        shape, options = group_norm(rng, variant)
    else:
        shape, options = local_response_norm(rng, variant)
    w = shape[-1]
    children = [{"name": "0", "type": "Linear", "options": {"in_features": w, "out_features": w, "bias": False}}]
    graph = [{"module": "0", "inputs": ["x"], "outputs": ["h"]}]
    if layer[0].isupper():
        children.append({"name": "1", "type": layer, "options": options})
        graph.append({"module": "1", "inputs": ["h"], "outputs": ["y"]})
    else:
        # torch.layer_norm / torch.group_norm take no elementwise_affine /
        # num_channels (and no weight here); F.local_response_norm the
        # module's options.
        options.pop("elementwise_affine", None)
        options.pop("affine", None)
        options.pop("num_channels", None)
        if isinstance(options.get("normalized_shape"), int):
            options["normalized_shape"] = [options["normalized_shape"]]
        graph.append({"function": layer, "options": options, "inputs": ["h"], "outputs": ["y"]})
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": [{"name": "x", "shape": shape, "dtype": "float32"}],
        "module": {"type": "Sequential", "children": children},
        "graph": graph,
        "outputs": ["y"],
        "training": mse_sgd_training(shape, 0.05),
    }
    return model, 10


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=len(LAYERS))
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(f"norm-{a.seed}")
    def tracks_running_stats(node):
        """Whether a batch norm of the module tree keeps running statistics
        (a "random" variant draws track_running_stats too: seed 1207's
        case 4 had none, and kilnc rightly refused its update_bn)."""
        if node.get("type", "").endswith(("BatchNorm1d", "BatchNorm2d", "BatchNorm3d",
                                          "SyncBatchNorm")):
            if node.get("options", {}).get("track_running_stats", True):
                return True
        return any(tracks_running_stats(c) for c in node.get("children", []))

    lines = []
    for i in range(a.count):
        layer, variant = LAYERS[i % len(LAYERS)]
        name = f"norm_{layer.lower()}_{variant}_{a.seed}_{i}_basic"
        model, steps = case(rng, name, layer, variant)
        # torch.optim.swa_utils.update_bn after the steps (training.update_bn,
        # kiln_model_update_bn) for the batch norms with running statistics
        # (without them torch's update_bn fails: zeros_like(None)).
        update_bn = tracks_running_stats(model["module"])
        if update_bn:
            model["training"]["update_bn"] = True
        add_case(a.out, lines, name, model, steps)
        if update_bn:
            lines.append(f"set(parity_update_bn_{name} 3)")
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
