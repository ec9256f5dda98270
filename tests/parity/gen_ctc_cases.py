"""Writes random parity models of CTCLoss (issue 10 item 1): x [T, N, F]
(or [T, F] unbatched) -> Linear(F, C) -> log_softmax over the classes
(or, in some cases, the Linear's raw output: torch's gradient formula
assumes a log_softmax, and Kiln must reproduce it either way) -> CTCLoss
with random blank, reduction mean/sum, zero_infinity; targets [N, S] of
labels other than the blank (the oracle draws them), input lengths in
[T/2, T] and target lengths in [0, S] (make-case --index-high r<lo>-<hi>),
so impossible alignments (a target longer than the input allows) occur in
the zero_infinity cases. Also the functional form in the graph (reduction
none, summed by the model, trained with L1Loss against 0), and CONCAT_CASES
of torch's concatenated 1-D targets.

  gen_ctc_cases.py --out DIR --count N --seed S

Ten SGD steps per case. Deterministic for a seed; also writes
DIR/cases.cmake. Runs with any python3 (no torch).
"""
import argparse
import os
import random

from case_files import write_case, write_steps


def build(rng, name, functional):
    t, n, f, c, s = (rng.randint(2, 12), rng.randint(1, 5), rng.randint(1, 6),
                     rng.randint(2, 7), rng.randint(1, 4))
    batched = functional or rng.random() < 0.8
    blank = rng.choice([0, rng.randint(0, c - 1)])
    zero_infinity = rng.random() < 0.5
    # Without zero_infinity every alignment must be possible: a target of S
    # labels needs at most 2 S + 1 steps (repeats need a blank between).
    lo = max(1, t // 2) if zero_infinity else t
    s = s if zero_infinity else max(1, min(s, (t - 1) // 2))
    raw = rng.random() < 0.25
    x_shape = [t, n, f] if batched else [t, f]
    len_shape = [n] if batched else []
    inputs = [{"name": "x", "shape": x_shape, "dtype": "float32"},
              {"name": "input_lengths", "shape": len_shape, "dtype": "int64"},
              {"name": "target_lengths", "shape": len_shape, "dtype": "int64"}]
    children = [{"name": "proj", "type": "Linear",
                 "options": {"in_features": f, "out_features": c, "bias": rng.random() < 0.7}}]
    graph = [{"module": "proj", "inputs": ["x"], "outputs": ["h"]}]
    out = "h"
    if not raw:
        graph.append({"function": "log_softmax", "options": {"dim": -1},
                      "inputs": ["h"], "outputs": ["lp"]})
        out = "lp"
    options = {"blank": blank, "reduction": rng.choice(["mean", "sum"]),
               "zero_infinity": zero_infinity}
    target_shape = [n, s] if batched else [s]
    model = {"format": "kiln-model", "version": 1, "name": name, "inputs": inputs,
             "module": {"type": "Sequential", "children": children}, "graph": graph}
    sgd = {"type": "SGD", "options": {"lr": rng.choice([0.01, 0.05]), "momentum": 0.9}}
    if functional:
        # The labels are an int64 model input, drawn uniform in [0, C - 1):
        # the blank is C - 1.
        model["inputs"].append({"name": "labels", "shape": target_shape, "dtype": "int64"})
        options.update({"reduction": "none", "blank": c - 1})
        graph.append({"function": "ctc_loss", "options": options,
                      "inputs": [out, "labels", "input_lengths", "target_lengths"],
                      "outputs": ["per_sample"]})
        graph.append({"function": "sum", "options": {},
                      "inputs": ["per_sample"], "outputs": ["y"]})
        model["outputs"] = ["y"]
        model["training"] = {"loss": {"type": "L1Loss", "options": {"reduction": "mean"}},
                             "target": {"name": "target", "shape": [], "dtype": "float32"},
                             "optimizer": sgd}
        return model, [f"r{lo}-{t}", f"r0-{s}", f"{c - 1}"]
    model["outputs"] = [out]
    model["training"] = {
        "loss": {"type": "CTCLoss", "options": options,
                 "inputs": [out, "target", "input_lengths", "target_lengths"]},
        "target": {"name": "target", "shape": target_shape, "dtype": "int64"},
        "optimizer": sgd}
    # Unbatched: torch 1.13 reads 1-D targets as the concatenated form, so
    # the one target length must be S (seed 1207's sweep drew shorter ones,
    # which torch refuses).
    return model, [f"r{lo}-{t}", f"r0-{s}" if batched else f"r{s}-{s}"]


# torch's concatenated 1-D targets ([S] labels of all samples, one after
# another, S = sum(target_lengths)): their own generator, so the cases
# above stay what they were. The lengths are drawn to add up to S, each at
# most what the input length allows without zero_infinity (make-case
# --index-high c<S>-<cap>); half of them in the graph (F.ctc_loss, its
# output the loss itself).
CONCAT_CASES = 6


def build_concatenated(rng, name, functional):
    t, n, f, c = rng.randint(3, 12), rng.randint(2, 5), rng.randint(1, 6), rng.randint(2, 7)
    cap = max(1, (t - 1) // 2)
    total = rng.randint(1, n * cap)
    blank = rng.choice([0, rng.randint(0, c - 1)])
    inputs = [{"name": "x", "shape": [t, n, f], "dtype": "float32"},
              {"name": "input_lengths", "shape": [n], "dtype": "int64"},
              {"name": "target_lengths", "shape": [n], "dtype": "int64"}]
    children = [{"name": "proj", "type": "Linear",
                 "options": {"in_features": f, "out_features": c, "bias": True}}]
    graph = [{"module": "proj", "inputs": ["x"], "outputs": ["h"]},
             {"function": "log_softmax", "options": {"dim": -1}, "inputs": ["h"], "outputs": ["lp"]}]
    options = {"blank": blank, "reduction": rng.choice(["mean", "sum"]),
               "zero_infinity": rng.random() < 0.5}
    model = {"format": "kiln-model", "version": 1, "name": name, "inputs": inputs,
             "module": {"type": "Sequential", "children": children}, "graph": graph}
    sgd = {"type": "SGD", "options": {"lr": rng.choice([0.01, 0.05]), "momentum": 0.9}}
    highs = [f"r{t}-{t}", f"c{total}-{cap}"]
    if functional:
        model["inputs"].append({"name": "labels", "shape": [total], "dtype": "int64"})
        options["blank"] = c - 1  # labels drawn in [0, C - 1)
        graph.append({"function": "ctc_loss", "options": options,
                      "inputs": ["lp", "labels", "input_lengths", "target_lengths"],
                      "outputs": ["y"]})
        model["outputs"] = ["y"]
        model["training"] = {"loss": {"output": "y"}, "optimizer": sgd}
        return model, highs + [f"{c - 1}"]
    model["outputs"] = ["lp"]
    model["training"] = {
        "loss": {"type": "CTCLoss", "options": options,
                 "inputs": ["lp", "target", "input_lengths", "target_lengths"]},
        "target": {"name": "target", "shape": [total], "dtype": "int64"},
        "optimizer": sgd}
    return model, highs


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    lines = []
    for i in range(a.count):
        functional = i % 4 == 3
        name = f"ctc_{'f' if functional else 'm'}_random_{a.seed}_{i}_basic"
        model, highs = build(rng, name, functional)
        write_case(a.out, name, model)
        lines.append(f"set(parity_steps_{name} 10)")
        # CTC's gradient is exp(lp) - exp(lcab + nll - lp), a difference of
        # nearly equal float terms per element, which the Linear's weight
        # gradient then sums over T x N rows in its own order (GEMM vs
        # torch's): 1.8e-5 relative seen (seed 0 case 9), so 1e-4 as the
        # issue allows for reduction order.
        lines.append(f"set(parity_forward_rtol_{name} 1e-4)")
        lines.append(f"set(parity_args_{name} --index-high={','.join(highs)})")
    rng = random.Random(f"ctc-concat-{a.seed}")
    for i in range(CONCAT_CASES):
        functional = i % 2 == 1
        name = f"ctc_concat_{'f' if functional else 'm'}_random_{a.seed}_{i}_basic"
        model, highs = build_concatenated(rng, name, functional)
        write_case(a.out, name, model)
        lines.append(f"set(parity_steps_{name} 10)")
        lines.append(f"set(parity_forward_rtol_{name} 1e-4)")  # as above
        lines.append(f"set(parity_args_{name} --index-high={','.join(highs)})")
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
