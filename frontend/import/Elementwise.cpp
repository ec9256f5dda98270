// Graph functions (torch.* / torch.nn.functional calls in a DSL forward):
// relu, unary math, the broadcasting arithmetic with tensor or number
// operands, comparisons (bool masks), where, masked_fill and clamp
// (flatten: Utility.cpp). All are built from existing nn ops.
#include "frontend/import/Registry.h"

#include "ir/NNBuilders.h"
#include "ir/TensorShapeRules.h"

using namespace mlir;

namespace kiln::import {

/// The second operand of a binary function: its second input, or the number
/// option `scalar` (torch.mul(x, 0.5), torch.pow(x, exponent=3)) as a
/// broadcasting f32 constant. Exactly one of the two must be given.
static Value secondOperand(BuildContext &c, const char *scalar) {
  const Options &o = c.options();
  bool given = c.operands().size() == 2;
  if (given && !o.isNone(scalar))
    c.failAt(o.pathOf(scalar), std::string("give either a second input or option '") +
                                   scalar + "', not both");
  if (given)
    return c.operands()[1];
  if (o.isNone(scalar))
    c.fail(std::string("needs a second input or a number option '") + scalar + "'");
  return nn::scalarConstant(c.builder(), c.loc(), o.getFloat(scalar));
}

/// torch.<name>(input, other): other a tensor (second input) or a number.
/// `alpha` (add, sub, rsub): input + alpha * other.
template <typename Op>
static Entry binary(const char *name, const char *op, const char *scalar = "other",
                    bool alpha = false) {
  Entry e{name, EntryKind::Function, op};
  e.numInputs = 2;
  e.numOptionalInputs = 1;
  e.options = {floatOption(scalar).orNone()};
  if (alpha)
    e.options.push_back(floatOption("alpha", 1.0));
  e.build = [scalar, alpha](BuildContext &c) {
    Value rhs = secondOperand(c, scalar);
    if (alpha && c.options().getFloat("alpha") != 1.0)
      rhs = c.create<nn::MulOp>(
          rhs, nn::scalarConstant(c.builder(), c.loc(), c.options().getFloat("alpha")));
    return c.create<Op>(c.operands()[0], rhs);
  };
  e.example = {{"options", {{scalar, 2.0}}}, {"input", {2, 4}}};
  return e;
}

template <typename Op> static Entry unary(const char *name, const char *op) {
  Entry e{name, EntryKind::Function, op};
  e.build = [](BuildContext &c) { return c.create<Op>(c.operands()[0]); };
  e.example = {{"input", {2, 4}}};
  return e;
}

/// torch.gt / lt / ge / le / eq / ne: a bool mask, with a tensor or a number.
static Entry comparison(const char *name, nn::ComparePredicate predicate) {
  Entry e{name, EntryKind::Function, "nn.compare"};
  e.numInputs = 2;
  e.numOptionalInputs = 1;
  e.givesMask = true;
  e.options = {floatOption("other").orNone()};
  e.build = [predicate](BuildContext &c) {
    Value rhs = secondOperand(c, "other");
    return c.create<nn::CompareOp>(
        nn::ComparePredicateAttr::get(c.builder().getContext(), predicate),
        c.operands()[0], rhs);
  };
  e.example = {{"options", {{"other", 0.0}}}, {"input", {2, 4}}};
  return e;
}

/// clamp(x, min, max) = where(y > max, max, y), y = where(x < min, min, x):
/// torch's forward (max wins when min > max, NaN stays NaN) and its
/// backward, dy where min <= x <= max (bounds included), else 0.
static Value clamp(BuildContext &c) {
  const Options &o = c.options();
  if (o.isNone("min") && o.isNone("max"))
    c.fail("At least one of 'min' or 'max' must not be None");
  Value y = c.operands()[0];
  auto bound = [&](const char *name, nn::ComparePredicate outside) {
    if (o.isNone(name))
      return;
    Value v = nn::scalarConstant(c.builder(), c.loc(), o.getFloat(name));
    Value mask = c.create<nn::CompareOp>(
        nn::ComparePredicateAttr::get(c.builder().getContext(), outside), y, v);
    y = c.create<nn::WhereOp>(mask, v, y);
  };
  bound("min", nn::ComparePredicate::lt);
  bound("max", nn::ComparePredicate::gt);
  return y;
}

void registerElementwiseFunctions(Registry &r) {
  Entry relu{"relu", EntryKind::Function, "nn.relu"};
  relu.build = [](BuildContext &c) {
    return c.create<nn::ReluOp>(c.operands()[0]);
  };
  relu.example = {{"input", {2, 4}}};
  r.add(std::move(relu));

  r.add(binary<nn::AddOp>("add", "nn.add", "other", /*alpha=*/true));
  r.add(binary<nn::SubOp>("sub", "nn.sub", "other", /*alpha=*/true));
  r.add(binary<nn::MulOp>("mul", "nn.mul"));
  r.add(binary<nn::DivOp>("div", "nn.div"));
  r.add(binary<nn::MaximumOp>("maximum", "nn.maximum"));
  r.add(binary<nn::MinimumOp>("minimum", "nn.minimum"));
  // torch.pow(input, exponent): a tensor or a number exponent.
  r.add(binary<nn::PowOp>("pow", "nn.pow", "exponent"));

  // torch.rsub(input, other, alpha) = other - alpha * input (2 - x).
  Entry rsub{"rsub", EntryKind::Function, "nn.sub"};
  rsub.numInputs = 2;
  rsub.numOptionalInputs = 1;
  rsub.options = {floatOption("other").orNone(), floatOption("alpha", 1.0)};
  rsub.build = [](BuildContext &c) {
    Value x = c.operands()[0];
    double alpha = c.options().getFloat("alpha");
    if (alpha != 1.0)
      x = c.create<nn::MulOp>(x, nn::scalarConstant(c.builder(), c.loc(), alpha));
    return c.create<nn::SubOp>(secondOperand(c, "other"), x);
  };
  rsub.example = {{"options", {{"other", 2.0}}}, {"input", {2, 4}}};
  r.add(std::move(rsub));

  // torch.reciprocal(x) = 1 / x (what the DSL records for `2 / x`, times 2).
  Entry reciprocal{"reciprocal", EntryKind::Function, "nn.div"};
  reciprocal.build = [](BuildContext &c) {
    return c.create<nn::DivOp>(nn::scalarConstant(c.builder(), c.loc(), 1.0),
                               c.operands()[0]);
  };
  reciprocal.example = {{"input", {2, 4}}};
  r.add(std::move(reciprocal));

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

  using P = nn::ComparePredicate;
  r.add(comparison("gt", P::gt));
  r.add(comparison("lt", P::lt));
  r.add(comparison("ge", P::ge));
  r.add(comparison("le", P::le));
  r.add(comparison("eq", P::eq));
  r.add(comparison("ne", P::ne));

  // torch.where(condition, input, other): condition a bool mask; the three
  // broadcast together.
  Entry where{"where", EntryKind::Function, "nn.where"};
  where.numInputs = 3;
  where.maskInputs = {0};
  where.build = [](BuildContext &c) {
    return c.create<nn::WhereOp>(c.operands()[0], c.operands()[1], c.operands()[2]);
  };
  where.example = {{"input", {2, 4}}};
  r.add(std::move(where));

  // torch.masked_fill(input, mask, value): value where the mask is true; the
  // mask broadcasts to the input's shape.
  Entry maskedFill{"masked_fill", EntryKind::Function, "nn.where"};
  maskedFill.numInputs = 2;
  maskedFill.maskInputs = {1};
  maskedFill.options = {floatOption("value")};
  maskedFill.build = [](BuildContext &c) {
    Value x = c.operands()[0], mask = c.operands()[1];
    auto in = nn::shapeOf(x), m = nn::shapeOf(mask);
    shape_rules::Inferred s = shape_rules::maskedFill(shape_rules::Shape(in.begin(), in.end()),
                                                      shape_rules::Shape(m.begin(), m.end()));
    if (!s.ok())
      c.fail(s.error);
    Value value = nn::scalarConstant(c.builder(), c.loc(), c.options().getFloat("value"));
    return c.create<nn::WhereOp>(mask, value, x);
  };
  maskedFill.example = {{"options", {{"value", -1.5}}}, {"input", {2, 4}}};
  r.add(std::move(maskedFill));

  for (const char *name : {"clamp", "clip"}) {
    Entry e{name, EntryKind::Function, "nn.where"};
    e.options = {floatOption("min").orNone(), floatOption("max").orNone()};
    e.build = clamp;
    e.example = {{"options", {{"min", -0.5}, {"max", 0.5}}}, {"input", {2, 4}}};
    r.add(std::move(e));
  }
}

} // namespace kiln::import
