// nn.MultiheadAttention: torch 1.13's F.multi_head_attention_forward as a
// decomposition into primitive nn ops, so autodiff and both backends need
// nothing of their own. With L target and S source positions, N batch, E =
// embed_dim, H heads of d = E / H:
//
//   q, k, v = in-projections of query [L, N, E], key [S, N, kdim] and
//             value [S, N, vdim] (one packed weight [3E, E] when
//             kdim = vdim = E, else three), bias_k / bias_v appended to k
//             and v as one more source position, a zero position after
//             them for add_zero_attn
//   scores  = (q / sqrt(d)) k^T + mask                   [N, H, L, S']
//   weights = dropout(softmax(scores))                   (train mode)
//   output  = out_proj(weights v, heads concatenated)    [L, N, E]
//
// The scores keep N and H as separate dimensions, so every mask broadcasts
// onto them: attn_mask [L, S] or [N * H, L, S], key_padding_mask [N, S],
// each bool (true blocks: -inf) or float (added). The two batched products
// are batched nn.matmul ops over [N, H] (one kiln_sgemm_batched call each on
// the CPU, a strided-batched cuBLAS call on CUDA). They were a broadcast
// multiply and a sum before, which materialised [N, H, L, S, d] in the
// backward: W4 (8 x 128 positions, 4 heads of 64) spent 3x PyTorch's time
// per train step and 460 MiB.
//
// Forward arguments that are not tensors are the module node's options
// (Entry::callOptions): need_weights, average_attn_weights, and whether a
// key_padding_mask and an attn_mask follow the three inputs, in that order.
#include "frontend/import/Attention.h"
#include "frontend/import/Activation.h"
#include "frontend/import/Dropout.h"

#include "ir/NNBuilders.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace kiln::import {
namespace {

using Shape = SmallVector<int64_t>;

Shape shapeVec(Value v) {
  auto s = nn::shapeOf(v);
  return Shape(s.begin(), s.end());
}

/// Builds one call; see the file comment for the math.
class Attention {
public:
  Attention(BuildContext &c, const AttentionSpec &o, const std::string &prefix)
      : c(c), m{c}, o(o), prefix(prefix) {}

