// The `transformer` family's layers: nn.TransformerEncoderLayer and
// nn.TransformerDecoderLayer, decompositions of torch 1.13's modules into
// the attention of Attention.cpp, nn.linear, the activation, dropout and
// layer norm (Norm.h), so autodiff and both backends need nothing new.
//
//   encoder (norm_first false):
//     x = norm1(x + dropout1(self_attn(x, x, x, src_mask, src_key_padding_mask)))
//     x = norm2(x + dropout2(linear2(dropout(activation(linear1(x))))))
//   decoder: the same around a second attention over `memory` (norm2,
//   dropout2), the feed-forward block then using norm3 and dropout3.
//   norm_first: x = x + block(norm(x)) for each block instead.
//
// Random numbers are drawn in torch's execution order (the attention
// weights' dropout, then each nn.Dropout as it runs), so the oracle can
// replay them. The masks are optional inputs after the layer's tensors, in
// torch's argument order; the node's options say which are given.
#include "frontend/import/Attention.h"
#include "frontend/import/Dropout.h"
#include "frontend/import/Norm.h"

#include <cmath>

using namespace mlir;

namespace kiln::import {
namespace {

/// The options both layers share, and the attention they imply (bias on,
/// no bias_kv, no zero attention, kdim = vdim = d_model, the layer's
/// dropout inside the attention too).
struct LayerSpec {
  AttentionSpec attention;
  int64_t dModel = 0, feedForward = 0;
  double dropout = 0.0, eps = 1e-5;
  bool gelu = false, normFirst = false;

  static LayerSpec of(const Options &o) {
    LayerSpec s;
    s.dModel = o.getInt("d_model");
    s.feedForward = o.getInt("dim_feedforward");
    s.dropout = o.getFloat("dropout");
    s.eps = o.getFloat("layer_norm_eps");
    s.gelu = o.getString("activation") == "gelu";
    s.normFirst = o.getBool("norm_first");
    s.attention.embedDim = s.attention.kdim = s.attention.vdim = s.dModel;
    s.attention.numHeads = o.getInt("nhead");
    s.attention.dropout = s.dropout;
    s.attention.batchFirst = o.getBool("batch_first");
    return s;
  }
};

std::vector<OptionSpec> layerOptions() {
  return {intOption("d_model").atLeast(1),
          intOption("nhead").atLeast(1),
          intOption("dim_feedforward", 2048).atLeast(1),
          floatOption("dropout", 0.1).inRange(0, 1),
          choiceOption("activation", "relu", {"relu", "gelu"}),
          floatOption("layer_norm_eps", 1e-5),
          boolOption("batch_first", false),
          boolOption("norm_first", false)};
}

/// Linear(in, out) under `name`: kaiming_uniform_ weight, fan-in bias.
void declareLinear(LayerDecl &decl, const std::string &name, int64_t in, int64_t out) {
  double bound = 1.0 / std::sqrt(static_cast<double>(in));
  decl.addParameter(name + ".weight", {out, in}, Init::uniform(-bound, bound));
  decl.addParameter(name + ".bias", {out}, Init::uniform(-bound, bound));
}

void declareNorm(LayerDecl &decl, const std::string &name, int64_t features) {
  decl.addParameter(name + ".weight", {features}, normOnes());
  decl.addParameter(name + ".bias", {features}, Init{});
}

/// Declares the parameters of an encoder layer (one attention) or a
/// decoder layer (two), in torch's state_dict order.
void declareLayer(LayerDecl &decl, bool decoder) {
  LayerSpec s = LayerSpec::of(decl.options());
  checkAttentionHeads(s.attention, decl.options().pathOf("nhead"));
  declareAttention(decl, s.attention, "self_attn.");
  if (decoder)
    declareAttention(decl, s.attention, "multihead_attn.");
  declareLinear(decl, "linear1", s.dModel, s.feedForward);
  declareLinear(decl, "linear2", s.feedForward, s.dModel);
  for (int i = 1; i <= (decoder ? 3 : 2); ++i)
    declareNorm(decl, "norm" + std::to_string(i), s.dModel);
}

/// One call of either layer.
class Layer {
public:
  Layer(BuildContext &c) : c(c), s(LayerSpec::of(c.options())) {}

