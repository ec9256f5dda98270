"""Writes random parity models for a module's own parameters (nn.Parameter
attributes, nn.ParameterList, nn.ParameterDict) and weight tying: the
graph's `parameter` nodes read them where the forward uses them.

  gen_param_cases.py --out DIR --count N --seed S

The root (a user module "Net") owns a positional parameter added to the
input ([T, D], [D] or a scalar, broadcasting) and a scale multiplied in
([], [D]); a Linear "fc" or a ParameterDict's "w" and "b" through
F.linear; zero to two F.linear layers from a ParameterList (weight, then
bias or not); a Linear's weight read again by matmul (weight tying: two
uses, one gradient); a nested user module "block" with its own projection
and gain. Initializers drawn from zeros, ones, constant, uniform and normal
(the model file's kinds). Inputs [B, D] or [B, T, D]; MSE loss; ten steps of
SGD with momentum or Adam, some with weight decay (every parameter is used,
so torch's optimizer updates every one, as Kiln's does). Every seventh
case is compiled for inference. Deterministic for a seed; also writes
DIR/cases.cmake. Runs with any python3 (no torch).
"""

from case_files import run_generator
from gen_attention_cases import Net, mse_model, sgd_or_adam


def init(rng, role):
    """A random initializer for a parameter of `role` (weight, bias, gain)."""
    if role == "weight":
        return rng.choice([{"kind": "normal", "mean": 0.0, "std": round(rng.uniform(0.1, 0.6), 4)},
                           {"kind": "uniform", "a": -0.5, "b": round(rng.uniform(0.1, 0.6), 4)}])
    if role == "bias":
        return rng.choice([{"kind": "zeros"}, {"kind": "uniform", "a": -0.2, "b": 0.2},
                           {"kind": "constant", "value": round(rng.uniform(-0.5, 0.5), 4)}])
    return rng.choice([{"kind": "ones"}, {"kind": "constant", "value": round(rng.uniform(0.5, 1.5), 4)},
                       {"kind": "normal", "mean": 1.0, "std": 0.1}])


class Owner:
    """A container or user module node whose parameters the graph reads."""

    def __init__(self, net, node, path):
        self.net, self.node, self.path = net, node, path

    def param(self, name, shape, init_spec):
        self.node.setdefault("parameters", []).append(
            {"name": name, "shape": shape, "init": init_spec})
        return self.read(name)

    def read(self, name):
        out = self.net.value()
        key = f"{self.path}.{name}" if self.path else name
        self.net.graph.append({"parameter": key, "inputs": [], "outputs": [out]})
        return out


def child(net, name, kind):
    node = {"name": name, "type": kind, "children": []}
    net.children.append(node)
    return Owner(net, node, name)


def case(rng, name):
    net = Net()
    root_node = {"type": "Net", "children": net.children}
    root = Owner(net, root_node, "")
    b, t, d = rng.randint(1, 3), rng.randint(1, 4), rng.randint(1, 6)
    # Two or more hidden features: through one, a gain's gradient can be
    # too small for ten steps to move it past float rounding.
    hidden, fout = rng.randint(2, 6), rng.randint(1, 4)
    seq = rng.random() < 0.6
    x = net.input("x", [b, t, d] if seq else [b, d])
    pos_shape = rng.choice([[t, d] if seq else [b, d], [d], []])
    x = net.function("add", [x, root.param("pos", pos_shape, init(rng, "bias"))], {})
    if rng.random() < 0.6:
        x = net.function("mul", [x, root.param("scale", rng.choice([[], [d]]), init(rng, "gain"))], {})
    uses_fc = rng.random() < 0.5
    if uses_fc:
        h = net.linear("fc", d, hidden, x)
    else:
        pdict = child(net, "pdict", "ParameterDict")
        h = net.function("linear", [x, pdict.param("w", [hidden, d], init(rng, "weight")),
                                    pdict.param("b", [hidden], init(rng, "bias"))], {})
    h = net.function("tanh", [h], {})
    layers = rng.randint(0, 2)
    if layers:
        plist = child(net, "plist", "ParameterList")
        k = 0
        for _ in range(layers):
            ins = [h, plist.param(str(k), [hidden, hidden], init(rng, "weight"))]
            k += 1
            if rng.random() < 0.6:
                ins.append(plist.param(str(k), [hidden], init(rng, "bias")))
                k += 1
            h = net.function("tanh", [net.function("linear", ins, {})], {})
    width = hidden
    if uses_fc and rng.random() < 0.6:
        # Weight tying: fc's weight [hidden, d] maps back to d features.
        h = net.function("matmul", [h, root.read("fc.weight")], {})
        width = d
    block = child(net, "block", "Block")
    y = net.function("matmul", [h, block.param("proj", [width, fout], init(rng, "weight"))], {})
    if rng.random() < 0.5:
        y = net.function("mul", [y, block.param("gain", [fout], init(rng, "gain"))], {})
    target = ([b, t] if seq else [b]) + [fout]
    return mse_model(name, net, [y], target, sgd_or_adam(rng, decay_chance=0.3), root_node), 10


def main():
    def make_case(rng, stem, i):
        name = f"param_{stem}"
        return (name, *case(rng, name))

    run_generator(__doc__, "param", 16, make_case)


if __name__ == "__main__":
    main()