  SmallVector<Value> build(Value query, Value key, Value value, Value padding, Value mask,
                           bool needWeights, bool averageWeights) {
    Value rawQ = query, rawK = key, rawV = value;
    e = o.embedDim;
    h = o.numHeads;
    d = e / h;
    size_t rank = nn::shapeOf(query).size();
    if (rank != 2 && rank != 3)
      c.fail("query should be unbatched 2D or batched 3D tensor but received " +
             std::to_string(rank) + "-D query tensor " + nn::shapeStr(nn::shapeOf(query)));
    batched = rank == 3;
    if (nn::shapeOf(key).size() != rank || nn::shapeOf(value).size() != rank)
      c.fail("For " + std::string(batched ? "batched (3-D)" : "unbatched (2-D)") +
             " `query`, expected `key` and `value` to be " + std::to_string(rank) +
             "-D but found " + nn::shapeStr(nn::shapeOf(key)) + " and " +
             nn::shapeStr(nn::shapeOf(value)));
    // Sequence-first [L, N, E] from here on, as torch's functional form.
    query = toSequenceFirst(query);
    key = toSequenceFirst(key);
    value = toSequenceFirst(value);
    Shape qs = shapeVec(query), ks = shapeVec(key), vs = shapeVec(value);
    l = qs[0];
    n = qs[1];
    s = ks[0];
    if (qs[2] != e)
      c.fail("was expecting embedding dimension of " + std::to_string(e) + ", but got " +
             std::to_string(qs[2]) + " (query " + nn::shapeStr(qs) + ")");
    if (ks[1] != n || vs[0] != s || vs[1] != n)
      c.fail("key " + nn::shapeStr(ks) + " and value " + nn::shapeStr(vs) +
             " must have the query's batch size " + std::to_string(n) +
             " and one sequence length (sequence-first shapes)");
    if (ks[2] != o.kdim || vs[2] != o.vdim)
      c.fail("key's features " + std::to_string(ks[2]) + " and value's " +
             std::to_string(vs[2]) + " must be kdim " + std::to_string(o.kdim) +
             " and vdim " + std::to_string(o.vdim));

    auto [q, k, v] = project(rawQ, rawK, rawV, query, key, value);
    Value scoreMask = combinedMask(padding, mask);
    if (Value biasK = param("bias_k")) {
      k = c.create<nn::ConcatOp>(ValueRange{k, broadcast(biasK, {1, n, e})}, 0);
      v = c.create<nn::ConcatOp>(ValueRange{v, broadcast(param("bias_v"), {1, n, e})}, 0);
    }
    // [S', N, E] -> [N, H, S', d]; q likewise.
    q = heads(q);
    k = heads(k);
    v = heads(v);
    if (o.addZeroAttn) {
      Value zeros = broadcast(k0(), {n, h, 1, d});
      k = c.create<nn::ConcatOp>(ValueRange{k, zeros}, 2);
      v = c.create<nn::ConcatOp>(ValueRange{v, zeros}, 2);
    }
    int64_t sp = nn::shapeOf(k)[2];
    if (scoreMask && nn::shapeOf(scoreMask).back() < sp) {
      // The appended positions are never masked (torch pads with zeros).
      Shape ms = shapeVec(scoreMask);
      Shape pad = ms;
      pad.back() = sp - ms.back();
      scoreMask = c.create<nn::ConcatOp>(ValueRange{scoreMask, broadcast(k0(), pad)},
                                         static_cast<int64_t>(ms.size()) - 1);
    }

    // scores[n, h, l, s] = sum_d (q / sqrt(d))[n, h, l, d] k[n, h, s, d].
    Value qScaled = m.div(q, m.k(std::sqrt(static_cast<double>(d))));
    Value scores = c.create<nn::MatmulOp>(qScaled, k, /*transpose_lhs=*/false,
                                          /*transpose_rhs=*/true);
    if (scoreMask)
      scores = m.add(scoreMask, scores);
    Value weights = softmax(c, scores, 3);
    double p = o.dropout;
    if (p > 0.0)
      weights = maskedDropout(c, weights, nn::shapeOf(weights), p, c.training());
    // mixed[n, h, l, d] = sum_s weights[n, h, l, s] v[n, h, s, d].
    Value mixed = c.create<nn::MatmulOp>(weights, v, false, false);
    Value concat = reshape(permute(mixed, {2, 0, 1, 3}), {l, n, e});
    Value out = c.create<nn::LinearOp>(concat, param("out_proj.weight"),
                                       param("out_proj.bias"));
    if (!batched)
      out = reshape(out, {l, e});
    else if (o.batchFirst)
      out = permute(out, {1, 0, 2});

    SmallVector<Value> results{out};
    if (needWeights) {
      Value w = weights;
      if (averageWeights) {
        w = c.create<nn::SumOp>(w, c.builder().getDenseI64ArrayAttr({1}), UnitAttr());
        w = m.div(w, m.k(static_cast<double>(h)));
        if (!batched)
          w = reshape(w, {l, sp});
      } else if (!batched) {
        w = reshape(w, {h, l, sp});
      }
      results.push_back(w);
    }
    return results;
  }

private:
  Value toSequenceFirst(Value x) {
    if (!batched)
      return reshape(x, {nn::shapeOf(x)[0], 1, nn::shapeOf(x)[1]});
    return o.batchFirst ? permute(x, {1, 0, 2}) : x;
  }

