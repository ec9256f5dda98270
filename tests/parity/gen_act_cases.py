"""Writes random activation parity models (issue 9): every pointwise
activation of torch.nn (ELU, CELU, SELU, LeakyReLU, ReLU6, Hardtanh,
Hardsigmoid, Hardswish, Hardshrink, Softshrink, Softsign, Tanhshrink,
Threshold, LogSigmoid, Softplus, Mish, ReLU, GELU, SiLU, Sigmoid, Tanh) as
a layer or as its functional form (F.elu, ...), with random shapes (rank 1
to 4) and random option values.

  gen_act_cases.py --out DIR --count N --seed S

Each model applies the activation twice:
  y = act(Linear(u))   the loss (MSE) is on y: "0.weight"'s gradient checks
                       the activation's input gradient, 5 SGD steps follow
                       (softmax-family inputs are permuted so that the
                       Linear's features lie along the normalised dim);
  z = act(x)           a second output on the raw input x.
u is randn times 1, 3 or 10 (3 at most where the gradient is computed from
a saturating result). x is randn times 1, 8 or 60 (the saturated and
linear regions), with about a third of its elements replaced by edge
values passed to the oracle (make-case --input-specials): the activation's
kinks for the drawn options (Hardtanh's bounds, Hardswish's +-3,
Threshold's threshold, Softplus' threshold / beta, ...), 0, -0.0 and +-100.
Deterministic for a seed. Runs with any python3 (no torch).
"""
import argparse
import os
import random

from case_files import add_case, mse_sgd_training, write_steps


def _f(rng, lo, hi):
    """A random float with few digits (exact in float32 more often)."""
    return round(rng.uniform(lo, hi), 2)


# name: (layer, function or None, options(rng) -> (options, kinks))
def _elu(rng):
    a = rng.choice([1.0, _f(rng, 0.1, 3)])
    return {"alpha": a}, [0.0]


def _celu(rng):
    # (A negative alpha is valid but overflows to -inf at -100.)
    a = rng.choice([1.0, _f(rng, 0.2, 3)])
    return {"alpha": a}, [0.0]


def _leaky(rng):
    return {"negative_slope": rng.choice([0.01, _f(rng, -0.5, 1.5)])}, [0.0]


def _hardtanh(rng):
    lo = _f(rng, -3, 0.5)
    hi = lo + _f(rng, 0.25, 4)
    return {"min_val": lo, "max_val": round(hi, 2)}, [lo, round(hi, 2)]


def _shrink(rng):
    lam = rng.choice([0.5, _f(rng, 0, 2)])
    return {"lambd": lam}, [lam, -lam]


def _threshold(rng):
    t = _f(rng, -2, 2)
    return {"threshold": t, "value": _f(rng, -5, 5)}, [t]


def _softplus(rng):
    beta = rng.choice([1.0, 2.0, 0.5, _f(rng, 0.2, 3)])
    threshold = rng.choice([20.0, float(rng.randint(1, 10))])
    return {"beta": beta, "threshold": threshold}, [threshold / beta, -threshold / beta]


def _gelu(rng):
    return {"approximate": rng.choice(["none", "tanh"])}, [0.0]


def _none(kinks):
    return lambda rng: ({}, kinks)


ACTIVATIONS = [
    ("ELU", "elu", _elu), ("CELU", "celu", _celu), ("SELU", "selu", _none([0.0])),
    ("LeakyReLU", "leaky_relu", _leaky), ("ReLU6", "relu6", _none([0.0, 6.0])),
    ("Hardtanh", "hardtanh", _hardtanh), ("Hardsigmoid", "hardsigmoid", _none([-3.0, 3.0])),
    ("Hardswish", "hardswish", _none([-3.0, 3.0])), ("Hardshrink", "hardshrink", _shrink),
    ("Softshrink", "softshrink", _shrink), ("Softsign", "softsign", _none([0.0])),
    ("Tanhshrink", "tanhshrink", _none([0.0])), ("Threshold", "threshold", _threshold),
    ("LogSigmoid", "logsigmoid", _none([0.0])), ("Softplus", "softplus", _softplus),
    ("Mish", "mish", _none([0.0, 20.0])), ("ReLU", "relu", _none([0.0])),
    ("GELU", "gelu", _gelu), ("SiLU", "silu", _none([0.0])),
    ("Sigmoid", "sigmoid", _none([0.0])), ("Tanh", "tanh", _none([0.0])),
]

# Layers whose options depend on the input shape: (layer, function or None,
# options(rng, shape, functional) -> (options, shape)) with the shape
# adjusted to fit (GLU's halved dim even, Softmax2d's rank).
def _softmax_dim(rng, shape, functional, function):
    if not functional or function == "softmin":
        if rng.random() < 0.2:
            return {"dim": None}, shape
    return {"dim": rng.randint(-len(shape), len(shape) - 1)}, shape


def _softmax2d(rng, shape, functional, function):
    shape = [rng.randint(1, 4) for _ in range(rng.choice([2, 3]))] + shape[-1:]
    return {}, shape


def _glu(rng, shape, functional, function):
    dim = rng.randint(-len(shape), len(shape) - 1)
    shape = list(shape)
    shape[dim] = 2 * rng.randint(1, 4)
    return {"dim": dim}, shape


