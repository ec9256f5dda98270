"""What the random parity-case generators (gen_*_cases.py) share: the
training section they all use and the writer that leaves unchanged files
untouched (so CMake's configure-time generation does not rebuild models)."""
import argparse
import json
import os
import random


def mse_sgd_training(target_shape, lr):
    """MSELoss against a float target of target_shape, SGD with momentum 0.9."""
    return {"loss": {"type": "MSELoss", "options": {"reduction": "mean"}},
            "target": {"name": "target", "shape": target_shape, "dtype": "float32"},
            "optimizer": {"type": "SGD", "options": {
                "lr": lr, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0,
                "nesterov": False, "maximize": False}}}


def random_mlp_sizes(rng):
    """(batch, in, hidden, out) of the random Linear -> ReLU -> Linear model."""
    return (rng.randint(1, 9), rng.randint(1, 17), rng.randint(1, 33), rng.randint(2, 11))


def random_loss(rng, batch, fout, cross_entropy, label_smoothing=False):
    """CrossEntropyLoss against int64 class indices (label_smoothing drawn
    over 0..0.5 half of the time when asked) or MSELoss against a float
    target, reduction mean or sum. Returns (loss, target)."""
    if cross_entropy:
        reduction = rng.choice(["mean", "sum"])
        smoothing = rng.choice([0.0, rng.uniform(0, 0.5)]) if label_smoothing else 0.0
        return ({"type": "CrossEntropyLoss",
                 "options": {"reduction": reduction, "label_smoothing": smoothing,
                             "ignore_index": -100}},
                {"name": "target", "shape": [batch], "dtype": "int64"})
    return ({"type": "MSELoss", "options": {"reduction": rng.choice(["mean", "sum"])}},
            {"name": "target", "shape": [batch, fout], "dtype": "float32"})


def mlp_model(name, sizes, loss, target, optimizer, first_bias=True):
    """The optimizer cases' model: x -> Linear -> ReLU -> Linear -> y, trained
    with `loss` and `optimizer` (the training section's optimizer entry)."""
    batch, fin, hidden, fout = sizes
    return {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": [{"name": "x", "shape": [batch, fin], "dtype": "float32"}],
        "module": {"type": "Sequential", "children": [
            {"name": "0", "type": "Linear",
             "options": {"in_features": fin, "out_features": hidden, "bias": first_bias}},
            {"name": "1", "type": "ReLU", "options": {}},
            {"name": "2", "type": "Linear",
             "options": {"in_features": hidden, "out_features": fout, "bias": True}}]},
        "graph": [{"module": "0", "inputs": ["x"], "outputs": ["h0"]},
                  {"module": "1", "inputs": ["h0"], "outputs": ["h1"]},
                  {"module": "2", "inputs": ["h1"], "outputs": ["y"]}],
        "outputs": ["y"],
        "training": {"loss": loss, "target": target, "optimizer": optimizer},
    }


# The case files this run wrote (or found unchanged), per output directory.
_written = {}


def write_case(out, name, model):
    """Writes <out>/<name>.json unless it already holds exactly this model."""
    _written.setdefault(os.path.abspath(out), set()).add(name + ".json")
    text = json.dumps(model, indent=1) + "\n"
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path) or open(path).read() != text:
        with open(path, "w") as f:
            f.write(text)


def add_case(out, lines, name, model, steps):
    """write_case, and the case's set(parity_steps_<name> N) line for
    write_steps."""
    write_case(out, name, model)
    lines.append(f"set(parity_steps_{name} {steps})")


def write_steps(out, lines):
    """Writes <out>/cases.cmake: the set(parity_steps_<name> N) lines; the
    generator's last call. Removes the case files of an earlier run (another
    count, kinds or names) that this run did not write: they would become
    tests without their arguments. Unchanged files keep their time stamps,
    so a reconfigure rebuilds no model."""
    kept = _written.get(os.path.abspath(out), set())
    for entry in os.listdir(out):
        if entry.endswith(".json") and entry not in kept:
            os.remove(os.path.join(out, entry))
    with open(os.path.join(out, "cases.cmake"), "w") as f:
        f.write("\n".join(lines) + "\n")


def run_generator(doc, label, default_count, make_case):
    """A generator's command line (--out DIR --count N --seed S; `doc` is its
    help): N cases from random.Random(f"{label}-{S}"), case i compiled for
    inference every seventh (i % 7 == 6). make_case(rng, stem, i) returns
    (name, model, steps), the name built from stem ("random_<S>_<i>_basic",
    or "_forward" for inference), or (name, model, steps, args) with the
    case's make-case arguments (--index-high=...); the cases and
    DIR/cases.cmake are written."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=default_count)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(f"{label}-{a.seed}")
    lines = []
    for i in range(a.count):
        stem = f"random_{a.seed}_{i}_" + ("forward" if i % 7 == 6 else "basic")
        name, model, steps, *args = make_case(rng, stem, i)
        add_case(a.out, lines, name, model, steps)
        if args and args[0]:
            lines.append(f"set(parity_args_{name} {' '.join(args[0])})")
    write_steps(a.out, lines)
