// The `distance` family of the inventory: nn.CosineSimilarity and
// nn.PairwiseDistance (two-input layers) and their functional forms, each a
// composite of elementwise ops and sums with torch 1.13's exact formula.
#include "frontend/import/Distance.h"

#include "ir/NNBuilders.h"
#include "ir/TwoInputShapeRules.h"

#include <cmath>

using namespace mlir;

namespace kiln::import {
namespace {

shape_rules::Shape shapeVec(Value x) {
  auto s = nn::shapeOf(x);
  return shape_rules::Shape(s.begin(), s.end());
}

Value expandTo(BuildContext &c, Value x, const shape_rules::Shape &shape) {
  if (shapeVec(x) == shape)
    return x;
  return c.create<nn::BroadcastToOp>(nn::f32Tensor(c.builder().getContext(), shape), x);
}

Value sumOver(BuildContext &c, Value x, int64_t dim, bool keepdim) {
  OpBuilder &b = c.builder();
  return c.create<nn::SumOp>(x, b.getDenseI64ArrayAttr({dim}),
                             keepdim ? b.getUnitAttr() : UnitAttr());
}

// torch 1.13 (at::cosine_similarity), x1 and x2 expanded to one shape:
//   s_i = clamp_min(sum(x_i^2, dim, keepdim), eps^2)
//   y = sum((x1 / sqrt(s_1)) * (x2 / sqrt(s_2)), dim)
// torch clamps in place under NoGradGuard: the value is clamped, the
// gradient flows into s_i as if it were not. So the clamp is written
// s_i + detach(max(s_i, eps^2) - s_i): the same value (exactly when no
// clamp happens), and s_i's own gradient, also for a norm below eps.
} // namespace

Value cosineSimilarity(BuildContext &c, Value x1, Value x2, int64_t dim, double eps) {
  shape_rules::Inferred out =
      shape_rules::cosineSimilarity(shapeVec(x1), shapeVec(x2), dim);
  if (!out.ok())
    c.fail(out.error);
  shape_rules::Shape shape = shape_rules::broadcast(shapeVec(x1), shapeVec(x2)).shape;
  Value normalised[2];
  for (int i = 0; i < 2; ++i) {
    Value x = expandTo(c, i == 0 ? x1 : x2, shape);
    Value squares = sumOver(c, c.create<nn::MulOp>(x, x), dim, true);
    Value lifted = c.create<nn::SubOp>(
        c.create<nn::MaximumOp>(squares,
                                nn::scalarConstant(c.builder(), c.loc(), eps * eps)),
        squares);
    Value clamped = c.create<nn::AddOp>(squares, c.create<nn::DetachOp>(lifted));
    Value norm = c.create<nn::SqrtOp>(clamped);
    normalised[i] = c.create<nn::DivOp>(x, norm);
  }
  return sumOver(c, c.create<nn::MulOp>(normalised[0], normalised[1]), dim, false);
}

// torch 1.13 (at::pairwise_distance): norm(x1 - x2 + eps, p, -1, keepdim)
// over the last dimension of the broadcast shape, norm as at::norm:
//   p = 0: the count of non-zero elements (no gradient)
//   p = 1: sum |d|;  p = 2: sqrt(sum d^2);  else (sum |d|^p)^(1/p)
//   p = +-inf: amax / amin |d| (the gradient split evenly between ties,
//   times sign(d): torch's norm backward)
Value pairwiseDistance(BuildContext &c, Value x1, Value x2, double p, double eps,
                       bool keepdim) {
  shape_rules::Inferred out =
      shape_rules::pairwiseDistance(shapeVec(x1), shapeVec(x2), keepdim);
  if (!out.ok())
    c.fail(out.error);
  OpBuilder &b = c.builder();
  Location loc = c.loc();
  Value d = c.create<nn::AddOp>(c.create<nn::SubOp>(x1, x2),
                                nn::scalarConstant(b, loc, eps));
  if (std::isinf(p)) {
    Value magnitude = c.create<nn::AbsOp>(d);
    DenseI64ArrayAttr last = b.getDenseI64ArrayAttr({-1});
    UnitAttr keep = keepdim ? b.getUnitAttr() : UnitAttr();
    return p > 0 ? c.create<nn::AmaxOp>(magnitude, last, keep)
                 : c.create<nn::AminOp>(magnitude, last, keep);
  }
  if (p == 0.0) {
    Value nonzero = c.create<nn::CompareOp>(
        nn::ComparePredicateAttr::get(b.getContext(), nn::ComparePredicate::ne), d,
        nn::scalarConstant(b, loc, 0.0));
    Value ones = c.create<nn::WhereOp>(nonzero, nn::scalarConstant(b, loc, 1.0),
                                       nn::scalarConstant(b, loc, 0.0));
    return sumOver(c, ones, -1, keepdim);
  }
  if (p == 1.0)
    return sumOver(c, c.create<nn::AbsOp>(d), -1, keepdim);
  if (p == 2.0)
    return c.create<nn::SqrtOp>(sumOver(c, c.create<nn::MulOp>(d, d), -1, keepdim));
  Value powered = c.create<nn::PowOp>(c.create<nn::AbsOp>(d), nn::scalarConstant(b, loc, p));
  return c.create<nn::PowOp>(sumOver(c, powered, -1, keepdim),
                             nn::scalarConstant(b, loc, 1.0 / p));
}

void registerDistanceFamily(Registry &r) {
  for (bool layer : {true, false}) {
    Entry cos{layer ? "nn.CosineSimilarity" : "cosine_similarity",
              layer ? EntryKind::Layer : EntryKind::Function,
              "nn.mul, nn.sum, nn.sqrt, nn.div (decomposed)"};
    cos.numInputs = 2;
    cos.options = {intOption("dim", 1), floatOption("eps", 1e-8)};
    cos.build = [](BuildContext &c) {
      return cosineSimilarity(c, c.operands()[0], c.operands()[1],
                              c.options().getInt("dim"), c.options().getFloat("eps"));
    };
    cos.example = {{"input", {2, 4}}};
    r.add(std::move(cos));

    Entry dist{layer ? "nn.PairwiseDistance" : "pairwise_distance",
               layer ? EntryKind::Layer : EntryKind::Function,
               "nn.sub, nn.abs, nn.pow, nn.sum (decomposed)"};
    dist.numInputs = 2;
    dist.options = {floatOption("p", 2.0).orInfinite(), floatOption("eps", 1e-6),
                    boolOption("keepdim", false)};
    dist.build = [](BuildContext &c) {
      const Options &o = c.options();
      return pairwiseDistance(c, c.operands()[0], c.operands()[1], o.getFloat("p"),
                              o.getFloat("eps"), o.getBool("keepdim"));
    };
    dist.example = {{"input", {2, 4}}};
    r.add(std::move(dist));
  }
}

} // namespace kiln::import
