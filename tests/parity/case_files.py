"""What the random parity-case generators (gen_*_cases.py) share: the
training section they all use and the writer that leaves unchanged files
untouched (so CMake's configure-time generation does not rebuild models)."""
import json
import os


def mse_sgd_training(target_shape, lr):
    """MSELoss against a float target of target_shape, SGD with momentum 0.9."""
    return {"loss": {"type": "MSELoss", "options": {"reduction": "mean"}},
            "target": {"name": "target", "shape": target_shape, "dtype": "float32"},
            "optimizer": {"type": "SGD", "options": {
                "lr": lr, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0,
                "nesterov": False, "maximize": False}}}


def write_case(out, name, model):
    """Writes <out>/<name>.json unless it already holds exactly this model."""
    text = json.dumps(model, indent=1) + "\n"
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path) or open(path).read() != text:
        with open(path, "w") as f:
            f.write(text)


def write_steps(out, lines):
    """Writes <out>/cases.cmake: the set(parity_steps_<name> N) lines."""
    with open(os.path.join(out, "cases.cmake"), "w") as f:
        f.write("\n".join(lines) + "\n")
