"""Writes random parity models for the losses: each loss of the training
section with random shapes (rank 2 or 3 outputs), reductions and options,
trained for a few SGD steps (loss value and every parameter gradient at
init, then the parameters after the steps), and the functional forms
(F.l1_loss, ...) inside the graph with reduction "none" summed by the model
itself, then fed to an L1Loss.

  gen_loss_cases.py --out DIR --count N --seed S

--count is the number of cases per loss. Deterministic for a seed (the
cases are regression tests, not a fuzzer). Writes DIR/cases.cmake with the
step count and make-case arguments (input scales that push sigmoids into
saturation, so that BCELoss sees probabilities of exactly 0 and 1).
Runs with any python3 (no torch).
"""
import argparse
import os
import random

from case_files import write_case, write_steps


def weight_list(rng, classes):
    """None, one weight, or one per class (torch broadcasts either)."""
    r = rng.random()
    if r < 0.35:
        return None
    n = 1 if r < 0.5 else classes
    return [round(rng.uniform(0.1, 2.0), 4) for _ in range(n)]


# loss type -> (options(rng, classes), head activation(options) or None,
#               reductions)
def _huber(rng, c):
    return {"delta": round(10 ** rng.uniform(-1.5, 0.7), 4)}


def _smooth_l1(rng, c):
    return {"beta": rng.choice([0.0, round(10 ** rng.uniform(-1.5, 0.7), 4)])}


def _hinge(rng, c):
    return {"margin": round(rng.uniform(-0.5, 2.0), 4)}


def _bce(rng, c):
    return {"weight": weight_list(rng, c)}


def _bce_logits(rng, c):
    return {"weight": weight_list(rng, c), "pos_weight": weight_list(rng, c)}


def _poisson(rng, c):
    return {"log_input": rng.random() < 0.5, "full": rng.random() < 0.5,
            "eps": rng.choice([1e-8, round(10 ** rng.uniform(-6, -2), 8)])}


def _kl(rng, c):
    return {"log_target": rng.random() < 0.5}


def _mlsm(rng, c):
    return {"weight": weight_list(rng, c)}


def _none(rng, c):
    return {}


LOSSES = {
    "L1Loss": (_none, lambda o: None),
    "MSELoss": (_none, lambda o: None),
    "HuberLoss": (_huber, lambda o: None),
    "SmoothL1Loss": (_smooth_l1, lambda o: None),
    "SoftMarginLoss": (_none, lambda o: None),
    "HingeEmbeddingLoss": (_hinge, lambda o: None),
    # Large inputs saturate the Sigmoid to exactly 1.0 (BCE's log clamped at
    # -100, its gradient's denominator at 1e-12). Not Hardsigmoid: its
    # slope does not cancel BCE's 1/(x(1-x)), which turns the GEMM's
    # last-bit differences into 1e-4 near 0 and 1 (so would torch on
    # another BLAS).
    "BCELoss": (_bce, lambda o: "Sigmoid"),
    "BCEWithLogitsLoss": (_bce_logits, lambda o: None),
    "PoissonNLLLoss": (_poisson, lambda o: None if o["log_input"] else "Softplus"),
    "KLDivLoss": (_kl, lambda o: "LogSoftmax"),
    "MultiLabelSoftMarginLoss": (_mlsm, lambda o: None),
}

def sgd(lr):
    return {"type": "SGD", "options": {"lr": lr, "momentum": 0.0, "dampening": 0.0,
                                       "weight_decay": 0.0, "nesterov": False, "maximize": False}}


# The option classes every seed covers in its first cases (case index ->
# options over the random ones), so that two cases per loss suffice.
FIRST_CASES = {
    "SmoothL1Loss": [{"beta": 0.0}],
    "BCELoss": [{"weight": "per-class"}],
    "BCEWithLogitsLoss": [{"weight": "per-class", "pos_weight": "per-class"}],
    "PoissonNLLLoss": [{"log_input": False, "full": True}, {"log_input": True, "full": True}],
    "KLDivLoss": [{"log_target": False, "reduction": "batchmean"}, {"log_target": True}],
    "MultiLabelSoftMarginLoss": [{"weight": "per-class"}],
}