  /// The masks given (the node's options say which, in this order), or
  /// null; fails when the inputs do not match.
  SmallVector<Value> masks(unsigned tensors, ArrayRef<const char *> names) {
    const Options &call = c.callOptions();
    SmallVector<Value> out;
    unsigned next = tensors;
    std::string listed;
    for (const char *name : names) {
      bool given = call.getBool(name);
      out.push_back(given && next < c.operands().size() ? c.operands()[next] : Value());
      next += given;
      if (given)
        listed += std::string(", ") + name;
    }
    if (c.operands().size() != next)
      c.fail("expected " + std::to_string(next) + " inputs (" +
             (tensors == 1 ? "src" : "tgt, memory") + listed +
             ", as the node's options say), got " + std::to_string(c.operands().size()));
    return out;
  }

  Value selfAttention(Value x, Value mask, Value padding) {
    Value a = multiheadAttention(c, s.attention, "self_attn.", x, x, x, padding, mask, false,
                                 true)[0];
    return dropout(a);
  }
  Value crossAttention(Value x, Value memory, Value mask, Value padding) {
    Value a = multiheadAttention(c, s.attention, "multihead_attn.", x, memory, memory, padding,
                                 mask, false, true)[0];
    return dropout(a);
  }
  Value feedForward(Value x) {
    Value h = linear(x, "linear1");
    h = s.gelu ? c.create<nn::GeluOp>(h, nn::GeluApproximationAttr::get(
                                             c.builder().getContext(),
                                             nn::GeluApproximation::none))
               : c.create<nn::ReluOp>(h);
    h = linear(dropout(h), "linear2");
    return dropout(h);
  }
  Value norm(Value x, const std::string &name) {
    int64_t last = static_cast<int64_t>(nn::shapeOf(x).size()) - 1;
    Value y = normalizeOver(c, x, {last}, s.eps);
    return c.create<nn::AddOp>(c.create<nn::MulOp>(y, c.parameter(name + ".weight")),
                               c.parameter(name + ".bias"));
  }
  /// x + block(norm(x)) (norm_first) or norm(x + block(x)).
  template <typename Block>
  Value residual(Value x, const std::string &normName, Block block) {
    if (s.normFirst)
      return c.create<nn::AddOp>(x, block(norm(x, normName)));
    return norm(c.create<nn::AddOp>(x, block(x)), normName);
  }

  /// Checks the layer's input [S, N, d_model] / [N, S, d_model] / [S, d_model].
  void checkInput(Value x, const char *what) {
    auto shape = nn::shapeOf(x);
    if ((shape.size() != 2 && shape.size() != 3) || shape.back() != s.dModel)
      c.fail(std::string(what) + " must be [S, N, d_model], [N, S, d_model] or [S, d_model] "
                                 "with d_model " +
             std::to_string(s.dModel) + ", got " + nn::shapeStr(shape));
  }

