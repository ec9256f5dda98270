// Graph functions over dimensions: torch.sum, torch.mean, torch.amax,
// torch.amin, torch.permute, torch.narrow, torch.cat.
#include "frontend/import/Registry.h"

#include "ir/NNDialect.h"
#include "ir/ShapeRules.h"

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
  r.add(reduction<nn::AmaxOp>("amax", "nn.amax"));
  r.add(reduction<nn::AminOp>("amin", "nn.amin"));

  Entry permute{"permute", EntryKind::Function, "nn.permute"};
  permute.options = {intListOption("dims")};
  permute.build = [](BuildContext &c) {
    return c.create<nn::PermuteOp>(
        c.operands()[0], c.builder().getDenseI64ArrayAttr(c.options().getInts("dims")));
  };
  permute.example = {{"options", {{"dims", {1, 0}}}}, {"input", {2, 4}}};
  r.add(std::move(permute));

  // torch.narrow(input, dim, start, length) -> nn.slice with the bounds
  // normalised by the shared rule (negative dim and start resolved).
  Entry narrow{"narrow", EntryKind::Function, "nn.slice"};
  narrow.options = {intOption("dim"), intOption("start"),
                    intOption("length").atLeast(0)};
  narrow.build = [](BuildContext &c) {
    const Options &o = c.options();
    Value x = c.operands()[0];
    auto shape = cast<RankedTensorType>(x.getType()).getShape();
    shape_rules::SliceBounds s =
        shape_rules::narrow(shape_rules::Shape(shape.begin(), shape.end()),
                            o.getInt("dim"), o.getInt("start"), o.getInt("length"));
    if (!s.ok())
      c.fail(s.error);
    OpBuilder &b = c.builder();
    return c.create<nn::SliceOp>(x, b.getDenseI64ArrayAttr(s.start),
                                 b.getDenseI64ArrayAttr(s.end),
                                 b.getDenseI64ArrayAttr(s.step));
  };
  narrow.example = {{"options", {{"dim", 1}, {"start", 1}, {"length", 2}}},
                    {"input", {2, 4}}};
  r.add(std::move(narrow));

  // torch.cat([a, b], dim). A graph node has a fixed number of inputs, so a
  // cat of n tensors is a chain of n - 1 nodes (the DSL writes it so);
  // canonicalization merges the chain into one nn.concat.
  Entry cat{"cat", EntryKind::Function, "nn.concat"};
  cat.numInputs = 2;
  cat.options = {intOption("dim", 0)};
  cat.build = [](BuildContext &c) {
    return c.create<nn::ConcatOp>(ValueRange(c.operands()),
                                  c.options().getInt("dim"));
  };
  cat.example = {{"options", {{"dim", -1}}}, {"input", {2, 4}}};
  r.add(std::move(cat));
}

} // namespace kiln::import
