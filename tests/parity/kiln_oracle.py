"""PyTorch oracle for Kiln's parity and end-to-end tests.

Run with /usr/bin/python3 (Debian's torch 1.13 imports only there).

The oracle reads a Kiln model file (docs/model-format.md), builds the same
model as torch.nn modules (parameter names equal the state_dict keys Kiln
uses), and writes safetensors files that the C drivers read and write with the
same tensor names:

  init.safetensors       torch-initialised parameters (state_dict names)
  batch.safetensors      input.<i> (model inputs in file order), target
  reference.safetensors  output.<i>, loss, <param>.grad          (at init)
                         losses [steps], <param>, <param>.<state> (every
                         optimizer state tensor: momentum_buffer, exp_avg, ...),
                         step, lr                                (after steps)
                         LBFGS: <p0>.d, .t, .old_dirs, .old_stps, .ro,
                         .num_old, .H_diag, .prev_flat_grad, .prev_loss,
                         .n_iter, .func_evals (its global state, kept under
                         the first parameter p0; see lbfgs_state)

Everything is computed in float32, like Kiln. Subcommands: make-case,
make-bad-weights, make-e2e, compare, compare-updates, check-conditioning,
self-test (see --help of each).
"""
import argparse
import gzip
import json
import math
import os
import re
import struct
import sys

import numpy as np

# ---- safetensors (F32 / I64 only) -------------------------------------------

_DTYPES = {"F32": np.dtype("<f4"), "I64": np.dtype("<i8")}
# torch's 0-d optimizer states that Kiln keeps as tensors (the others are
# functions of the step count): compared like the per-parameter states.
SCALAR_STATES = {"mu_product"}
_NAMES = {np.dtype("<f4"): "F32", np.dtype("<i8"): "I64"}


def write_safetensors(path, tensors):
    """tensors: dict name -> numpy array (float32 or int64), written in order."""
    header = {}
    blobs = []
    offset = 0
    for name, arr in tensors.items():
        arr = np.asarray(arr)
        dt = arr.dtype.newbyteorder("<")
        if dt not in _NAMES:
            raise ValueError(f"{name}: unsupported dtype {arr.dtype}")
        data = arr.astype(dt, copy=False).tobytes(order="C")
        header[name] = {"dtype": _NAMES[dt], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # keep the data section 8-byte aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    """Returns an ordered dict name -> numpy array; raises ValueError if malformed."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} past end of file")
    header = json.loads(raw[8:8 + n].decode())
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: {name}: unsupported dtype {info['dtype']}")
        dt = _DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        shape = tuple(info["shape"])
        if end > len(data) or end - begin != int(np.prod(shape, dtype=np.int64)) * dt.itemsize:
            raise ValueError(f"{path}: {name}: bad data_offsets {begin}..{end}")
        out[name] = np.frombuffer(data[begin:end], dtype=dt).reshape(shape).copy()
    return out


# ---- model file -> torch ------------------------------------------------------

def _torch():
    import torch  # deferred so that `compare` works without torch
    return torch


# ---- Kiln's random stream (mirror of passes/LowerRandom.cpp) ----------------

_PHILOX_M = (0xD2511F53, 0xCD9E8D57)
_PHILOX_W = (0x9E3779B9, 0xBB67AE85)
_U32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(counter, key):
    """Philox-4x32-10 (Random123) of counters (4 uint32 arrays) under key
    (2 uint32 scalars); returns the 4 output words as uint64 arrays."""
    c = [np.asarray(w, dtype=np.uint64) & _U32 for w in counter]
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    m0, m1 = np.uint64(_PHILOX_M[0]), np.uint64(_PHILOX_M[1])
    for r in range(10):
        if r:
            k0 = (k0 + np.uint64(_PHILOX_W[0])) & _U32
            k1 = (k1 + np.uint64(_PHILOX_W[1])) & _U32
        p0, p1 = m0 * c[0], m1 * c[2]  # < 2^64: exact in uint64
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ k0, p1 & _U32,
             (p0 >> np.uint64(32)) ^ c[3] ^ k1, p0 & _U32]
    return c


class KilnRandom:
    """The instance's stream as Kiln's kernels see it: nn.random_uniform's
    element i of a draw at `offset` within a kernel is Philox-4x32-10 with
    key `seed` and counter `rng.offset + offset + i`; the first word's top
    24 bits / 2^24. Draws within one kernel call take consecutive counter
    ranges in graph order; the runtime advances rng.offset by a call's total
    after the call (end_call)."""

    def __init__(self, seed=0):
        self.restart(seed)

    def restart(self, seed):
        self.seed, self.offset, self.drawn = seed & 0xFFFFFFFFFFFFFFFF, 0, 0

    def uniform(self, shape):
        n = int(np.prod(shape, dtype=np.int64))
        counters = (np.arange(n, dtype=np.uint64) + np.uint64(self.offset + self.drawn))
        self.drawn += n
        words = philox4x32_10(
            [counters & _U32, counters >> np.uint64(32), np.zeros(n, np.uint64), np.zeros(n, np.uint64)],
            [self.seed & 0xFFFFFFFF, self.seed >> 32])
        u = (words[0] >> np.uint64(8)).astype(np.float32) * np.float32(2.0 ** -24)
        return u.reshape(shape)

    def end_call(self):
        self.offset = (self.offset + self.drawn) & 0xFFFFFFFFFFFFFFFF
        self.drawn = 0


def _kiln_dropout_class():
    nn = _torch().nn

    class KilnDropout(nn.Dropout):
        """torch's dropout (_dropout_impl) with Kiln's mask: the same noise
        bernoulli(1 - p) / (1 - p), the Bernoulli draw as u < 1 - p."""
        stream = None

        def forward(self, x):
            torch = _torch()
            if not self.training or self.p == 0:
                return x
            if self.p == 1:
                return x * torch.zeros((), dtype=x.dtype)
            u = self.stream.uniform(tuple(x.shape))
            noise = torch.from_numpy(u < np.float32(1 - self.p)).to(x.dtype)
            noise.div_(1 - self.p)
            return x * noise

    return KilnDropout


def _kiln_samples(stream, x, rank):
    """FractionalMaxPool's samples as Kiln draws them: [N, C, rank] (N = 1
    for an unbatched input, as torch's F.fractional_max_pool{rank}d)."""
    n = 1 if x.dim() == rank + 1 else x.shape[0]
    return _torch().from_numpy(stream.uniform((n, x.shape[-rank - 1], rank))).to(x.dtype)


def _kiln_fractional_max_pool_class(rank):
    def make():
        base = getattr(_torch().nn, "FractionalMaxPool%dd" % rank)

        class KilnFractionalMaxPool(base):
            """torch's fractional max pool with Kiln's samples: the node's
            second input when given (torch's _random_samples), else a draw
            from Kiln's stream, in eval mode too (torch draws there as well)."""
            stream = None

            def forward(self, x, samples=None):
                if samples is None:
                    samples = _kiln_samples(self.stream, x, rank)
                fn = getattr(_torch().nn.functional, "fractional_max_pool%dd" % rank)
                return fn(x, self.kernel_size, self.output_size, self.output_ratio,
                          self.return_indices, _random_samples=samples)

        return KilnFractionalMaxPool
    return make


def _kiln_rrelu_class():
    nn = _torch().nn

    class KilnRReLU(nn.RReLU):
        """RReLU with Kiln's slopes in train mode: lower + (upper - lower) u
        in float32, u drawn for every element (frontend/import/Rectifier.cpp);
        x > 0 ? x : x * slope. Eval mode is torch's own (the mean slope)."""
        stream = None

        def forward(self, x):
            torch = _torch()
            if not self.training:
                return super().forward(x)
            u = torch.from_numpy(self.stream.uniform(tuple(x.shape)))
            slope = torch.tensor(self.lower, dtype=torch.float32) + u * torch.tensor(
                self.upper - self.lower, dtype=torch.float32)
            return torch.where(x > 0, x, x * slope)

    return KilnRReLU


def _noise_dims(kind, rank):
    """How many leading dimensions of the input draw their own noise value
    (the rest share it), as torch 1.13's functional forms shape the noise:
    Dropout1d/3d unsqueeze an unbatched input (2-D / not 5-D), Dropout2d and
    FeatureAlphaDropout call feature dropout on [N, C, *] as given."""
    if kind == "AlphaDropout":
        return rank
    if kind == "Dropout1d":
        if rank not in (2, 3):
            raise ValueError(f"Dropout1d: a {rank}-D input")
        return rank - 1
    if kind == "Dropout3d":
        return 2 if rank == 5 else 1
    return 2


def _kiln_dropout_variant_class(kind):
    """Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout with Kiln's mask:
    torch 1.13's _dropout_impl given the Bernoulli draw m = (u < 1 - p) of
    the noise shape [N, C, 1, ...] (or the input's for AlphaDropout)."""
    def make():
        nn = _torch().nn
        alpha = "Alpha" in kind

        class KilnDropoutVariant(getattr(nn, kind)):
            stream = None

            def forward(self, x):
                torch = _torch()
                if not self.training or self.p == 0:
                    return x
                if self.p == 1:
                    return x * torch.zeros((), dtype=x.dtype)
                k = _noise_dims(kind, x.dim())
                shape = tuple(x.shape[:k]) + (1,) * (x.dim() - k)
                u = self.stream.uniform(shape)
                noise = torch.from_numpy(u < np.float32(1 - self.p)).to(x.dtype)
                p = self.p
                if alpha:
                    # at::native::_dropout_impl, alpha_dropout = true.
                    a_ = 1.7580993408473766
                    a = 1. / math.sqrt((a_ * a_ * p + 1) * (1 - p))
                    b = noise.add(-1).mul_(a_ * a).add_(a_ * a * p)
                    noise.mul_(a)
                    return x * noise + b
                noise.div_(1 - p)
                return x * noise

        return KilnDropoutVariant
    return make


class _KilnDropoutCalls:
    """While active, every F.dropout call (nn.Dropout's, and the one inside
    F.multi_head_attention_forward) draws Kiln's mask from `stream`, in the
    order torch runs them: how a layer with dropouts inside is replayed."""

    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        F = _torch().nn.functional
        self.saved = F.dropout
        stream = self.stream

        def kiln_dropout(x, p=0.5, training=True, inplace=False):
            if not training:
                return x
            module = _kiln_dropout_class()(p=p)
            module.stream = stream
            return module(x)
        F.dropout = kiln_dropout
        return self

    def __exit__(self, *exc):
        _torch().nn.functional.dropout = self.saved
        return False


def _slow_path_call(module, *args, **kwargs):
    """module(*args, **kwargs) with gradients on: torch 1.13 then never takes
    the eval fast paths (_native_multi_head_attention,
    _transformer_encoder_layer_fwd), which fail without biases and are the
    same math otherwise. Outputs detached when gradients were off."""
    torch = _torch()
    grad = torch.is_grad_enabled()
    with torch.enable_grad():
        res = module(*args, **kwargs)
    if grad:
        return res
    if isinstance(res, tuple):
        return tuple(r.detach() if r is not None else None for r in res)
    return res.detach()


def _optional_inputs(rest, opts, names):
    """The masks a node gives after its tensors, by keyword: names whose
    option is true take the next input, in order."""
    rest = list(rest)
    return {name: rest.pop(0) if opts.get(name) else None for name in names}


