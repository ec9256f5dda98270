// The `optimizer` family of the inventory. An optimizer entry turns its
// options into the `nn.optimizer` module attribute (hyper-parameters as f64,
// exactly as written) that nn-build-train-step implements.
#include "frontend/import/Registry.h"

#include "ir/NNDialect.h"

using namespace mlir;

namespace kiln::import {

static DictionaryAttr sgd(OpBuilder &b, const Options &o) {
  bool nesterov = o.getBool("nesterov");
  std::string problem =
      nn::checkSgdOptions(o.getFloat("momentum"), o.getFloat("dampening"),
                          o.getFloat("weight_decay"), nesterov);
  if (!problem.empty())
    fail(o.pathOf("nesterov"), "SGD: " + problem);
  return b.getDictionaryAttr({
      b.getNamedAttr("type", b.getStringAttr("SGD")),
      b.getNamedAttr("lr", b.getF64FloatAttr(o.getFloat("lr"))),
      b.getNamedAttr("momentum", b.getF64FloatAttr(o.getFloat("momentum"))),
      b.getNamedAttr("dampening", b.getF64FloatAttr(o.getFloat("dampening"))),
      b.getNamedAttr("weight_decay",
                     b.getF64FloatAttr(o.getFloat("weight_decay"))),
      b.getNamedAttr("nesterov", b.getBoolAttr(nesterov)),
      b.getNamedAttr("maximize", b.getBoolAttr(o.getBool("maximize"))),
  });
}

void registerOptimizerFamily(Registry &r) {
  // torch.optim.SGD(params, lr, momentum=0, dampening=0, weight_decay=0,
  // nesterov=False, maximize=False); lr is required in the model file.
  Entry e{"optim.SGD", EntryKind::Optimizer, "nn.sgd_update"};
  e.options = {floatOption("lr").atLeast(0), floatOption("momentum", 0.0).atLeast(0),
               floatOption("dampening", 0.0), floatOption("weight_decay", 0.0).atLeast(0),
               boolOption("nesterov", false), boolOption("maximize", false)};
  e.buildOptimizer = sgd;
  e.example = {{"options", {{"lr", 0.01}}}};
  r.add(std::move(e));
}

} // namespace kiln::import
