// Graph functions (torch.* / torch.nn.functional calls in a DSL forward):
// relu, unary math and the broadcasting arithmetic (flatten: Utility.cpp).
#include "frontend/import/Registry.h"

#include "ir/NNDialect.h"

using namespace mlir;

namespace kiln::import {

template <typename Op> static Entry binary(const char *name, const char *op) {
  Entry e{name, EntryKind::Function, op};
  e.numInputs = 2;
  e.build = [](BuildContext &c) {
    return c.create<Op>(c.operands()[0], c.operands()[1]);
  };
  e.example = {{"input", {2, 4}}};
  return e;
}

template <typename Op> static Entry unary(const char *name, const char *op) {
  Entry e{name, EntryKind::Function, op};
  e.build = [](BuildContext &c) { return c.create<Op>(c.operands()[0]); };
  e.example = {{"input", {2, 4}}};
  return e;
}

void registerElementwiseFunctions(Registry &r) {
  Entry relu{"relu", EntryKind::Function, "nn.relu"};
  relu.build = [](BuildContext &c) {
    return c.create<nn::ReluOp>(c.operands()[0]);
  };
  relu.example = {{"input", {2, 4}}};
  r.add(std::move(relu));

  r.add(binary<nn::AddOp>("add", "nn.add"));
  r.add(binary<nn::SubOp>("sub", "nn.sub"));
  r.add(binary<nn::MulOp>("mul", "nn.mul"));
  r.add(binary<nn::DivOp>("div", "nn.div"));
  r.add(binary<nn::MaximumOp>("maximum", "nn.maximum"));
  r.add(binary<nn::MinimumOp>("minimum", "nn.minimum"));
  // torch.pow(tensor, tensor); a number exponent would need a graph node
  // with one input and an option (torch.pow(x, exponent=2.0)).
  r.add(binary<nn::PowOp>("pow", "nn.pow"));

  r.add(unary<nn::NegOp>("neg", "nn.neg"));
  r.add(unary<nn::AbsOp>("abs", "nn.abs"));
  r.add(unary<nn::SignOp>("sign", "nn.sign"));
  r.add(unary<nn::ExpOp>("exp", "nn.exp"));
  r.add(unary<nn::LogOp>("log", "nn.log"));
  r.add(unary<nn::Log1pOp>("log1p", "nn.log1p"));
  r.add(unary<nn::SqrtOp>("sqrt", "nn.sqrt"));
  r.add(unary<nn::RsqrtOp>("rsqrt", "nn.rsqrt"));
  r.add(unary<nn::TanhOp>("tanh", "nn.tanh"));
  r.add(unary<nn::SigmoidOp>("sigmoid", "nn.sigmoid"));
  r.add(unary<nn::ErfOp>("erf", "nn.erf"));
}

} // namespace kiln::import
