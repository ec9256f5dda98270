"""Writes random parity models whose embedding weights have sparse gradients
in torch (nn.Embedding / nn.EmbeddingBag with sparse=True) and the
optimizers that take them (issue 10): SparseAdam, which updates the rows a
batch read and leaves the others (their moments too) as they are, and SGD
(momentum, maximize) and Adagrad, whose sparse updates equal their dense
ones. The embedding reads few of its rows per batch (more rows than indices)
and every step trains on another of three batches (run_case.py --cycle 3),
so that rows go unread for a step and then are read again: a dense Adam
differs from SparseAdam there. Cases 4-7 train by gradient accumulation
over the three batches instead (run_case.py --accumulate 3): SparseAdam
then steps on the rows any of them read.

Kinds (case i is KINDS[i % len(KINDS)]):
  alone      Embedding(sparse=True) is the model (its output the MSE's
             input); SparseAdam is the optimizer.
  with_head  Embedding -> Linear head: SparseAdam for the embedding and
             Adam, AdamW or SGD for the head, as torch's user steps two
             optimizers (a parameter group with its own `type`; which of
             the two is the top-level optimizer is drawn).
  bag        EmbeddingBag(sum or mean, sparse=True) on a 2-D input, head as
             with_head.
  dense_rule Embedding(sparse=True) -> head, one SGD (random momentum,
             dampening, nesterov, maximize) or Adagrad (random lr_decay,
             initial_accumulator_value, eps, maximize) for both.
padding_idx is drawn (None, a row, a negative row): its row is in no sparse
gradient.

  gen_sparse_cases.py --out DIR --count N --seed S

Deterministic for a seed; also writes DIR/cases.cmake. Runs with any
python3 (no torch).
"""
import argparse
import os
import random

from case_files import write_case, write_steps
from gen_index_cases import Case

KINDS = ["alone", "with_head", "bag", "dense_rule"]
CYCLE = 3


def log_uniform(rng, lo, hi):
    return 10 ** rng.uniform(lo, hi)


def sparse_adam_options(rng):
    return {"lr": log_uniform(rng, -4, -1.5),
            "betas": [rng.choice([0.9, rng.uniform(0.0, 0.99)]),
                      rng.choice([0.999, rng.uniform(0.5, 0.9999)])],
            "eps": rng.choice([1e-8, log_uniform(rng, -8, -3)]),
            "maximize": rng.random() < 0.25}


def dense_optimizer(rng):
    kind = rng.choice(["Adam", "AdamW", "SGD"])
    if kind == "SGD":
        return kind, {"lr": log_uniform(rng, -3, -1), "momentum": rng.choice([0.0, 0.9])}
    return kind, {"lr": log_uniform(rng, -4, -2)}


def embedding(rng, c, bag=False):
    """A sparse embedding of a random int64 input reading fewer distinct
    rows than it has: its output value and shape."""
    rows, dim = rng.randint(6, 12), rng.randint(1, 5)
    opts = {"num_embeddings": rows, "embedding_dim": dim, "max_norm": None, "norm_type": 2.0,
            "scale_grad_by_freq": False, "sparse": True,
            "padding_idx": rng.choice([None, rng.randrange(rows), -rng.randint(1, rows)])}
    if bag:
        shape = [rng.randint(1, 3), rng.randint(1, 3)]
        idx = c.index_input(shape, rows)
        opts.update({"mode": rng.choice(["sum", "mean"]), "include_last_offset": False})
        return c.layer("emb", "EmbeddingBag", opts, [idx], [shape[0], dim])
    shape = [rng.randint(1, 2), rng.randint(2, 3)]
    idx = c.index_input(shape, rows)
    return c.layer("emb", "Embedding", opts, [idx], shape + [dim])


def build(rng, kind, name):
    c = Case(name)
    value = embedding(rng, c, bag=kind == "bag")
    if kind == "alone":
        shape = c.shapes[value]
        return {"format": "kiln-model", "version": 1, "name": name, "inputs": c.inputs,
                "module": {"type": "Sequential", "children": c.children},
                "graph": c.graph, "outputs": [value],
                "training": {"loss": {"type": "MSELoss", "options": {"reduction": "mean"}},
                             "target": {"name": "target", "shape": shape, "dtype": "float32"},
                             "optimizer": {"type": "SparseAdam",
                                           "options": sparse_adam_options(rng)}}}, c.highs
    model = c.model(value, rng)
    if kind == "dense_rule":
        if rng.random() < 0.5:
            opts = {"lr": log_uniform(rng, -3, -1), "momentum": rng.choice([0.0, 0.9, 0.5]),
                    "maximize": rng.random() < 0.25}
            if opts["momentum"] and rng.random() < 0.5:
                opts["nesterov"] = True
            elif opts["momentum"]:
                opts["dampening"] = rng.choice([0.0, 0.3])
            model["training"]["optimizer"] = {"type": "SGD", "options": opts}
        else:
            model["training"]["optimizer"] = {"type": "Adagrad", "options": {
                "lr": log_uniform(rng, -3, -1), "lr_decay": rng.choice([0.0, 0.01]),
                "initial_accumulator_value": rng.choice([0.0, 0.1]),
                "eps": rng.choice([1e-10, 1e-6]), "maximize": rng.random() < 0.25}}
        return model, c.highs
    dense, dense_opts = dense_optimizer(rng)
    sparse = {"params": ["emb"], "type": "SparseAdam", "options": sparse_adam_options(rng)}
    if rng.random() < 0.5:
        optimizer = {"type": dense, "options": dense_opts,
                     "param_groups": [sparse, {"params": ["head"]}]}
    else:
        optimizer = {"type": "SparseAdam", "options": sparse["options"],
                     "param_groups": [{"params": ["head"], "type": dense, "options": dense_opts},
                                      {"params": ["emb"]}]}
    model["training"]["optimizer"] = optimizer
    return model, c.highs


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(f"sparse-{a.seed}")
    lines = []
    for i in range(a.count):
        kind = KINDS[i % len(KINDS)]
        name = f"sparse_{kind}_{a.seed}_{i}_basic"
        model, highs = build(rng, kind, name)
        write_case(a.out, name, model)
        lines.append(f"set(parity_steps_{name} 9)")
        # The second round of kinds accumulates instead: each step is
        # backward() on the three batches, then step(), so a lazy update
        # steps on the union of their rows (torch's summed sparse gradient).
        if len(KINDS) <= i < 2 * len(KINDS):
            lines.append(f"set(parity_accumulate_{name} {CYCLE})")
        else:
            lines.append(f"set(parity_cycle_{name} {CYCLE})")
        lines.append(f"set(parity_args_{name} --index-high={','.join(map(str, highs))})")
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
