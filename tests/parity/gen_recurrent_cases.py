"""Writes random parity models for nn.RNN, nn.LSTM, nn.GRU and their cells:
input_size, hidden_size, num_layers, nonlinearity (RNN), bias, batch_first,
dropout between layers (Kiln's masks, applied by the oracle between
torch's layers), bidirectional, proj_size (LSTM), unbatched inputs, the
initial states given or not; sequence lengths 1 to 5.

  gen_recurrent_cases.py --out DIR --count N --seed S

Cases cycle through RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell. Every
input (the sequence and the given states) goes through a Linear first, so
the parameter gradients check the layer's input gradients; the output goes
through a Linear head into an MSE loss, the final states are model outputs
(compared in the forward). Ten steps of SGD with momentum or Adam. Every
seventh case is compiled for inference (the eval forward: no dropout).
Deterministic for a seed; also writes DIR/cases.cmake. Runs with any
python3 (no torch).
"""

from case_files import run_generator
from gen_attention_cases import Net, mse_model, sgd_or_adam

KINDS = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]


def case(rng, name, kind):
    net = Net()
    cell = kind.endswith("Cell")
    lstm = kind.startswith("LSTM")
    fin, hidden = rng.randint(1, 6), rng.randint(2, 6)
    opts = {"input_size": fin, "hidden_size": hidden}
    if not cell:
        opts["num_layers"] = rng.choice([1, 1, 2, 3])
    if kind.startswith("RNN"):
        opts["nonlinearity"] = rng.choice(["tanh", "relu"])
    opts["bias"] = rng.random() < 0.8
    if not cell:
        opts["batch_first"] = rng.random() < 0.5
        opts["dropout"] = 0.0 if rng.random() < 0.5 else round(rng.uniform(0.05, 0.5), 3)
        opts["bidirectional"] = rng.random() < 0.4
        if lstm:
            opts["proj_size"] = 0 if rng.random() < 0.6 else rng.randint(1, hidden - 1)
    batched = rng.random() < 0.8
    n, t = rng.randint(1, 3), rng.randint(1, 5)
    if cell:
        xshape = [n, fin] if batched else [fin]
        state = lambda size: [n, size] if batched else [size]
        sizes = [hidden, hidden] if lstm else [hidden]
        out_shape = xshape[:-1] + [hidden]
    else:
        xshape = ([n, t, fin] if opts["batch_first"] else [t, n, fin]) if batched else [t, fin]
        d = 2 if opts["bidirectional"] else 1
        real = opts.get("proj_size") or hidden
        stacks = opts["num_layers"] * d
        state = lambda size: [stacks, n, size] if batched else [stacks, size]
        sizes = [real, hidden] if lstm else [real]
        out_shape = xshape[:-1] + [real * d]
    x = net.linear("x_in", fin, fin, net.input("x", xshape))
    inputs = [x]
    if rng.random() < 0.5:
        for i, size in enumerate(sizes):
            inputs.append(net.linear(f"s{i}_in", size, size, net.input(f"s{i}", state(size))))
    outs = net.module("rnn", kind, opts, inputs, outputs=(1 if kind in ("RNNCell", "GRUCell") else
                                                         2 if kind != "LSTM" else 3))
    outs = outs if isinstance(outs, list) else [outs]
    fout = rng.randint(1, 4)
    y = net.linear("head", out_shape[-1], fout, outs[0])
    model = mse_model(name, net, [y] + outs[1:], out_shape[:-1] + [fout], sgd_or_adam(rng))
    return model, 10


def main():
    def make_case(rng, stem, i):
        kind = KINDS[i % len(KINDS)]
        name = f"rnn_{kind.lower()}_{stem}"
        return (name, *case(rng, name, kind))

    run_generator(__doc__, "recurrent", 24, make_case)


if __name__ == "__main__":
    main()
