// The `linear` family of the inventory: nn.Linear, nn.Identity.
#include "frontend/import/Registry.h"

#include "ir/NNDialect.h"

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

void registerLinearFamily(Registry &r) {
  Entry linear{"nn.Linear", EntryKind::Layer, "nn.linear"};
  linear.options = {intOption("in_features").atLeast(1),
                    intOption("out_features").atLeast(1),
                    boolOption("bias", true)};
  linear.declare = declareLinear;
  linear.build = [](BuildContext &c) {
    return c.create<nn::LinearOp>(c.operands()[0], c.parameter("weight"),
                                  c.parameter("bias"));
  };
  linear.example = {{"options", {{"in_features", 4}, {"out_features", 3}}},
                    {"input", {2, 4}}};
  r.add(std::move(linear));

  // torch.nn.Identity accepts and ignores any arguments; Kiln's model file
  // has none.
  Entry identity{"nn.Identity", EntryKind::Layer, "(no op)"};
  identity.build = [](BuildContext &c) -> Value { return c.operands()[0]; };
  identity.example = {{"input", {2, 4}}};
  r.add(std::move(identity));
}

} // namespace kiln::import
