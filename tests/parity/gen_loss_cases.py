"""Writes random parity models for the losses: each loss of the training
section with random shapes (rank 2 or 3 outputs), reductions and options,
trained for a few SGD steps (loss value and every parameter gradient at
init, then the parameters after the steps), and the functional forms
(F.l1_loss, ...) inside the graph with reduction "none" summed by the model
itself, then fed to an L1Loss (the several-input ones: that output is the
loss, training.loss {"output": ...}).

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

from case_files import add_case, write_steps


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
        "training": {"loss": {"output": out}, "optimizer": sgd(1e-3)},
    }
    return model, 2, []


def class_case(rng, name, kind, probabilities=False):
    """NLLLoss / CrossEntropyLoss over [N, C], [N, C, d] (a permute of a
    Linear's [N, d, C]) or an unbatched [C]; class indices with weight,
    ignore_index (-100 or a class) and some ignored targets, label
    smoothing; for CrossEntropyLoss also class probabilities. One case in
    three has 32, 48 or 64 classes: rows the lowering splits into 16
    lanes (LowerLosses.cpp, useClassLanes; reduceDimsInLanes), drawn from
    a generator of their own so that the other draws stay as they were."""
    fin, classes = rng.randint(1, 9), rng.randint(2, 7)
    lanes = random.Random(f"{name}-lanes")
    if lanes.random() < 1 / 3:
        classes = 16 * lanes.randint(2, 4)
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


# Losses of several inputs: (model outputs' roles, options(rng)). Each role
# is a Linear of the one input x; "var" is a Softplus of one (positive).
def _ranking(rng):
    # Mostly a margin that keeps some pairs inside it (a gradient to check).
    return {"margin": 0.0 if rng.random() < 0.2 else round(rng.uniform(0.3, 1.5), 4)}


def _cosine_embedding(rng):
    return {"margin": rng.choice([0.0, round(rng.uniform(-0.5, 0.9), 4)])}


def _gaussian(rng):
    # eps up to 0.5 clamps some of the Softplus variances (value clamped,
    # gradient as if not, as torch's no_grad clamp).
    return {"full": rng.random() < 0.5,
            "eps": rng.choice([1e-6, round(10 ** rng.uniform(-3, -0.3), 6)])}


def _triplet(rng):
    return {"margin": round(rng.uniform(0.5, 2.5), 4),
            "p": rng.choice([2.0, 1.0, 3.0, round(rng.uniform(1.1, 3.5), 3)]),
            "eps": rng.choice([1e-6, round(10 ** rng.uniform(-4, -1), 6)]),
            "swap": rng.random() < 0.5}


def _triplet_distance(rng):
    return {"distance_function": rng.choice(["pairwise_distance", "cosine_distance"]),
            "margin": round(rng.uniform(0.5, 2.5), 4), "swap": rng.random() < 0.5}


MULTI_LOSSES = {
    "MarginRankingLoss": ("margin_ranking_loss", _ranking),
    "CosineEmbeddingLoss": ("cosine_embedding_loss", _cosine_embedding),
    "GaussianNLLLoss": ("gaussian_nll_loss", _gaussian),
    "TripletMarginLoss": ("triplet_margin_loss", _triplet),
    "TripletMarginWithDistanceLoss": ("triplet_margin_with_distance_loss", _triplet_distance),
}


def multi_layout(rng, kind):
    """The input shape, the model outputs (name, Linear out_features,
    Softplus?, squeeze last dim?), the target shape and the loss inputs in
    torch's order ("target" for the target)."""
    # Widths of 2 or more: with one feature, p = 1 distances and +-1
    # targets cancel exactly in some gradients (nothing left to compare).
    fin, d = rng.randint(1, 7), rng.randint(2, 6)
    batch = rng.randint(2, 6)
    unbatched = rng.random() < 0.25
    lead = [] if unbatched else [batch]
    if kind == "MarginRankingLoss":
        lead = [batch] if rng.random() < 0.7 else [batch, rng.randint(1, 3)]
        outs = [("x1", 1, False, True), ("x2", 1, False, True)]
        return lead + [fin], outs, lead, ["x1", "x2", "target"]
    if kind == "CosineEmbeddingLoss":
        outs = [("x1", d, False, False), ("x2", d, False, False)]
        return lead + [fin], outs, lead, ["x1", "x2", "target"]
    if kind == "GaussianNLLLoss":
        lead = [batch] if rng.random() < 0.7 else [batch, rng.randint(1, 3)]
        # var of the input's shape, with a last dim of 1, or without it
        var = rng.choice(["full", "one", "dropped"])
        outs = [("mu", d, False, False),
                ("var", d if var == "full" else 1, True, var == "dropped")]
        return lead + [fin], outs, lead + [d], ["mu", "target", "var"]
    outs = [("anchor", d, False, False), ("positive", d, False, False),
            ("negative", d, False, False)]
    # The triplet losses take no target: the training section's is unused.
    return lead + [fin], outs, [1], ["anchor", "positive", "negative"]


def multi_graph(outs, fin):
    children, graph = [], []
    for i, (name, width, softplus, squeeze) in enumerate(outs):
        children.append({"name": f"l{i}", "type": "Linear",
                         "options": {"in_features": fin, "out_features": width, "bias": True}})
        graph.append({"module": f"l{i}", "inputs": ["x"], "outputs": [f"{name}_h"]})
        last = f"{name}_h"
        if softplus:
            children.append({"name": f"s{i}", "type": "Softplus",
                             "options": {"beta": 1.0, "threshold": 20.0}})
            graph.append({"module": f"s{i}", "inputs": [last], "outputs": [f"{name}_s"]})
            last = f"{name}_s"
        graph.append({"function": "squeeze" if squeeze else "mul",
                      "options": {"dim": -1} if squeeze else {"other": 1.0},
                      "inputs": [last], "outputs": [name]})
    return children, graph


def multi_case(rng, name, kind):
    """A loss of several model outputs in the training section, its inputs
    named by training.loss.inputs in torch's order."""
    x_shape, outs, target_shape, loss_inputs = multi_layout(rng, kind)
    options = MULTI_LOSSES[kind][1](rng)
    options["reduction"] = rng.choice(["mean", "sum"])
    children, graph = multi_graph(outs, x_shape[-1])
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": [{"name": "x", "shape": x_shape, "dtype": "float32"}],
        "module": {"type": "Sequential", "children": children},
        "graph": graph,
        "outputs": [o[0] for o in outs],
        "training": {"loss": {"type": kind, "options": options, "inputs": loss_inputs},
                     "target": {"name": "target", "shape": target_shape, "dtype": "float32"},
                     "optimizer": sgd(0.05)},
    }
    if "target" not in loss_inputs:
        # The triplet losses take model outputs only: no target at all
        # (train_step then takes NULL).
        del model["training"]["target"]
    # GaussianNLLLoss: smaller inputs keep (x - y)^2 / var^2 moderate; its
    # var gradients summed over many rows otherwise cancel to values whose
    # last bits depend on the summation order (torch's and Kiln's differ).
    return model, 3, ["--input-scale", "0.5"] if kind == "GaussianNLLLoss" else []