def module_case(rng, name, kind, index=0):
    make_options, head = LOSSES[kind]
    batch, fin, classes = rng.randint(1, 6), rng.randint(1, 9), rng.randint(1, 7)
    lead = [batch] if rng.random() < 0.6 else [batch, rng.randint(1, 4)]
    options = make_options(rng, classes)
    reductions = ["mean", "sum"] + (["batchmean"] if kind == "KLDivLoss" else [])
    options["reduction"] = rng.choice(reductions)
    firsts = FIRST_CASES.get(kind, [])
    if index < len(firsts):
        for key, value in firsts[index].items():
            options[key] = ([round(rng.uniform(0.1, 2.0), 4) for _ in range(classes)]
                            if value == "per-class" else value)
    children = [{"name": "0", "type": "Linear",
                 "options": {"in_features": fin, "out_features": classes, "bias": True}}]
    graph = [{"module": "0", "inputs": ["x"], "outputs": ["h"]}]
    out = "h"
    act = head(options)
    if act:
        opts = {"dim": -1} if act == "LogSoftmax" else {}
        children.append({"name": "1", "type": act, "options": opts})
        graph.append({"module": "1", "inputs": ["h"], "outputs": ["y"]})
        out = "y"
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": [{"name": "x", "shape": lead + [fin], "dtype": "float32"}],
        "module": {"type": "Sequential", "children": children},
        "graph": graph,
        "outputs": [out],
        "training": {"loss": {"type": kind, "options": options},
                     "target": {"name": "target", "shape": lead + [classes], "dtype": "float32"},
                     "optimizer": sgd(0.05)},
    }
    scale = 30.0 if kind == "BCELoss" else 1.0
    return model, 3, ["--input-scale", str(scale)] if scale != 1 else []


# Functional forms: (function, options(rng, classes), input transform,
# target transform) as graph functions that keep torch's domains.
FUNCTIONS = [
    ("l1_loss", _none, None, None),
    ("mse_loss", _none, None, None),
    ("huber_loss", _huber, None, None),
    ("smooth_l1_loss", _smooth_l1, None, None),
    ("soft_margin_loss", _none, None, "sign"),
    ("hinge_embedding_loss", _hinge, None, "sign"),
    ("binary_cross_entropy", _bce, "sigmoid", "sigmoid"),
    ("binary_cross_entropy_with_logits", _bce_logits, None, "sigmoid"),
    ("poisson_nll_loss", _poisson, None, "exp"),
    ("kl_div", _kl, None, "sigmoid"),
    ("multilabel_soft_margin_loss", _mlsm, None, "sigmoid"),
]


def function_case(rng, name, function, make_options, in_fn, target_fn):
    batch, fin, classes = rng.randint(1, 6), rng.randint(1, 9), rng.randint(1, 7)
    options = make_options(rng, classes)
    reductions = ["mean", "sum", "none"] + (["batchmean"] if function == "kl_div" else [])
    options["reduction"] = rng.choice(reductions)
    if function == "poisson_nll_loss" and not options["log_input"]:
        in_fn = "exp"
    graph = [{"module": "0", "inputs": ["x"], "outputs": ["h"]}]
    def fn(function, inputs, out, **opts):
        graph.append({"function": function, "options": opts, "inputs": inputs, "outputs": [out]})
    src, tgt = "h", "t"
    if in_fn:
        fn(in_fn, ["h"], "hi")
        src = "hi"
    if target_fn:
        fn(target_fn, ["t"], "ti")
        tgt = "ti"
    graph.append({"function": function, "options": options, "inputs": [src, tgt], "outputs": ["l"]})
    out = "l"
    if options["reduction"] == "none":
        fn("sum", ["l"], "s")  # the model reduces the per-element loss itself
        out = "s"
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": [{"name": "x", "shape": [batch, fin], "dtype": "float32"},
                   {"name": "t", "shape": [batch, classes], "dtype": "float32"}],
        "module": {"type": "Sequential", "children": [
            {"name": "0", "type": "Linear",
             "options": {"in_features": fin, "out_features": classes, "bias": True}}]},
        "graph": graph,
        "outputs": [out],
        # |loss - target|: the gradient is the functional loss's own (an
        # MSELoss would scale it by the loss, and the rounding with it).
        "training": {"loss": {"type": "L1Loss", "options": {"reduction": "mean"}},
                     "target": {"name": "target", "shape": [], "dtype": "float32"},
                     "optimizer": sgd(1e-3)},
    }
    return model, 2, []


