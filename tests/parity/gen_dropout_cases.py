"""Writes random dropout parity models (issue 9): Dropout1d, Dropout2d,
Dropout3d, AlphaDropout and FeatureAlphaDropout with random p (0 included)
on batched and unbatched inputs of the ranks torch 1.13 accepts (Dropout2d's
3-D input is batched [N, C, L] there, Dropout3d's 4-D one unbatched).

  gen_dropout_cases.py --out DIR --count N --seed S

Each model is a Linear over the last dimension ("0"), the dropout layer
("1") and a second Linear ("2"), with an MSE loss: the oracle draws the
masks from its mirror of Kiln's random stream (kiln_oracle.KilnRandom), so
the outputs, the gradients (the backward must reuse the forward's mask)
and ten SGD steps (a fresh mask per step) compare exactly; the eval-mode
output checks that every layer is the identity there. Deterministic for a
seed. Also writes DIR/cases.cmake. Runs with any python3 (no torch).

After the layer cases, FUNCTIONAL_CASES cases of the functional forms
(F.dropout, dropout1d/2d/3d, alpha_dropout, feature_alpha_dropout) as graph
nodes, from their own generator (the layer cases stay what they were):
random p and `training` (mostly True; False is the identity), so the
eval-mode output checks that a function with training=True draws a mask in
eval mode too, as torch's does.
"""
import argparse
import os
import random

from case_files import add_case, mse_sgd_training, write_steps

# (layer, ranks torch accepts without a warning)
LAYERS = [("Dropout1d", (2, 3)), ("Dropout2d", (3, 4)), ("Dropout3d", (4, 5)),
          ("AlphaDropout", (1, 2, 3, 4)), ("FeatureAlphaDropout", (2, 3, 4, 5))]


def case(rng, name, layer, ranks):
    rank = rng.choice(ranks)
    shape = [rng.randint(1, 4) for _ in range(rank)]
    shape[-1] = rng.randint(2, 5)
    p = rng.choice([0.0, 0.1, 0.5, 0.8, round(rng.uniform(0.05, 0.95), 3)])
    w, out = shape[-1], rng.randint(1, 4)
    model = {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": [{"name": "x", "shape": shape, "dtype": "float32"}],
        "module": {"type": "Sequential", "children": [
            {"name": "0", "type": "Linear", "options": {"in_features": w, "out_features": w, "bias": True}},
            {"name": "1", "type": layer, "options": {"p": p, "inplace": rng.random() < 0.3}},
            {"name": "2", "type": "Linear", "options": {"in_features": w, "out_features": out, "bias": True}}]},
        "graph": [{"module": "0", "inputs": ["x"], "outputs": ["a"]},
                  {"module": "1", "inputs": ["a"], "outputs": ["b"]},
                  {"module": "2", "inputs": ["b"], "outputs": ["y"]}],
        "outputs": ["y"],
        "training": mse_sgd_training(shape[:-1] + [out], 0.05),
    }
    return model, 10


# (function, its layer's ranks); torch's F.<name> shapes the noise as the
# layer does.
FUNCTIONS = [("dropout", (1, 2, 3)), ("dropout1d", (2, 3)), ("dropout2d", (3, 4)),
             ("dropout3d", (4, 5)), ("alpha_dropout", (1, 2, 3)), ("feature_alpha_dropout", (2, 3, 4))]
FUNCTIONAL_CASES = 12


def functional_case(rng, name, function, ranks):
    model, steps = case(rng, name, "Dropout", ranks)  # the same Linear - x - Linear frame
    p = rng.choice([0.0, 0.2, 0.5, round(rng.uniform(0.05, 0.95), 3)])
    training = rng.random() < 0.8
    model["module"]["children"].pop(1)
    model["graph"][1] = {"function": function,
                         "options": {"p": p, "training": training, "inplace": rng.random() < 0.3},
                         "inputs": ["a"], "outputs": ["b"]}
    return model, steps


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=2 * len(LAYERS))
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(f"dropout-{a.seed}")
    lines = []
    for i in range(a.count):
        layer, ranks = LAYERS[i % len(LAYERS)]
        name = f"dropout_{layer.lower()}_random_{a.seed}_{i}_basic"
        model, steps = case(rng, name, layer, ranks)
        add_case(a.out, lines, name, model, steps)
    frng = random.Random(f"dropout-functional-{a.seed}")
    for i in range(FUNCTIONAL_CASES):
        function, ranks = FUNCTIONS[i % len(FUNCTIONS)]
        name = f"dropout_function_{function}_random_{a.seed}_{i}_basic"
        model, steps = functional_case(frng, name, function, ranks)
        add_case(a.out, lines, name, model, steps)
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
