"""Writes random parity models for nn.TransformerEncoderLayer and
nn.TransformerDecoderLayer: d_model and nhead (1 to 4 heads of 1 to 4
features), dim_feedforward, dropout (Kiln's masks, fed to torch: the
attention weights' and every nn.Dropout's, in torch's order), activation
relu or gelu, layer_norm_eps, batch_first, norm_first, unbatched inputs;
the optional masks (src_mask / tgt_mask / memory_mask 2-D or 3-D, the key
padding masks), each bool or float, as gen_attention_cases.py draws them.

  gen_transformer_cases.py --out DIR --count N --seed S

Cases alternate encoder and decoder layers. Each input goes through a
Linear first (so the parameter gradients check the layer's input
gradients); a Linear head, MSE loss, ten steps of SGD without momentum:
the attentions' in-projection biases are on in these layers, and their
key parts have no gradient in exact arithmetic (gen_attention_cases.py
says why), so torch's is noise that momentum or Adam would amplify. Every
seventh case is compiled for inference (the eval forward, no dropout).
Deterministic for a seed; also writes DIR/cases.cmake. Runs with any
python3 (no torch).
"""

from case_files import run_generator
from gen_attention_cases import Net, bool_mask, mse_model, sgd_or_adam


def masks(rng, net, prefix, names, batched, n, heads, tgt, src):
    """Draws the optional masks of one attention: names = (attn mask,
    key padding mask). At most one bool mask (no appended key here that no
    mask blocks), and a float key padding mask never beside an attn mask
    (torch refuses it). Returns ({name: given}, inputs, whether a bool mask
    is given)."""
    attn = rng.random() < 0.4
    padding = rng.random() < 0.4
    pad_bool = rng.random() < 0.6 or attn
    attn_bool = rng.random() < 0.5 and not padding
    given, inputs = {names[0]: attn, names[1]: padding}, {}
    if attn:
        three = rng.random() < 0.4
        shape = [n * heads if batched else heads, tgt, src] if three else [tgt, src]
        inputs[names[0]] = (bool_mask(net, prefix + "mask", shape) if attn_bool
                            else net.input(prefix + "mask", shape))
    if padding:
        shape = [n, src] if batched else [src]
        inputs[names[1]] = (bool_mask(net, prefix + "pad", shape) if pad_bool
                            else net.input(prefix + "pad", shape))
    return given, inputs, (attn and attn_bool) or (padding and pad_bool)


def case(rng, name, decoder):
    net = Net()
    heads, head_dim = rng.randint(1, 4), rng.randint(1, 4)
    # A layer norm over fewer than 4 features (over 2 its output is +-1
    # whatever the input) makes torch's own result swing past the
    # tolerances under an ulp of change (kiln_oracle.py check-conditioning).
    head_dim = max(head_dim, -(-4 // heads))
    d = heads * head_dim
    opts = {"d_model": d, "nhead": heads, "dim_feedforward": rng.randint(1, 16),
            "dropout": 0.0 if rng.random() < 0.4 else round(rng.uniform(0.05, 0.5), 3),
            "activation": rng.choice(["relu", "gelu"]),
            "layer_norm_eps": rng.choice([1e-5, 1e-6, 1e-3]),
            "batch_first": rng.random() < 0.5, "norm_first": rng.random() < 0.5}
    batched = rng.random() < 0.8
    n = rng.randint(1, 3)
    # At least 3 keys (a bool mask leaves at least one, usually more).
    tgt, src = rng.randint(3, 5), rng.randint(3, 5)

    def shape(length):
        if not batched:
            return [length, d]
        return [n, length, d] if opts["batch_first"] else [length, n, d]

    x = net.linear("x_in", d, d, net.input("x", shape(tgt)))
    inputs, call = [x], {}
    if decoder:
        memory = net.linear("m_in", d, d, net.input("memory", shape(src)))
        inputs.append(memory)
        self_given, self_masks, _ = masks(rng, net, "t", ("tgt_mask", "tgt_key_padding_mask"),
                                          batched, n, heads, tgt, tgt)
        cross_given, cross_masks, _ = masks(rng, net, "m",
                                            ("memory_mask", "memory_key_padding_mask"),
                                            batched, n, heads, tgt, src)
        given = {**self_given, **cross_given}
        drawn = {**self_masks, **cross_masks}
        order = ["tgt_mask", "memory_mask", "tgt_key_padding_mask", "memory_key_padding_mask"]
        kind = "TransformerDecoderLayer"
    else:
        given, drawn, _ = masks(rng, net, "s", ("src_mask", "src_key_padding_mask"),
                                batched, n, heads, tgt, tgt)
        order = ["src_mask", "src_key_padding_mask"]
        kind = "TransformerEncoderLayer"
    for key in order:
        call[key] = given[key]
        if given[key]:
            inputs.append(drawn[key])
    out = net.module("layer", kind, opts, inputs, call=call)
    fout = rng.randint(1, 4)
    y = net.linear("head", d, fout, out)
    model = mse_model(name, net, [y], shape(tgt)[:-1] + [fout], sgd_or_adam(rng, plain_sgd=True))
    return model, 10


def main():
    def make_case(rng, stem, i):
        decoder = i % 2 == 1
        name = ("decoder_" if decoder else "encoder_") + stem
        return (name, *case(rng, name, decoder))

    run_generator(__doc__, "transformer", 20, make_case)


if __name__ == "__main__":
    main()