def class_case(rng, name, kind, probabilities=False):
    """NLLLoss / CrossEntropyLoss over [N, C], [N, C, d] (a permute of a
    Linear's [N, d, C]) or an unbatched [C]; class indices with weight,
    ignore_index (-100 or a class) and some ignored targets, label
    smoothing; for CrossEntropyLoss also class probabilities."""
    fin, classes = rng.randint(1, 9), rng.randint(2, 7)
    shape = rng.choice(["2d", "2d", "3d", "1d"])
    batch, extra = rng.randint(2, 6), rng.randint(1, 4)
    x_shape = {"2d": [batch, fin], "3d": [batch, extra, fin], "1d": [fin]}[shape]
    out_shape = {"2d": [batch, classes], "3d": [batch, classes, extra], "1d": [classes]}[shape]
    graph = [{"module": "0", "inputs": ["x"], "outputs": ["h"]}]
    children = [{"name": "0", "type": "Linear",
                 "options": {"in_features": fin, "out_features": classes, "bias": True}}]
    out = "h"
    if shape == "3d":
        graph.append({"function": "permute", "options": {"dims": [0, 2, 1]}, "inputs": ["h"], "outputs": ["hp"]})
        out = "hp"
    if kind == "NLLLoss":
        children.append({"name": "1", "type": "LogSoftmax", "options": {"dim": 0 if shape == "1d" else 1}})
        graph.append({"module": "1", "inputs": [out], "outputs": ["y"]})
        out = "y"
    options = {"reduction": rng.choice(["mean", "sum"]),
               "ignore_index": -100 if probabilities else rng.choice([-100, rng.randint(0, classes - 1)]),
               "weight": rng.choice([None, [round(rng.uniform(0.1, 2.0), 4) for _ in range(classes)]])}
    if kind == "CrossEntropyLoss":
        options["label_smoothing"] = rng.choice([0.0, round(rng.uniform(0, 0.6), 4)])
    cdim = 0 if shape == "1d" else 1
    target_shape = out_shape if probabilities else out_shape[:cdim] + out_shape[cdim + 1:]
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": [{"name": "x", "shape": x_shape, "dtype": "float32"}],
        "module": {"type": "Sequential", "children": children},
        "graph": graph,
        "outputs": [out],
        "training": {"loss": {"type": kind, "options": options},
                     "target": {"name": "target", "shape": target_shape,
                                "dtype": "float32" if probabilities else "int64"},
                     "optimizer": sgd(0.05)},
    }
    rows = 1
    for d in target_shape:
        rows *= d
    args = []
    if not probabilities and shape != "1d":
        # Some targets set to ignore_index (-100 too), never all of them.
        args = ["--ignored-targets", str(rng.randint(1, max(1, rows // 3)))]
    return model, 3, args


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    lines = []

    def add(name, model, steps, args):
        write_case(a.out, name, model)
        lines.append(f"set(parity_steps_{name} {steps})")
        if args:
            lines.append(f"set(parity_args_{name} {' '.join(args)})")

    for kind in LOSSES:
        rng = random.Random(f"loss-{kind}-{a.seed}")
        for i in range(a.count):
            name = f"loss_{kind.lower()}_{a.seed}_{i}_basic"
            add(name, *module_case(rng, name, kind, i))
    for kind in ("NLLLoss", "CrossEntropyLoss"):
        rng = random.Random(f"loss-{kind}-{a.seed}")
        for i in range(2 * a.count):
            name = f"loss_{kind.lower()}_{a.seed}_{i}_basic"
            # Every third CrossEntropyLoss case has class probabilities.
            add(name, *class_case(rng, name, kind, kind == "CrossEntropyLoss" and i % 3 == 2))
    for function, make_options, in_fn, target_fn in FUNCTIONS:
        rng = random.Random(f"loss-fn-{function}-{a.seed}")
        name = f"loss_fn_{function}_{a.seed}_basic"
        add(name, *function_case(rng, name, function, make_options, in_fn, target_fn))
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
