"""Writes random parity models of the convolution family's functional forms
(issue 8): F.conv1d/2d/3d and F.conv_transpose1d/2d/3d with the weight and
the bias as model inputs (torch's argument order), random shapes (batch 1,
unbatched inputs), stride, padding (ints, "same", "valid"), dilation,
groups, output_padding; F.unfold and F.fold with random blocks.

  gen_conv_function_cases.py --out DIR --count N --seed S

Each model is a Linear over the last dimension ("0", W -> W) followed by the
function and an MSE loss: the function's input gradient is checked through
the gradient of "0.weight" (the weight and bias inputs get none). Ten SGD
steps with momentum follow. Deterministic for a seed. Also writes
DIR/cases.cmake (train-step counts). Any python3.
"""
import argparse
import os
import random

from case_files import add_case, mse_sgd_training, write_steps

KINDS = [("conv", 2), ("conv_transpose", 2), ("conv", 1), ("conv_transpose", 3),
         ("unfold", 2), ("conv", 3), ("conv_transpose", 1), ("fold", 2)]


def conv_case(rng, dims, transpose):
    g = rng.choice([1, 1, 2])
    cin, cout = g * rng.randint(1, 2), g * rng.randint(1, 2)
    kernel = [rng.randint(1, 3) for _ in range(dims)]
    stride = [rng.randint(1, 2) for _ in range(dims)]
    dilation = [rng.randint(1, 2) for _ in range(dims)]
    extra = {1: 6, 2: 4, 3: 2}[dims]
    options = {"stride": stride}
    if transpose:
        padding = [rng.randint(0, d * (k - 1) // 2) for k, d in zip(kernel, dilation)]
        output_padding = [rng.randint(0, s - 1) for s in stride]
        sizes = [rng.randint(1, 1 + extra) for _ in range(dims)]
        out = [(n - 1) * s - 2 * p + d * (k - 1) + op + 1
               for n, s, p, d, k, op in zip(sizes, stride, padding, dilation, kernel, output_padding)]
        options.update(padding=padding, output_padding=output_padding, groups=g, dilation=dilation)
        weight = [cin, cout // g] + kernel
    else:
        choice = rng.random()
        if choice < 0.2:
            options["stride"] = stride = [1] * dims
            padding = "same"
        elif choice < 0.35:
            padding = "valid"
        else:
            padding = [rng.randint(0, 2) for _ in range(dims)]
        pads = [0] * dims if isinstance(padding, str) else padding
        sizes = [max(1, d * (k - 1) + 1 - 2 * p) + rng.randint(0, extra)
                 for k, d, p in zip(kernel, dilation, pads)]
        if padding == "same":
            out = sizes
        else:
            out = [(n + 2 * p - d * (k - 1) - 1) // s + 1
                   for n, p, d, k, s in zip(sizes, pads, dilation, kernel, stride)]
        options.update(padding=padding, dilation=dilation, groups=g)
        weight = [cout, cin // g] + kernel
    lead = rng.choice([[rng.randint(1, 3)], [1], [rng.randint(2, 3)], []])
    shape = lead + [cin] + sizes
    target = lead + [cout] + out
    bias = [cout] if rng.random() < 0.7 else None
    return shape, options, weight, bias, target


def block_case(rng, fold):
    kernel = [rng.randint(1, 3) for _ in range(2)]
    dilation = [rng.randint(1, 2) for _ in range(2)]
    padding = [rng.randint(0, 1) for _ in range(2)]
    stride = [rng.randint(1, 2) for _ in range(2)]
    image = [max(1, d * (k - 1) + 1 - 2 * p) + rng.randint(0, 4)
             for k, d, p in zip(kernel, dilation, padding)]
    blocks = [(n + 2 * p - d * (k - 1) - 1) // s + 1
              for n, p, d, k, s in zip(image, padding, dilation, kernel, stride)]
    c = rng.randint(1, 3)
    n = rng.randint(1, 3)
    options = {"kernel_size": kernel, "dilation": dilation, "padding": padding, "stride": stride}
    columns = [n, c * kernel[0] * kernel[1], blocks[0] * blocks[1]]
    if fold:
        options = dict(output_size=image, **options)
        return columns, options, [n, c] + image
    return [n, c] + image, options, columns


def case(rng, name, kind, dims):
    inputs, extra_inputs = [], []
    if kind in ("unfold", "fold"):
        shape, options, target = block_case(rng, kind == "fold")
        function = kind
    else:
        shape, options, weight, bias, target = conv_case(rng, dims, kind == "conv_transpose")
        function = f"{kind}{dims}d"
        extra_inputs = [("weight", weight)] + ([("bias", bias)] if bias else [])
    w = shape[-1]
    inputs = [{"name": "x", "shape": shape, "dtype": "float32"}]
    inputs += [{"name": n, "shape": s, "dtype": "float32"} for n, s in extra_inputs]
    return {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": inputs,
        "module": {"type": "Sequential", "children": [
            {"name": "0", "type": "Linear", "options": {"in_features": w, "out_features": w, "bias": True}}]},
        "graph": [{"module": "0", "inputs": ["x"], "outputs": ["h"]},
                  {"function": function, "options": options,
                   "inputs": ["h"] + [n for n, _ in extra_inputs], "outputs": ["y"]}],
        "outputs": ["y"],
        "training": mse_sgd_training(target, 0.02),
    }, 10


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=len(KINDS))
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(f"conv-function-{a.seed}")
    lines = []
    for i in range(a.count):
        kind, dims = KINDS[i % len(KINDS)]
        name = f"fn_{kind}{str(dims) + 'd' if kind.startswith('conv') else ''}_random_{a.seed}_{i}_basic"
        model, steps = case(rng, name, kind, dims)
        add_case(a.out, lines, name, model, steps)
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
