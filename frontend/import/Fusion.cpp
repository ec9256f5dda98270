// torch.nn.utils.fuse_conv_bn_weights and fuse_linear_bn_weights (torch
// 1.13's torch/nn/utils/fusion.py) as graph functions: an eval-mode batch
// norm folded into the weight and bias of the convolution or linear layer
// before it, elementwise nn ops in torch's order of operations. The module
// forms (fuse_conv_bn_eval, fuse_linear_bn_eval) are the runtime's
// (kiln/fusion.h, runtime/lib/fusion.cpp).
//
// torch returns the results as new nn.Parameters: leaves, detached from the
// inputs. So do these (nn.detach): a loss reached only through them gives
// the inputs no gradient, as torch leaves their .grad None.
#include "frontend/import/Registry.h"

#include "ir/NNBuilders.h"

using namespace mlir;

namespace kiln::import {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

/// The inputs of a call in torch's order, with torch's None for those a
/// boolean option says are absent (null Values).
struct FusionInputs {
  Value weight, bias, runningMean, runningVar, bnWeight, bnBias;
};

/// Reads the call's inputs: weight, [bias], running_mean, running_var,
/// [bn_weight], [bn_bias], as `hasBias` / `hasBnWeight` / `hasBnBias` say.
FusionInputs readInputs(BuildContext &c, bool hasBias, bool hasBnWeight, bool hasBnBias) {
  size_t expected = 3 + hasBias + hasBnWeight + hasBnBias;
  ValueRange in = c.operands();
  if (in.size() != expected)
    c.fail("expected " + str(static_cast<int64_t>(expected)) +
           " inputs (the weight, " + (hasBias ? "the bias, " : "") +
           "running_mean, running_var" + (hasBnWeight ? ", the batch norm's weight" : "") +
           (hasBnBias ? ", the batch norm's bias" : "") + ": the options say which are given), got " +
           str(static_cast<int64_t>(in.size())));
  FusionInputs r;
  size_t i = 0;
  r.weight = in[i++];
  if (hasBias)
    r.bias = in[i++];
  r.runningMean = in[i++];
  r.runningVar = in[i++];
  if (hasBnWeight)
    r.bnWeight = in[i++];
  if (hasBnBias)
    r.bnBias = in[i++];
  return r;
}

/// Checks that every per-channel input is [channels].
void checkChannels(BuildContext &c, const FusionInputs &in, int64_t channels,
                   const std::string &which) {
  auto check = [&](Value v, const char *name) {
    if (v && nn::shapeOf(v) != ArrayRef<int64_t>{channels})
      c.fail(std::string(name) + " " + nn::shapeStr(nn::shapeOf(v)) + " must be [" + str(channels) +
             "], the weight's " + which + " (weight " + nn::shapeStr(nn::shapeOf(in.weight)) + ")");
  };
  check(in.bias, "bias");
  check(in.runningMean, "running_mean");
  check(in.runningVar, "running_var");
  check(in.bnWeight, "the batch norm's weight");
  check(in.bnBias, "the batch norm's bias");
}

/// `v` [C] viewed with C at dimension `dim` of a tensor of `rank`
/// dimensions (torch's reshape to [-1, 1, ...] or [1, -1, ...]).
Value channelsAt(BuildContext &c, Value v, int64_t channels, size_t dim, size_t rank) {
  SmallVector<int64_t> shape(rank, 1);
  shape[dim] = channels;
  return nn::reshapeTo(c.builder(), c.loc(), v, nn::f32Tensor(c.builder().getContext(), shape));
}

/// (b - running_mean) with torch's zeros_like(running_mean) for a missing b.
Value centredBias(BuildContext &c, const FusionInputs &in) {
  return in.bias ? c.create<nn::SubOp>(in.bias, in.runningMean)
                 : c.create<nn::NegOp>(in.runningMean);
}

/// fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b,
/// transpose):
///   rsqrt = torch.rsqrt(bn_rv + bn_eps)
///   conv_w * (bn_w * rsqrt).reshape([-1, 1, ...])   ([1, -1, ...]: transpose)
///   (conv_b - bn_rm) * rsqrt * bn_w + bn_b
/// with zeros for a None conv_b or bn_b and ones for a None bn_w.
SmallVector<Value> fuseConvBnWeights(BuildContext &c) {
  const Options &o = c.options();
  FusionInputs in = readInputs(c, o.getBool("conv_bias"), o.getBool("bn_weight"),
                               o.getBool("bn_bias"));
  auto w = nn::shapeOf(in.weight);
  bool transpose = o.getBool("transpose");
  if (w.size() < 3 || w.size() > 5)
    c.fail("the convolution's weight " + nn::shapeStr(w) +
           " must have 3 to 5 dimensions ([out, in / groups, *kernel]; transpose: "
           "[in, out / groups, *kernel])");
  size_t dim = transpose ? 1 : 0;
  int64_t channels = w[dim];
  checkChannels(c, in, channels,
                transpose ? "dimension 1 (out / groups, transpose)" : "dimension 0 (out channels)");
  OpBuilder &b = c.builder();
  Value rsqrt = c.create<nn::RsqrtOp>(
      c.create<nn::AddOp>(in.runningVar, nn::scalarConstant(b, c.loc(), o.getFloat("eps"))));
  Value scale = in.bnWeight ? c.create<nn::MulOp>(in.bnWeight, rsqrt) : rsqrt;
  Value weight = c.create<nn::MulOp>(in.weight, channelsAt(c, scale, channels, dim, w.size()));
  Value bias = c.create<nn::MulOp>(centredBias(c, in), rsqrt);
  if (in.bnWeight)
    bias = c.create<nn::MulOp>(bias, in.bnWeight);
  if (in.bnBias)
    bias = c.create<nn::AddOp>(bias, in.bnBias);
  return {c.create<nn::DetachOp>(weight), c.create<nn::DetachOp>(bias)};
}

/// fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w,
/// bn_b):
///   scale = bn_w * torch.rsqrt(bn_rv + bn_eps)
///   linear_w * scale.unsqueeze(-1), (linear_b - bn_rm) * scale + bn_b
/// with zeros for a None linear_b; torch 1.13 needs bn_w and bn_b.
SmallVector<Value> fuseLinearBnWeights(BuildContext &c) {
  const Options &o = c.options();
  FusionInputs in = readInputs(c, o.getBool("linear_bias"), true, true);
  auto w = nn::shapeOf(in.weight);
  if (w.size() != 2)
    c.fail("the linear layer's weight " + nn::shapeStr(w) + " must be [out_features, in_features]");
  int64_t channels = w[0];
  checkChannels(c, in, channels, "dimension 0 (out_features)");
  OpBuilder &b = c.builder();
  Value scale = c.create<nn::MulOp>(
      in.bnWeight,
      c.create<nn::RsqrtOp>(c.create<nn::AddOp>(
          in.runningVar, nn::scalarConstant(b, c.loc(), o.getFloat("eps")))));
  Value weight = c.create<nn::MulOp>(in.weight, channelsAt(c, scale, channels, 0, 2));
  Value bias = c.create<nn::AddOp>(c.create<nn::MulOp>(centredBias(c, in), scale), in.bnBias);
  return {c.create<nn::DetachOp>(weight), c.create<nn::DetachOp>(bias)};
}

/// A model calling `function` with `options` on model inputs of `shapes`
/// (read through neg, a computed value), its two results the outputs.
json exampleModel(const std::string &function, const json &options,
                  const std::vector<std::vector<int64_t>> &shapes) {
  json inputs = json::array(), graph = json::array(), names = json::array();
  for (size_t i = 0; i < shapes.size(); ++i) {
    std::string x = "x" + std::to_string(i), h = "h" + std::to_string(i);
    inputs.push_back({{"name", x}, {"shape", shapes[i]}, {"dtype", "float32"}});
    graph.push_back({{"function", "neg"}, {"options", json::object()},
                     {"inputs", {x}}, {"outputs", {h}}});
    names.push_back(h);
  }
  graph.push_back({{"function", function}, {"options", options},
                   {"inputs", names}, {"outputs", {"w", "b"}}});
  return {{"format", "kiln-model"},
          {"version", 1},
          {"name", "m"},
          {"inputs", inputs},
          {"module", {{"type", "Sequential"}, {"children", json::array()}}},
          {"graph", graph},
          {"outputs", {"w", "b"}}};
}

} // namespace

