// The `dropout` family of the inventory: layers that depend on the mode and
// draw from the instance's random stream (BuildContext::training,
// BuildContext::randomUniform), and their functional forms (F.dropout,
// ..., whose `training` option decides instead of the mode). Each is a composite of primitive ops, so
// autodiff reuses the forward's mask: the backward multiplies by the same
// `noise` value, never by a second draw.
#include "frontend/import/Dropout.h"

#include "ir/NNBuilders.h"

#include <cmath>

using namespace mlir;

namespace kiln::import {
namespace {

/// The shape of the noise tensor torch draws for `x`: x's shape, or its
/// leading `k` dimensions followed by ones.
SmallVector<int64_t> noiseShape(ArrayRef<int64_t> x, size_t k) {
  SmallVector<int64_t> shape(x.begin(), x.end());
  for (size_t i = k; i < shape.size(); ++i)
    shape[i] = 1;
  return shape;
}

/// u < 1 - p for u uniform in [0, 1) of `shape`: torch's bernoulli(1 - p).
Value keepMask(BuildContext &c, ArrayRef<int64_t> shape, double p) {
  OpBuilder &b = c.builder();
  Value u = c.randomUniform(shape);
  return c.create<nn::CompareOp>(
      nn::ComparePredicateAttr::get(b.getContext(), nn::ComparePredicate::lt), u,
      nn::scalarConstant(b, c.loc(), static_cast<float>(1.0 - p)));
}

// torch 1.13's _dropout_impl with alpha_dropout (AlphaDropout,
// FeatureAlphaDropout): with m = bernoulli(1 - p) of `shape`, SELU's
// alpha' = 1.7580993408473766 (scale * alpha) and
// a = 1 / sqrt((alpha'^2 p + 1)(1 - p)):
//   y = x * (m * a) + ((m - 1) * alpha' a + alpha' a p)
// evaluated in float as torch does (the scalars rounded to float first):
// m = 1 gives x * a + alpha' a p, m = 0 gives x * 0 + (alpha' a p - alpha' a).
// Identity when not `active` and for p = 0; x * 0 for p = 1.
Value alphaDropout(BuildContext &c, Value x, ArrayRef<int64_t> shape, double p, bool active) {
  if (!active || p == 0.0)
    return x;
  OpBuilder &b = c.builder();
  Location loc = c.loc();
  if (p == 1.0)
    return c.create<nn::MulOp>(x, nn::scalarConstant(b, loc, 0.0));
  constexpr double alpha = 1.7580993408473766;
  double a = 1.0 / std::sqrt((alpha * alpha * p + 1) * (1 - p));
  float scale = static_cast<float>(a);
  float shiftKept = static_cast<float>(alpha * a * p);
  float shiftDropped = -static_cast<float>(alpha * a) + shiftKept;
  Value kept = keepMask(c, shape, p);
  Value noise = c.create<nn::WhereOp>(kept, nn::scalarConstant(b, loc, scale),
                                      nn::scalarConstant(b, loc, 0.0));
  Value shift = c.create<nn::WhereOp>(kept, nn::scalarConstant(b, loc, shiftKept),
                                      nn::scalarConstant(b, loc, shiftDropped));
  return c.create<nn::AddOp>(c.create<nn::MulOp>(x, noise), shift);
}

/// The noise shape of a feature layer for input `x`, or an error in
/// torch's words. Dropout1d takes [C, L] or [N, C, L]; Dropout2d any input
/// of rank >= 2 as [N, C, *] (torch 1.13 treats a 3-D input as batched
/// [N, C, L], with a warning); Dropout3d [C, D, H, W] or [N, C, D, H, W]
/// (other ranks, with a warning, as unbatched); FeatureAlphaDropout [N, C, *].
SmallVector<int64_t> featureNoiseShape(BuildContext &c, const std::string &layer, Value x) {
  ArrayRef<int64_t> s = nn::shapeOf(x);
  size_t rank = s.size();
  if (layer == "Dropout1d") {
    if (rank != 2 && rank != 3)
      c.fail("Dropout1d expected a 2-D (unbatched) or 3-D (batched) input, got " +
             nn::shapeStr(s));
    return noiseShape(s, rank - 1);
  }
  if (layer == "Dropout3d") {
    if (rank < 1)
      c.fail("Dropout3d expected a 4-D (unbatched) or 5-D (batched) input, got " +
             nn::shapeStr(s));
    return noiseShape(s, rank == 5 ? 2 : 1);
  }
  if (rank < 2)
    c.fail(layer + " (feature dropout) requires at least 2 dimensions in the input, got " +
           nn::shapeStr(s));
  return noiseShape(s, 2);
}

} // namespace

// torch 1.13's _dropout_impl (Dropout; feature_dropout for Dropout1d/2d/3d)
// with the noise of shape `shape`: identity when not `active` (a layer in
// eval mode, a function with training=False) and for p = 0, x * 0 for
// p = 1, else x * (bernoulli(1 - p) / (1 - p)), each noise value shared by
// the dimensions that are 1 in `shape`.
Value maskedDropout(BuildContext &c, Value x, ArrayRef<int64_t> shape, double p, bool active) {
  if (!active || p == 0.0)
    return x;
  OpBuilder &b = c.builder();
  Location loc = c.loc();
  if (p == 1.0)
    return c.create<nn::MulOp>(x, nn::scalarConstant(b, loc, 0.0));
  float keep = static_cast<float>(1.0 - p);
  Value noise = c.create<nn::WhereOp>(keepMask(c, shape, p),
                                      nn::scalarConstant(b, loc, 1.0f / keep),
                                      nn::scalarConstant(b, loc, 0.0));
  return c.create<nn::MulOp>(x, noise);
}

void registerDropoutFamily(Registry &r) {
  Entry dropout{"nn.Dropout", EntryKind::Layer,
                "nn.random_uniform, nn.compare, nn.where, nn.mul (train mode; "
                "identity in eval mode)"};
  dropout.options = {floatOption("p", 0.5).inRange(0, 1),
                     boolOption("inplace", false).noEffect()};
  dropout.build = [](BuildContext &c) -> Value {
    Value x = c.operands()[0];
    return maskedDropout(c, x, nn::shapeOf(x), c.options().getFloat("p"), c.training());
  };
  dropout.example = {{"options", {{"p", 0.25}}}, {"input", {2, 4}}};
  r.add(std::move(dropout));

  // One mask value per channel: Dropout1d/2d/3d, FeatureAlphaDropout.
  for (const char *name : {"Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout"}) {
    std::string layer = name;
    bool alpha = layer == "FeatureAlphaDropout";
    Entry e{"nn." + layer, EntryKind::Layer,
            "nn.random_uniform of [N, C, 1, ...], nn.compare, nn.where, nn.mul" +
                std::string(alpha ? ", nn.add" : "") + " (train mode; identity in eval mode)"};
    e.options = {floatOption("p", 0.5).inRange(0, 1),
                 boolOption("inplace", false).noEffect()};
    e.build = [layer, alpha](BuildContext &c) -> Value {
      Value x = c.operands()[0];
      SmallVector<int64_t> shape = featureNoiseShape(c, layer, x);
      double p = c.options().getFloat("p");
      return alpha ? alphaDropout(c, x, shape, p, c.training())
                   : maskedDropout(c, x, shape, p, c.training());
    };
    json input = layer == "Dropout1d" ? json{2, 3, 4} : layer == "Dropout3d" ? json{2, 3, 2, 2, 2} : json{2, 3, 2, 2};
    e.example = {{"options", {{"p", 0.25}}}, {"input", input}};
    r.add(std::move(e));
  }

  Entry alpha{"nn.AlphaDropout", EntryKind::Layer,
              "nn.random_uniform, nn.compare, nn.where, nn.mul, nn.add (train mode; "
              "identity in eval mode)"};
  alpha.options = {floatOption("p", 0.5).inRange(0, 1),
                   boolOption("inplace", false).noEffect()};
  alpha.build = [](BuildContext &c) -> Value {
    Value x = c.operands()[0];
    return alphaDropout(c, x, nn::shapeOf(x), c.options().getFloat("p"), c.training());
  };
  alpha.example = {{"options", {{"p", 0.25}}}, {"input", {2, 4}}};
  r.add(std::move(alpha));

  // The functional forms, F.<name>(input, p=0.5, training, inplace=False):
  // the same noise, drawn in both modes when `training` (torch's default
  // True for dropout and dropout1d/2d/3d, False for the alpha forms, which
  // are then the identity), whatever the module's mode.
  struct Functional {
    const char *name, *layer;
    bool trainingDefault;
  };
  for (Functional f : {Functional{"dropout", "Dropout", true}, {"dropout1d", "Dropout1d", true},
                       {"dropout2d", "Dropout2d", true}, {"dropout3d", "Dropout3d", true},
                       {"alpha_dropout", "AlphaDropout", false},
                       {"feature_alpha_dropout", "FeatureAlphaDropout", false}}) {
    std::string layer = f.layer;
    bool alpha = layer.find("Alpha") != std::string::npos;
    bool perElement = layer == "Dropout" || layer == "AlphaDropout";
    Entry e{f.name, EntryKind::Function,
            "nn.random_uniform, nn.compare, nn.where, nn.mul" + std::string(alpha ? ", nn.add" : "") +
                " (training=True, in either mode; else the identity)"};
    e.options = {floatOption("p", 0.5).inRange(0, 1), boolOption("training", f.trainingDefault),
                 boolOption("inplace", false).noEffect()};
    e.build = [layer, alpha, perElement](BuildContext &c) -> Value {
      Value x = c.operands()[0];
      SmallVector<int64_t> shape = perElement ? SmallVector<int64_t>(nn::shapeOf(x))
                                              : featureNoiseShape(c, layer, x);
      double p = c.options().getFloat("p");
      bool active = c.options().getBool("training");
      return alpha ? alphaDropout(c, x, shape, p, active) : maskedDropout(c, x, shape, p, active);
    };
    json input = layer == "Dropout1d" ? json{2, 3, 4} : layer == "Dropout3d" ? json{2, 3, 2, 2, 2} : json{2, 3, 2, 2};
    e.example = {{"options", {{"p", 0.25}, {"training", true}}}, {"input", input}};
    r.add(std::move(e));
  }
}

} // namespace kiln::import
