"""Writes random parity models for torch.nn.utils.rnn's packed sequences
through nn.RNN, nn.LSTM and nn.GRU: pack_padded_sequence (lengths an
int64 model input or a constant option; batch_first; enforce_sorted with
sorted lengths, or not), the recurrent layer on the packed sequence (random
layers, relu, bias, bidirectional, proj_size, dropout between layers,
initial states given or not), then pad_packed_sequence (batch_first,
padding_value, total_length: none, with the longest sequence filling the
padded steps; or one at least every length) into a Linear head. Every
fourth case packs separate sequences instead (pack_sequence) and takes them
apart again (unpack_sequence, or pad_packed_sequence then unpad_sequence),
padding them back with pad_sequence. h_n (and c_n) are model outputs.

  gen_packed_cases.py --out DIR --count N --seed S

Lengths come from make-case's --index-high (p<T>: in [1, T] with one of
them T; s<T>: the same sorted decreasing; r1-<L>: in [1, L]). Ten steps of
SGD with momentum or Adam; every seventh case compiled for inference.
One or two layers (gen_recurrent_cases.py has three-layer stacks).
Deterministic for a seed; also writes DIR/cases.cmake. Runs with any
python3 (no torch).
"""

from case_files import run_generator
from gen_attention_cases import Net, mse_model, sgd_or_adam

KINDS = ["RNN", "LSTM", "GRU"]
RNN = "utils.rnn."


def layer_options(rng, kind, fin, hidden):
    # Two layers at most: through three, with a one-feature input, the
    # input Linear's update falls within float rounding (a conditioning
    # failure, not a mismatch; gen_recurrent_cases.py covers three).
    opts = {"input_size": fin, "hidden_size": hidden, "num_layers": rng.choice([1, 1, 2])}
    if kind == "RNN":
        opts["nonlinearity"] = rng.choice(["tanh", "relu"])
    opts["bias"] = rng.random() < 0.8
    # batch_first changes nothing for a packed input (torch's too).
    opts["batch_first"] = rng.random() < 0.3
    opts["dropout"] = 0.0 if rng.random() < 0.6 else round(rng.uniform(0.05, 0.5), 3)
    opts["bidirectional"] = rng.random() < 0.4
    if kind == "LSTM":
        opts["proj_size"] = 0 if rng.random() < 0.6 else rng.randint(1, hidden - 1)
    return opts


def states(rng, net, kind, opts, n):
    """Initial states (through a Linear each) or none."""
    if rng.random() < 0.5:
        return []
    d = 2 if opts["bidirectional"] else 1
    stacks = opts["num_layers"] * d
    real = opts.get("proj_size") or opts["hidden_size"]
    sizes = [real, opts["hidden_size"]] if kind == "LSTM" else [real]
    return [net.linear(f"s{i}_in", size, size, net.input(f"s{i}", [stacks, n, size]))
            for i, size in enumerate(sizes)]


