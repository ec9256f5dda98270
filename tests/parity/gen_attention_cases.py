"""Writes random parity models for nn.MultiheadAttention: embed_dim and
num_heads (1 to 4 heads of 1 to 4 features), dropout on the attention
weights (Kiln's mask, fed to torch), bias, add_bias_kv, add_zero_attn,
kdim / vdim, batch_first, unbatched inputs; self-attention (one value for
query, key and value: torch's packed projection), key = value, or three
inputs; a key_padding_mask and an attn_mask (2-D or 3-D), each a bool mask
or a float one added to the scores; need_weights with and without
average_attn_weights (the weights are a model output and so compared).

  gen_attention_cases.py --out DIR --count N --seed S

Each input goes through a Linear first, so the parity harness's parameter
gradients check the layer's input gradients; a Linear head, MSE loss, ten
steps of SGD with momentum or Adam. Every seventh case is compiled for
inference (name ending in _forward: the eval forward, no dropout).

A bool mask is lt(m, amax(m) - 1) over the keys of a random input m: it
blocks the keys more than 1 below the row's largest, never the largest,
so no row is masked whole (that row's softmax is NaN, in torch too). Two
bool masks together could still block a whole row, so they come only with
add_zero_attn or add_bias_kv, whose appended key is never masked.
Deterministic for a seed; also writes DIR/cases.cmake. Runs with any
python3 (no torch).
"""

from case_files import run_generator


class Net:
    """Children and graph nodes of the model being written."""

    def __init__(self):
        self.children, self.graph, self.inputs, self.count = [], [], [], 0

    def value(self):
        self.count += 1
        return f"v{self.count}"

    def input(self, name, shape):
        self.inputs.append({"name": name, "shape": shape, "dtype": "float32"})
        return name

    def module(self, name, kind, options, inputs, outputs=1, call=None):
        self.children.append({"name": name, "type": kind, "options": options})
        outs = [self.value() for _ in range(outputs)]
        node = {"module": name, "inputs": inputs, "outputs": outs}
        if call is not None:
            node["options"] = call
        self.graph.append(node)
        return outs if outputs > 1 else outs[0]

    def function(self, name, inputs, options):
        out = self.value()
        self.graph.append({"function": name, "options": options, "inputs": inputs,
                           "outputs": [out]})
        return out

    def linear(self, name, fin, fout, x):
        return self.module(name, "Linear", {"in_features": fin, "out_features": fout,
                                            "bias": True}, [x])


def sgd_or_adam(rng, plain_sgd=False, decay_chance=0.0):
    """SGD with momentum 0.9 or Adam, half each, random lr; plain SGD (no
    momentum) when asked, where a parameter's gradient is rounding noise
    that momentum would sum and Adam scale up. With `decay_chance`, that
    share of the optimizers get a weight_decay in [0.001, 0.1]."""
    if plain_sgd or rng.random() < 0.5:
        optimizer = {"type": "SGD", "options": {"lr": round(10 ** rng.uniform(-2.5, -1), 6),
                                                "momentum": 0.0 if plain_sgd else 0.9,
                                                "dampening": 0.0, "weight_decay": 0.0,
                                                "nesterov": False, "maximize": False}}
    else:
        optimizer = {"type": "Adam", "options": {"lr": round(10 ** rng.uniform(-3.5, -2), 7)}}
    if decay_chance and rng.random() < decay_chance:
        optimizer["options"]["weight_decay"] = round(rng.uniform(0.001, 0.1), 4)
    return optimizer


def mse_model(name, net, outputs, target_shape, optimizer, module=None):
    """The model file of `net`: its first output trained with MSELoss (mean)
    against a float target of target_shape. The root is a Sequential of
    net's children unless `module` gives another."""
    return {
        "format": "kiln-model", "version": 1, "name": name,
        "inputs": net.inputs,
        "module": module or {"type": "Sequential", "children": net.children},
        "graph": net.graph,
        "outputs": outputs,
        "training": {"loss": {"type": "MSELoss", "options": {"reduction": "mean"}},
                     "target": {"name": "target", "shape": target_shape, "dtype": "float32"},
                     "optimizer": optimizer},
    }


def bool_mask(net, name, shape):
    """lt(m, amax(m, -1) - 1) of a random input m of `shape` (see above)."""
    m = net.input(name, shape)
    top = net.function("amax", [m], {"dim": [-1], "keepdim": True})
    bar = net.function("sub", [top], {"other": 1.0, "alpha": 1})
    return net.function("lt", [m, bar], {"other": None})


