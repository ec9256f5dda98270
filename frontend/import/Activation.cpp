// The `activation` family of the inventory.
#include "frontend/import/Registry.h"

#include "ir/NNDialect.h"

using namespace mlir;

namespace kiln::import {

/// A layer without options that is one elementwise op.
template <typename Op> static Entry simple(const char *name, const char *op) {
  Entry e{name, EntryKind::Layer, op};
  e.build = [](BuildContext &c) { return c.create<Op>(c.operands()[0]); };
  e.example = {{"input", {2, 4}}};
  return e;
}

void registerActivationFamily(Registry &r) {
  Entry relu{"nn.ReLU", EntryKind::Layer, "nn.relu"};
  // In place or not, values are immutable here: the result is the same.
  relu.options = {boolOption("inplace", false).noEffect()};
  relu.build = [](BuildContext &c) {
    return c.create<nn::ReluOp>(c.operands()[0]);
  };
  relu.example = {{"input", {2, 4}}};
  r.add(std::move(relu));

  r.add(simple<nn::TanhOp>("nn.Tanh", "nn.tanh"));
  r.add(simple<nn::SigmoidOp>("nn.Sigmoid", "nn.sigmoid"));
  Entry silu = simple<nn::SiluOp>("nn.SiLU", "nn.silu (decomposed)");
  silu.options = {boolOption("inplace", false).noEffect()};
  r.add(std::move(silu));

  // A composite: nn-decompose turns nn.gelu into erf or tanh arithmetic.
  Entry gelu{"nn.GELU", EntryKind::Layer, "nn.gelu (decomposed)"};
  gelu.options = {choiceOption("approximate", "none", {"none", "tanh"})};
  gelu.build = [](BuildContext &c) {
    auto kind = c.options().getString("approximate") == "tanh"
                    ? nn::GeluApproximation::tanh
                    : nn::GeluApproximation::none;
    return c.create<nn::GeluOp>(
        c.operands()[0],
        nn::GeluApproximationAttr::get(c.builder().getContext(), kind));
  };
  gelu.example = {{"options", {{"approximate", "tanh"}}}, {"input", {2, 4}}};
  r.add(std::move(gelu));
}

} // namespace kiln::import