def padded_case(rng, name, kind):
    """pack_padded_sequence -> layer -> pad_packed_sequence -> head."""
    net = Net()
    fin, hidden = rng.randint(1, 5), rng.randint(2, 6)
    n, t = rng.randint(1, 4), rng.randint(1, 5)
    batch_first = rng.random() < 0.5
    x = net.linear("x_in", fin, fin, net.input("x", [n, t, fin] if batch_first else [t, n, fin]))
    sorted_lengths = rng.random() < 0.5
    total = None if rng.random() < 0.6 else rng.randint(1, t + 2)
    longest = t if total is None else min(t, total)
    args = []
    pack = {"function": RNN + "pack_padded_sequence",
            "options": {"batch_first": batch_first, "enforce_sorted": sorted_lengths}}
    if rng.random() < 0.75:
        net.inputs.append({"name": "lengths", "shape": [n], "dtype": "int64"})
        pack["inputs"] = [x, "lengths"]
        # Sorted ones need "s" whatever total_length is; unsorted ones
        # below a total_length may all be shorter than it ("r").
        mode = "s" if sorted_lengths else "p" if total is None else "r1-"
        args = [f"--index-high={mode}{longest}"]
    else:
        lengths = [rng.randint(1, longest) for _ in range(n)]
        lengths[rng.randrange(n)] = longest
        if sorted_lengths:
            lengths.sort(reverse=True)
        pack["inputs"] = [x]
        pack["options"]["lengths"] = lengths
    data, lengths_value = net.value(), net.value()
    pack["outputs"] = [data, lengths_value]
    net.graph.append(pack)
    opts = layer_options(rng, kind, fin, hidden)
    outs = net.module("rnn", kind, opts, [data, lengths_value] + states(rng, net, kind, opts, n),
                      outputs=3 if kind == "LSTM" else 2)
    unpack = {"batch_first": rng.random() < 0.5,
              "padding_value": rng.choice([0.0, 0.0, round(rng.uniform(-2, 2), 3)]),
              "total_length": total}
    padded, padded_lengths = net.value(), net.value()
    net.graph.append({"function": RNN + "pad_packed_sequence", "options": unpack,
                      "inputs": [outs[0], lengths_value], "outputs": [padded, padded_lengths]})
    features = (opts.get("proj_size") or hidden) * (2 if opts["bidirectional"] else 1)
    fout = rng.randint(1, 3)
    y = net.linear("head", features, fout, padded)
    steps = t if total is None else total
    shape = [n, steps, fout] if unpack["batch_first"] else [steps, n, fout]
    return mse_model(name, net, [y] + outs[1:], shape, sgd_or_adam(rng)), args


def sequences_case(rng, name, kind):
    """pack_sequence of separate sequences -> layer -> unpack_sequence (or
    pad_packed_sequence then unpad_sequence) -> pad_sequence -> head."""
    net = Net()
    fin, hidden = rng.randint(1, 5), rng.randint(2, 6)
    count = rng.randint(1, 4)
    lengths = [rng.randint(1, 5) for _ in range(count)]
    enforce = rng.random() < 0.5
    if enforce:
        lengths.sort(reverse=True)
    xs = [net.linear(f"x{i}_in", fin, fin, net.input(f"x{i}", [length, fin]))
          for i, length in enumerate(lengths)]
    data, lengths_value = net.value(), net.value()
    net.graph.append({"function": RNN + "pack_sequence", "options": {"enforce_sorted": enforce},
                      "inputs": xs, "outputs": [data, lengths_value]})
    opts = layer_options(rng, kind, fin, hidden)
    outs = net.module("rnn", kind, opts, [data, lengths_value] + states(rng, net, kind, opts, count),
                      outputs=3 if kind == "LSTM" else 2)
    pieces = [net.value() for _ in range(count)]
    if rng.random() < 0.5:
        net.graph.append({"function": RNN + "unpack_sequence", "options": {},
                          "inputs": [outs[0], lengths_value], "outputs": pieces})
    else:
        padded, padded_lengths = net.value(), net.value()
        batch_first = rng.random() < 0.5
        net.graph.append({"function": RNN + "pad_packed_sequence",
                          "options": {"batch_first": batch_first},
                          "inputs": [outs[0], lengths_value], "outputs": [padded, padded_lengths]})
        net.graph.append({"function": RNN + "unpad_sequence", "options": {"batch_first": batch_first},
                          "inputs": [padded, lengths_value], "outputs": pieces})
    batch_first = rng.random() < 0.5
    padding = rng.choice([0.0, round(rng.uniform(-1, 1), 3)])
    again = net.function(RNN + "pad_sequence", pieces,
                         {"batch_first": batch_first, "padding_value": padding})
    features = (opts.get("proj_size") or hidden) * (2 if opts["bidirectional"] else 1)
    fout = rng.randint(1, 3)
    y = net.linear("head", features, fout, again)
    longest = max(lengths)
    shape = [count, longest, fout] if batch_first else [longest, count, fout]
    return mse_model(name, net, [y] + outs[1:], shape, sgd_or_adam(rng)), []


def main():
    def make_case(rng, stem, i):
        kind = KINDS[i % len(KINDS)]
        name = f"packed_{kind.lower()}_{stem}"
        build = sequences_case if i % 4 == 3 else padded_case
        model, args = build(rng, name, kind)
        return name, model, 10, args

    run_generator(__doc__, "packed", 24, make_case)


if __name__ == "__main__":
    main()
