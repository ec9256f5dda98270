// The `linear` family of the inventory: nn.Linear, nn.LazyLinear,
// nn.Bilinear (and torch.bilinear), nn.Identity, F.linear.
#include "frontend/import/Registry.h"

#include "ir/NNBuilders.h"
#include "ir/TwoInputShapeRules.h"

#include <cmath>

using namespace mlir;

namespace kiln::import {

static void declareLinear(LayerDecl &decl) {
  const Options &o = decl.options();
  int64_t in = o.getInt("in_features"), out = o.getInt("out_features");
  // torch: kaiming_uniform_(a=sqrt(5)) == U(-1/sqrt(in), 1/sqrt(in)); the
  // bias uses the same bound.
  double bound = 1.0 / std::sqrt(static_cast<double>(in));
  decl.addParameter("weight", {out, in}, Init::uniform(-bound, bound));
  if (o.getBool("bias"))
    decl.addParameter("bias", {out}, Init::uniform(-bound, bound));
}

static Value buildLinear(BuildContext &c) {
  return c.create<nn::LinearOp>(c.operands()[0], c.parameter("weight"),
                                c.parameter("bias"));
}

// y[b, o] = sum_ij x1[b, i] W[o, i, j] x2[b, j] + bias[o], over the leading
// dimensions flattened to b, as one nn.linear and a product-sum:
//   t = linear(x1, reshape(permute(W, (0, 2, 1)), [out * in2, in1]))
//   y = sum(reshape(t, [B, out, in2]) * x2[:, None, :], -1) + bias
static Value bilinear(BuildContext &c, Value x1, Value x2, Value weight, Value bias) {
  auto vec = [](Value v) {
    auto s = nn::shapeOf(v);
    return shape_rules::Shape(s.begin(), s.end());
  };
  shape_rules::Inferred out = shape_rules::bilinear(vec(x1), vec(x2), vec(weight));
  if (!out.ok())
    c.fail(out.error);
  auto w = nn::shapeOf(weight);
  int64_t o = w[0], in1 = w[1], in2 = w[2];
  if (bias && nn::shapeOf(bias) != llvm::ArrayRef<int64_t>{o})
    c.fail("bias " + nn::shapeStr(nn::shapeOf(bias)) + " does not match out_features " +
           std::to_string(o));
  int64_t batch = 1;
  for (size_t i = 0; i + 1 < out.shape.size(); ++i)
    batch *= out.shape[i];
  MLIRContext *ctx = c.builder().getContext();
  auto reshape = [&](Value v, llvm::ArrayRef<int64_t> shape) {
    return c.create<nn::ReshapeOp>(nn::f32Tensor(ctx, shape), v);
  };
  Value wt = c.create<nn::PermuteOp>(weight, c.builder().getDenseI64ArrayAttr({0, 2, 1}));
  Value t = c.create<nn::LinearOp>(reshape(x1, {batch, in1}), reshape(wt, {o * in2, in1}),
                                   Value());
  Value prod = c.create<nn::MulOp>(reshape(t, {batch, o, in2}),
                                   reshape(x2, {batch, 1, in2}));
  Value y = c.create<nn::SumOp>(prod, c.builder().getDenseI64ArrayAttr({2}), UnitAttr());
  if (bias)
    y = c.create<nn::AddOp>(y, bias);
  return reshape(y, out.shape);
}

void registerLinearFamily(Registry &r) {
  Entry linear{"nn.Linear", EntryKind::Layer, "nn.linear"};
  linear.options = {intOption("in_features").atLeast(1),
                    intOption("out_features").atLeast(1),
                    boolOption("bias", true)};
  linear.declare = declareLinear;
  linear.build = buildLinear;
  linear.example = {{"options", {{"in_features", 4}, {"out_features", 3}}},
                    {"input", {2, 4}}};
  r.add(std::move(linear));

  // nn.LazyLinear(out_features, bias): the DSL resolves in_features from the
  // first input it sees and records it, so the model file describes the
  // nn.Linear it becomes (torch's cls_to_become); 0 means never called.
  Entry lazy{"nn.LazyLinear", EntryKind::Layer,
             "nn.linear (as Linear; in_features resolved from the first input at trace time)"};
  lazy.options = {intOption("in_features", 0).atLeast(0),
                  intOption("out_features").atLeast(1), boolOption("bias", true)};
  lazy.declare = [](LayerDecl &decl) {
    if (decl.options().getInt("in_features") == 0)
      fail(decl.options().pathOf("in_features"),
           "LazyLinear was never called in the traced forward: its in_features, "
           "taken from its first input, is unknown");
    declareLinear(decl);
  };
  lazy.build = buildLinear;
  lazy.example = {{"options", {{"in_features", 4}, {"out_features", 3}}},
                  {"input", {2, 4}}};
  r.add(std::move(lazy));

  // nn.Bilinear(in1_features, in2_features, out_features, bias): two inputs.
  Entry bil{"nn.Bilinear", EntryKind::Layer, "nn.linear, nn.mul, nn.sum (decomposed)"};
  bil.numInputs = 2;
  bil.options = {intOption("in1_features").atLeast(1), intOption("in2_features").atLeast(1),
                 intOption("out_features").atLeast(1), boolOption("bias", true)};
  bil.declare = [](LayerDecl &decl) {
    const Options &o = decl.options();
    int64_t in1 = o.getInt("in1_features"), in2 = o.getInt("in2_features"),
            out = o.getInt("out_features");
    // torch: bound = 1 / sqrt(weight.size(1)) for the weight and the bias.
    double bound = 1.0 / std::sqrt(static_cast<double>(in1));
    decl.addParameter("weight", {out, in1, in2}, Init::uniform(-bound, bound));
    if (o.getBool("bias"))
      decl.addParameter("bias", {out}, Init::uniform(-bound, bound));
  };
  bil.build = [](BuildContext &c) {
    return bilinear(c, c.operands()[0], c.operands()[1], c.parameter("weight"),
                    c.parameter("bias"));
  };
  bil.example = {{"options", {{"in1_features", 4}, {"in2_features", 4}, {"out_features", 3}}},
                 {"input", {2, 4}}};
  r.add(std::move(bil));

  // torch.bilinear(input1, input2, weight, bias=None): weight [out, in1,
  // in2] and the optional bias [out] are graph values.
  Entry bilFn{"bilinear", EntryKind::Function, "nn.linear, nn.mul, nn.sum (decomposed)"};
  bilFn.numInputs = 4;
  bilFn.numOptionalInputs = 1;
  bilFn.build = [](BuildContext &c) {
    Value bias = c.operands().size() > 3 ? c.operands()[3] : Value();
    if (bias) {
      auto w = nn::shapeOf(c.operands()[2]), b = nn::shapeOf(bias);
      if (w.size() != 3 || b.size() != 1 || b[0] != w[0])
        c.fail("bias " + nn::shapeStr(b) + " must be [out_features] = [" +
               (w.empty() ? std::string("?") : std::to_string(w[0])) + "] for weight " +
               nn::shapeStr(w));
    }
    return bilinear(c, c.operands()[0], c.operands()[1], c.operands()[2], bias);
  };
  // Inputs, weight [2, 2, 2]: the example feeds one value to every input.
  bilFn.example = {{"input", {2, 2, 2}}};
  r.add(std::move(bilFn));

  // F.linear(input, weight, bias=None): weight [out, in] and the optional
  // bias [out] are graph values (a module's own parameters, a tied weight).
  Entry linearFn{"linear", EntryKind::Function,
                 "nn.linear (weight and bias: the second and third inputs)"};
  linearFn.numInputs = 3;
  linearFn.numOptionalInputs = 1;
  linearFn.build = [](BuildContext &c) {
    Value weight = c.operands()[1];
    Value bias = c.operands().size() > 2 ? c.operands()[2] : Value();
    auto w = nn::shapeOf(weight);
    if (w.size() != 2)
      c.fail("weight " + nn::shapeStr(w) + " must be [out_features, in_features]");
    if (bias && nn::shapeOf(bias) != llvm::ArrayRef<int64_t>{w[0]})
      c.fail("bias " + nn::shapeStr(nn::shapeOf(bias)) + " must be [out_features] = [" +
             std::to_string(w[0]) + "] for weight " + nn::shapeStr(w));
    return c.create<nn::LinearOp>(c.operands()[0], weight, bias);
  };
  // Input and weight [2, 2]: the example feeds one value to every input.
  linearFn.example = {{"input", {2, 2}}};
  r.add(std::move(linearFn));

  // torch.nn.Identity accepts and ignores any arguments; Kiln's model file
  // has none.
  Entry identity{"nn.Identity", EntryKind::Layer, "(no op)"};
  identity.build = [](BuildContext &c) -> Value { return c.operands()[0]; };
  identity.example = {{"input", {2, 4}}};
  r.add(std::move(identity));
}

} // namespace kiln::import
