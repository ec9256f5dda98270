// The registry of optimizer rules, and the helpers rules are written with.
#include "passes/OptimizerRules.h"

using namespace mlir;

namespace kiln::optim {

static std::optional<double> asNumber(Attribute a) {
  if (auto f = dyn_cast_or_null<FloatAttr>(a))
    return f.getValueAsDouble();
  if (auto i = dyn_cast_or_null<IntegerAttr>(a))
    if (!i.getType().isInteger(1))
      return static_cast<double>(i.getInt());
  return std::nullopt;
}

double Hyper::number(StringRef key, double dflt) const {
  return asNumber(dict.get(key)).value_or(dflt);
}

bool Hyper::flag(StringRef key, bool dflt) const {
  auto b = dyn_cast_or_null<BoolAttr>(dict.get(key));
  return b ? b.getValue() : dflt;
}

double Hyper::pairElement(StringRef key, unsigned i, double dflt) const {
  auto array = dyn_cast_or_null<ArrayAttr>(dict.get(key));
  if (!array || array.size() <= i)
    return dflt;
  return asNumber(array[i]).value_or(dflt);
}

std::string Hyper::malformed() const {
  for (NamedAttribute a : dict) {
    Attribute v = a.getValue();
    bool ok = isa<BoolAttr, StringAttr>(v) || asNumber(v).has_value();
    if (auto array = dyn_cast<ArrayAttr>(v))
      ok = llvm::all_of(array, [](Attribute e) { return asNumber(e).has_value(); });
    if (!ok)
      return a.getName().str();
  }
  return "";
}

Value Arith::f32(double v) {
  return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(static_cast<float>(v)));
}
Value Arith::f64(double v) {
  return b.create<arith::ConstantOp>(loc, b.getF64FloatAttr(v));
}
Value Arith::add(Value x, Value y) { return b.create<arith::AddFOp>(loc, x, y); }
Value Arith::sub(Value x, Value y) { return b.create<arith::SubFOp>(loc, x, y); }
Value Arith::mul(Value x, Value y) { return b.create<arith::MulFOp>(loc, x, y); }
Value Arith::div(Value x, Value y) { return b.create<arith::DivFOp>(loc, x, y); }
Value Arith::neg(Value x) { return b.create<arith::NegFOp>(loc, x); }
Value Arith::sqrt(Value x) { return b.create<math::SqrtOp>(loc, x); }
Value Arith::abs(Value x) { return b.create<math::AbsFOp>(loc, x); }
Value Arith::pow(Value x, Value y) { return b.create<math::PowFOp>(loc, x, y); }
Value Arith::max(Value x, Value y) { return b.create<arith::MaximumFOp>(loc, x, y); }
Value Arith::min(Value x, Value y) { return b.create<arith::MinimumFOp>(loc, x, y); }
Value Arith::sign(Value x) {
  Value zero = b.create<arith::ConstantOp>(loc, b.getFloatAttr(x.getType(), 0.0));
  Value one = b.create<arith::ConstantOp>(loc, b.getFloatAttr(x.getType(), 1.0));
  return select(gt(x, zero), one, select(lt(x, zero), neg(one), zero));
}
Value Arith::select(Value c, Value t, Value f) {
  return b.create<arith::SelectOp>(loc, c, t, f);
}
Value Arith::gt(Value x, Value y) {
  return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x, y);
}
Value Arith::lt(Value x, Value y) {
  return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT, x, y);
}
Value Arith::eq(Value x, Value y) {
  return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ, x, y);
}
Value Arith::ne(Value x, Value y) {
  return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNE, x, y);
}
Value Arith::toF32(Value v) { return b.create<arith::TruncFOp>(loc, b.getF32Type(), v); }
Value Arith::toF64(Value v) { return b.create<arith::ExtFOp>(loc, b.getF64Type(), v); }

Value decayedGrad(Arith &a, Value param, Value grad, bool maximize, double weightDecay) {
  if (maximize)
    grad = a.neg(grad);
  if (weightDecay != 0)
    grad = a.add(grad, a.mul(a.f32(weightDecay), param));
  return grad;
}

const std::map<std::string, OptimizerRule> &rules() {
  static const std::map<std::string, OptimizerRule> table = [] {
    std::map<std::string, OptimizerRule> t;
    registerAdamFamily(t);
    registerAdaptiveFamily(t);
    registerRpropAndAsgd(t);
    return t;
  }();
  return table;
}

std::string sparseGradientProblem(const OptimizerRule &rule, const Hyper &h) {
  if (rule.lazyRows)
    return "";
  if (!rule.sparseGradients)
    return rule.name + " does not support sparse gradients" +
           (rule.name == "Adam" ? ", please consider SparseAdam instead" : "");
  return rule.sparseGradients(h);
}

const OptimizerRule *lookup(StringRef name) {
  auto it = rules().find(name.str());
  return it == rules().end() ? nullptr : &it->second;
}

} // namespace kiln::optim