  BuildContext &c;
  LayerSpec s;

private:
  Value linear(Value x, const std::string &name) {
    return c.create<nn::LinearOp>(x, c.parameter(name + ".weight"), c.parameter(name + ".bias"));
  }
  Value dropout(Value x) {
    if (s.dropout == 0.0)
      return x; // no draw: the model stays mode-independent
    return maskedDropout(c, x, nn::shapeOf(x), s.dropout, c.training());
  }
};

Value buildEncoderLayer(BuildContext &c) {
  Layer layer(c);
  SmallVector<Value> m = layer.masks(1, {"src_mask", "src_key_padding_mask"});
  Value x = c.operands()[0];
  layer.checkInput(x, "src");
  x = layer.residual(x, "norm1", [&](Value y) { return layer.selfAttention(y, m[0], m[1]); });
  return layer.residual(x, "norm2", [&](Value y) { return layer.feedForward(y); });
}

Value buildDecoderLayer(BuildContext &c) {
  Layer layer(c);
  SmallVector<Value> m = layer.masks(2, {"tgt_mask", "memory_mask", "tgt_key_padding_mask",
                                         "memory_key_padding_mask"});
  Value x = c.operands()[0], memory = c.operands()[1];
  layer.checkInput(x, "tgt");
  layer.checkInput(memory, "memory");
  x = layer.residual(x, "norm1", [&](Value y) { return layer.selfAttention(y, m[0], m[2]); });
  x = layer.residual(x, "norm2",
                     [&](Value y) { return layer.crossAttention(y, memory, m[1], m[3]); });
  return layer.residual(x, "norm3", [&](Value y) { return layer.feedForward(y); });
}

} // namespace

void registerTransformerFamily(Registry &r) {
  const char *lowering =
      "nn.linear, nn.matmul (attention, batched), softmax, nn.batch_norm, nn.mul (layer norm), dropout (decomposed, "
      "with MultiheadAttention's)";
  Entry encoder{"nn.TransformerEncoderLayer", EntryKind::Layer, lowering};
  encoder.options = layerOptions();
  // forward(src, src_mask=None, src_key_padding_mask=None).
  encoder.callOptions = {boolOption("src_mask", false), boolOption("src_key_padding_mask", false)};
  encoder.numInputs = 3;
  encoder.numOptionalInputs = 2;
  encoder.maskOrFloatInputs = {1, 2};
  encoder.declare = [](LayerDecl &decl) { declareLayer(decl, false); };
  encoder.build = buildEncoderLayer;
  encoder.example = {{"options", {{"d_model", 4}, {"nhead", 2}, {"dim_feedforward", 8}}},
                     {"input", {3, 2, 4}}};
  r.add(std::move(encoder));

  Entry decoder{"nn.TransformerDecoderLayer", EntryKind::Layer, lowering};
  decoder.options = layerOptions();
  // forward(tgt, memory, tgt_mask=None, memory_mask=None,
  // tgt_key_padding_mask=None, memory_key_padding_mask=None).
  decoder.callOptions = {boolOption("tgt_mask", false), boolOption("memory_mask", false),
                         boolOption("tgt_key_padding_mask", false),
                         boolOption("memory_key_padding_mask", false)};
  decoder.numInputs = 6;
  decoder.numOptionalInputs = 4;
  decoder.maskOrFloatInputs = {2, 3, 4, 5};
  decoder.declare = [](LayerDecl &decl) { declareLayer(decl, true); };
  decoder.build = buildDecoderLayer;
  decoder.example = {{"options", {{"d_model", 4}, {"nhead", 2}, {"dim_feedforward", 8}}},
                     {"input", {3, 2, 4}}};
  r.add(std::move(decoder));

  // The stacks only structure the module tree, as torch's: `layers` (a
  // ModuleList of copies of one layer) and an optional `norm`; graph nodes
  // call each layer, then the norm (the DSL's TransformerEncoder /
  // TransformerDecoder / Transformer write them so).
  r.add(Entry{"nn.TransformerEncoder", EntryKind::Container,
              "(graph structure: its TransformerEncoderLayer calls, then its LayerNorm)"});
  r.add(Entry{"nn.TransformerDecoder", EntryKind::Container,
              "(graph structure: its TransformerDecoderLayer calls, then its LayerNorm)"});
  // nn.Transformer: an encoder and a decoder stack, each with a LayerNorm;
  // its _reset_parameters re-draws every matrix xavier_uniform_.
  Entry transformer{"nn.Transformer", EntryKind::Container,
                    "(graph structure: encoder and decoder stacks; matrices start "
                    "xavier_uniform_)"};
  transformer.xavierMatrices = true;
  r.add(std::move(transformer));
}

} // namespace kiln::import
