// The `dropout` family of the inventory: layers that depend on the mode and
// draw from the instance's random stream (BuildContext::training,
// BuildContext::randomUniform). Each is a composite of primitive ops, so
// autodiff reuses the forward's mask: the backward multiplies by the same
// `noise` value, never by a second draw.
#include "frontend/import/Registry.h"

#include "ir/NNBuilders.h"

using namespace mlir;

namespace kiln::import {

void registerDropoutFamily(Registry &r) {
  Entry dropout{"nn.Dropout", EntryKind::Layer,
                "nn.random_uniform, nn.compare, nn.where, nn.mul (train mode; "
                "identity in eval mode)"};
  dropout.options = {floatOption("p", 0.5).inRange(0, 1),
                     boolOption("inplace", false).noEffect()};
  // torch 1.13 (_dropout_impl): identity in eval mode or for p = 0;
  // input * 0 for p = 1; otherwise
  //   noise = bernoulli(1 - p) / (1 - p),  y = input * noise
  // with the Bernoulli draw as u < 1 - p for u uniform in [0, 1).
  dropout.build = [](BuildContext &c) -> Value {
    Value x = c.operands()[0];
    double p = c.options().getFloat("p");
    if (!c.training() || p == 0.0)
      return x;
    OpBuilder &b = c.builder();
    Location loc = c.loc();
    if (p == 1.0)
      return c.create<nn::MulOp>(x, nn::scalarConstant(b, loc, 0.0));
    float keep = static_cast<float>(1.0 - p);
    Value u = c.randomUniform(nn::shapeOf(x));
    Value kept = c.create<nn::CompareOp>(
        nn::ComparePredicateAttr::get(b.getContext(), nn::ComparePredicate::lt), u,
        nn::scalarConstant(b, loc, keep));
    Value noise = c.create<nn::WhereOp>(kept, nn::scalarConstant(b, loc, 1.0f / keep),
                                        nn::scalarConstant(b, loc, 0.0));
    return c.create<nn::MulOp>(x, noise);
  };
  dropout.example = {{"options", {{"p", 0.25}}}, {"input", {2, 4}}};
  r.add(std::move(dropout));
}

} // namespace kiln::import
