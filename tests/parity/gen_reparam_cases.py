"""Writes random parity models for torch.nn.utils' re-parametrizations of a
layer's parameter (a leaf node's `reparametrize`): prune (the mask is a
buffer; the oracle draws a random one, 30% zeros, which the driver loads),
weight_norm (dim 0 .. rank - 1 or None, where the norm covers two or more
elements) and spectral_norm (dim, 1 to 3
power iterations, eps), each also in torch.nn.utils.parametrizations'
form, on Linear, Conv1d, Conv2d, ConvTranspose1d,
ConvTranspose2d and Bilinear weights and on biases.

  gen_reparam_cases.py --out DIR --count N --seed S

A first layer (random kind) with one or two re-parametrized parameters,
tanh, flatten, a Linear head re-parametrized half of the time; MSE loss,
ten steps of SGD with momentum or Adam, some with weight decay. Spectral
norm's u and v are buffers the train-mode calls update (compared after
the steps), and the eval forward reads them without iterating. Every
seventh case is compiled for inference. Deterministic for a seed; also
writes DIR/cases.cmake. Runs with any python3 (no torch).
"""

from case_files import run_generator
from gen_attention_cases import Net, mse_model, sgd_or_adam

LAYERS = ["Linear", "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "Bilinear"]


def reparam(rng, parameter, shape):
    """A random re-parametrization of a parameter of `shape`. weight_norm
    only where its norm covers two or more elements: over one, w = g *
    sign(v) and v's gradient is zero in exact arithmetic, rounding noise in
    torch's and Kiln's (that Adam would scale up)."""
    numel = 1
    for s in shape:
        numel *= s
    dims = [d for d in range(len(shape)) if numel // shape[d] > 1] + ([None] if numel > 1 else [])
    kinds = ["prune", "spectral_norm"] + (["weight_norm"] if dims else [])
    kind = rng.choice(kinds)
    if kind == "prune":
        return {"kind": "prune", "parameter": parameter}
    # Half of the others in torch.nn.utils.parametrizations' form (other
    # names; spectral_norm's power method in the other order, a vector
    # normalized: not one of a single element, whose gradient is noise).
    listed = rng.random() < 0.5 and (kind == "weight_norm" or len(shape) > 1 or numel > 1)
    prefix = "parametrizations." if listed else ""
    if kind == "weight_norm":
        return {"kind": prefix + "weight_norm", "parameter": parameter, "dim": rng.choice(dims)}
    return {"kind": prefix + "spectral_norm", "parameter": parameter, "dim": rng.randrange(len(shape)),
            "n_power_iterations": rng.randint(1, 3), "eps": rng.choice([1e-12, 1e-6])}


def first_layer(rng, net, b):
    """(node, value, output features after flatten) of a random first layer."""
    kind = rng.choice(LAYERS)
    cin, cout = rng.randint(1, 4), rng.randint(2, 5)
    if kind == "Linear":
        x = net.input("x", [b, cin])
        opts = {"in_features": cin, "out_features": cout, "bias": rng.random() < 0.8}
        shape, out = [cout, cin], cout
        inputs = [x]
    elif kind == "Bilinear":
        cin2 = rng.randint(1, 3)
        inputs = [net.input("x", [b, cin]), net.input("x2", [b, cin2])]
        opts = {"in1_features": cin, "in2_features": cin2, "out_features": cout, "bias": rng.random() < 0.8}
        shape, out = [cout, cin, cin2], cout
    else:
        d = 2 if kind.endswith("2d") else 1
        k, size = rng.randint(1, 3), rng.randint(3, 5)
        inputs = [net.input("x", [b, cin] + [size] * d)]
        opts = {"in_channels": cin, "out_channels": cout, "kernel_size": k, "bias": rng.random() < 0.8}
        if kind.startswith("ConvTranspose"):
            shape, spatial = [cin, cout] + [k] * d, size + k - 1
        else:
            shape, spatial = [cout, cin] + [k] * d, size - k + 1
        out = cout * spatial ** d
    node = {"name": "first", "type": kind, "options": opts}
    entries = [reparam(rng, "weight", shape)]
    if opts["bias"] and rng.random() < 0.3:
        entries.append(reparam(rng, "bias", [cout]))
    node["reparametrize"] = entries
    net.children.append(node)
    value = net.value()
    net.graph.append({"module": "first", "inputs": inputs, "outputs": [value]})
    return value, out


def case(rng, name):
    net = Net()
    b = rng.randint(1, 3)
    h, features = first_layer(rng, net, b)
    h = net.function("tanh", [h], {})
    h = net.function("flatten", [h], {"start_dim": 1, "end_dim": -1})
    fout = rng.randint(1, 3)
    y = net.linear("head", features, fout, h)
    if rng.random() < 0.5:
        net.children[-1]["reparametrize"] = [reparam(rng, "weight", [fout, features])]
    return mse_model(name, net, [y], [b, fout], sgd_or_adam(rng, decay_chance=0.3)), 10


def main():
    def make_case(rng, stem, i):
        name = f"reparam_{stem}"
        return (name, *case(rng, name))

    run_generator(__doc__, "reparam", 16, make_case)


if __name__ == "__main__":
    main()