def _prelu(rng, shape, functional, function):
    init = rng.choice([0.25, _f(rng, -1, 1)])
    per_channel = len(shape) >= 2 and rng.random() < 0.6
    return {"num_parameters": shape[1] if per_channel else 1, "init": init}, shape


def _rrelu(rng, shape, functional, function):
    lower = _f(rng, 0, 0.5)
    upper = round(lower + rng.choice([0.0, _f(rng, 0, 0.5)]), 2)
    options = {"lower": lower, "upper": upper}
    if functional:
        options["training"] = False  # torch.rrelu's training draws from torch's stream
    return options, shape


SHAPED = [
    ("Softmax", "softmax", _softmax_dim), ("LogSoftmax", "log_softmax", _softmax_dim),
    ("Softmin", "softmin", _softmax_dim), ("Softmax2d", None, _softmax2d),
    ("GLU", "glu", _glu), ("PReLU", None, _prelu), ("RReLU", "rrelu", _rrelu),
]


# Layer options torch has that change nothing here (checked to be accepted).
INPLACE = {"ELU", "CELU", "SELU", "LeakyReLU", "ReLU6", "Hardtanh", "Hardsigmoid",
           "Hardswish", "Threshold", "Mish", "ReLU", "SiLU", "RReLU"}


# Activations whose gradient is computed from a saturating result (1 - y^2
# and the like): a large input there measures float rounding, not Kiln.
SATURATING = {"Tanh", "Sigmoid", "Hardsigmoid", "Softsign", "GELU", "SiLU", "Mish",
              "Softmax", "LogSoftmax", "Softmin", "Softmax2d", "GLU"}


def softmax_dim(layer, options, rank):
    """The dimension a softmax-family call normalises (torch's implicit
    dim for None), or None for other layers."""
    if layer == "Softmax2d":
        return rank - 3
    if layer not in ("Softmax", "LogSoftmax", "Softmin"):
        return None
    d = options["dim"]
    if d is None:
        return 0 if rank in (0, 1, 3) else 1
    return d % rank


def case(rng, name, layer, function, make_options, functional, shaped):
    rank = rng.randint(1, 4)
    shape = [rng.randint(1, 5) for _ in range(rank - 1)] + [rng.randint(2, 9)]
    if shaped:
        options, shape = make_options(rng, shape, functional, function)
        kinks = [0.0]
    else:
        options, kinks = make_options(rng)
    rank = len(shape)
    w = shape[-1]
    if functional:
        call = {"function": function, "options": options}
        children = [{"name": "0", "type": "Linear",
                     "options": {"in_features": w, "out_features": w, "bias": True}}]
    else:
        layer_options = dict(options)
        if layer in INPLACE and rng.random() < 0.5:
            layer_options["inplace"] = False
        call = {"module": "1"}
        children = [{"name": "0", "type": "Linear",
                     "options": {"in_features": w, "out_features": w, "bias": True}},
                    {"name": "1", "type": layer, "options": layer_options}]
    graph = [{"module": "0", "inputs": ["u"], "outputs": ["h"]}]
    h_shape = list(shape)
    d = softmax_dim(layer, options, rank)
    if d is not None and d != rank - 1:
        # The Linear's features moved to the normalised dim: along any
        # other dim its bias would be a constant shift, which softmax
        # ignores (a zero gradient tells nothing).
        perm = list(range(rank - 1))
        perm.insert(d, rank - 1)
        graph.append({"function": "permute", "options": {"dims": perm},
                      "inputs": ["h"], "outputs": ["hp"]})
        h_shape = [shape[p] for p in perm]
    h = graph[-1]["outputs"][0]
    graph += [dict(call, inputs=[h], outputs=["y"]), dict(call, inputs=["x"], outputs=["z"])]
    if layer == "GLU":
        h_shape[options["dim"]] //= 2
    x_scale = rng.choice([1.0, 8.0, 60.0])
    u_scale = rng.choice([1.0, 3.0] if layer in SATURATING else [1.0, 3.0, 10.0])
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": [{"name": "x", "shape": shape, "dtype": "float32"},
                   {"name": "u", "shape": shape, "dtype": "float32"}],
        "module": {"type": "Sequential", "children": children},
        "graph": graph,
        "outputs": ["y", "z"],
        "training": mse_sgd_training(h_shape, 0.05 / u_scale),
    }
    specials = kinks + [0.0, -0.0, 100.0, -100.0]
    # "=": the list may start with a minus sign.
    args = [f"--input-scale={x_scale!r},{u_scale!r}",
            "--input-specials=" + ",".join(repr(float(v)) for v in specials)]
    return model, 5, args


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=2 * len(ACTIVATIONS) + 11)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(f"act-{a.seed}")
    lines = []
    # Layers first; the second round uses the functional forms (where torch
    # has one).
    plan = [(a, False) for a in ACTIVATIONS + SHAPED]
    plan += [(a, True) for a in ACTIVATIONS + SHAPED if a[1]]
    for i in range(a.count):
        (layer, function, make_options), functional = plan[i % len(plan)]
        shaped = (layer, function, make_options) in SHAPED
        kind = "f" if functional else "m"
        name = f"act_{layer.lower()}_{kind}_random_{a.seed}_{i}_basic"
        model, steps, args = case(rng, name, layer, function, make_options, functional, shaped)
        add_case(a.out, lines, name, model, steps)
        lines.append(f"set(parity_args_{name} {' '.join(args)})")
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