def _kiln_multihead_attention_class():
    nn = _torch().nn

    class KilnMultiheadAttention(nn.MultiheadAttention):
        """torch's MultiheadAttention, whose attention-weight dropout draws
        Kiln's mask; everything else is torch's code. The model file's node
        options are the forward arguments: key_padding_mask and attn_mask
        say whether that mask follows the three inputs."""
        stream = None

        def kiln_call(self, args, opts):
            q, k, v, *rest = args
            masks = _optional_inputs(rest, opts, ["key_padding_mask", "attn_mask"])
            need = opts.get("need_weights", True)
            with _KilnDropoutCalls(self.stream):
                out, weights = _slow_path_call(
                    self, q, k, v, need_weights=need,
                    average_attn_weights=opts.get("average_attn_weights", True), **masks)
            return (out, weights) if need else (out,)

    return KilnMultiheadAttention


def _kiln_transformer_layer_class(kind):
    def make():
        nn = _torch().nn

        class KilnTransformerLayer(getattr(nn, kind)):
            """torch's transformer layer with Kiln's dropout masks (every
            nn.Dropout inside and the attention's, in torch's order); the
            node's options say which masks follow the layer's tensors."""
            stream = None
            tensors = 1 if kind == "TransformerEncoderLayer" else 2
            names = (["src_mask", "src_key_padding_mask"] if kind == "TransformerEncoderLayer"
                     else ["tgt_mask", "memory_mask", "tgt_key_padding_mask",
                           "memory_key_padding_mask"])

            def kiln_call(self, args, opts):
                masks = _optional_inputs(args[self.tensors:], opts, self.names)
                with _KilnDropoutCalls(self.stream):
                    return (_slow_path_call(self, *args[:self.tensors], **masks),)

        return KilnTransformerLayer
    return make


def _kiln_recurrent_class(kind):
    """torch's RNN / LSTM / GRU (or cell) called as the model file calls it:
    the states are inputs and outputs of their own (LSTM's (h, c) two of
    each). Dropout between layers happens inside torch's C++ (_VF), whose
    stream cannot be replayed: in train mode with dropout, the layers run
    one at a time through the same _VF function and Kiln's mask is applied
    between them, in the layout torch's output has."""
    def make():
        torch = _torch()
        nn = torch.nn

        class KilnRecurrent(getattr(nn, kind)):
            stream = None

            def kiln_call(self, args, opts):
                x, *states = args
                packed = isinstance(x, torch.nn.utils.rnn.PackedSequence)
                if packed:
                    # (data, lengths, states...): torch's PackedSequence
                    # holds its lengths.
                    states = states[1:]
                lstm = kind.startswith("LSTM")
                hx = (tuple(states) if lstm else states[0]) if states else None
                if kind.endswith("Cell"):
                    res = self(x, hx)
                    return tuple(res) if isinstance(res, tuple) else (res,)
                if self.training and self.dropout > 0 and self.num_layers > 1:
                    out, hn = self._layer_by_layer(x, hx)
                else:
                    out, hn = self(x, hx)
                if packed:
                    out.kiln_steps = x.kiln_steps
                return (out,) + (tuple(hn) if lstm else (hn,))

            def _layer_by_layer(self, x, hx):
                from torch import _VF
                lstm = kind == "LSTM"
                fn = {"LSTM": _VF.lstm, "GRU": _VF.gru}.get(kind) or (
                    _VF.rnn_relu if getattr(self, "nonlinearity", "tanh") == "relu" else _VF.rnn_tanh)
                d = 2 if self.bidirectional else 1
                if isinstance(x, torch.nn.utils.rnn.PackedSequence):
                    return self._packed_layer_by_layer(x, hx, fn, d)
                batched = x.dim() == 3
                if not batched:
                    x = x.unsqueeze(0 if self.batch_first else 1)
                n = x.shape[0 if self.batch_first else 1]
                if hx is None:
                    hx = self._zero_states(n, d, x.dtype)
                elif not batched:
                    hx = tuple(h.unsqueeze(1) for h in hx) if lstm else hx.unsqueeze(1)
                finals = []
                for layer in range(self.num_layers):
                    weights, h = self._layer(layer, d, hx)
                    res = fn(x, h, weights, self.bias, 1, 0.0, self.training, self.bidirectional,
                             self.batch_first)
                    x, state = res[0], res[1:]
                    finals.append(state)
                    if layer + 1 < self.num_layers:
                        x = self._dropout(x)
                hn = self._joined(finals)
                if not batched:
                    x = x.squeeze(0 if self.batch_first else 1)
                    hn = tuple(h.squeeze(1) for h in hn) if lstm else hn.squeeze(1)
                return x, hn

            def _packed_layer_by_layer(self, x, hx, fn, d):
                """As _layer_by_layer for a PackedSequence: _VF's packed
                form per layer (states in the sorted batch order), Kiln's
                mask applied to the padded time-major [T, B, H] output, as
                Kiln draws it."""
                rnn = torch.nn.utils.rnn
                if hx is None:
                    hx = self._zero_states(int(x.batch_sizes[0]), d, x.data.dtype)
                else:
                    hx = self.permute_hidden(hx, x.sorted_indices)
                steps, lengths = x.kiln_steps, rnn.pad_packed_sequence(x)[1]
                finals = []
                for layer in range(self.num_layers):
                    weights, h = self._layer(layer, d, hx)
                    res = fn(x.data, x.batch_sizes, h, weights, self.bias, 1, 0.0, self.training,
                             self.bidirectional)
                    x = rnn.PackedSequence(res[0], x.batch_sizes, x.sorted_indices,
                                           x.unsorted_indices)
                    finals.append(res[1:])
                    if layer + 1 < self.num_layers:
                        padded = self._dropout(rnn.pad_packed_sequence(x, total_length=steps)[0])
                        x = rnn.pack_padded_sequence(padded, lengths, enforce_sorted=False)
                return x, self.permute_hidden(self._joined(finals), x.unsorted_indices)

            def _zero_states(self, n, d, dtype):
                """torch's default hx: zeros (h, and c for LSTM)."""
                real = self.proj_size if getattr(self, "proj_size", 0) > 0 else self.hidden_size
                zeros = lambda size: torch.zeros(self.num_layers * d, n, size, dtype=dtype)
                return (zeros(real), zeros(self.hidden_size)) if kind == "LSTM" else zeros(real)

            def _layer(self, layer, d, hx):
                """One layer's flat weights (both directions) and states."""
                names = [name for group in self._all_weights[layer * d:(layer + 1) * d]
                         for name in group]
                part = slice(layer * d, (layer + 1) * d)
                h = tuple(v[part] for v in hx) if kind == "LSTM" else hx[part]
                return [getattr(self, name) for name in names], h

            def _dropout(self, x):
                """Kiln's dropout mask between layers (its stream)."""
                drop = _kiln_dropout_class()(p=self.dropout)
                drop.stream = self.stream
                return drop(x)

            def _joined(self, finals):
                """The layers' final states as h_n (and c_n)."""
                if kind == "LSTM":
                    return (torch.cat([f[0] for f in finals]), torch.cat([f[1] for f in finals]))
                return torch.cat([f[0] for f in finals])

        return KilnRecurrent
    return make


# Leaves that draw random numbers: torch's module replaced by one that draws
# from Kiln's stream (torch's own stream cannot be reproduced).
_RANDOM_LEAVES = {"Dropout": _kiln_dropout_class, "RReLU": _kiln_rrelu_class,
                  "MultiheadAttention": _kiln_multihead_attention_class,
                  "TransformerEncoderLayer": _kiln_transformer_layer_class("TransformerEncoderLayer"),
                  "TransformerDecoderLayer": _kiln_transformer_layer_class("TransformerDecoderLayer"),
                  "RNN": _kiln_recurrent_class("RNN"), "LSTM": _kiln_recurrent_class("LSTM"),
                  "GRU": _kiln_recurrent_class("GRU"), "RNNCell": _kiln_recurrent_class("RNNCell"),
                  "LSTMCell": _kiln_recurrent_class("LSTMCell"),
                  "GRUCell": _kiln_recurrent_class("GRUCell"),
                  "FractionalMaxPool2d": _kiln_fractional_max_pool_class(2),
                  "FractionalMaxPool3d": _kiln_fractional_max_pool_class(3)}
for _kind in ("Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"):
    _RANDOM_LEAVES[_kind] = _kiln_dropout_variant_class(_kind)


def _fractional_max_pool_function(name, rank):
    def call(stream, args, opts):
        x = args[0]
        samples = args[1] if len(args) > 1 else _kiln_samples(stream, x, rank)
        return getattr(_torch().nn.functional, name)(x, _random_samples=samples, **opts)
    return call


def _dropout_function(kind, training_default):
    """F.dropout, F.dropout1d/2d/3d, F.alpha_dropout, F.feature_alpha_dropout
    with Kiln's mask: the layer's Kiln-stream module in the mode the call's
    `training` option says (torch's default: True for dropout*, False for
    the alpha forms), whatever the model's mode."""
    def call(stream, args, opts):
        module = _RANDOM_LEAVES[kind]()(p=opts.get("p", 0.5))
        module.stream = stream
        module.train(bool(opts.get("training", training_default)))
        return module(args[0])
    return call


# Graph functions that draw random numbers: called with Kiln's stream, the
# node's inputs and options.
_RANDOM_FUNCTIONS = {name: _fractional_max_pool_function(name, rank)
                     for rank in (2, 3)
                     for name in ("fractional_max_pool%dd" % rank,
                                  "fractional_max_pool%dd_with_indices" % rank)}
for _name, _kind, _training in (("dropout", "Dropout", True), ("dropout1d", "Dropout1d", True),
                                ("dropout2d", "Dropout2d", True), ("dropout3d", "Dropout3d", True),
                                ("alpha_dropout", "AlphaDropout", False),
                                ("feature_alpha_dropout", "FeatureAlphaDropout", False)):
    _RANDOM_FUNCTIONS[_name] = _dropout_function(_kind, _training)


def _kiln_sync_batch_norm_class():
    nn = _torch().nn

    class KilnSyncBatchNorm(nn.SyncBatchNorm):
        """SyncBatchNorm in one process. torch 1.13's SyncBatchNorm.forward
        refuses CPU inputs; with a world size of 1 it computes what
        _BatchNorm.forward does (the same buffers and state_dict names)."""

        def forward(self, x):
            return nn.modules.batchnorm._BatchNorm.forward(self, x)

    return KilnSyncBatchNorm


# Leaves whose torch module cannot run here as it is (CUDA only).
_SINGLE_PROCESS_LEAVES = {"SyncBatchNorm": _kiln_sync_batch_norm_class}


def _zero_pad_class(rank):
    """nn.ZeroPad1d/3d (torch >= 2.1) as ConstantPad{rank}d(padding, 0.0)."""
    def make(padding):
        return getattr(_torch().nn, "ConstantPad%dd" % rank)(padding, 0.0)
    return make


# Layers torch 1.13 lacks, checked as the layer newer torch defines them as.
_NEWER_TORCH_LEAVES = {"ZeroPad1d": lambda: _zero_pad_class(1), "ZeroPad3d": lambda: _zero_pad_class(3)}


