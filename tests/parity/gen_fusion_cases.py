"""Writes random parity models for torch.nn.utils.fuse_conv_bn_weights and
fuse_linear_bn_weights (graph functions): a convolution (Conv1d/2d/3d or
ConvTranspose1d/2d/3d, random channels, kernel, stride, padding, groups
for the plain ones, bias or not) or a Linear, then a BatchNorm of random
eps, momentum and affine; the graph reads their parameters and running
statistics after the batch norm's call (train mode: the updated ones),
fuses them, and applies F.conv*/F.conv_transpose*/F.linear with the fused
weight and bias to the same input. The model's output is the batch norm's
result plus the fused layer's plus the layer's own: torch's fused weights
are new leaves, so the parameters' gradients come only from the other
paths (Kiln detaches them the same way). Each optional input (the layer's bias, the batch
norm's weight and bias) is given or left out (torch's None) at random;
linear cases give the batch norm's weight and bias (torch 1.13 needs
them). Ten steps of SGD with momentum or Adam; every seventh case is
compiled for inference (the running statistics are then the initial ones).

  gen_fusion_cases.py --out DIR --count N --seed S

Deterministic for a seed; also writes DIR/cases.cmake. Runs with any
python3 (no torch).
"""

from case_files import run_generator
from gen_attention_cases import Net, mse_model, sgd_or_adam

KINDS = [("conv", 2), ("linear", 0), ("conv_transpose", 1), ("conv", 1), ("conv_transpose", 2),
         ("conv", 3), ("linear", 0), ("conv_transpose", 3)]


def conv_shapes(rng, dims, transpose):
    """(input shape, layer options, F.conv options, output shape)."""
    groups = 1 if transpose else rng.choice([1, 1, 2])
    cin, cout = groups * rng.randint(1, 3), groups * rng.randint(1, 3)
    kernel = [rng.randint(1, 3) for _ in range(dims)]
    stride = [rng.randint(1, 2) for _ in range(dims)]
    extra = {1: 5, 2: 3, 3: 1}[dims]
    if transpose:
        padding = [rng.randint(0, (k - 1) // 2) for k in kernel]
        sizes = [rng.randint(1, 1 + extra) for _ in range(dims)]
        out = [(n - 1) * s - 2 * p + k for n, s, p, k in zip(sizes, stride, padding, kernel)]
    else:
        padding = [rng.randint(0, 1) for _ in range(dims)]
        sizes = [max(1, k - 2 * p) + rng.randint(0, extra) for k, p in zip(kernel, padding)]
        out = [(n + 2 * p - k) // s + 1 for n, p, k, s in zip(sizes, padding, kernel, stride)]
    options = {"stride": stride, "padding": padding, "groups": groups}
    layer = {"in_channels": cin, "out_channels": cout, "kernel_size": kernel, **options,
             "bias": rng.random() < 0.6}
    # At least 8 values per channel for the batch norm (fewer make its
    # batch statistics too ill-conditioned for the tolerances, seed 0's
    # cases 29 and 56 in a sweep of 96).
    positions = 1
    for n in out:
        positions *= n
    batch = max(rng.randint(2, 3), -(-8 // positions))
    return [batch, cin] + sizes, layer, options, [batch, cout] + out


def case(rng, name, kind, dims):
    net = Net()
    if kind == "linear":
        # A batch of 6 or more: batch norm over 2 samples is too ill-conditioned
        # for the tolerances (in torch float32 as well).
        batch, fin, fout = rng.randint(6, 9), rng.randint(1, 6), rng.randint(1, 6)
        x = net.input("x", [batch, fin])
        layer_type, bn_type = "Linear", "BatchNorm1d"
        layer = {"in_features": fin, "out_features": fout, "bias": rng.random() < 0.6}
        out_shape, channels = [batch, fout], fout
    else:
        transpose = kind == "conv_transpose"
        shape, layer, fn_options, out_shape = conv_shapes(rng, dims, transpose)
        x = net.input("x", shape)
        layer_type = ("ConvTranspose" if transpose else "Conv") + f"{dims}d"
        bn_type = f"BatchNorm{dims}d"
        channels = layer["out_channels"]
    affine = kind == "linear" or rng.random() < 0.7
    eps = round(10 ** rng.uniform(-4, -1), 7)
    momentum = rng.choice([None, round(rng.uniform(0.05, 0.5), 3)])
    a = net.module("layer", layer_type, layer, [x])
    b = net.module("bn", bn_type, {"num_features": channels, "eps": eps, "momentum": momentum,
                                   "affine": affine, "track_running_stats": True}, [a])

    def read(key):
        out = net.value()
        net.graph.append({"parameter": key, "inputs": [], "outputs": [out]})
        return out

    give_bias = layer["bias"] and rng.random() < 0.8
    inputs = [read("layer.weight")] + ([read("layer.bias")] if give_bias else [])
    inputs += [read("bn.running_mean"), read("bn.running_var")]
    fw, fb = net.value(), net.value()
    if kind == "linear":
        inputs += [read("bn.weight"), read("bn.bias")]
        net.graph.append({"function": "fuse_linear_bn_weights",
                          "options": {"eps": eps, "linear_bias": give_bias},
                          "inputs": inputs, "outputs": [fw, fb]})
        f = net.function("linear", [x, fw, fb], {})
    else:
        give_w = affine and rng.random() < 0.8
        give_b = affine and rng.random() < 0.8
        inputs += ([read("bn.weight")] if give_w else []) + ([read("bn.bias")] if give_b else [])
        net.graph.append({"function": "fuse_conv_bn_weights",
                          "options": {"eps": eps, "transpose": transpose, "conv_bias": give_bias,
                                      "bn_weight": give_w, "bn_bias": give_b},
                          "inputs": inputs, "outputs": [fw, fb]})
        f = net.function(f"{kind}{dims}d", [x, fw, fb], fn_options)
    # The layer's own output too: a bias before a train-mode batch norm
    # has no gradient through it (the batch mean removes it).
    y = net.function("add", [net.function("add", [b, f], {"other": None, "alpha": 1.0}), a],
                     {"other": None, "alpha": 1.0})
    return mse_model(name, net, [y], out_shape, sgd_or_adam(rng)), 10


def main():
    def make_case(rng, stem, i):
        kind, dims = KINDS[i % len(KINDS)]
        name = f"fusion_{kind}{dims or ''}_{stem}"
        return (name, *case(rng, name, kind, dims))

    run_generator(__doc__, "fusion", 16, make_case)


if __name__ == "__main__":
    main()