  /// q, k, v projected, [L, N, E] and [S, N, E]. `rawQ/K/V` are the call's
  /// inputs: when they are one value (self-attention) the packed weight is
  /// one product, as in torch's _in_projection_packed.
  std::tuple<Value, Value, Value> project(Value rawQ, Value rawK, Value rawV, Value query,
                                          Value key, Value value) {
    Value bias = param("in_proj_bias");
    auto rows = [&](Value x, int64_t from, int64_t to) -> Value {
      if (!x)
        return x;
      return c.create<nn::SliceOp>(x, c.builder().getDenseI64ArrayAttr({from, 0}),
                                   c.builder().getDenseI64ArrayAttr({to, nn::shapeOf(x)[1]}),
                                   c.builder().getDenseI64ArrayAttr({1, 1}));
    };
    auto part = [&](int64_t from, int64_t to) -> Value {
      if (!bias)
        return bias;
      return c.create<nn::SliceOp>(bias, c.builder().getDenseI64ArrayAttr({from}),
                                   c.builder().getDenseI64ArrayAttr({to}),
                                   c.builder().getDenseI64ArrayAttr({1}));
    };
    auto lastSlice = [&](Value x, int64_t from, int64_t to) -> Value {
      Shape xs = shapeVec(x);
      return c.create<nn::SliceOp>(x, c.builder().getDenseI64ArrayAttr({0, 0, from}),
                                   c.builder().getDenseI64ArrayAttr({xs[0], xs[1], to}),
                                   c.builder().getDenseI64ArrayAttr({1, 1, 1}));
    };
    auto linear = [&](Value x, Value w, Value b) {
      return c.create<nn::LinearOp>(x, w, b);
    };
    if (Value w = param("in_proj_weight")) {
      if (rawQ == rawK && rawK == rawV) {
        Value qkv = linear(query, w, bias);
        return {lastSlice(qkv, 0, e), lastSlice(qkv, e, 2 * e), lastSlice(qkv, 2 * e, 3 * e)};
      }
      if (rawK == rawV) {
        Value kv = linear(key, rows(w, e, 3 * e), part(e, 3 * e));
        return {linear(query, rows(w, 0, e), part(0, e)), lastSlice(kv, 0, e),
                lastSlice(kv, e, 2 * e)};
      }
      return {linear(query, rows(w, 0, e), part(0, e)), linear(key, rows(w, e, 2 * e), part(e, 2 * e)),
              linear(value, rows(w, 2 * e, 3 * e), part(2 * e, 3 * e))};
    }
    return {linear(query, param("q_proj_weight"), part(0, e)),
            linear(key, param("k_proj_weight"), part(e, 2 * e)),
            linear(value, param("v_proj_weight"), part(2 * e, 3 * e))};
  }

  /// [T, N, E] -> [N, H, T, d] (torch's view(T, N * H, d).transpose(0, 1)).
  Value heads(Value x) {
    int64_t t = nn::shapeOf(x)[0];
    return permute(reshape(x, {t, n, h, d}), {1, 2, 0, 3});
  }

  /// The additive mask on the scores [N, H, L, S] (broadcastable), or null.
  /// A bool mask blocks where true (-inf), a float one is added; a bool
  /// key_padding_mask over a float attn_mask is torch's masked_fill.
  Value combinedMask(Value padding, Value mask) {
    Value attn, pad;
    bool padBool = false, maskBool = false;
    if (mask) {
      Shape ms = shapeVec(mask);
      maskBool = isBool(mask);
      if (ms.size() == 2) {
        if (ms != Shape{l, s})
          c.fail("The shape of the 2D attn_mask is " + nn::shapeStr(ms) + ", but should be " +
                 nn::shapeStr(Shape{l, s}) + ".");
        attn = mask;
      } else if (ms.size() == 3) {
        Shape want = batched ? Shape{n * h, l, s} : Shape{h, l, s};
        if (ms != want)
          c.fail("The shape of the 3D attn_mask is " + nn::shapeStr(ms) + ", but should be " +
                 nn::shapeStr(want) + ".");
        attn = reshapeAny(mask, {n, h, l, s});
      } else {
        c.fail("attn_mask's dimension " + std::to_string(ms.size()) +
               " is not supported (expected [L, S] or [N * num_heads, L, S])");
      }
    }
    if (padding) {
      Shape ps = shapeVec(padding);
      Shape want = batched ? Shape{n, s} : Shape{s};
      if (ps != want)
        c.fail("expecting key_padding_mask shape of " + nn::shapeStr(want) + ", but got " +
               nn::shapeStr(ps));
      padBool = isBool(padding);
      pad = reshapeAny(padding, {n, 1, 1, s});
    }
    Value minusInf = m.k(-std::numeric_limits<double>::infinity());
    if (pad && attn) {
      if (!padBool)
        c.fail("a float key_padding_mask cannot be combined with an attn_mask (torch "
               "masks the attn_mask with it: give a bool key_padding_mask)");
      if (maskBool) // logical_or, then -inf where true
        return m.where(pad, minusInf, m.where(attn, minusInf, k0()));
      return m.where(pad, minusInf, attn);
    }
    Value only = pad ? pad : attn;
    if (!only)
      return only;
    if (pad ? padBool : maskBool)
      return m.where(only, minusInf, k0());
    return only;
  }