void registerFusionFamily(Registry &r) {
  Entry conv{"fuse_conv_bn_weights", EntryKind::Function,
             "nn.rsqrt, nn.mul, nn.sub, nn.add, nn.detach (the fused weight and bias)"};
  conv.torchNnUtility = true;
  // Inputs: weight, bias, running_mean, running_var, weight, bias of the
  // batch norm; the booleans say which of the optional ones are given.
  conv.options = {floatOption("eps"), boolOption("transpose", false),
                  boolOption("conv_bias", true), boolOption("bn_weight", true),
                  boolOption("bn_bias", true)};
  conv.numInputs = 6;
  conv.numOptionalInputs = 3;
  conv.buildOutputs = fuseConvBnWeights;
  conv.example = {{"model", exampleModel("fuse_conv_bn_weights", {{"eps", 1e-5}},
                                         {{4, 2, 3}, {4}, {4}, {4}, {4}, {4}})},
                  {"outputs", 2}};
  r.add(std::move(conv));

  Entry linear{"fuse_linear_bn_weights", EntryKind::Function,
               "nn.rsqrt, nn.mul, nn.sub, nn.add, nn.detach (the fused weight and bias)"};
  linear.torchNnUtility = true;
  linear.options = {floatOption("eps"), boolOption("linear_bias", true)};
  linear.numInputs = 6;
  linear.numOptionalInputs = 1;
  linear.buildOutputs = fuseLinearBnWeights;
  linear.example = {{"model", exampleModel("fuse_linear_bn_weights",
                                           {{"eps", 1e-5}, {"linear_bias", false}},
                                           {{4, 3}, {4}, {4}, {4}, {4}})},
                    {"outputs", 2}};
  r.add(std::move(linear));

  // The module forms return a copy of the layer with the fused weights: a
  // compiled model cannot swap a module, so the runtime writes them into a
  // layer of another instance (an inference build without the batch norms).
  r.add(Entry{"fuse_conv_bn_eval", EntryKind::Runtime,
              "kiln_fuse_conv_bn_eval (runtime, kiln/fusion.h: from one instance's conv and "
              "eval-mode batch norm into another's conv)"});
  r.add(Entry{"fuse_linear_bn_eval", EntryKind::Runtime,
              "kiln_fuse_linear_bn_eval (runtime, kiln/fusion.h: from one instance's Linear and "
              "eval-mode batch norm into another's Linear)"});
}

} // namespace kiln::import