def multi_function_case(rng, name, kind):
    """The functional form in the graph, the target a model input (a sign
    for the +-1 losses), reduction "none" summed by the model; that model
    output is the training loss ({"output": ...}, no target)."""
    function, make_options = MULTI_LOSSES[kind]
    x_shape, outs, target_shape, loss_inputs = multi_layout(rng, kind)
    options = make_options(rng)
    options["reduction"] = rng.choice(["mean", "sum", "none"])
    children, graph = multi_graph(outs, x_shape[-1])
    inputs = [{"name": "x", "shape": x_shape, "dtype": "float32"}]
    args = [n for n in loss_inputs]
    if "target" in loss_inputs:
        inputs.append({"name": "t", "shape": target_shape, "dtype": "float32"})
        t = "t"
        if kind == "CosineEmbeddingLoss":
            graph.append({"function": "sign", "options": {}, "inputs": ["t"], "outputs": ["ts"]})
            t = "ts"
        args = [t if n == "target" else n for n in loss_inputs]
    graph.append({"function": function, "options": options, "inputs": args, "outputs": ["l"]})
    out = "l"
    if options["reduction"] == "none":
        graph.append({"function": "sum", "options": {"dim": [], "keepdim": False},
                      "inputs": ["l"], "outputs": ["s"]})
        out = "s"
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": inputs,
        "module": {"type": "Sequential", "children": children},
        "graph": graph,
        "outputs": [out],
        "training": {"loss": {"output": out}, "optimizer": sgd(1e-3)},
    }
    return model, 2, []


def class_margin_case(rng, name, kind):
    """MultiMarginLoss / MultiLabelMarginLoss over [N, C] or an unbatched
    [C]: int64 class targets (the oracle draws them; MultiLabelMarginLoss's
    padded with -1 at a random slot, classes after it ignored)."""
    fin, classes = rng.randint(1, 7), rng.randint(2, 6)
    batched = rng.random() < 0.75
    batch = rng.randint(2, 6)
    x_shape = [batch, fin] if batched else [fin]
    out_shape = [batch, classes] if batched else [classes]
    options = {"reduction": rng.choice(["mean", "sum"])}
    if kind == "MultiMarginLoss":
        options.update({"p": rng.choice([1, 2]), "margin": round(rng.uniform(0.2, 2.0), 4),
                        "weight": rng.choice([None, [round(rng.uniform(0.1, 2.0), 4) for _ in range(classes)]])})
        target_shape = out_shape[:-1]
    else:
        target_shape = out_shape
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": [{"name": "x", "shape": x_shape, "dtype": "float32"}],
        "module": {"type": "Sequential", "children": [
            {"name": "0", "type": "Linear",
             "options": {"in_features": fin, "out_features": classes, "bias": True}}]},
        "graph": [{"module": "0", "inputs": ["x"], "outputs": ["y"]}],
        "outputs": ["y"],
        "training": {"loss": {"type": kind, "options": options},
                     "target": {"name": "target", "shape": target_shape, "dtype": "int64"},
                     "optimizer": sgd(0.05)},
    }
    return model, 3, []


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    lines = []

    def add(name, model, steps, args):
        add_case(a.out, lines, name, model, steps)
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
    for kind in ("MultiMarginLoss", "MultiLabelMarginLoss"):
        rng = random.Random(f"loss-{kind}-{a.seed}")
        for i in range(3 * a.count):
            name = f"loss_{kind.lower()}_{a.seed}_{i}_basic"
            add(name, *class_margin_case(rng, name, kind))
    for kind in MULTI_LOSSES:
        rng = random.Random(f"loss-{kind}-{a.seed}")
        for i in range(2 * a.count):
            name = f"loss_{kind.lower()}_{a.seed}_{i}_basic"
            add(name, *multi_case(rng, name, kind))
        name = f"loss_fn_{MULTI_LOSSES[kind][0]}_{a.seed}_basic"
        add(name, *multi_function_case(rng, name, kind))
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
