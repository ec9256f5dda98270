// The `activation` family of the inventory: the pointwise activations.
//
// ReLU, Tanh and Sigmoid are ops of their own; GELU and SiLU are composite
// ops (nn-decompose). Every other pointwise activation is built here as
// primitive nn ops (compare, where, exp, log1p, ...), so autodiff and the
// lowering come free. Each decomposition follows torch 1.13's CPU kernel
// formula, and its gradient is the one torch's backward kernel computes at
// the points torch singles out (the kinks): a branch is chosen with the
// same comparison torch's backward uses. A branch that is not taken but
// could overflow (exp of a large input) gets a harmless input through
// `where`, because its zero gradient times an infinite local derivative
// would be NaN.
//
// Every layer has its functional form (F.elu, F.leaky_relu, ...) with the
// same options minus `inplace`, which means nothing under value semantics.
#include "frontend/import/Activation.h"

#include "ir/FormatNumber.h"
#include "ir/NNBuilders.h"

#include <cmath>

using namespace mlir;

namespace kiln::import {

Value Ew::k(double v) { return nn::scalarConstant(c.builder(), c.loc(), v); }
Value Ew::add(Value a, Value b) { return c.create<nn::AddOp>(a, b); }
Value Ew::sub(Value a, Value b) { return c.create<nn::SubOp>(a, b); }
Value Ew::mul(Value a, Value b) { return c.create<nn::MulOp>(a, b); }
Value Ew::div(Value a, Value b) { return c.create<nn::DivOp>(a, b); }
Value Ew::exp(Value a) { return c.create<nn::ExpOp>(a); }
Value Ew::log(Value a) { return c.create<nn::LogOp>(a); }
Value Ew::log1p(Value a) { return c.create<nn::Log1pOp>(a); }
Value Ew::tanh(Value a) { return c.create<nn::TanhOp>(a); }
Value Ew::abs(Value a) { return c.create<nn::AbsOp>(a); }
Value Ew::neg(Value a) { return c.create<nn::NegOp>(a); }
Value Ew::minimum(Value a, Value b) { return c.create<nn::MinimumOp>(a, b); }
Value Ew::cmp(nn::ComparePredicate p, Value a, Value b) {
  return c.create<nn::CompareOp>(
      nn::ComparePredicateAttr::get(c.builder().getContext(), p), a, b);
}
Value Ew::where(Value mask, Value a, Value b) {
  return c.create<nn::WhereOp>(mask, a, b);
}

namespace {

using nn::ComparePredicate;

/// torch's elu kernel (ELU, CELU, SELU):
///   x > 0 ? x * scale : (exp(x * input_scale) - 1) * alpha * scale
/// whose backward takes the exp branch for x <= 0 (the slope at 0 is
/// alpha * scale * input_scale). Coefficients are rounded to float first,
/// as the kernel does.
Value elu(Ew &m, Value x, double alpha, double scale, double inputScale) {
  float negcoef = static_cast<float>(alpha) * static_cast<float>(scale);
  Value positive = m.cmp(ComparePredicate::gt, x, m.k(0));
  Value safe = m.where(positive, m.k(0), x);
  if (inputScale != 1.0)
    safe = m.mul(safe, m.k(static_cast<float>(inputScale)));
  Value negative = m.mul(m.sub(m.exp(safe), m.k(1)), m.k(negcoef));
  Value linear = scale == 1.0 ? x : m.mul(x, m.k(static_cast<float>(scale)));
  return m.where(positive, linear, negative);
}

/// clamp(x, lo, hi) with hardtanh's gradient: 0 at and beyond the bounds
/// (x <= lo or x >= hi), NaN passed through.
Value hardtanh(Ew &m, Value x, double lo, double hi) {
  Value low = m.k(lo), high = m.k(hi);
  return m.where(m.cmp(ComparePredicate::le, x, low), low,
                 m.where(m.cmp(ComparePredicate::ge, x, high), high, x));
}

/// softplus with torch's linear region: x * beta > threshold ? x :
/// log1p(exp(x * beta)) / beta.
Value softplus(Ew &m, Value x, double beta, double threshold) {
  Value xb = beta == 1.0 ? x : m.mul(x, m.k(beta));
  Value linear = m.cmp(ComparePredicate::gt, xb, m.k(threshold));
  Value safe = m.where(linear, m.k(0), xb);
  Value smooth = m.log1p(m.exp(safe));
  if (beta != 1.0)
    smooth = m.div(smooth, m.k(beta));
  return m.where(linear, x, smooth);
}

/// One pointwise activation: the layer's options (inplace, where torch
/// has it, comes on top for the layer only) and its math.
struct Pointwise {
  const char *layer;    // "nn.ELU"
  const char *function; // "elu" (F.elu / torch.elu)
  const char *lowering; // for docs/coverage.md
  bool inplace;         // the layer takes `inplace`
  std::vector<OptionSpec> options;
  Value (*math)(Ew &, Value, const Options &);
  /// Checks across options (a message, or empty), at `option`'s path.
  std::string (*check)(const Options &, bool isLayer, std::string &option) =
      nullptr;
};

// SELU's constants (torch.nn.functional.selu's docs, aten/Activation.cpp).
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

std::vector<Pointwise> pointwiseActivations() {
  using O = const Options &;
  return {
      {"nn.ELU", "elu", "nn.compare, nn.where, nn.exp (decomposed)", true,
       {floatOption("alpha", 1.0)},
       [](Ew &m, Value x, O o) { return elu(m, x, o.getFloat("alpha"), 1, 1); }},
      {"nn.CELU", "celu", "nn.compare, nn.where, nn.exp (decomposed)", true,
       {floatOption("alpha", 1.0)},
       // celu(x) = elu(x, alpha, scale 1, input_scale 1 / alpha)
       [](Ew &m, Value x, O o) {
         double alpha = o.getFloat("alpha");
         return elu(m, x, alpha, 1, 1.0 / alpha);
       },
       [](O o, bool, std::string &option) -> std::string {
         option = "alpha";
         return o.getFloat("alpha") == 0 ? "alpha cannot be 0 for CELU" : "";
       }},
      {"nn.SELU", "selu", "nn.compare, nn.where, nn.exp (decomposed)", true,
       {},
       [](Ew &m, Value x, O) { return elu(m, x, kSeluAlpha, kSeluScale, 1); }},
      {"nn.LeakyReLU", "leaky_relu", "nn.compare, nn.where (decomposed)", true,
       {floatOption("negative_slope", 0.01)},
       // x > 0 ? x : x * negative_slope (slope negative_slope at 0)
       [](Ew &m, Value x, O o) {
         return m.where(m.cmp(ComparePredicate::gt, x, m.k(0)), x,
                        m.mul(x, m.k(o.getFloat("negative_slope"))));
       }},
      {"nn.ReLU6", "relu6", "nn.compare, nn.where (decomposed)", true,
       {},
       // hardtanh(x, 0, 6): gradient 0 at 0 and at 6
       [](Ew &m, Value x, O) { return hardtanh(m, x, 0, 6); }},
      {"nn.Hardtanh", "hardtanh", "nn.compare, nn.where (decomposed)", true,
       {floatOption("min_val", -1.0), floatOption("max_val", 1.0)},
       [](Ew &m, Value x, O o) {
         double lo = o.getFloat("min_val"), hi = o.getFloat("max_val");
         // torch 1.13's deprecated spellings override the new ones.
         if (o.raw().contains("min_value") && !o.isNone("min_value"))
           lo = o.getFloat("min_value");
         if (o.raw().contains("max_value") && !o.isNone("max_value"))
           hi = o.getFloat("max_value");
         return hardtanh(m, x, lo, hi);
       },
       [](O o, bool isLayer, std::string &option) -> std::string {
         option = "max_val";
         double lo = o.getFloat("min_val"), hi = o.getFloat("max_val");
         if (isLayer && !o.isNone("min_value"))
           lo = o.getFloat("min_value"), option = "min_value";
         if (isLayer && !o.isNone("max_value"))
           hi = o.getFloat("max_value"), option = "max_value";
         // nn.Hardtanh asserts max_val > min_val; F.hardtanh is a clamp,
         // which this form matches only for min_val <= max_val.
         if (isLayer ? hi <= lo : hi < lo)
           return "max_val " + formatExact(hi) + " must be greater than min_val " +
                  formatExact(lo);
         return "";
       }},
      {"nn.Hardsigmoid", "hardsigmoid", "nn.compare, nn.where (decomposed)", true,
       {},
       // min(max(x + 3, 0), 6) / 6, gradient 1/6 strictly inside (-3, 3)
       [](Ew &m, Value x, O) {
         return m.where(m.cmp(ComparePredicate::le, x, m.k(-3)), m.k(0),
                        m.where(m.cmp(ComparePredicate::ge, x, m.k(3)), m.k(1),
                                m.div(m.add(x, m.k(3)), m.k(6))));
       }},
      {"nn.Hardswish", "hardswish", "nn.compare, nn.where (decomposed)", true,
       {},
       // x < -3 ? 0 : x < 3 ? x (x + 3) / 6 : x; torch's backward takes the
       // middle branch at -3 (slope -1/2) and the linear one at 3 (slope 1).
       [](Ew &m, Value x, O) {
         Value middle = m.div(m.mul(x, m.add(x, m.k(3))), m.k(6));
         return m.where(m.cmp(ComparePredicate::lt, x, m.k(-3)), m.k(0),
                        m.where(m.cmp(ComparePredicate::lt, x, m.k(3)), middle, x));
       }},
      {"nn.Hardshrink", "hardshrink", "nn.compare, nn.where (decomposed)", false,
       {floatOption("lambd", 0.5)},
       // -lambd <= x <= lambd ? 0 : x (NaN passes through)
       [](Ew &m, Value x, O o) {
         double l = o.getFloat("lambd");
         return m.where(m.cmp(ComparePredicate::ge, x, m.k(-l)),
                        m.where(m.cmp(ComparePredicate::le, x, m.k(l)), m.k(0), x), x);
       }},
      {"nn.Softshrink", "softshrink", "nn.compare, nn.where (decomposed)", false,
       {floatOption("lambd", 0.5).atLeast(0)},
       // x > lambd ? x - lambd : x < -lambd ? x + lambd : x * 0
       [](Ew &m, Value x, O o) {
         double l = o.getFloat("lambd");
         return m.where(m.cmp(ComparePredicate::gt, x, m.k(l)), m.sub(x, m.k(l)),
                        m.where(m.cmp(ComparePredicate::lt, x, m.k(-l)),
                                m.add(x, m.k(l)), m.mul(x, m.k(0))));
       }},
      {"nn.Softsign", "softsign", "nn.abs, nn.add, nn.div (decomposed)", false,
       {},
       // x / (|x| + 1), as F.softsign
       [](Ew &m, Value x, O) { return m.div(x, m.add(m.abs(x), m.k(1))); }},
      {"nn.Tanhshrink", "tanhshrink", "nn.tanh, nn.sub (decomposed)", false,
       {},
       // x - tanh(x), as F.tanhshrink
       [](Ew &m, Value x, O) { return m.sub(x, m.tanh(x)); }},
      {"nn.Threshold", "threshold", "nn.compare, nn.where (decomposed)", true,
       {floatOption("threshold"), floatOption("value")},
       // x <= threshold ? value : x (gradient 0 at the threshold)
       [](Ew &m, Value x, O o) {
         return m.where(m.cmp(ComparePredicate::le, x, m.k(o.getFloat("threshold"))),
                        m.k(o.getFloat("value")), x);
       }},
      {"nn.LogSigmoid", "logsigmoid", "nn.minimum, nn.exp, nn.log1p (decomposed)", false,
       {},
       // min(x, 0) - log1p(exp(-|x|)): no overflow at either end
       [](Ew &m, Value x, O) {
         return m.sub(m.minimum(x, m.k(0)), m.log1p(m.exp(m.neg(m.abs(x)))));
       }},
      {"nn.Softplus", "softplus", "nn.compare, nn.where, nn.exp, nn.log1p (decomposed)", false,
       {floatOption("beta", 1.0), floatOption("threshold", 20.0)},
       [](Ew &m, Value x, O o) {
         return softplus(m, x, o.getFloat("beta"), o.getFloat("threshold"));
       },
       [](O o, bool, std::string &option) -> std::string {
         option = "beta";
         return o.getFloat("beta") == 0 ? "beta must not be 0 (softplus divides by it)" : "";
       }},
      {"nn.Mish", "mish", "nn.tanh, nn.exp, nn.log1p, nn.where (decomposed)", true,
       {},
       // x tanh(softplus(x)); softplus is linear past 20, where tanh is
       // already 1 in float, so exp never overflows.
       [](Ew &m, Value x, O) { return m.mul(x, m.tanh(softplus(m, x, 1, 20))); }},
  };
}

/// A layer without options that is one elementwise op.
template <typename Op> Entry simple(const char *name, const char *op) {
  Entry e{name, EntryKind::Layer, op};
  e.build = [](BuildContext &c) { return c.create<Op>(c.operands()[0]); };
  e.example = {{"input", {2, 4}}};
  return e;
}

void registerPointwise(Registry &r, const Pointwise &p) {
  for (bool isLayer : {true, false}) {
    Entry e{isLayer ? p.layer : p.function,
            isLayer ? EntryKind::Layer : EntryKind::Function, p.lowering};
    e.options = p.options;
    if (isLayer && p.inplace)
      e.options.push_back(boolOption("inplace", false).noEffect());
    if (isLayer && std::string(p.layer) == "nn.Hardtanh")
      for (const char *old : {"min_value", "max_value"})
        e.options.push_back(floatOption(old).orNone());
    auto check = p.check;
    if (check && isLayer)
      e.declare = [check](LayerDecl &decl) {
        std::string option;
        std::string message = check(decl.options(), true, option);
        if (!message.empty())
          fail(decl.options().pathOf(option), message);
      };
    auto math = p.math;
    e.build = [math, check, isLayer](BuildContext &c) {
      if (check && !isLayer) {
        std::string option;
        std::string message = check(c.options(), false, option);
        if (!message.empty())
          c.failAt(c.options().pathOf(option), message);
      }
      Ew m{c};
      return math(m, c.operands()[0], c.options());
    };
    e.example = {{"input", {2, 4}}};
    if (std::string(p.layer) == "nn.Threshold")
      e.example["options"] = {{"threshold", 0.1}, {"value", 20.0}};
    r.add(std::move(e));
  }
}

} // namespace

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
  Entry siluFunction = silu;
  r.add(std::move(silu));
  siluFunction.torchName = "silu";
  siluFunction.kind = EntryKind::Function;
  siluFunction.options.clear();
  r.add(std::move(siluFunction));

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
  Entry geluFunction = gelu;
  r.add(std::move(gelu));
  geluFunction.torchName = "gelu";
  geluFunction.kind = EntryKind::Function;
  r.add(std::move(geluFunction));

  for (const Pointwise &p : pointwiseActivations())
    registerPointwise(r, p);
  registerSoftmaxFamily(r);
  registerRectifierFamily(r);
  registerAdaptiveSoftmaxFamily(r);
}

} // namespace kiln::import
