"""Writes random parity models that index with int64 model inputs (issue 9,
items 1 and 5): nn.Embedding (padding_idx None / positive / negative,
scale_grad_by_freq, index of rank 1 to 3), F.embedding with a computed
weight, index_select with an int64 index ([n] or a scalar, any dim, negative
dims), gather (any dim, an index smaller than the input in the other
dimensions) and AdaptiveLogSoftmaxWithLoss (random cutoffs, div_value,
head_bias; batched and unbatched; its output and loss, and the methods
log_prob and predict, the latter an int64 output), nn.EmbeddingBag and F.embedding_bag (sum/mean/max, 1-D
input with offsets incl. empty bags and include_last_offset, 2-D input,
padding_idx, per_sample_weights, scale_grad_by_freq). Indices are drawn by the oracle uniform in [0, high)
(make-case --index-high, set per case in cases.cmake) with few distinct
values, so repeats (summed gradients, scale_grad_by_freq's counts) and the
padding row occur.

  gen_index_cases.py --out DIR --count N --seed S

Float inputs go through a Linear over their last dimension first, so the
parameter gradients check the gathers' input gradients; the result goes
through a Linear too, MSE loss, ten SGD steps. Case i uses kind
i % len(KINDS). Deterministic for a seed; also writes DIR/cases.cmake.
Runs with any python3 (no torch).
"""
import argparse
import os
import random

from case_files import mse_sgd_training, write_case, write_steps

KINDS = ["embedding", "embedding_function", "index_select", "gather", "adaptive_log_softmax",
         "embedding_bag", "embedding_bag_function"]


def shape_of(rng, rank, lo=1, hi=4):
    return [rng.randint(lo, hi) for _ in range(rank)]


class Case:
    def __init__(self, name):
        self.name, self.inputs, self.children, self.graph = name, [], [], []
        self.shapes, self.count, self.highs = {}, 0, []

    def float_input(self, shape):
        """A value of `shape`: a float32 model input through Linear(W, W)."""
        i = len(self.inputs)
        self.inputs.append({"name": f"x{i}", "shape": shape, "dtype": "float32"})
        w = shape[-1]
        self.children.append({"name": f"l{i}", "type": "Linear",
                              "options": {"in_features": w, "out_features": w, "bias": True}})
        self.graph.append({"module": f"l{i}", "inputs": [f"x{i}"], "outputs": [f"h{i}"]})
        self.shapes[f"h{i}"] = shape
        return f"h{i}"

    def index_input(self, shape, high):
        """An int64 model input of `shape`, values in [0, high) (high "o<n>"
        or "l<n>": EmbeddingBag offsets into n elements, kiln_oracle.py)."""
        i = len(self.inputs)
        self.inputs.append({"name": f"i{i}", "shape": shape, "dtype": "int64"})
        self.highs.append(high)
        return f"i{i}"

    def layer(self, name, kind, options, inputs, shape):
        self.children.append({"name": name, "type": kind, "options": options})
        out = f"v{self.count}"
        self.count += 1
        self.graph.append({"module": name, "inputs": inputs, "outputs": [out]})
        self.shapes[out] = shape
        return out

    def call(self, function, inputs, shape, **options):
        out = f"v{self.count}"
        self.count += 1
        self.graph.append({"function": function, "options": options,
                           "inputs": inputs, "outputs": [out]})
        self.shapes[out] = shape
        return out

    def model(self, value, rng):
        """value through a Linear over its last dimension: the model output."""
        shape = self.shapes[value]
        w, k = shape[-1], rng.randint(1, 4)
        out = self.layer("head", "Linear", {"in_features": w, "out_features": k, "bias": True},
                         [value], shape[:-1] + [k])
        return {"format": "kiln-model", "version": 1, "name": self.name,
                "inputs": self.inputs,
                "module": {"type": "Sequential", "children": self.children},
                "graph": self.graph, "outputs": [out],
                "training": mse_sgd_training(self.shapes[out], 0.05)}


def embedding_options(rng, rows):
    pad = rng.choice([None, rng.randrange(rows), -rng.randint(1, rows)])
    return {"padding_idx": pad, "max_norm": None, "norm_type": 2.0,
            "scale_grad_by_freq": rng.random() < 0.5,
            # sparse=True (its optimizers, torch's refusals) has cases of its
            # own: gen_sparse_cases.py.
            "sparse": False}