  static bool isBool(Value v) {
    return cast<RankedTensorType>(v.getType()).getElementType().isInteger(1);
  }

  Value k0() { return m.k(0.0); }

  /// The parameter `name` of this attention (under its prefix), or null.
  Value param(const std::string &name) { return c.parameter(prefix + name); }

  Value reshape(Value x, ArrayRef<int64_t> shape) {
    return c.create<nn::ReshapeOp>(nn::f32Tensor(c.builder().getContext(), shape), x);
  }
  /// A reshape of f32 data or of a bool mask.
  Value reshapeAny(Value x, ArrayRef<int64_t> shape) {
    if (!isBool(x))
      return reshape(x, shape);
    // nn.reshape takes f32: a bool mask goes through 0/1 and back.
    Value asFloat = m.where(x, m.k(1.0), k0());
    return m.cmp(nn::ComparePredicate::gt, reshape(asFloat, shape), m.k(0.5));
  }
  Value permute(Value x, ArrayRef<int64_t> perm) {
    return c.create<nn::PermuteOp>(x, c.builder().getDenseI64ArrayAttr(perm));
  }
  Value broadcast(Value x, ArrayRef<int64_t> shape) {
    return c.create<nn::BroadcastToOp>(nn::f32Tensor(c.builder().getContext(), shape), x);
  }

  BuildContext &c;
  Ew m;
  const AttentionSpec &o;
  std::string prefix;
  int64_t e = 0, h = 0, d = 0, l = 0, n = 0, s = 0;
  bool batched = true;
};

} // namespace

AttentionSpec AttentionSpec::of(const Options &o) {
  AttentionSpec s;
  s.embedDim = o.getInt("embed_dim");
  s.numHeads = o.getInt("num_heads");
  s.kdim = o.isNone("kdim") ? s.embedDim : o.getInt("kdim");
  s.vdim = o.isNone("vdim") ? s.embedDim : o.getInt("vdim");
  s.dropout = o.getFloat("dropout");
  s.bias = o.getBool("bias");
  s.addBiasKv = o.getBool("add_bias_kv");
  s.addZeroAttn = o.getBool("add_zero_attn");
  s.batchFirst = o.getBool("batch_first");
  return s;
}

void checkAttentionHeads(const AttentionSpec &spec, const std::string &path) {
  if (spec.embedDim % spec.numHeads != 0)
    fail(path, "embed_dim must be divisible by num_heads (embed_dim " +
                   std::to_string(spec.embedDim) + ", num_heads " +
                   std::to_string(spec.numHeads) + ")");
}

