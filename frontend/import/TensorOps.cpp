// Graph functions over dimensions: torch.sum, torch.mean, torch.permute.
#include "frontend/import/Registry.h"

#include "ir/NNDialect.h"

using namespace mlir;

namespace kiln::import {

template <typename Op> static Entry reduction(const char *name, const char *op) {
  Entry e{name, EntryKind::Function, op};
  // torch.sum(input, dim, keepdim=False); no dim (or []) reduces everything.
  e.options = {intListOption("dim", std::vector<int64_t>{}),
               boolOption("keepdim", false)};
  e.build = [](BuildContext &c) {
    const Options &o = c.options();
    OpBuilder &b = c.builder();
    return c.create<Op>(c.operands()[0], b.getDenseI64ArrayAttr(o.getInts("dim")),
                        o.getBool("keepdim") ? b.getUnitAttr() : UnitAttr());
  };
  e.example = {{"options", {{"dim", {1}}}}, {"input", {2, 4}}};
  return e;
}

void registerTensorFunctions(Registry &r) {
  r.add(reduction<nn::SumOp>("sum", "nn.sum"));
  r.add(reduction<nn::MeanOp>("mean", "nn.mean"));

  Entry permute{"permute", EntryKind::Function, "nn.permute"};
  permute.options = {intListOption("dims")};
  permute.build = [](BuildContext &c) {
    return c.create<nn::PermuteOp>(
        c.operands()[0], c.builder().getDenseI64ArrayAttr(c.options().getInts("dims")));
  };
  permute.example = {{"options", {{"dims", {1, 0}}}}, {"input", {2, 4}}};
  r.add(std::move(permute));
}

} // namespace kiln::import