def case(rng, name):
    net = Net()
    heads, head_dim = rng.randint(1, 4), rng.randint(1, 4)
    if heads * head_dim == 1:
        head_dim = 2  # one scalar feature: rows of one live key too often
    e = heads * head_dim
    opts = {"embed_dim": e, "num_heads": heads,
            "dropout": 0.0 if rng.random() < 0.5 else round(rng.uniform(0.05, 0.5), 3),
            "bias": rng.random() < 0.7,
            "add_bias_kv": rng.random() < 0.3,
            "add_zero_attn": rng.random() < 0.3,
            "kdim": None, "vdim": None,
            "batch_first": rng.random() < 0.5}
    appended = opts["add_zero_attn"] or opts["add_bias_kv"]  # keys no mask blocks
    pattern = rng.choice(["self", "self", "kv", "cross"])
    if pattern == "cross" and rng.random() < 0.5:
        opts["kdim"], opts["vdim"] = rng.randint(1, 8), rng.randint(1, 8)
    elif pattern == "kv" and rng.random() < 0.4:
        opts["kdim"] = opts["vdim"] = rng.randint(1, 8)
    kdim = opts["kdim"] or e
    vdim = opts["vdim"] or e
    batched = rng.random() < 0.8
    # Masks: at most one bool mask unless an appended key is never masked
    # (a float key_padding_mask never comes with an attn_mask: torch
    # refuses it).
    padding = rng.random() < 0.4
    attn = rng.random() < 0.4
    pad_bool = rng.random() < 0.6 or attn
    attn_bool = rng.random() < 0.5 and not (padding and not appended)
    # At least 2 keys (3 under a bool mask): over one live key the softmax
    # is constant and q, k get no gradient (torch's is noise).
    n, tgt = rng.randint(1, 3), rng.randint(1, 5)
    src = rng.randint(3 if (padding and pad_bool) or (attn and attn_bool) else 2, 5)
    if pattern == "self":
        tgt = src

    def shape(length, features):
        if not batched:
            return [length, features]
        return [n, length, features] if opts["batch_first"] else [length, n, features]

    x = net.input("x", shape(tgt, e))
    query = net.linear("q_in", e, e, x)
    # Softmax ignores what every key of a row adds alike, so q . b_k (the
    # in-projection bias's key part) and a bias before the key projection
    # have no gradient in exact arithmetic unless an appended key (bias_k,
    # the zero key) breaks the symmetry: torch's is rounding noise, which
    # no other implementation reproduces. Such a bias is left out of the
    # key path, and with the in-projection's, SGD without momentum keeps
    # the noise below the tolerances (momentum sums it, Adam scales it up).
    if pattern == "self":
        key = value = query
    else:
        kv = net.input("kv", shape(src, kdim))
        key = net.module("k_in", "Linear", {"in_features": kdim, "out_features": kdim,
                                            "bias": appended or pattern == "kv"}, [kv])
        if pattern == "kv":
            value = key
        else:
            vin = net.input("v", shape(src, vdim))
            value = net.linear("v_in", vdim, vdim, vin)

    call, extra = {}, []
    if padding:
        pshape = [n, src] if batched else [src]
        extra.append(bool_mask(net, "pad", pshape) if pad_bool else net.input("pad", pshape))
        call["key_padding_mask"] = True
    if attn:
        three = rng.random() < 0.4
        ashape = ([n * heads if batched else heads, tgt, src] if three else [tgt, src])
        extra.append(bool_mask(net, "mask", ashape) if attn_bool else net.input("mask", ashape))
        call["attn_mask"] = True
    need_weights = rng.random() < 0.6
    call["need_weights"] = need_weights
    if need_weights:
        call["average_attn_weights"] = rng.random() < 0.6
    outs = net.module("attn", "MultiheadAttention", opts, [query, key, value] + extra,
                      outputs=2 if need_weights else 1, call=call)
    attended = outs[0] if need_weights else outs
    fout = rng.randint(1, 5)
    y = net.linear("head", e, fout, attended)
    out_shape = shape(tgt, fout)
    outputs = [y] + ([outs[1]] if need_weights else [])
    noisy_bias = opts["bias"] and not appended
    model = mse_model(name, net, outputs, out_shape, sgd_or_adam(rng, plain_sgd=noisy_bias))
    return model, 10


def main():
    def make_case(rng, stem, i):
        name = f"mha_{stem}"
        return (name, *case(rng, name))

    run_generator(__doc__, "attention", 20, make_case)


if __name__ == "__main__":
    main()
