"""Writes random parity models for the tensor functions a forward calls
between layers (issue 9, item 5): clamp (either bound optional), matmul
(1-D, 2-D and batched operands with broadcast batch dimensions), transpose,
t, reshape (a -1 size), squeeze (all or one dim) / unsqueeze, stack, split
(a size or a list) and chunk (multi-output nodes, the pieces joined again
in another order), slicing with a step (negative and out-of-range bounds,
None), index_select (repeats, any order), comparisons (gt, lt, ge, le, eq,
ne with a tensor or a number) feeding where and masked_fill (broadcast
masks), and number operands (add/sub with alpha, mul, div, rsub, pow with a
number exponent, reciprocal). Dims are drawn positive or negative.

  gen_tensor_cases.py --out DIR --count N --seed S

Every model input goes through a Linear over its last dimension first, so
the parity harness's parameter gradients check the functions' input
gradients; MSE loss, ten SGD steps. Case i uses kind i % len(KINDS).
Deterministic for a seed; also writes DIR/cases.cmake. Runs with any
python3 (no torch).
"""
import argparse
import math
import os
import random

from case_files import mse_sgd_training, write_case, write_steps

KINDS = ["clamp", "matmul", "transpose", "reshape", "squeeze", "stack",
         "split", "chunk", "slice", "index_select", "where", "masked_fill",
         "numbers", "compare_eq"]


def shape_of(rng, rank, lo=1, hi=4):
    return [rng.randint(lo, hi) for _ in range(rank)]


def signed(rng, d, rank):
    """dim d, or the same dim counted from the end."""
    return d - rank if rng.random() < 0.5 else d


class Case:
    """A model under construction: inputs each behind a Linear, then nodes."""

    def __init__(self, name):
        self.name, self.inputs, self.children, self.graph = name, [], [], []
        self.shapes, self.count = {}, 0

    def input(self, shape):
        """A value of `shape`: a model input through Linear(W, W)."""
        i = len(self.inputs)
        self.inputs.append({"name": f"x{i}", "shape": shape, "dtype": "float32"})
        w = shape[-1]
        self.children.append({"name": f"l{i}", "type": "Linear",
                              "options": {"in_features": w, "out_features": w, "bias": True}})
        out = f"h{i}"
        self.graph.append({"module": f"l{i}", "inputs": [f"x{i}"], "outputs": [out]})
        self.shapes[out] = shape
        return out

    def call(self, function, inputs, shapes, **options):
        """Appends a function node with one output per shape in `shapes`."""
        outs = []
        for s in shapes:
            outs.append(f"v{self.count}")
            self.shapes[outs[-1]] = s
            self.count += 1
        self.graph.append({"function": function, "options": options,
                           "inputs": inputs, "outputs": outs})
        return outs if len(outs) > 1 else outs[0]

    def model(self, output):
        return {"format": "kiln-model", "version": 1, "name": self.name,
                "inputs": self.inputs,
                "module": {"type": "Sequential", "children": self.children},
                "graph": self.graph, "outputs": [output],
                "training": mse_sgd_training(self.shapes[output], 0.02)}


def broadcast(a, b):
    rank = max(len(a), len(b))
    a = [1] * (rank - len(a)) + a
    b = [1] * (rank - len(b)) + b
    return [max(x, y) for x, y in zip(a, b)]


def shrink(rng, shape):
    """A shape that broadcasts to `shape`: leading dims dropped, some 1s."""
    cut = rng.randint(0, len(shape))
    return [1 if rng.random() < 0.4 else d for d in shape[cut:]] or [1]


def pieces_back(c, pieces, sizes, full, dim, rng):
    """The pieces of a split joined again in reverse order (so each piece's
    gradient lands elsewhere than it came from)."""
    d = dim % len(full)
    order = list(range(len(pieces)))[::-1]
    cur = pieces[order[0]]
    width = sizes[order[0]]
    for k in order[1:]:
        width += sizes[k]
        shape = list(full)
        shape[d] = width
        cur = c.call("cat", [cur, pieces[k]], [shape], dim=signed(rng, d, len(full)))
    return cur