// Parameters in torch's state_dict order: the projection weights, the
// packed in-projection bias, bias_k and bias_v, then out_proj (a child
// module, whose parameters torch lists after the module's own).
void declareAttention(LayerDecl &decl, const AttentionSpec &spec, const std::string &prefix) {
  int64_t e = spec.embedDim, kdim = spec.kdim, vdim = spec.vdim;
  // xavier_uniform_: U(+-sqrt(6 / (fan_in + fan_out))).
  auto xavier = [](int64_t fanOut, int64_t fanIn) {
    double bound = std::sqrt(6.0 / static_cast<double>(fanIn + fanOut));
    return Init::uniform(-bound, bound);
  };
  if (kdim == e && vdim == e) {
    decl.addParameter(prefix + "in_proj_weight", {3 * e, e}, xavier(3 * e, e));
  } else {
    decl.addParameter(prefix + "q_proj_weight", {e, e}, xavier(e, e));
    decl.addParameter(prefix + "k_proj_weight", {e, kdim}, xavier(e, kdim));
    decl.addParameter(prefix + "v_proj_weight", {e, vdim}, xavier(e, vdim));
  }
  if (spec.bias)
    decl.addParameter(prefix + "in_proj_bias", {3 * e}, Init{});
  if (spec.addBiasKv) {
    // xavier_normal_ of [1, 1, E]: fan_in = fan_out = E.
    Init normal{Init::Normal, 0.0, std::sqrt(1.0 / static_cast<double>(e))};
    decl.addParameter(prefix + "bias_k", {1, 1, e}, normal);
    decl.addParameter(prefix + "bias_v", {1, 1, e}, normal);
  }
  // out_proj is a Linear(E, E): kaiming_uniform_ weight; its bias is
  // zeroed by _reset_parameters.
  double bound = 1.0 / std::sqrt(static_cast<double>(e));
  decl.addParameter(prefix + "out_proj.weight", {e, e}, Init::uniform(-bound, bound));
  if (spec.bias)
    decl.addParameter(prefix + "out_proj.bias", {e}, Init{});
}

SmallVector<Value> multiheadAttention(BuildContext &c, const AttentionSpec &spec,
                                      const std::string &prefix, Value query, Value key,
                                      Value value, Value padding, Value mask, bool needWeights,
                                      bool averageWeights) {
  return Attention(c, spec, prefix)
      .build(query, key, value, padding, mask, needWeights, averageWeights);
}

void registerAttentionFamily(Registry &r) {
  Entry mha{"nn.MultiheadAttention", EntryKind::Layer,
            "nn.linear, nn.matmul (batched), softmax, dropout (decomposed)"};
  mha.options = {intOption("embed_dim").atLeast(1),
                 intOption("num_heads").atLeast(1),
                 floatOption("dropout", 0.0).inRange(0, 1),
                 boolOption("bias", true),
                 boolOption("add_bias_kv", false),
                 boolOption("add_zero_attn", false),
                 intOption("kdim").atLeast(1).orNone(),
                 intOption("vdim").atLeast(1).orNone(),
                 boolOption("batch_first", false)};
  // forward(query, key, value, key_padding_mask=None, need_weights=True,
  // attn_mask=None, average_attn_weights=True): the masks are inputs, the
  // node's options say which are given.
  mha.callOptions = {boolOption("key_padding_mask", false), boolOption("need_weights", true),
                     boolOption("attn_mask", false),
                     boolOption("average_attn_weights", true)};
  mha.numInputs = 5;
  mha.numOptionalInputs = 2;
  mha.maskOrFloatInputs = {3, 4};
  mha.declare = [](LayerDecl &decl) {
    AttentionSpec spec = AttentionSpec::of(decl.options());
    checkAttentionHeads(spec, decl.options().pathOf("num_heads"));
    declareAttention(decl, spec, "");
  };
  mha.buildOutputs = [](BuildContext &c) -> SmallVector<Value> {
    const Options &call = c.callOptions();
    bool hasPadding = call.getBool("key_padding_mask"), hasMask = call.getBool("attn_mask");
    unsigned expected = 3 + hasPadding + hasMask;
    if (c.operands().size() != expected)
      c.fail("expected " + std::to_string(expected) + " inputs (query, key, value" +
             (hasPadding ? ", key_padding_mask" : "") + (hasMask ? ", attn_mask" : "") +
             ", as the node's options say), got " + std::to_string(c.operands().size()));
    ValueRange in = c.operands();
    return multiheadAttention(c, AttentionSpec::of(c.options()), "", in[0], in[1], in[2],
                              hasPadding ? in[3] : Value(),
                              hasMask ? in[3 + hasPadding] : Value(),
                              call.getBool("need_weights"), call.getBool("average_attn_weights"));
  };
  mha.example = {{"options", {{"embed_dim", 4}, {"num_heads", 2}}},
                 {"input", {3, 2, 4}},
                 {"outputs", 2}};
  r.add(std::move(mha));
}

} // namespace kiln::import