def build(rng, kind, name):
    c = Case(name)
    if kind == "embedding":
        # At least 4 positions for at most 6 rows: repeats (summed and
        # counted gradients) and the padding row occur.
        rows, dim = rng.randint(2, 6), rng.randint(1, 6)
        idx = c.index_input(shape_of(rng, rng.randint(2, 3), 2, 5), rows)
        opts = {"num_embeddings": rows, "embedding_dim": dim}
        opts.update(embedding_options(rng, rows))
        out = c.layer("emb", "Embedding", opts, [idx], c.inputs[-1]["shape"] + [dim])
        return c.model(out, rng), c.highs
    if kind == "embedding_function":
        rows, dim = rng.randint(2, 6), rng.randint(1, 6)
        weight = c.float_input([rows, dim])
        idx = c.index_input(shape_of(rng, 2, 2, 6), rows)
        out = c.call("embedding", [idx, weight], c.inputs[-1]["shape"] + [dim],
                     **embedding_options(rng, rows))
        return c.model(out, rng), c.highs
    if kind == "index_select":
        shape = shape_of(rng, rng.randint(1, 3), 1, 5)
        h = c.float_input(shape)
        d = rng.randrange(len(shape))
        n = rng.randint(1, 7)
        scalar = rng.random() < 0.2
        idx = c.index_input([] if scalar else [n], shape[d])
        out_shape = list(shape)
        out_shape[d] = 1 if scalar else n
        dim = d - len(shape) if rng.random() < 0.5 else d
        out = c.call("index_select", [h, idx], out_shape, dim=dim, index=None)
        return c.model(out, rng), c.highs
    if kind == "gather":
        shape = shape_of(rng, rng.randint(1, 3), 1, 5)
        h = c.float_input(shape)
        d = rng.randrange(len(shape))
        index_shape = [rng.randint(1, s) if i != d else rng.randint(1, 6)
                       for i, s in enumerate(shape)]
        idx = c.index_input(index_shape, shape[d])
        dim = d - len(shape) if rng.random() < 0.5 else d
        out = c.call("gather", [h, idx], index_shape, dim=dim, sparse_grad=False)
        return c.model(out, rng), c.highs
    if kind == "adaptive_log_softmax":
        # Batched ([N, in] and [N]) or unbatched ([in] and []) with 1 to 3
        # tail clusters; the output (each target's log-probability) is the
        # model output, the layer's loss a second one.
        # Tail clusters at least 3 classes wide and a batch of 12 to 20 rows,
        # so that every cluster gets targets and a gradient (a cluster of one
        # class or without targets trains nothing, in torch as here).
        clusters = rng.randint(1, 3)
        shortlist = rng.randint(1, 4)
        widths = [rng.randint(3, 5) for _ in range(clusters)]
        cuts = [shortlist]
        for w in widths[:-1]:
            cuts.append(cuts[-1] + w)
        classes = cuts[-1] + widths[-1]
        div = rng.choice([1.0, 2.0, 1.5])
        # Every tail's hidden size in_features // div**(i + 1) stays >= 1.
        fin = rng.randint(max(4, int(div ** len(cuts)) + 1), 12)
        batched = rng.random() < 0.6
        n = rng.randint(12, 20)
        h = c.float_input([n, fin] if batched else [fin])
        t = c.index_input([n] if batched else [], classes)
        c.children.append({"name": "als", "type": "AdaptiveLogSoftmaxWithLoss",
                           "options": {"in_features": fin, "n_classes": classes, "cutoffs": cuts,
                                       "div_value": div, "head_bias": rng.random() < 0.5}})
        c.graph.append({"module": "als", "inputs": [h, t], "outputs": ["out", "loss"]})
        # log_prob: the same layer's method, every class's log-probability
        # (batched only, as torch 1.13).
        # predict: each row's most likely class, int64 (batched only too);
        # compared exactly.
        if batched:
            c.graph.append({"module": "als", "method": "log_prob", "inputs": [h], "outputs": ["lp"]})
            c.graph.append({"module": "als", "method": "predict", "inputs": [h], "outputs": ["pred"]})
        c.shapes["out"], c.shapes["loss"] = ([n] if batched else []), []
        model = {"format": "kiln-model", "version": 1, "name": c.name, "inputs": c.inputs,
                 "module": {"type": "Sequential", "children": c.children},
                 "graph": c.graph, "outputs": ["out", "loss"] + (["lp", "pred"] if batched else []),
                 "training": mse_sgd_training(c.shapes["out"], 0.05)}
        if not batched:
            # One target reaches at most one cluster: the other tails would
            # get no update to check, so the unbatched form checks forward.
            model["name"] = c.name[:-len("_basic")] + "_forward"
            del model["training"]
        return model, c.highs
    if kind in ("embedding_bag", "embedding_bag_function"):
        rows, dim = rng.randint(2, 7), rng.randint(1, 5)
        mode = rng.choice(["sum", "mean", "max"])
        two_d = rng.random() < 0.35
        include_last = not two_d and rng.random() < 0.4
        opts = {"max_norm": None, "norm_type": 2.0,
                # torch: not with max.
                "scale_grad_by_freq": mode != "max" and rng.random() < 0.3,
                "mode": mode, "sparse": False, "include_last_offset": include_last,
                "padding_idx": rng.choice([None, rng.randrange(rows), -rng.randint(1, rows)])}
        weight = c.float_input([rows, dim]) if kind == "embedding_bag_function" else None
        shape = [rng.randint(1, 4), rng.randint(1, 5)] if two_d else [rng.randint(3, 12)]
        n = shape[0] * (shape[1] if two_d else 1)
        idx = c.index_input(shape, rows)
        inputs = [idx] if weight is None else [idx, weight]
        bags = shape[0]
        if not two_d:
            bags = rng.randint(1, 4)
            # With include_last_offset the last offset is n, as torch
            # documents (kiln_oracle.py: "l<n>").
            inputs.append(c.index_input([bags + (1 if include_last else 0)],
                                        f"{'l' if include_last else 'o'}{n}"))
            if mode == "sum" and rng.random() < 0.5:
                inputs.append(c.float_input([n]))  # per_sample_weights
        if weight is None:
            opts.update({"num_embeddings": rows, "embedding_dim": dim})
            out = c.layer("bag", "EmbeddingBag", opts, inputs, [bags, dim])
        else:
            out = c.call("embedding_bag", inputs, [bags, dim], **opts)
        return c.model(out, rng), c.highs
    raise ValueError(kind)


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
        kind = KINDS[i % len(KINDS)]
        name = f"index_{kind}_{a.seed}_{i}_basic"
        model, highs = build(rng, kind, name)
        name = model["name"]
        write_case(a.out, name, model)
        if name.endswith("_basic"):
            lines.append(f"set(parity_steps_{name} 10)")
        lines.append(f"set(parity_args_{name} --index-high={','.join(map(str, highs))})")
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