def build(rng, kind, name):
    c = Case(name)
    if kind == "clamp":
        h = c.input(shape_of(rng, rng.randint(1, 3)))
        lo = rng.uniform(-1, 0.3)
        hi = rng.uniform(-0.3, 1)
        choice = rng.randrange(4)  # both, min only, max only, min > max
        opts = {"min": lo, "max": hi}
        if choice == 1:
            opts["max"] = None
        elif choice == 2:
            opts["min"] = None
        elif choice == 3:
            opts = {"min": 0.5, "max": -0.5}
        out = c.call(rng.choice(["clamp", "clip"]), [h], [c.shapes[h]], **opts)
        # A non-constant output whatever the bounds (min > max is constant).
        return c.model(c.call("mul", [out, h], [c.shapes[h]]))
    if kind == "matmul":
        n, k, m = rng.randint(1, 5), rng.randint(1, 6), rng.randint(1, 5)
        form = rng.choice(["1x1", "2x1", "1x2", "2x2", "Nx1", "1xN", "Nx2", "2xN", "NxN"])
        batch = shape_of(rng, rng.randint(1, 2), 1, 3)
        def operand(kind_, lhs):
            if kind_ == "1":
                return [k]
            core = [n, k] if lhs else [k, m]
            if kind_ == "2":
                return core
            return shrink(rng, batch) + core if rng.random() < 0.5 else batch + core
        sa, sb = operand(form[0], True), operand(form[2], False)
        a, b = c.input(sa), c.input(sb)
        ba, bb = sa[:-2], sb[:-2]
        out = broadcast(ba, bb) if (ba or bb) else []
        if len(sa) >= 2:
            out = out + [n]
        if len(sb) >= 2:
            out = out + [m]
        y = c.call("matmul", [a, b], [out])
        if not out:  # a dot product: a scalar output is fine for MSE
            pass
        return c.model(y)
    if kind == "transpose":
        rank = rng.randint(1, 4)
        shape = shape_of(rng, rank)
        h = c.input(shape)
        if rank <= 2 and rng.random() < 0.3:
            return c.model(c.call("t", [h], [shape[::-1]]))
        d0, d1 = rng.randrange(rank), rng.randrange(rank)
        out = list(shape)
        out[d0], out[d1] = out[d1], out[d0]
        return c.model(c.call("transpose", [h], [out], dim0=signed(rng, d0, rank),
                              dim1=signed(rng, d1, rank)))
    if kind == "reshape":
        shape = shape_of(rng, rng.randint(1, 3))
        h = c.input(shape)
        total = math.prod(shape)
        target = []
        left = total
        while left > 1 and len(target) < 3:
            f = rng.choice([d for d in range(1, left + 1) if left % d == 0])
            target.append(f)
            left //= f
        target.append(left)
        rng.shuffle(target)
        written = list(target)
        if rng.random() < 0.6:
            written[rng.randrange(len(written))] = -1
        return c.model(c.call("reshape", [h], [target], shape=written))
    if kind == "squeeze":
        rank = rng.randint(2, 4)
        shape = [1 if rng.random() < 0.4 else rng.randint(2, 4) for _ in range(rank)]
        shape[-1] = rng.randint(1, 4)
        h = c.input(shape)
        if rng.random() < 0.5:
            out = [d for d in shape if d != 1]
            s = c.call("squeeze", [h], [out], dim=None)
        else:
            d = rng.randrange(rank)
            out = [x for i, x in enumerate(shape) if not (i == d and x == 1)]
            s = c.call("squeeze", [h], [out], dim=signed(rng, d, rank))
        d = rng.randint(0, len(out))
        back = out[:d] + [1] + out[d:]
        return c.model(c.call("unsqueeze", [s], [back], dim=signed(rng, d, len(out) + 1)))
    if kind == "stack":
        shape = shape_of(rng, rng.randint(1, 3))
        count = rng.randint(1, 4)
        values = [c.input(shape) for _ in range(rng.randint(1, count))]
        values += [rng.choice(values) for _ in range(count - len(values))]
        d = rng.randint(0, len(shape))
        out = shape[:d] + [count] + shape[d:]
        return c.model(c.call("stack", values, [out], dim=signed(rng, d, len(shape) + 1)))
    if kind in ("split", "chunk"):
        rank = rng.randint(1, 3)
        shape = shape_of(rng, rank, 1, 4)
        d = rng.randrange(rank)
        shape[d] = rng.randint(2, 7)
        h = c.input(shape)
        n = shape[d]
        if kind == "chunk":
            chunks = rng.randint(1, n + 1)
            size = -(-n // chunks)
            sizes = [min(size, n - at) for at in range(0, n, size)]
            opts = {"chunks": chunks, "dim": signed(rng, d, rank)}
        elif rng.random() < 0.5:
            size = rng.randint(1, n)
            sizes = [min(size, n - at) for at in range(0, n, size)]
            opts = {"split_size_or_sections": size, "dim": signed(rng, d, rank)}
        else:
            cuts = sorted(rng.sample(range(1, n), rng.randint(0, min(3, n - 1))))
            sizes = [b - a for a, b in zip([0] + cuts, cuts + [n])]
            opts = {"split_size_or_sections": sizes, "dim": signed(rng, d, rank)}
        shapes = []
        for s in sizes:
            p = list(shape)
            p[d] = s
            shapes.append(p)
        pieces = c.call(kind, [h], shapes, **opts)
        pieces = list(pieces) if len(sizes) > 1 else [pieces]
        # One piece scaled, so the join is not the identity on gradients.
        pieces[0] = c.call("mul", [pieces[0]], [shapes[0]], other=rng.uniform(0.5, 2.0))
        return c.model(pieces_back(c, pieces, sizes, shape, d, rng))
    if kind == "slice":
        rank = rng.randint(1, 3)
        shape = shape_of(rng, rank, 1, 4)
        d = rng.randrange(rank)
        n = shape[d] = rng.randint(2, 9)
        h = c.input(shape)
        while True:
            def bound():
                return rng.choice([None, rng.randint(-n - 3, n + 3)])
            start, end, step = bound(), bound(), rng.randint(1, 3)
            got = range(n)[slice(start, end, step)]
            if len(got) > 0:
                break
        out = list(shape)
        out[d] = len(got)
        return c.model(c.call("slice", [h], [out], dim=signed(rng, d, rank),
                              start=start, end=end, step=step))
    if kind == "index_select":
        rank = rng.randint(1, 3)
        shape = shape_of(rng, rank, 1, 4)
        d = rng.randrange(rank)
        n = shape[d] = rng.randint(1, 7)
        h = c.input(shape)
        index = [rng.randrange(n) for _ in range(rng.randint(1, 8))]
        if rng.random() < 0.3:
            index = list(range(rng.randrange(n), n, rng.randint(1, 2)))
        out = list(shape)
        out[d] = len(index)
        return c.model(c.call("index_select", [h], [out], dim=signed(rng, d, rank), index=index))
    if kind == "where":
        shape = shape_of(rng, rng.randint(1, 3))
        a = c.input(shape)
        b = c.input(shrink(rng, shape))
        pred = rng.choice(["gt", "lt", "ge", "le"])
        if rng.random() < 0.5:
            mask = c.call(pred, [a], [shape], other=rng.uniform(-0.5, 0.5))
        else:
            mask = c.call(pred, [a, b], [shape])
        # b is a branch too, so that every Linear gets a gradient.
        if rng.random() < 0.5:
            return c.model(c.call("where", [mask, a, b], [shape]))
        return c.model(c.call("where", [mask, b, a], [shape]))
    if kind == "masked_fill":
        shape = shape_of(rng, rng.randint(1, 3))
        a = c.input(shape)
        small = shrink(rng, shape)
        m = c.input(small)
        mask = c.call(rng.choice(["gt", "lt", "ne"]), [m], [small], other=rng.uniform(-0.3, 0.3))
        filled = c.call("masked_fill", [a, mask], [shape], value=rng.uniform(-2, 2))
        # m reaches the loss itself too, so that its Linear gets a gradient.
        return c.model(c.call("add", [filled, m], [shape]))
    if kind == "numbers":
        shape = shape_of(rng, rng.randint(1, 3))
        h = c.input(shape)
        v = c.call("add", [h], [shape], other=rng.uniform(-1, 1), alpha=rng.choice([1.0, -0.5, 2.0]))
        v = c.call("mul", [v], [shape], other=rng.uniform(-2, 2))
        v = c.call("sub", [v], [shape], other=rng.uniform(-1, 1), alpha=rng.choice([1.0, 3.0]))
        v = c.call("div", [v], [shape], other=rng.choice([2.0, -3.0, 0.7]))
        v = c.call("rsub", [v], [shape], other=rng.uniform(-1, 1))
        v = c.call("pow", [v], [shape], exponent=rng.choice([2.0, 3.0, 1.0, 0.0]))
        e = c.call("exp", [h], [shape])
        r = c.call("reciprocal", [e], [shape])
        q = c.call("pow", [e], [shape], exponent=rng.choice([0.5, -1.5, 2.5]))
        v = c.call("add", [v, r], [shape])
        return c.model(c.call("add", [v, q], [shape], alpha=0.5))
    if kind == "compare_eq":
        # eq / ne against the clamp bound: exactly the clamped elements.
        shape = shape_of(rng, rng.randint(2, 3), 3, 4)
        h = c.input(shape)
        bound = rng.uniform(-0.3, 0.1)
        cl = c.call("clamp", [h], [shape], min=bound, max=None)
        pred = rng.choice(["eq", "ne"])
        mask = c.call(pred, [cl], [shape], other=bound)
        return c.model(c.call("where", [mask, h, cl], [shape]))
    raise ValueError(kind)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=28)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    lines = []
    for i in range(a.count):
        kind = KINDS[i % len(KINDS)]
        name = f"tensor_{kind}_{a.seed}_{i}_basic"
        write_case(a.out, name, build(rng, kind, name))
        lines.append(f"set(parity_steps_{name} 10)")
    write_steps(a.out, lines)


if __name__ == "__main__":
    main()