def _channel_shuffle(x, groups):
    """torch.channel_shuffle with a gradient (torch 1.13's has none): the
    same reshape / transpose / reshape, checked against torch's forward."""
    torch = _torch()
    n, c = x.shape[0], x.shape[1]
    y = x.reshape(n, groups, c // groups, -1).transpose(1, 2).reshape(x.shape)
    with torch.no_grad():
        ref = torch.channel_shuffle(x.detach(), groups)
        if not bool(((y == ref) | (y.isnan() & ref.isnan())).all()):
            raise AssertionError("the oracle's channel_shuffle differs from torch's")
    return y


def _channel_shuffle_class():
    nn = _torch().nn

    class KilnChannelShuffle(nn.ChannelShuffle):
        def forward(self, x):
            return _channel_shuffle(x, self.groups)

    return KilnChannelShuffle


def _embedding_bag_by_rows(inp, weight, offsets=None, scale_grad_by_freq=False, mode="mean",
                           per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """F.embedding_bag with scale_grad_by_freq as torch documents it (each
    row's gradient divided by that row's count in the batch, as F.embedding
    does): torch 1.13's CPU kernel divides by the count of the index at the
    row's position in the sorted unique list instead (EmbeddingBag.cpp,
    `counts[indices_data[i]]`). Built from F.embedding and a dense bag
    matrix; equal to F.embedding_bag in value."""
    torch = _torch()
    F = torch.nn.functional
    rows = weight.shape[0]
    if padding_idx is not None and padding_idx < 0:
        padding_idx += rows
    flat = inp.reshape(-1)
    n = flat.numel()
    e = F.embedding(flat, weight, scale_grad_by_freq=True)
    if inp.dim() == 2:
        offsets = torch.arange(0, n, inp.shape[1])
    ends = list(offsets[1:].tolist()) + ([] if include_last_offset else [n])
    starts = offsets.tolist()[:len(ends)]
    m = torch.zeros(len(ends), n)
    for b, (lo, hi) in enumerate(zip(starts, ends)):
        m[b, lo:hi] = 1
    if padding_idx is not None:
        m = m * (flat != padding_idx).to(m.dtype)
    if per_sample_weights is not None:
        m = m * per_sample_weights.reshape(1, -1)
    out = m @ e
    if mode == "mean":
        out = out / m.sum(1, keepdim=True).clamp(min=1)
    return out


def _embedding_bag(inp, weight, offsets=None, per_sample_weights=None, *, max_norm=None,
                   norm_type=2.0, scale_grad_by_freq=False, mode="mean", sparse=False,
                   include_last_offset=False, padding_idx=None):
    """F.embedding_bag with the model file's input order (input, weight,
    offsets, per_sample_weights: all four positional; the sweep of seed
    1207 found per_sample_weights taken for max_norm)."""
    if scale_grad_by_freq:
        return _embedding_bag_by_rows(inp, weight, offsets, True, mode, per_sample_weights,
                                      include_last_offset, padding_idx)
    return _torch().nn.functional.embedding_bag(
        inp, weight, offsets, max_norm, norm_type, False, mode, sparse, per_sample_weights,
        include_last_offset, padding_idx)


def _embedding_bag_class():
    nn = _torch().nn

    class KilnEmbeddingBag(nn.EmbeddingBag):
        def forward(self, inp, offsets=None, per_sample_weights=None):
            if not self.scale_grad_by_freq:
                return super().forward(inp, offsets, per_sample_weights)
            return _embedding_bag_by_rows(inp, self.weight, offsets, True, self.mode,
                                          per_sample_weights, self.include_last_offset,
                                          self.padding_idx)

    return KilnEmbeddingBag


# Leaves and graph functions whose torch 1.13 forward has no derivative.
_DIFFERENTIABLE_LEAVES = {"ChannelShuffle": _channel_shuffle_class,
                          "EmbeddingBag": _embedding_bag_class}
_DIFFERENTIABLE_FUNCTIONS = {"channel_shuffle": _channel_shuffle}


# (The transformer stacks too: the model file holds their layers and norm;
# graph nodes call those.)
_CONTAINERS = {"Sequential", "ModuleList", "ModuleDict", "Module", "TransformerEncoder",
               "TransformerDecoder", "Transformer", "ParameterList", "ParameterDict"}
# Graph functions whose torch signature takes the inputs as one sequence.
_LIST_FUNCTIONS = {"cat", "stack"}


def _slice(x, dim=0, start=None, end=None, step=1):
    """libtorch's Tensor::slice: Python's x[..., start:end:step] on dim."""
    index = [slice(None)] * x.dim()
    index[dim] = slice(start, end, step)
    return x[tuple(index)]


def _fuse_conv_bn_weights(*args, eps, transpose=False, conv_bias=True, bn_weight=True,
                          bn_bias=True):
    """torch.nn.utils.fuse_conv_bn_weights with the model file's inputs:
    those the booleans say are absent are torch's None."""
    it = iter(args)
    w = next(it)
    b = next(it) if conv_bias else None
    rm, rv = next(it), next(it)
    g = next(it) if bn_weight else None
    beta = next(it) if bn_bias else None
    return _torch().nn.utils.fusion.fuse_conv_bn_weights(w, b, rm, rv, eps, g, beta, transpose)


def _fuse_linear_bn_weights(*args, eps, linear_bias=True):
    it = iter(args)
    w = next(it)
    b = next(it) if linear_bias else None
    rm, rv, g, beta = next(it), next(it), next(it), next(it)
    return _torch().nn.utils.fusion.fuse_linear_bn_weights(w, b, rm, rv, eps, g, beta)


# Graph functions Python's torch spells otherwise: Tensor::slice is
# indexing, index_select's constant index is a list in the model file.
_ADAPTED_FUNCTIONS = {
    "fuse_conv_bn_weights": _fuse_conv_bn_weights,
    "fuse_linear_bn_weights": _fuse_linear_bn_weights,
    "slice": _slice,
    # The index is an int64 input, or a constant option (a list).
    "index_select": lambda x, idx=None, dim=0, index=None: _torch().index_select(
        x, dim, idx if idx is not None else _torch().tensor(index, dtype=_torch().int64)),
    "gather": lambda x, idx, dim, sparse_grad=False: _torch().gather(
        x, dim, idx, sparse_grad=sparse_grad),
    "embedding_bag": _embedding_bag,
}
# Graph functions whose options may be null where torch's signature has no
# None (a tensor operand instead of the number option `other`, squeeze's
# dim): null options are left out of the call.
def _pack_padded_sequence(args, batch_first=False, enforce_sorted=True, lengths=None):
    """torch's pack_padded_sequence with the model file's inputs (input, and
    int64 lengths unless the option gives them): the PackedSequence (which
    remembers the compiled T for pad_packed_sequence and Kiln's dropout
    layout), then the lengths."""
    torch = _torch()
    x = args[0]
    lengths = args[1] if len(args) > 1 else torch.tensor(lengths, dtype=torch.int64)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=batch_first,
                                                     enforce_sorted=enforce_sorted)
    packed.kiln_steps = x.shape[1 if batch_first else 0]
    return packed, lengths


def _pack_sequence(args, enforce_sorted=True):
    torch = _torch()
    packed = torch.nn.utils.rnn.pack_sequence(list(args), enforce_sorted=enforce_sorted)
    packed.kiln_steps = max(a.shape[0] for a in args)
    return packed, torch.tensor([a.shape[0] for a in args], dtype=torch.int64)


_RNN_UTILS = {
    "utils.rnn.pack_padded_sequence": _pack_padded_sequence,
    "utils.rnn.pad_packed_sequence": lambda args, **o: _torch().nn.utils.rnn.pad_packed_sequence(
        args[0], **o),
    "utils.rnn.pad_sequence": lambda args, **o: _torch().nn.utils.rnn.pad_sequence(
        list(args), **o),
    "utils.rnn.pack_sequence": _pack_sequence,
    "utils.rnn.unpack_sequence": lambda args: _torch().nn.utils.rnn.unpack_sequence(args[0]),
    "utils.rnn.unpad_sequence": lambda args, lengths=None, **o: _torch().nn.utils.rnn.unpad_sequence(
        args[0], args[1] if len(args) > 1 else _torch().tensor(lengths), **o),
}


_NULL_MEANS_ABSENT = {"add", "sub", "mul", "div", "pow", "rsub", "squeeze",
                      "gt", "lt", "ge", "le", "eq", "ne"}
# Graph functions that are F.<name>: torch.<name> exists with another
# signature (torch.batch_norm(input, weight, bias, running_mean, ...)).
_FUNCTIONAL_FIRST = {"batch_norm", "instance_norm", "embedding",
                     # torch.<name> exists with aten's positional signature
                     "binary_cross_entropy_with_logits", "poisson_nll_loss", "kl_div",
                     "hinge_embedding_loss", "margin_ranking_loss", "cosine_embedding_loss",
                     "triplet_margin_loss", "ctc_loss"}
# Graph functions whose weight options are tensors in torch (F.binary_cross_entropy).
_LOSS_FUNCTIONS = {"l1_loss", "mse_loss", "huber_loss", "smooth_l1_loss", "soft_margin_loss",
                   "binary_cross_entropy", "binary_cross_entropy_with_logits", "poisson_nll_loss",
                   "kl_div", "multilabel_soft_margin_loss", "hinge_embedding_loss",
                   "margin_ranking_loss", "cosine_embedding_loss", "gaussian_nll_loss",
                   "triplet_margin_loss", "triplet_margin_with_distance_loss"}


def _infinite_p(opts):
    """PairwiseDistance's p = "inf" / "-inf" (JSON has no infinity) as torch's float."""
    if opts.get("p") in ("inf", "-inf"):
        return dict(opts, p=float(opts["p"]))
    return opts


def _initial(shape, init):
    """A module's own parameter as the model file's `init` says, drawn
    with torch.nn.init (the seeded generator)."""
    nn = _torch().nn
    t = _torch().empty(shape)
    kind = init["kind"]
    if kind == "zeros":
        return nn.init.zeros_(t)
    if kind == "ones":
        return nn.init.ones_(t)
    if kind == "constant":
        return nn.init.constant_(t, init["value"])
    if kind == "uniform":
        return nn.init.uniform_(t, init["a"], init["b"])
    if kind == "normal":
        return nn.init.normal_(t, init["mean"], init["std"])
    raise ValueError(f"unknown init kind {kind!r}")


def _build_module(spec, where):
    torch = _torch()
    nn = torch.nn
    kind = spec.get("type")
    opts = spec.get("options", {}) or {}
    if kind in _CONTAINERS or (isinstance(kind, str) and kind not in _RANDOM_LEAVES
                               and not hasattr(nn, kind)
                               and ("children" in spec or "parameters" in spec or "buffers" in spec)):
        # A plain container, or a user-defined module of the DSL (its class
        # name, which torch.nn does not have), keeps torch's state_dict
        # naming (<child>.<param>); graph nodes name the leaves they call, so
        # no forward is needed here.
        m = nn.Module()
        # Its own parameters (nn.Parameter attributes, a ParameterList's or
        # ParameterDict's entries) first: torch's state_dict order.
        for p in spec.get("parameters", []):
            m.register_parameter(p["name"], nn.Parameter(_initial(p["shape"], p["init"])))
        for b in spec.get("buffers", []):
            m.register_buffer(b["name"], _initial(b["shape"], b["init"]))
        for i, child in enumerate(spec.get("children", [])):
            m.add_module(child["name"], _build_module(child, f"{where}.children[{i}]"))
        return m
    # Every leaf is torch.nn.<type>(**options): the model file records the
    # constructor arguments under torch's names.
    if kind in _RANDOM_LEAVES:
        ctor = _RANDOM_LEAVES[kind]()
    elif kind in _SINGLE_PROCESS_LEAVES:
        ctor = _SINGLE_PROCESS_LEAVES[kind]()
    elif kind in _DIFFERENTIABLE_LEAVES:
        ctor = _DIFFERENTIABLE_LEAVES[kind]()
    elif kind in _NEWER_TORCH_LEAVES and not hasattr(nn, kind):
        ctor = _NEWER_TORCH_LEAVES[kind]()
    else:
        ctor = getattr(nn, kind, None)
    if ctor is None:
        raise ValueError(f"{where}: torch.nn has no module type {kind!r}")
    opts = _infinite_p(opts)
    if kind in ("Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"):
        # torch's Upsample takes a per-dimension scale_factor as a tuple only
        # (float() of anything else); JSON has lists.
        opts = {k: tuple(v) if isinstance(v, list) else v for k, v in opts.items()}
    if kind.startswith("Lazy") and hasattr(ctor, "cls_to_become"):
        # A lazy layer's model file holds the sizes the DSL resolved from
        # its first input (num_features): the module it becomes takes them.
        ctor = ctor.cls_to_become
    return _reparametrize(ctor(**opts), spec.get("reparametrize", []))


def _reparametrize(m, entries):
    """torch.nn.utils' hooks on a layer, as the node's `reparametrize` says.
    A pruned parameter gets a random mask (random_unstructured, 30%): the
    model file says only that it is masked, the mask is a buffer of the
    weights (init.safetensors), so any mask checks Kiln's use of it."""
    utils = _torch().nn.utils
    for r in entries:
        name = r["parameter"]
        if r["kind"] == "prune":
            import torch.nn.utils.prune as prune
            prune.random_unstructured(m, name, amount=0.3)
        elif r["kind"] == "weight_norm":
            utils.weight_norm(m, name, dim=r.get("dim", 0))
        elif r["kind"] == "spectral_norm":
            utils.spectral_norm(m, name, n_power_iterations=r.get("n_power_iterations", 1),
                                eps=r.get("eps", 1e-12), dim=r.get("dim", 0))
        elif r["kind"] == "parametrizations.spectral_norm":
            utils.parametrizations.spectral_norm(
                m, name, n_power_iterations=r.get("n_power_iterations", 1),
                eps=r.get("eps", 1e-12), dim=r.get("dim", 0))
        elif r["kind"] == "parametrizations.weight_norm":
            # torch 2.1's parametrizations.weight_norm (1.13 has none): its
            # _WeightNorm through register_parametrization.
            dim = r.get("dim", 0)
            utils.parametrize.register_parametrization(m, name, _weight_norm_parametrization(
                -1 if dim is None else dim))
        else:
            raise ValueError(f"unknown re-parametrization {r['kind']!r}")
    return m


def _weight_norm_parametrization(dim):
    """torch 2.1's torch.nn.utils.parametrizations._WeightNorm: original0 =
    g, original1 = v, weight = torch._weight_norm(v, g, dim)."""
    torch = _torch()

    class WeightNorm(torch.nn.Module):
        def forward(self, weight_g, weight_v):
            return torch._weight_norm(weight_v, weight_g, dim)

        def right_inverse(self, weight):
            return torch.norm_except_dim(weight, 2, dim), weight

    return WeightNorm()


class KilnModel:
    """A torch model interpreting a Kiln model file's module tree and graph."""

    def __init__(self, doc):
        torch = _torch()
        self.doc = doc
        self.root = _build_module(doc["module"], "module")
        self.inputs = [i["name"] for i in doc["inputs"]]
        self.input_specs = doc["inputs"]
        self.outputs = list(doc["outputs"])
        self.graph = doc.get("graph")
        self.torch = torch
        self.rng = KilnRandom()
        for m in self.root.modules():
            if hasattr(m, "stream"):
                m.stream = self.rng

    def parameters(self):
        return list(self.root.parameters())

    def state_dict(self):
        return self.root.state_dict()

    def named_parameters(self):
        return list(self.root.named_parameters())

    def forward(self, *xs):
        """One kernel call's forward: its random draws come from one call's
        counters, and the stream advances afterwards like Kiln's runtime."""
        try:
            return self._forward(*xs)
        finally:
            self.rng.end_call()

    def _forward(self, *xs):
        torch = self.torch
        F = torch.nn.functional
        values = dict(zip(self.inputs, xs))
        if self.graph is None:
            # Without a graph the root is a Sequential applied to the one input.
            v = xs[0]
            for child in self.root.children():
                v = child(v)
            return [v]
        for k, node in enumerate(self.graph):
            args = [values[n] for n in node["inputs"]]
            opts = node.get("options", {}) or {}
            if node.get("function") in _LOSS_FUNCTIONS:
                opts = _loss_options(opts)
            if "parameter" in node:
                # torch.fx's get_attr: the parameter itself.
                key = node["parameter"]
                try:
                    res = self.root.get_parameter(key)
                except AttributeError:
                    res = self.root.get_buffer(key)
            elif "module" in node:
                module = self.root.get_submodule(node["module"])
                if hasattr(module, "kiln_call"):
                    # A layer with forward arguments besides its inputs.
                    res = module.kiln_call(args, opts)
                else:
                    # module(...), not module.forward(...): torch.nn.utils'
                    # hooks (weight_norm, spectral_norm, prune) recompute
                    # the weight before each call.
                    method = node.get("method", "forward")
                    res = module(*args) if method == "forward" else getattr(module, method)(*args)
            elif node["function"] in _RANDOM_FUNCTIONS:
                res = _RANDOM_FUNCTIONS[node["function"]](self.rng, args, opts)
            elif node["function"] in _RNN_UTILS:
                res = _RNN_UTILS[node["function"]](args, **opts)
            else:
                # A graph function is torch.<function>(*inputs, **options),
                # or (inputs, **options) for those taking a tensor list;
                # F.<function> where torch has none (F.avg_pool2d).
                name = node["function"]
                opts = _infinite_p(opts)
                if name in _NULL_MEANS_ABSENT:
                    opts = {k: v for k, v in opts.items() if v is not None}
                fn = (_DIFFERENTIABLE_FUNCTIONS.get(name) or _ADAPTED_FUNCTIONS.get(name)
                      or (getattr(F, name) if name in _FUNCTIONAL_FIRST
                          else getattr(torch, name, None) or getattr(F, name, None)))
                if fn is None:
                    raise ValueError(f"graph[{k}]: torch has no function {node['function']!r}")
                res = fn(args, **opts) if node["function"] in _LIST_FUNCTIONS else fn(*args, **opts)
            outs = node["outputs"]
            res = res if isinstance(res, (tuple, list)) else [res]
            for name, r in zip(outs, res):
                values[name] = r
        return [_padded(values[n]) for n in self.outputs]


def _padded(value):
    """A model output as Kiln gives it: a PackedSequence's data in the
    padded time-major layout of the compiled T steps (zeros past each
    length)."""
    rnn = _torch().nn.utils.rnn
    if isinstance(value, rnn.PackedSequence):
        return rnn.pad_packed_sequence(value, total_length=value.kiln_steps)[0]
    return value


# Loss options that torch takes as tensors and a model file holds as lists.
_TENSOR_LOSS_OPTIONS = ("weight", "pos_weight")


# TripletMarginWithDistanceLoss's built-in distances (the model file names
# them; torch takes a callable).
def _distance(name):
    F = _torch().nn.functional
    if name == "cosine_distance":
        return lambda x, y: 1.0 - F.cosine_similarity(x, y, dim=-1)
    if name == "pairwise_distance":
        return F.pairwise_distance
    raise ValueError(f"unknown distance_function {name!r}")


def _loss_options(opts):
    torch = _torch()
    out = {k: torch.tensor(v, dtype=torch.float32) if k in _TENSOR_LOSS_OPTIONS and isinstance(v, list) else v
           for k, v in (opts or {}).items()}
    if isinstance(out.get("distance_function"), str):
        out["distance_function"] = _distance(out["distance_function"])
    return out


def loss_arguments(doc, outs, target, xs=()):
    """The loss's arguments: what training.loss.inputs names (model outputs,
    the target and model inputs `xs`), by default the first outputs (as many
    as the loss takes besides its target), then the target."""
    training = doc["training"]
    if "output" in training["loss"]:  # the loss is a model output
        return [outs[doc["outputs"].index(training["loss"]["output"])]]
    names = training["loss"].get("inputs")
    if names is None:
        arity = 3 if training["loss"]["type"] in _SHAPED_TARGET_LOSSES else 2
        return list(outs[:arity - 1]) + [target]
    by_name = {spec["name"]: x for spec, x in zip(doc["inputs"], xs)}
    by_name.update(zip(doc["outputs"], outs))
    if "target" in training:
        by_name[training["target"]["name"]] = target
    return [by_name[n] for n in names]


def make_loss(training):
    """torch.nn.<type>(**options) of the training section's loss."""
    nn = _torch().nn
    loss = training["loss"]
    if "output" in loss:
        return lambda value: value  # computed in the graph
    return getattr(nn, loss["type"])(**_loss_options(loss.get("options", {})))


def make_optimizer(training, params, named=None):
    """torch.optim.<type>(params, **options) of the training section; with
    param_groups, torch's list of group dicts, each {"params": the named
    parameters or all parameters of the named modules, **its options}
    (`named`: the model's named_parameters())."""
    opt = training["optimizer"]
    options = opt.get("options", {}) or {}
    groups = opt.get("param_groups")
    if groups is None:
        return getattr(_torch().optim, opt["type"])(params, **options)
    named = list(named)
    torch_groups = []
    for g in groups:
        picked = [p for entry in g["params"] for n, p in named
                  if n == entry or n.startswith(entry + ".")]
        torch_groups.append({"params": picked, **(g.get("options", {}) or {})})
    if not any("type" in g for g in groups):
        return getattr(_torch().optim, opt["type"])(torch_groups, **options)
    # Groups of other optimizers: torch's user steps several optimizers;
    # one per group (in file order), a typed group with its own options only.
    optimizers = []
    for g, tg in zip(groups, torch_groups):
        kind = g.get("type", opt["type"])
        kwargs = dict(tg)
        params_of = kwargs.pop("params")
        if "type" not in g:
            kwargs = {**options, **kwargs}
        optimizers.append(getattr(_torch().optim, kind)(params_of, **kwargs))
    return _Optimizers(optimizers)


class _Optimizers:
    """Several torch optimizers stepped together, as one: param_groups in
    order, the union of their states."""

    def __init__(self, optimizers):
        self.optimizers = optimizers

    @property
    def param_groups(self):
        return [g for o in self.optimizers for g in o.param_groups]

    @property
    def state(self):
        merged = {}
        for o in self.optimizers:
            merged.update(o.state)
        return merged

    def zero_grad(self):
        for o in self.optimizers:
            o.zero_grad()

    def step(self):
        for o in self.optimizers:
            o.step()


class _Schedulers:
    """One scheduler per optimizer of an _Optimizers, stepped together."""

    def __init__(self, schedulers):
        self.schedulers = schedulers

    def step(self):
        for s in self.schedulers:
            s.step()


def _cycles_momentum(spec):
    """Whether a scheduler spec (or one it combines) cycles the momentum:
    CyclicLR and OneCycleLR with cycle_momentum (torch's default True)."""
    if spec["type"] in ("CyclicLR", "OneCycleLR") and (spec.get("options") or {}).get("cycle_momentum", True):
        return True
    return any(_cycles_momentum(c) for c in spec.get("schedulers", []))


def make_scheduler(spec, opt):
    """torch's scheduler for the training section's `scheduler` (its options
    are torch's keyword arguments; ChainedScheduler and SequentialLR build
    their `schedulers` on the same optimizer first, as torch's user does;
    SWALR is torch.optim.swa_utils')."""
    torch = _torch()
    if isinstance(opt, _Optimizers):
        return _Schedulers([make_scheduler(spec, o) for o in opt.optimizers])
    kind, options = spec["type"], dict(spec.get("options", {}) or {})
    options.pop("verbose", None)
    children = [make_scheduler(c, opt) for c in spec.get("schedulers", [])]
    if kind == "ChainedScheduler":
        return torch.optim.lr_scheduler.ChainedScheduler(children)
    if kind == "SequentialLR":
        return torch.optim.lr_scheduler.SequentialLR(opt, children, **options)
    if kind == "SWALR":
        return torch.optim.swa_utils.SWALR(opt, **options)
    return getattr(torch.optim.lr_scheduler, kind)(opt, **options)


def _np(t):
    if t.is_sparse:  # an Embedding(sparse=True) weight's gradient
        t = t.to_dense()
    return t.detach().cpu().contiguous().numpy().copy()


def _load_model(path, seed):
    torch = _torch()
    torch.set_num_threads(1)  # deterministic summation order run to run
    with open(path) as f:
        doc = json.load(f)
    torch.manual_seed(seed)
    model = KilnModel(doc)
    # training.frozen: torch's requires_grad_(False) on those parameters
    # (keys) and on every parameter under those module paths.
    for key in doc.get("training", {}).get("frozen", []):
        for name, p in model.root.named_parameters():
            if name == key or name.startswith(key + "."):
                p.requires_grad_(False)
    return doc, model


# The target of a training section without one (a loss of model outputs
# only: triplet losses, {"output": ...}): no tensor in the batch file, NULL
# for the driver.
NO_TARGET = ("no target",)


def _make_target(doc, out_shape, gen, ignored):
    torch = _torch()
    training = doc["training"]
    loss = training["loss"]
    if "target" not in training:
        return NO_TARGET
    spec = training.get("target", {})
    if "output" in loss:  # a declared but unused target
        return torch.randn(*spec["shape"], generator=gen)
    if loss["type"] in ("CrossEntropyLoss", "NLLLoss") and spec.get("dtype", "int64") == "int64":
        # Class indices: the output's shape without the class dimension (1,
        # or 0 for an unbatched [C] output).
        cdim = 0 if len(out_shape) == 1 else 1
        c = out_shape[cdim]
        shape = out_shape[:cdim] + out_shape[cdim + 1:]
        t = torch.randint(0, c, tuple(shape), generator=gen, dtype=torch.int64)
        ii = (loss.get("options", {}) or {}).get("ignore_index", -100)
        flat = t.view(-1)
        if ignored:
            # Ignored targets at a spread of positions; at least one stays live
            # so that a mean over the live ones is defined.
            idx = torch.randperm(flat.numel(), generator=gen)[:min(ignored, flat.numel() - 1)]
            flat[idx] = ii
        if bool((flat == ii).all()) and 0 <= ii < c and flat.numel() > 0:
            # ignore_index is a class that every random target hit: keep one
            # live, or a mean divides 0 by 0.
            flat[0] = (ii + 1) % c
        if "shape" in spec and list(spec["shape"]) != list(shape):
            raise ValueError(f"training.target shape {spec['shape']} != {shape}")
        return t
    if loss["type"] in _SHAPED_TARGET_LOSSES:
        return _shaped_target(loss, tuple(spec["shape"]), gen)
    if loss["type"] == "CTCLoss":
        # Labels other than the blank, of the declared [N, S] (or [S]) shape;
        # out_shape is log_probs' (classes last).
        c, blank = out_shape[-1], (loss.get("options", {}) or {}).get("blank", 0)
        t = torch.randint(0, c - 1, tuple(spec["shape"]), generator=gen, dtype=torch.int64)
        return t + (t >= blank).to(torch.int64)
    if loss["type"] == "MultiMarginLoss":
        # One class index per row of [N, C] (a scalar for [C]).
        c = out_shape[-1]
        return torch.randint(0, c, tuple(out_shape[:-1]), generator=gen, dtype=torch.int64)
    if loss["type"] == "MultiLabelMarginLoss":
        # Per row: some classes (repeats allowed), then -1, then classes
        # torch never reads (after the -1); a row may start with -1.
        c = out_shape[-1]
        t = torch.randint(0, c, tuple(out_shape), generator=gen, dtype=torch.int64)
        rows = t.view(-1, c)
        for r in range(rows.shape[0]):
            k = int(torch.randint(0, c + 1, (1,), generator=gen))
            if k < c:
                rows[r, k] = -1
        return t
    if loss["type"] == "CrossEntropyLoss":
        # Class probabilities of the output's shape.
        cdim = 0 if len(out_shape) == 1 else 1
        p = torch.rand(tuple(out_shape), generator=gen) + 0.05
        return p / p.sum(dim=cdim, keepdim=True)
    return _float_target(loss, tuple(out_shape), gen)


# Losses whose target's shape is the training section's (not the first
# output's): several inputs, the target one of them.
_SHAPED_TARGET_LOSSES = {"MarginRankingLoss", "CosineEmbeddingLoss", "GaussianNLLLoss",
                         "TripletMarginLoss", "TripletMarginWithDistanceLoss"}


def _shaped_target(loss, shape, gen):
    """+-1 for CosineEmbeddingLoss, +-[0.5, 1.5) for MarginRankingLoss
    (torch's formula -y (x1 - x2) + margin takes any y; +-1 alone cancels
    a bias's gradient exactly in small batches), normal otherwise (the
    triplet losses ignore it)."""
    torch = _torch()
    if loss["type"] in ("MarginRankingLoss", "CosineEmbeddingLoss"):
        u = torch.rand(shape, generator=gen)
        t = torch.where(u < 0.5, -torch.ones(shape), torch.ones(shape))
        if loss["type"] == "MarginRankingLoss":
            return t * (0.5 + torch.rand(shape, generator=gen))
        # One pair at least with y = 1 (loss 1 - cos > 0): else a margin
        # above every cosine leaves nothing to differentiate.
        t.view(-1)[0] = 1.0
        return t
    return torch.randn(shape, generator=gen)


_DOMAIN_TARGET_LOSSES = {"BCELoss", "BCEWithLogitsLoss", "MultiLabelSoftMarginLoss", "SoftMarginLoss",
                         "HingeEmbeddingLoss", "PoissonNLLLoss", "KLDivLoss"}


def _float_target(loss, shape, gen):
    """A float target in the domain of `loss` (probabilities for BCE, counts
    for Poisson, +-1 for margins, ...), with the edge values torch singles
    out (exact 0 and 1) at some elements."""
    torch = _torch()
    kind = loss["type"]
    opts = loss.get("options", {}) or {}
    if kind not in _DOMAIN_TARGET_LOSSES:
        # The first draw, as before these losses existed: older cases keep
        # their targets.
        return torch.randn(shape, generator=gen)  # a tuple: [] is a scalar
    u = torch.rand(shape, generator=gen)
    pick = torch.rand(shape, generator=gen)
    if kind in ("BCELoss", "BCEWithLogitsLoss"):
        return torch.where(pick < 0.2, torch.zeros(shape), torch.where(pick > 0.8, torch.ones(shape), u))
    if kind == "MultiLabelSoftMarginLoss":
        return (u < 0.5).float()
    if kind in ("SoftMarginLoss", "HingeEmbeddingLoss"):
        return torch.where(u < 0.5, -torch.ones(shape), torch.ones(shape))
    if kind == "PoissonNLLLoss":
        return torch.floor(u * 6) + torch.where(pick < 0.3, torch.rand(shape, generator=gen), torch.zeros(shape))
    if kind == "KLDivLoss":
        p = torch.where(pick < 0.2, torch.zeros(shape), u)  # exact zeros: xlogy(0, 0) = 0
        return torch.log(u) if opts.get("log_target") else p
    raise ValueError(f"{kind}: no target domain")


def clip_gradients(training, params):
    """The training section's clip_grad_norm / clip_grad_value, applied by
    torch's own utilities between backward and the optimizer step."""
    torch = _torch()
    if "clip_grad_norm" in training:
        c = training["clip_grad_norm"]
        torch.nn.utils.clip_grad_norm_(params, c["max_norm"], float(c.get("norm_type", 2.0)),
                                       c.get("error_if_nonfinite", False))
    if "clip_grad_value" in training:
        torch.nn.utils.clip_grad_value_(params, training["clip_grad_value"]["clip_value"])


def lbfgs_state(opt, named):
    """torch.optim.LBFGS's state as Kiln's tensors, named after the first
    parameter p0 (torch keeps it under opt.state[p0]); N is the number of
    parameter elements (the flat vectors concatenate the parameters in
    named_parameters order), H the history_size:
      <p0>.d, .prev_flat_grad          f32 [N]
      <p0>.old_dirs, .old_stps         f32 [H, N]  torch's lists in order in
                                                   rows 0..len-1, zeros after
      <p0>.ro                          f32 [H]     likewise
      <p0>.num_old                     f32 []      len(old_dirs)
      <p0>.t, .H_diag, .prev_loss      f32 []      (Python numbers or 0-dim
                                                   tensors in torch)
      <p0>.n_iter, .func_evals         f32 []      (Kiln keeps every LBFGS
                                                   state in f32: exact to 2^24)
    A key torch has not set (a first step that returned at once, its
    gradient already within tolerance_grad) is zeros, as Kiln starts.
    torch's scratch list 'al' has no Kiln tensor."""
    named = list(named)
    p0 = named[0][0]
    n = sum(p.numel() for _, p in named)
    hist = opt.param_groups[0]["history_size"]
    state = opt.state.get(named[0][1], {})
    f32 = lambda v: np.array(float(v), dtype=np.float32)

    def flat(key):
        v = state.get(key)
        return np.zeros(n, np.float32) if v is None else _np(v).astype(np.float32).reshape(n)

    def rows(key, width):
        out = np.zeros((hist, width) if width else (hist,), np.float32)
        for i, v in enumerate(state.get(key) or []):
            out[i] = _np(v).reshape(width) if width else float(v)
        return out

    ref = {f"{p0}.d": flat("d"), f"{p0}.prev_flat_grad": flat("prev_flat_grad"),
           f"{p0}.old_dirs": rows("old_dirs", n), f"{p0}.old_stps": rows("old_stps", n),
           f"{p0}.ro": rows("ro", 0),
           f"{p0}.num_old": f32(len(state.get("old_dirs") or []))}
    for key in ("t", "H_diag", "prev_loss"):
        ref[f"{p0}.{key}"] = f32(state.get(key, 0.0))
    for key in ("n_iter", "func_evals"):
        ref[f"{p0}.{key}"] = f32(int(state.get(key, 0)))
    return ref


def run_reference(doc, model, xs, target, steps, micro=None, cycle=None, update_bn=None):
    """Forward, loss, gradients at the current parameters, then `steps` SGD
    steps on the same batch. Returns a dict name -> numpy array.
    With `micro` (the micro-batches [(xs, target)], the first being xs and
    target), gradient accumulation: each step is loss.backward() on every
    micro-batch, then clipping and optimizer.step(); after the steps one more
    round of backward() calls leaves `<param>.grad_sum` (Kiln's grad sums).
    With `update_bn` (batches [(xs, target)]): after the steps,
    torch.optim.swa_utils.update_bn over their inputs (torch's own function:
    single-input models), so that the buffers compared are its.
    With `cycle` (batches [(xs, target)], the first being xs and target),
    step s trains on batch s % len(cycle) (an update that depends on which
    rows a batch reads, SparseAdam's, shows only when batches differ).
    LBFGS: each step is opt.step(closure) (the closure zero_grad, loss on
    the batch, backward), its loss the step's first evaluation; its global
    state is compared as lbfgs_state's tensors."""
    torch = _torch()
    ref = {}
    outs = model.forward(*xs)
    for i, o in enumerate(outs):
        ref[f"output.{i}"] = _np(o)
    if "training" not in doc or target is None:
        return ref
    loss_fn = make_loss(doc["training"])
    # gradients is a kernel call of its own, like the driver's: a forward
    # that draws fresh random samples and updates buffers (running
    # statistics) again.
    outs = model.forward(*xs)
    loss = loss_fn(*loss_arguments(doc, outs, target, xs))
    ref["loss"] = _np(loss)
    if loss.dim() != 0:
        return ref  # reduction "none": a forward-loss check only
    loss.backward()
    for name, p in model.named_parameters():
        # None: the loss does not depend on p (a Linear that only feeds a
        # mask); Kiln returns zeros.
        ref[f"{name}.grad"] = _np(p.grad if p.grad is not None else torch.zeros_like(p))
    params = [p for _, p in model.named_parameters()]
    opt = make_optimizer(doc["training"], params, model.named_parameters())
    # A declared scheduler steps once per optimizer step, as the driver's
    # kiln_model_scheduler_step does.
    sched = make_scheduler(doc["training"]["scheduler"], opt) if "scheduler" in doc["training"] else None
    opt.zero_grad()
    losses = []
    lbfgs = doc["training"]["optimizer"]["type"] == "LBFGS"
    if lbfgs and (micro or "clip_grad_norm" in doc["training"] or "clip_grad_value" in doc["training"]):
        # kilnc refuses both for LBFGS (its step re-evaluates the loss itself).
        raise ValueError("LBFGS: no reference with gradient accumulation or clipping")

    def closure():
        # torch's LBFGS closure: zero_grad, loss, backward (on the batch).
        opt.zero_grad()
        loss = loss_fn(*loss_arguments(doc, model.forward(*xs), target, xs))
        loss.backward()
        return loss

    for s in range(steps):
        if cycle:
            xs, target = cycle[s % len(cycle)]
        if lbfgs:
            # One step is up to max_iter iterations, each one or more
            # closure calls; the step's loss is the first call's (torch's
            # orig_loss), at the parameters the step starts from.
            losses.append(float(opt.step(closure)))
        else:
            opt.zero_grad()
            for mxs, mtarget in micro or [(xs, target)]:
                loss = loss_fn(*loss_arguments(doc, model.forward(*mxs), mtarget, mxs))
                losses.append(float(loss))
                loss.backward()
            clip_gradients(doc["training"], params)
            opt.step()
        if sched is not None:
            sched.step()
    ref["losses"] = np.array(losses, dtype=np.float32)
    if update_bn:
        _update_bn(model, [bxs for bxs, _ in update_bn])
    if cycle:
        xs, target = cycle[0]  # the eval forward below reads the batch
    if micro:
        opt.zero_grad()  # set_to_none=False in 1.13: zeros, as Kiln's apply leaves them
        for mxs, mtarget in micro:
            loss_fn(*loss_arguments(doc, model.forward(*mxs), mtarget, mxs)).backward()
        for name, p in model.named_parameters():
            ref[f"{name}.grad_sum"] = _np(p.grad)
    for name, p in model.named_parameters():
        ref[name] = _np(p)
    # Every state tensor torch keeps per parameter with the parameter's
    # shape (SGD's momentum_buffer, Adam's exp_avg, ...) and the scalar
    # states Kiln keeps as 0-d tensors (NAdam's mu_product); the other
    # scalar states (step, ASGD's eta and mu) are functions of the step
    # count and have no Kiln tensor.
    # LBFGS keeps one global state (lbfgs_state), none per parameter: its
    # flat d could have a 1-D parameter's shape, so the loop skips it.
    if lbfgs:
        ref.update(lbfgs_state(opt, model.named_parameters()))
    else:
        for name, p in model.named_parameters():
            for key, value in opt.state.get(p, {}).items():
                # (A scalar parameter's states are 0-d too: every one but
                # the step counters ASGD's eta and mu.)
                if torch.is_tensor(value) and value.shape == p.shape and (
                        value.dim() > 0 or key not in {"step", "eta", "mu"} | SCALAR_STATES):
                    ref[f"{name}.{key}"] = _np(value)
                elif key in SCALAR_STATES:
                    ref[f"{name}.{key}"] = _np(value).astype(np.float32)
    for name, buf in model.root.named_buffers():
        ref[name] = _np(buf)
    ref["step"] = np.array(steps, dtype=np.int64)
    ref["lr"] = np.array(opt.param_groups[0]["lr"], dtype=np.float32)
    for g, group in enumerate(opt.param_groups[1:], 1):
        ref[f"param_groups.{g}.lr"] = np.array(group["lr"], dtype=np.float32)
    if sched is not None and _cycles_momentum(doc["training"]["scheduler"]):
        # The momentum (SGD, RMSprop) or beta1 (Adam family) the scheduler
        # left in each group: Kiln's cycled momentum tensors.
        for g, group in enumerate(opt.param_groups):
            value = group["betas"][0] if "betas" in group else group["momentum"]
            ref["momentum" if g == 0 else f"param_groups.{g}.momentum"] = np.array(value, dtype=np.float32)
    # The eval-mode forward at the trained parameters (the driver's
    # set_training(0) + forward): checks the eval kernel of mode-dependent
    # models, and that every model has one.
    model.root.eval()
    with torch.no_grad():
        for i, o in enumerate(model.forward(*xs)):
            ref[f"eval_output.{i}"] = _np(o)
    model.root.train()
    return ref


def _update_bn(model, batches):
    """torch.optim.swa_utils.update_bn(loader, model) on the graph's forward
    (a module over model.forward whose modules() are the model's)."""
    torch = _torch()
    if any(len(xs) != 1 for xs in batches):
        raise ValueError("update_bn: torch's calls model(input) with one input")

    class Graph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.root = model.root

        def forward(self, x):
            return model.forward(x)

    torch.optim.swa_utils.update_bn([xs[0] for xs in batches], Graph())


def cmd_make_case(a):
    torch = _torch()
    doc, model = _load_model(a.model, a.seed)
    os.makedirs(a.out, exist_ok=True)
    write_safetensors(os.path.join(a.out, "init.safetensors"),
                      {k: _np(v) for k, v in model.state_dict().items()})
    gen = torch.Generator().manual_seed(a.seed + 1)
    batches = [_make_batch(doc, model, a, gen) for _ in range(max(a.accumulate, a.cycle, a.update_bn, 1))]
    xs, target = batches[0]
    batch = {}
    for m, (mxs, mtarget) in enumerate(batches):
        prefix = f"micro.{m}." if m else ""  # micro-batch 0 is the batch
        batch.update({f"{prefix}input.{i}": _np(x) for i, x in enumerate(mxs)})
        if mtarget is not None and mtarget is not NO_TARGET:
            batch[f"{prefix}target"] = _np(mtarget)
    write_safetensors(os.path.join(a.out, "batch.safetensors"), batch)
    # Kiln's models start in train mode when trainable, eval mode otherwise;
    # the driver seeds the instance's stream with --rng-seed.
    if a.mode != "train":
        model.root.eval()
    model.rng.restart(a.rng_seed)
    steps = a.steps if a.mode == "train" else 0
    ref = run_reference(doc, model, xs, target if a.mode == "train" else None, steps,
                        batches if a.accumulate else None, batches if a.cycle else None,
                        batches[:a.update_bn] if a.update_bn else None)
    write_safetensors(os.path.join(a.out, "reference.safetensors"), ref)
    print(f"make-case: {a.model} seed {a.seed}: {len(ref)} reference tensors in {a.out}")


def _make_batch(doc, model, a, gen):
    """Random inputs (make-case's options) and, for a training section, a
    target: (xs, target or None)."""
    torch = _torch()
    xs = []
    scales = [float(v) for v in a.input_scale.split(",")] if a.input_scale else []
    highs = a.index_high.split(",") if a.index_high else []
    for i, spec in enumerate(doc["inputs"]):
        if spec.get("dtype", "float32") == "int64":
            # Indices uniform in [0, high), one --index-high per int64 input;
            # "o<n>": EmbeddingBag offsets into n elements (0 first, then
            # sorted uniform in [0, n]: empty bags occur); "l<n>": the same
            # ending with n (include_last_offset).
            k = sum(1 for s in doc["inputs"][:i] if s.get("dtype") == "int64")
            if k >= len(highs):
                raise ValueError(f"input {spec['name']}: int64, but no --index-high for it")
            if highs[k][0] in "ol":
                n = int(highs[k][1:])
                off = torch.randint(0, n + 1, tuple(spec["shape"]), generator=gen).sort().values
                off[0] = 0
                if highs[k][0] == "l":
                    # include_last_offset: torch's last offset is the input's
                    # length (1.13 reads uninitialised memory in the
                    # backward for elements after a smaller one).
                    off[-1] = n
                xs.append(off)
                continue
            if highs[k][0] == "c":
                # "c<total>-<cap>": lengths in [0, cap] that add up to total
                # (CTCLoss's concatenated targets), one unit at a time to a
                # sample with room.
                total, cap = (int(v) for v in highs[k][1:].split("-"))
                lengths = [0] * spec["shape"][0]
                for _ in range(total):
                    room = [i for i, v in enumerate(lengths) if v < cap]
                    lengths[room[int(torch.randint(0, len(room), (), generator=gen))]] += 1
                xs.append(torch.tensor(lengths, dtype=torch.int64))
                continue
            if highs[k][0] in "ps":
                # "p<T>": packed-sequence lengths in [1, T], one of them T
                # (the longest fills the padded steps); "s<T>": the same
                # sorted decreasing (enforce_sorted).
                t = int(highs[k][1:])
                lengths = torch.randint(1, t + 1, tuple(spec["shape"]), generator=gen)
                lengths[int(torch.randint(0, lengths.numel(), (), generator=gen))] = t
                if highs[k][0] == "s":
                    lengths = lengths.sort(descending=True).values
                xs.append(lengths)
                continue
            if highs[k][0] == "r":
                # "r<lo>-<hi>": uniform in [lo, hi] (CTCLoss's lengths).
                lo, hi = (int(v) for v in highs[k][1:].split("-"))
                xs.append(torch.randint(lo, hi + 1, tuple(spec["shape"]), generator=gen))
                continue
            xs.append(torch.randint(0, int(highs[k]), tuple(spec["shape"]), generator=gen))
            continue
        x = torch.randn(*spec["shape"], generator=gen)
        if i < len(scales):
            x = x * scales[i]
        if a.input_specials and i == 0:
            # Edge values (kinks, saturation, -0.0) at about a third of the
            # first input's elements, exactly as given.
            specials = torch.tensor([float(v) for v in a.input_specials.split(",")])
            pick = torch.randint(0, len(specials), x.shape, generator=gen)
            use = torch.rand(x.shape, generator=gen) < 1 / 3
            x = torch.where(use, specials[pick], x)
        xs.append(x)
    target = None
    if a.mode == "train" or "training" in doc:
        if "training" in doc:
            # Eval mode: learning the output's shape must not update
            # running statistics or draw random numbers.
            model.root.eval()
            with torch.no_grad():
                out_shape = list(model.forward(*xs)[0].shape)
            model.root.train()
            ignored = a.ignored_targets
            if ignored is None:
                ii = (doc["training"]["loss"].get("options", {}) or {}).get("ignore_index", -100)
                ignored = out_shape[0] // 4 if ii != -100 else 0
            target = _make_target(doc, out_shape, gen, ignored)
    return xs, target


def cmd_make_bad_weights(a):
    """Writes a broken copy of a parameters file; prints the tensor it concerns."""
    good = read_safetensors(a.init)
    names = list(good)
    victim = a.tensor or names[-1]
    if a.kind == "truncated":
        with open(a.init, "rb") as f:
            raw = f.read()
        with open(a.out, "wb") as f:
            f.write(raw[:len(raw) - 5])
        print(victim)
        return
    bad = dict(good)
    if a.kind == "missing_tensor":
        del bad[victim]
    elif a.kind == "wrong_shape":
        v = bad[victim]
        bad[victim] = np.zeros((v.size + 1,), dtype=v.dtype) if v.ndim != 1 else np.zeros((1, v.size), dtype=v.dtype)
    elif a.kind == "wrong_dtype":
        bad[victim] = bad[victim].astype(np.int64)
    elif a.kind == "extra_tensor":
        victim = "not_a_parameter.weight"
        bad[victim] = np.zeros((2, 2), dtype=np.float32)
    else:
        raise ValueError(a.kind)
    write_safetensors(a.out, bad)
    print(victim)


# ---- end to end: Fashion-MNIST ------------------------------------------------

def _read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def cmd_make_e2e(a):
    """Init params, `steps` real Fashion-MNIST batches, and torch's loss
    sequence + final parameters when training on them one batch per step."""
    torch = _torch()
    doc, model = _load_model(a.model, a.seed)
    os.makedirs(a.out, exist_ok=True)
    write_safetensors(os.path.join(a.out, "init.safetensors"),
                      {k: _np(v) for k, v in model.state_dict().items()})
    shape = doc["inputs"][0]["shape"]
    b = shape[0]
    images = _read_idx(os.path.join(a.data_dir, "train-images-idx3-ubyte.gz"))
    labels = _read_idx(os.path.join(a.data_dir, "train-labels-idx1-ubyte.gz"))
    n = a.steps * b
    x = (images[:n].astype(np.float32) / np.float32(255.0)).reshape([a.steps] + list(shape))
    y = labels[:n].astype(np.int64).reshape(a.steps, b)
    write_safetensors(os.path.join(a.out, "data.safetensors"), {"images": x, "labels": y})
    loss_fn = make_loss(doc["training"])
    params = [p for _, p in model.named_parameters()]
    opt = make_optimizer(doc["training"], params, model.named_parameters())
    losses = []
    for s in range(a.steps):
        opt.zero_grad()
        loss = loss_fn(model.forward(torch.from_numpy(x[s]))[0], torch.from_numpy(y[s]))
        losses.append(float(loss))
        loss.backward()
        clip_gradients(doc["training"], params)
        opt.step()
    ref = {"losses": np.array(losses, dtype=np.float32)}
    for name, p in model.named_parameters():
        ref[name] = _np(p)
    write_safetensors(os.path.join(a.out, "reference.safetensors"), ref)
    print("make-e2e: torch losses " + " ".join(f"{v:.6f}" for v in losses))


# ---- compare ------------------------------------------------------------------

def cmd_compare(a):
    ref = read_safetensors(a.reference)
    act = read_safetensors(a.actual)
    # --tol REGEX RTOL ATOL, first match wins; the default applies otherwise.
    rules = [(re.compile(r), float(rt), float(at)) for r, rt, at in (a.tol or [])]
    only = re.compile(a.only) if a.only else None
    worst = None  # (largest |a-b| / (atol + rtol|b|), tensor)
    failures = []
    print(f"{'tensor':40s} {'shape':>16s} {'max_abs':>11s} {'max_rel':>11s} {'rtol':>8s} {'atol':>8s}")
    for name, r in ref.items():
        if only and not only.search(name):
            continue
        rtol, atol = a.rtol, a.atol
        for rx, rt, at in rules:
            if rx.search(name):
                rtol, atol = rt, at
                break
        if name not in act:
            failures.append((float("inf"), name, f"{name}: missing from {a.actual}"))
            continue
        x = act[name]
        if x.shape != r.shape or x.dtype != r.dtype:
            failures.append((float("inf"), name,
                             f"{name}: actual {x.dtype}{list(x.shape)} vs reference {r.dtype}{list(r.shape)}"))
            continue
        if r.dtype == np.int64:
            bad = int(np.sum(x != r))
            print(f"{name:40s} {str(list(r.shape)):>16s} {'exact':>11s} {'':>11s}")
            if bad:
                failures.append((float("inf"), name, f"{name}: {bad} int64 elements differ ({x.ravel()[:4]} vs {r.ravel()[:4]})"))
            continue
        r64, x64 = r.astype(np.float64), x.astype(np.float64)
        diff = np.abs(x64 - r64)
        if r.size == 0:
            continue
        nonfinite = ~np.isfinite(x64)
        max_abs = float(np.max(np.where(nonfinite, np.inf, diff)))
        rel = diff / np.maximum(np.abs(r64), 1e-30)
        max_rel = float(np.max(np.where(nonfinite, np.inf, rel)))
        allowed = atol + rtol * np.abs(r64)
        ratio = np.where(nonfinite, np.inf, diff / allowed)
        excess = float(np.max(ratio))
        print(f"{name:40s} {str(list(r.shape)):>16s} {max_abs:11.3e} {max_rel:11.3e} {rtol:8.0e} {atol:8.0e}"
              + ("  FAIL" if excess > 1 else ""))
        if worst is None or excess > worst[0]:
            worst = (excess, name)
        if excess > 1:
            i = int(np.argmax(ratio))
            failures.append((excess, name,
                             f"{name}: max_abs {max_abs:.3e} max_rel {max_rel:.3e} (rtol {rtol:g}, atol {atol:g}); "
                             f"worst element {i}: actual {x.ravel()[i]!r} reference {r.ravel()[i]!r}; "
                             f"{int(np.sum(ratio > 1))}/{r.size} elements outside"))
    extra = [n for n in act if n not in ref and not (only and not only.search(n))]
    if extra:
        print(f"note: tensors only in actual: {', '.join(extra)}")
    if failures:
        failures.sort(key=lambda f: -f[0])
        for _, _, msg in failures:
            print("MISMATCH " + msg)
        print(f"FAIL: worst tensor {failures[0][1]}")
        return 1
    if worst:
        print(f"OK (closest to its tolerance: {worst[1]} at {worst[0]:.3f} of atol + rtol*|ref|)")
    else:
        print("OK")
    return 0


def update_ratios(init, ref, act, steps, rtol):
    """Per float32 parameter of `init`: (worst, visible, d_ref, d_act) of
    its update (value after the steps - initial value) in `act` against
    `ref`. Allowed per element: rtol * |ref's update| plus the float32
    rounding of `steps` additions to the parameter (1 ulp each, both
    sides), plus rtol / 10 of the tensor's largest update: an element whose
    true gradient is 0 gets torch's rounding residue (1e-7, accumulated by
    momentum) on one side and exactly 0 on the other, which says nothing
    about the update rule. worst: the largest |difference| / allowed;
    visible: the largest |ref's update| / rounding."""
    out = {}
    for name, p0 in init.items():
        if name not in ref or name not in act or p0.dtype != np.float32:
            continue
        p0 = p0.astype(np.float64)
        d_ref = ref[name].astype(np.float64) - p0
        d_act = act[name].astype(np.float64) - p0
        scale = np.maximum(np.abs(ref[name]), np.abs(init[name])).astype(np.float32)
        rounding = 2.0 * steps * np.spacing(scale).astype(np.float64)
        largest = float(np.max(np.abs(d_ref))) if d_ref.size else 0.0
        allowed = rtol * np.abs(d_ref) + rounding + 0.1 * rtol * largest
        ratio = np.abs(d_act - d_ref) / allowed
        worst = float(np.max(ratio)) if ratio.size else 0.0
        visible = float(np.max(np.abs(d_ref) / rounding)) if ratio.size else float("inf")
        out[name] = (worst, visible, d_ref, d_act, ratio)
    return out


def cmd_compare_updates(a):
    """Each parameter's update (value after the steps - initial value), Kiln's
    against torch's, within update_ratios' allowance. An ignored or
    mis-scaled lr still fails at the tensor's largest update, by a factor up
    to 1 / rtol. A case whose reference update is below the rounding
    everywhere cannot tell a right update from none, and fails as vacuous,
    except a parameter torch leaves bit for bit unchanged (one in no
    parameter group): Kiln must too."""
    init = read_safetensors(a.init)
    ref = read_safetensors(a.reference)
    act = read_safetensors(a.actual)
    failures = []
    for name, (worst, visible, d_ref, d_act, ratio) in update_ratios(init, ref, act, a.steps,
                                                                      a.rtol).items():
        print(f"{name + ' update':40s} max|torch| {float(np.max(np.abs(d_ref))):.3e}  "
              f"worst {worst:.3f} of tolerance  (update/rounding up to {visible:.1f})")
        if not np.all(np.isfinite(d_ref)) or not np.all(np.isfinite(d_act)):
            failures.append(f"{name}: non-finite update (torch finite: {bool(np.all(np.isfinite(d_ref)))})")
            continue
        if ratio.size and np.array_equal(ref[name], init[name]):
            # torch left it bit for bit as it was (a parameter in no
            # parameter group): so must Kiln.
            if not np.array_equal(act[name], init[name]):
                failures.append(f"{name}: torch leaves it unchanged, Kiln changed it")
            continue
        if worst > 1:
            i = int(np.argmax(ratio))
            failures.append(f"{name}: update {d_act.ravel()[i]!r} vs torch {d_ref.ravel()[i]!r} (element {i})")
        if ratio.size and visible < 4:
            failures.append(f"{name}: torch's update is within float rounding everywhere; the case cannot "
                            "tell a right update from none (raise lr or steps)")
    for f in failures:
        print("MISMATCH " + f)
    print("FAIL" if failures else "OK (updates)")
    return 1 if failures else 0


def _conditioning_run(a, variant):
    """make-case's training reference for a.model, in float32 as make-case
    computes it (variant None), in float64 ("float64"), or in float32 from
    the initialisation with a random third of the parameters' elements moved
    one ulp up and a third one ulp down (an int: the perturbation's seed)."""
    torch = _torch()
    doc, model = _load_model(a.model, a.seed)
    gen = torch.Generator().manual_seed(a.seed + 1)
    batches = [_make_batch(doc, model, a, gen) for _ in range(max(a.accumulate, a.cycle, a.update_bn, 1))]
    if variant == "float64":
        model.root.double()
        wide = lambda t: t.double() if t is not None and t.is_floating_point() else t
        batches = [([wide(x) for x in mxs], wide(mt)) for mxs, mt in batches]
    elif variant is not None:
        g = torch.Generator().manual_seed(variant)
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(1 + (torch.randint(0, 3, p.shape, generator=g).float() - 1) * 2.0 ** -24)
    # As cmd_make_case runs it.
    if a.mode != "train":
        model.root.eval()
    model.rng.restart(a.rng_seed)
    xs, target = batches[0]
    return run_reference(doc, model, xs, target if a.mode == "train" else None,
                         a.steps if a.mode == "train" else 0, batches if a.accumulate else None,
                         batches if a.cycle else None, batches[:a.update_bn] if a.update_bn else None)


def cmd_check_conditioning(a):
    """Whether a training case is well-conditioned enough for the parity
    tolerances: Kiln's forward and backward round differently from torch's
    (about 1e-7 of a tensor's largest element), and an optimizer that
    amplifies rounding (LBFGS: differences of nearly equal gradients,
    line-search branches) turns that into differences over rtol although
    both sides are right. The same run in float64 and from --perturbed
    one-ulp perturbations of the initialisation stand in for Kiln's
    rounding: every tensor of the reference is compared with each, as
    run_case.py compares Kiln's (--forward-rtol for outputs, loss and
    gradients at the start, --rtol after the steps, int64 exactly), and the
    worst error is printed as a fraction of its tolerance. Exit status 1
    when a fraction exceeds --margin: a failure of such a case in parity
    says little about Kiln."""
    ref = _conditioning_run(a, None)
    ref_np = _as_numpy(ref)
    init = {}
    if a.mode == "train":
        init = {k: _np(v) for k, v in _load_model(a.model, a.seed)[1].state_dict().items()}
    worst = {}
    for variant in ["float64"] + list(range(1, a.perturbed + 1)):
        other = _conditioning_run(a, variant)
        label = variant if variant == "float64" else f"ulp{variant}"
        for name, r in ref.items():
            x = np.asarray(other[name])
            if r.dtype == np.int64:
                ratio = 0.0 if np.array_equal(r, x) else float("inf")
            elif r.size == 0:
                continue
            else:
                rtol = a.forward_rtol if re.search(r"^output\.|^loss$|\.grad$", name) else a.rtol
                diff = np.abs(x.astype(np.float64) - r.astype(np.float64))
                ratio = float(np.max(np.where(np.isfinite(diff), diff / (a.atol + rtol * np.abs(r.astype(np.float64))),
                                              np.inf)))
            if name not in worst or ratio > worst[name][0]:
                worst[name] = (ratio, label)
        # run_case.py's compare-updates too: each parameter's update
        # against the reference's, within its allowance.
        for name, (ratio, _, _, _, _) in update_ratios(init, ref_np, _as_numpy(other), a.steps,
                                                       a.update_rtol).items():
            if name + " update" not in worst or ratio > worst[name + " update"][0]:
                worst[name + " update"] = (ratio, label)
    for name, (ratio, label) in worst.items():
        print(f"{name:40s} {ratio:10.3g} of tolerance ({label})" + ("  OVER" if ratio > a.margin else ""))
    name = max(worst, key=lambda n: worst[n][0])
    verdict = "ILL-CONDITIONED" if worst[name][0] > a.margin else "OK"
    print(f"{verdict}: worst {name} at {worst[name][0]:.3g} of its tolerance ({worst[name][1]}; margin {a.margin:g})")
    # A reference whose update stays below float rounding cannot tell a
    # right update from none (compare-updates fails such a case as vacuous).
    vacuous = [n for n, (_, visible, _, _, ratio) in update_ratios(init, ref_np, ref_np, a.steps,
                                                                   a.update_rtol).items()
               if ratio.size and visible < 4 and not np.array_equal(ref_np[n], init[n])]
    if vacuous:
        print(f"VACUOUS: the reference's update of {', '.join(vacuous)} is within float rounding")
    return 1 if verdict != "OK" or vacuous else 0


def _as_numpy(tensors):
    """name -> numpy array of a reference dict (torch tensors or arrays)."""
    return {k: (_np(v) if hasattr(v, "detach") else np.asarray(v)) for k, v in tensors.items()}


def cmd_self_test():
    """The oracle's Philox against Random123's known-answer vectors, and the
    uniform stream's mean and keep rates within 4 sigma."""
    failures = []
    kat = [((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
           ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
           ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))]
    for ctr, key, want in kat:
        got = tuple(int(w) for w in philox4x32_10([np.array([c]) for c in ctr], key))
        if got != want:
            failures.append(f"philox4x32_10({ctr}, {key}) = {[hex(g) for g in got]}, want {[hex(w) for w in want]}")
    n = 1 << 20
    rng = KilnRandom(0x243F6A8885A308D3)
    u = rng.uniform((n,)).astype(np.float64)
    if not (0 <= u.min() and u.max() < 1):
        failures.append(f"uniform samples outside [0, 1): {u.min()} .. {u.max()}")
    sigma = np.sqrt(1 / 12 / n)
    if abs(u.mean() - 0.5) > 4 * sigma:
        failures.append(f"uniform mean {u.mean()} is more than 4 sigma from 0.5")
    for p in (0.1, 0.5, 0.9):
        kept = float(np.mean(u < np.float32(1 - p)))
        if abs(kept - (1 - p)) > 4 * np.sqrt(p * (1 - p) / n):
            failures.append(f"keep rate {kept} for p {p} is more than 4 sigma from {1 - p}")
    for f in failures:
        print("FAIL " + f)
    print("FAIL" if failures else "OK (philox known answers, uniform statistics)")
    return 1 if failures else 0


def _case_arguments(c):
    """make-case's arguments but --out (check-conditioning takes them too)."""
    c.add_argument("--model", required=True)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--steps", type=int, default=10)
    c.add_argument("--mode", choices=["train", "inference"], default="train")
    c.add_argument("--rng-seed", type=lambda v: int(v, 0), default=0,
                   help="seed of Kiln's random stream (the driver's --rng-seed)")
    c.add_argument("--input-scale", default=None,
                   help="comma-separated factors: input i is randn times the i-th (default 1)")
    c.add_argument("--index-high", default=None,
                   help="comma list, one per int64 input: its values are uniform in [0, high); "
                        "o<n>: sorted EmbeddingBag offsets into n elements, starting at 0; "
                        "l<n>: the same, ending at n; r<lo>-<hi>: uniform in [lo, hi]; "
                        "c<total>-<cap>: values in [0, cap] adding up to total")
    c.add_argument("--input-specials", default=None,
                   help="comma-separated values that replace about a third of the first input's elements")
    c.add_argument("--accumulate", type=int, default=0,
                   help="gradient accumulation over this many micro-batches per step "
                        "(micro.<m>.input.<i>, micro.<m>.target in the batch file)")
    c.add_argument("--update-bn", type=int, default=0,
                   help="after the steps, torch.optim.swa_utils.update_bn over this many batches "
                        "(stored as --accumulate stores them)")
    c.add_argument("--cycle", type=int, default=0,
                   help="train step s on batch s %% K of this many batches (stored as "
                        "--accumulate stores them)")
    c.add_argument("--ignored-targets", type=int, default=None,
                   help="CrossEntropy targets set to ignore_index (default: N/4 if ignore_index != -100, else 0)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("make-case", help="init params, a random batch and torch's reference")
    c.add_argument("--out", required=True)
    _case_arguments(c)

    c = sub.add_parser("check-conditioning",
                       help="the reference against float64 and perturbed-init runs (see cmd_check_conditioning)")
    _case_arguments(c)
    c.add_argument("--perturbed", type=int, default=4, help="perturbed-initialisation runs (default %(default)s)")
    c.add_argument("--margin", type=float, default=0.5,
                   help="largest fraction of a tolerance allowed (default %(default)s)")
    c.add_argument("--rtol", type=float, default=1e-4, help="after the steps (run_case.py's default)")
    c.add_argument("--forward-rtol", type=float, default=1e-5)
    c.add_argument("--atol", type=float, default=1e-6)
    c.add_argument("--update-rtol", type=float, default=1e-3,
                   help="compare-updates' rtol (run_case.py's default)")

    c = sub.add_parser("make-bad-weights", help="a broken copy of a parameters file")
    c.add_argument("--init", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--kind", required=True,
                   choices=["truncated", "missing_tensor", "wrong_shape", "wrong_dtype", "extra_tensor"])
    c.add_argument("--tensor", default=None)

    c = sub.add_parser("make-e2e", help="Fashion-MNIST batches and torch's loss sequence")
    c.add_argument("--model", required=True)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out", required=True)
    c.add_argument("--steps", type=int, default=20)
    c.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")

    c = sub.add_parser("compare", help="per-tensor errors; non-zero exit on mismatch")
    c.add_argument("--reference", required=True)
    c.add_argument("--actual", required=True)
    c.add_argument("--rtol", type=float, default=1e-5)
    c.add_argument("--atol", type=float, default=1e-6)
    c.add_argument("--tol", nargs=3, action="append", metavar=("REGEX", "RTOL", "ATOL"),
                   help="tolerance for tensors whose name matches REGEX (first match wins)")
    c.add_argument("--only", default=None, help="compare only tensors matching this regex")

    c = sub.add_parser("self-test", help="Philox known answers and the uniform stream's statistics")

    c = sub.add_parser("compare-updates", help="each parameter's update against torch's")
    c.add_argument("--init", required=True)
    c.add_argument("--reference", required=True)
    c.add_argument("--actual", required=True)
    c.add_argument("--steps", type=int, required=True)
    c.add_argument("--rtol", type=float, default=1e-3)

    a = p.parse_args(argv)
    if a.cmd == "compare-updates":
        return cmd_compare_updates(a)
    if a.cmd == "self-test":
        return cmd_self_test()
    if a.cmd == "check-conditioning":
        return cmd_check_conditioning(a)
    if a.cmd == "make-case":
        cmd_make_case(a)
    elif a.cmd == "make-bad-weights":
        cmd_make_bad_weights(a)
    elif a.cmd == "make-e2e":
        cmd_make_e2e(a)
    elif a.cmd == "compare":
        return cmd_compare(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
