"""Writes random fractional max pooling parity models (issue 8):
FractionalMaxPool2d/3d and F.fractional_max_pool2d/3d(_with_indices) with
random shapes (batch 1, unbatched inputs, non-square kernels), output_size
or output_ratio (a number or a tuple), and the samples either

  - given: the node's second input (torch's `_random_samples`), computed in
    the graph from two more model inputs as |a| / (|a| + |b|), uniform-ish
    in [0, 1) and bit-identical in Kiln and torch (abs, add and div are
    correctly rounded in both), or
  - drawn: from the instance's stream; the oracle draws the same samples
    from its mirror of Kiln's Philox stream (kiln_oracle.KilnRandom), so
    every call (forward, gradients, each of the ten steps, the eval-mode
    forward) must use fresh samples exactly as Kiln draws them.

Some cases return the indices and feed them to a MaxUnpool whose output is
the pooled input's size (stride 1, kernel in - out + 1): the indices are
checked through the unpooled values and their gradient.

  gen_fractional_cases.py --out DIR --count N --seed S

Each model is a Linear over the last dimension ("0", W -> W) followed by the
pooling and an MSE loss: the pooling's input gradient is checked through the
gradient of "0.weight". Ten SGD steps with momentum follow. Deterministic for
a seed. Also writes DIR/cases.cmake (train-step counts). Any python3.
"""
import argparse
import os
import random

from case_files import add_case, mse_sgd_training, write_steps

# (rank, samples given, form, return the indices into a MaxUnpool)
KINDS = [
    (2, True, "layer", False), (3, True, "layer", False),
    (2, False, "layer", False), (3, False, "layer", False),
    (2, True, "layer", True), (3, False, "layer", True),
    (2, True, "function", False), (3, True, "function_with_indices", True),
    (2, False, "function", True), (2, False, "function_with_indices", False),
]


def geometry(rng, rank):
    """Kernel, input sizes and options (output_size or output_ratio) that
    torch 1.13 accepts: out + k - 1 <= in (2-d), < in (3-d)."""
    strict = 1 if rank == 3 else 0
    kernel = [rng.randint(1, 3) for _ in range(rank)]
    # Mostly several windows per dimension, so that the samples matter.
    extra = {2: 10, 3: 5}[rank]
    sizes = [k + strict + rng.randint(2, extra) for k in kernel]
    if rng.random() < 0.5:
        out = [rng.randint(min(2, n - k + 1 - strict), n - k + 1 - strict)
               for n, k in zip(sizes, kernel)]
        size = out[0] if len(set(out)) == 1 and rng.random() < 0.5 else out
        options = {"output_size": size, "output_ratio": None}
    else:
        for _ in range(1000):
            ratio = [round(rng.uniform(0.2, 0.95), 3) for _ in range(rank)]
            if rng.random() < 0.3:
                ratio = [ratio[0]] * rank
            out = [int(n * r) for n, r in zip(sizes, ratio)]
            if all(1 <= o and o + k - 1 + strict <= n for o, k, n in zip(out, kernel, sizes)):
                break
        else:
            raise RuntimeError("no output_ratio found")
        value = ratio[0] if len(set(ratio)) == 1 and rng.random() < 0.5 else ratio
        options = {"output_size": None, "output_ratio": value}
    kernel_option = kernel[0] if len(set(kernel)) == 1 and rng.random() < 0.5 else kernel
    return dict(kernel_size=kernel_option, **options), sizes, out


def case(rng, name, rank, given, form, unpool):
    options, sizes, out = geometry(rng, rank)
    # Unbatched [C, *D] (its indices unbatched too, into an unbatched
    # MaxUnpool), batch 1 or a batch of 2-3.
    lead = rng.choice([[1, rng.randint(1, 3)], [rng.randint(2, 3), rng.randint(1, 3)],
                       [rng.randint(1, 3)]])
    shape = lead + sizes
    w = shape[-1]
    inputs = [{"name": "x", "shape": shape, "dtype": "float32"}]
    children = [{"name": "0", "type": "Linear",
                 "options": {"in_features": w, "out_features": w, "bias": True}}]
    graph = [{"module": "0", "inputs": ["x"], "outputs": ["h"]}]
    pool_inputs = ["h"]
    if given:
        samples = [1 if len(lead) == 1 else lead[0], lead[-1], rank]
        inputs += [{"name": "a", "shape": samples, "dtype": "float32"},
                   {"name": "b", "shape": samples, "dtype": "float32"}]
        graph += [{"function": "abs", "inputs": ["a"], "outputs": ["abs_a"]},
                  {"function": "abs", "inputs": ["b"], "outputs": ["abs_b"]},
                  {"function": "add", "inputs": ["abs_a", "abs_b"], "outputs": ["sum"]},
                  {"function": "div", "inputs": ["abs_a", "sum"], "outputs": ["u"]}]
        pool_inputs.append("u")
    outputs = ["y", "i"] if unpool else ["y"]
    if form == "layer":
        children.append({"name": "1", "type": f"FractionalMaxPool{rank}d",
                         "options": dict(options, return_indices=unpool)})
        graph.append({"module": "1", "inputs": pool_inputs, "outputs": outputs})
    else:
        function = f"fractional_max_pool{rank}d"
        fopts = dict(options)
        if form == "function_with_indices":
            function += "_with_indices"
            outputs = ["y", "i"]
        else:
            fopts["return_indices"] = unpool
        graph.append({"function": function, "inputs": pool_inputs, "options": fopts,
                      "outputs": outputs})
    result, target = "y", lead + out
    if unpool:
        # Back to the pooled input's size: stride 1, kernel in - out + 1.
        children.append({"name": "2", "type": f"MaxUnpool{rank}d", "options": {
            "kernel_size": [n - o + 1 for n, o in zip(sizes, out)], "stride": 1, "padding": 0}})
        graph.append({"module": "2", "inputs": ["y", "i"], "outputs": ["z"]})
        result, target = "z", shape
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": inputs,
        "module": {"type": "Sequential", "children": children},
        "graph": graph,
        "outputs": [result],
        "training": mse_sgd_training(target, 0.05),
    }
    return model, 10


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=len(KINDS))
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(f"fractional-{a.seed}")
    lines = []
    for i in range(a.count):
        rank, given, form, unpool = KINDS[i % len(KINDS)]
        name = (f"fractional{rank}d_{form}_{'given' if given else 'drawn'}"
                f"{'_unpool' if unpool else ''}_random_{a.seed}_{i}_basic")
        model, steps = case(rng, name, rank, given, form, unpool)
        add_case(a.out, lines, name, model, steps)
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
